"""Interp Explorer: the Streamlit entry point. Page list, shared sidebar, URL state."""

import streamlit as st

from ui import sidebar, state
from ui.catalog import built_pages

st.set_page_config(page_title="Interp Explorer", page_icon="assets/icon.png", layout="wide")

state.load_url_once()
state.apply_pending()

home = st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True)
family_pages = {p.family: st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path) for p in built_pages()}
page = st.navigation([home, *family_pages.values()])
current_family = next((family for family, p in family_pages.items() if p.url_path == page.url_path), None)

sidebar.render(current_family)
state.write_url()
page.run()
