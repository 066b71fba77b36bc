"""Contract assistant: the Streamlit entry point (``streamlit run app.py``).

Only page setup and navigation live here; each page is a file in ``app_pages/``.
"""

import streamlit as st

from app_pages import access, state

st.set_page_config(page_title="Contract assistant", page_icon="⚖️", layout="wide")
try:
    access.guard(state.current_settings())  # sign-in (team mode); nothing below runs without it
except (ValueError, FileNotFoundError):
    pass  # an invalid configuration: every page says what is wrong (state.require_runtime)

pages = [
    st.Page("app_pages/chat.py", title="Chat", icon=":material/chat:", default=True),
    st.Page("app_pages/clauses.py", title="Clause lookup", icon=":material/manage_search:"),
    st.Page("app_pages/review.py", title="Clause review", icon=":material/table_view:"),
    st.Page("app_pages/documents.py", title="Documents", icon=":material/folder_open:"),
    st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:"),
]
st.navigation(pages).run()
