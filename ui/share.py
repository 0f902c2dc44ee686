"""Shareable views: a "Copy link" button that copies the address of the view on screen, and the
same link in a box to copy by hand where the browser blocks the clipboard.

Every view's state is in the URL (ui.state), so the address bar is the link: the button reads it
in the browser when clicked, after the page has finished and the URL holds every correction.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st

_BUTTON = """
<style>
  body { margin: 0; font-family: "Source Sans Pro", "Source Sans 3", sans-serif; font-size: 14px; }
  button { width: 100%; padding: 6px 10px; border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 8px;
           background: #fff; color: rgb(49, 51, 63); cursor: pointer; font: inherit; }
  button:hover { border-color: #ff4b4b; color: #ff4b4b; }
  #msg { display: block; margin-top: 3px; color: rgba(49, 51, 63, 0.6); font-size: 12px; min-height: 14px; }
</style>
<button id="copy" type="button" title="Copy the address of this view: page, recipe, example and every choice on the page">Copy link to this view</button>
<span id="msg" role="status"></span>
<script>
  const button = document.getElementById("copy"), msg = document.getElementById("msg");
  function fallback(url) {
    // Clipboard API missing (plain http) or refused: the old way, else point at the box below.
    const box = document.createElement("textarea");
    box.value = url; document.body.appendChild(box); box.select();
    let done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    box.remove();
    return done;
  }
  button.addEventListener("click", async () => {
    const url = window.parent.location.href;
    button.dataset.url = url;
    try {
      await navigator.clipboard.writeText(url);
      msg.textContent = "Link copied: paste it anywhere.";
    } catch (e) {
      msg.textContent = fallback(url) ? "Link copied: paste it anywhere." : "The browser blocked copying: open 'Show the link' below.";
    }
  });
</script>
"""


def copy_link_button() -> None:
    """The sidebar's "Copy link" button (an iframe with a script: Streamlit has no clipboard API)."""
    st.iframe(_BUTTON, height=52)


def view_url(page_path: str = "") -> str:
    """The full URL of the view: the app's address, the page's path and the current query parameters."""
    parts = urlsplit(st.context.url or "")
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    query = urlencode(st.query_params.to_dict())
    return f"{origin}/{page_path}" + (f"?{query}" if query else "")


# A fragment's own rerun (a click in a drill-down) updates the address bar but not the sidebar drawn
# by the last full run: in the browser the box follows the address bar, and its copy icon copies it.
_FOLLOW_URL = """<script>
(function () {
  const w = window;
  if (w.__interpLinkBox) return;
  const box = () => w.document.querySelector("[data-testid=stSidebar] [data-testid=stCode]");
  w.__interpLinkBox = w.setInterval(function () {
    const code = box() && box().querySelector("code");
    if (!code) return;
    const walker = w.document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    const text = walker.nextNode();  // React's own text node: changing its value leaves the tree React knows intact
    if (text && !walker.nextNode() && text.nodeValue !== w.location.href) text.nodeValue = w.location.href;
  }, 500);
  w.document.addEventListener("click", function (event) {
    const copy = event.target.closest && event.target.closest("[data-testid=stSidebar] [data-testid=stCode] button");
    if (!copy) return;
    event.stopPropagation();
    w.navigator.clipboard.writeText(w.location.href).catch(function () {});
  }, true);
})();
</script>"""


def link_box(page_path: str = "") -> None:
    """The link as text, to copy by hand (the button's visible fallback); drawn after the page ran,
    then kept equal to the address bar in the browser (_FOLLOW_URL)."""
    with st.sidebar.expander("Show the link"):
        st.code(view_url(page_path), language=None, wrap_lines=True)
    st.html(_FOLLOW_URL, unsafe_allow_javascript=True)
