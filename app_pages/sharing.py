"""The Documents page's sharing section: members and roles, add or remove one, the audit log."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages import components as ui
from rag.access import AccessDenied, Role

_ROLE_HELP = "reader: search, chat, review, view PDFs · editor: + add and delete documents · owner: + share, rename, delete"


def sharing_section(rt: Any, name: str) -> None:
    """Who may use collection ``name`` and its audit log, for its owners (team mode only: local mode
    has one user and looks as it always did)."""
    if rt.settings.mode != "team":
        return
    access = rt.engine.access
    if not access.may(name, "audit"):
        role = access.role(name)
        st.caption(ui.md_escape(f"You are a {role.label if role else 'guest'} of {name}; its owners manage "
                                "who may use it."))
        return
    with st.expander("Sharing", icon=":material/group:"):
        members = access.store.members(name)
        st.dataframe([{"member": m.principal, "role": m.role.label, "added by": m.added_by,
                       "added (UTC)": m.added_at[:16].replace("T", " ")} for m in members],
                     hide_index=True, width="stretch")
        st.caption(_ROLE_HELP)
        with st.form(f"share-{name}", clear_on_submit=True, border=False):
            who = st.text_input("Add a member by e-mail or subject", placeholder="name@example.org")
            role = st.selectbox("Role", [r.label for r in Role], key=f"share-role-{name}")
            if st.form_submit_button("Share") and who.strip():
                try:
                    access.share(name, who, Role.parse(role))
                except (AccessDenied, ValueError) as exc:
                    st.error(ui.md_escape(str(exc)))
                else:
                    st.rerun()
        removable = [m.principal for m in members]
        gone = st.selectbox("Remove a member", removable, index=None, key=f"unshare-{name}")
        if st.button("Remove", disabled=gone is None, key=f"unshare-button-{name}"):
            try:
                access.unshare(name, gone)
            except (AccessDenied, ValueError) as exc:
                st.error(ui.md_escape(str(exc)))
            else:
                st.rerun()
    with st.expander("Audit log", icon=":material/history:"):
        entries = access.store.audit(name)
        st.caption("Who created, added, deleted, shared" + (" and asked" if rt.settings.audit_questions else "")
                   + " what, and when (questions are recorded only with RAG_AUDIT_QUESTIONS=true). Export it as "
                   "CSV from the table's toolbar (made in your browser), or with "
                   f"`python -m rag.access audit {name} --user YOU > audit.csv`.")
        # No st.download_button: Streamlit serves its file from a /media URL that anyone holding the
        # URL can fetch, signed in or not; the table's own CSV export never leaves the browser.
        st.dataframe([{"when (UTC)": e.at[:19].replace("T", " "), "who": e.actor, "what": e.action,
                       "detail": e.detail} for e in entries[:5000]], hide_index=True, width="stretch")
