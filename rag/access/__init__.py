"""Who may see and change which collection: identities, roles, the access catalog and its audit log.

Local mode (the default) has one user, the local admin, and no sign-in. Team mode signs people
in through OpenID Connect (Streamlit's ``st.login``); every collection then has members with a
role (reader, editor, owner) and admins are named in configuration (``RAG_ADMINS``).
"""

from rag.access.audit import to_csv
from rag.access.identity import LOCAL, LOCAL_ADMIN, Identity, SignInRefused, from_claims, named_user
from rag.access.policy import Access, AccessDenied
from rag.access.roles import Role, allows
from rag.access.store import AccessStore, AuditEntry, Member

__all__ = ["LOCAL", "LOCAL_ADMIN", "Access", "AccessDenied", "AccessStore", "AuditEntry", "Identity", "Member",
           "Role", "SignInRefused", "allows", "from_claims", "named_user", "to_csv"]
