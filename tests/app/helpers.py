"""What the page tests share: open a page the way a user arrives on it, and read its text."""

from streamlit.testing.v1 import AppTest


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def open_page(app, page: str, recipe: str | None = None, sidebar_example: int | None = None, **query) -> AppTest:
    """Run app.py once (AppTest needs it before switching to a st.navigation page), switch to the
    page with the URL's keys (``query``, which may hold ``example``), then pick the recipe and, if
    given, ``sidebar_example`` in the sidebar (the recipe box starts over on a family page, since its
    options differ per page)."""
    at = app(**query)
    at.run()
    at.switch_page(page)
    at.run()
    if recipe is not None and at.sidebar.selectbox(key="recipe").value != recipe:
        at.sidebar.selectbox(key="recipe").set_value(recipe).run()
    if sidebar_example is not None:
        at.sidebar.number_input(key="example").set_value(int(sidebar_example)).run()
    return at
