"""Interp Explorer: the Streamlit entry point. Page list and URL state; each page draws the
shared sidebar itself (ui.sidebar.render) so it can narrow the recipes to its family."""

import streamlit as st

from ui import report_export, share, state
from ui.catalog import built_pages

st.set_page_config(page_title="Interp Explorer", page_icon="assets/icon.png", layout="wide")

state.load_url_once()
state.apply_pending()

home = st.Page("views/home.py", title="Home", icon=":material/home:", default=True)  # served at /
family_pages = [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path) for p in built_pages()]
compare = st.Page("views/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare")
page = st.navigation([home, *family_pages, compare])
st.session_state["_page_url_path"] = page.url_path  # which page runs, for the guided tours (public API only)
record = report_export.start(page.title)  # the sidebar's "Download report" button, for what this run draws
try:
    page.run()
finally:  # also after st.stop(): the report holds what the page drew before it stopped
    report_export.finish(record)
# Pages may correct URL-provided values (an unknown option falls back to its default) after the
# sidebar mirrored them; mirror once more so the address bar always shows the view on screen.
state.write_url()
share.link_box(page.url_path)  # the copy button's fallback: the link as text, once the URL is final
