"""The access check every entry point passes: which collections a user sees, and what they may do.

The Engine holds one :class:`Access` for its user and asks it before listing, opening, filling,
changing or deleting a collection, so the app's pages, the CLIs and the Python API are checked
alike, whatever backend stores the collection.
"""

from __future__ import annotations

from rag.access.identity import Identity
from rag.access.roles import NEEDS, Role, allows
from rag.access.store import AccessStore
from rag.store.errors import CollectionError

_VERB = {"read": "open", "edit": "add or delete documents in", "share": "share", "rename": "rename",
         "delete": "delete", "audit": "read the audit log of"}


class AccessDenied(CollectionError):
    """The user may not do this to the collection (for one they cannot read: as if it did not exist)."""


class Access:
    """One user's view of the access catalog under a data directory."""

    def __init__(self, store: AccessStore, user: Identity, audit_questions: bool = False) -> None:
        self.store = store
        self.user = user
        self.audit_questions = audit_questions

    def role(self, collection: str) -> Role | None:
        """The user's role on ``collection`` (admins own every collection); ``None``: none."""
        if self.user.admin:
            return Role.OWNER
        return self.store.roles_of(self.user.principals()).get(collection)

    def may(self, collection: str, action: str) -> bool:
        return allows(self.role(collection), action)

    def visible(self, names: list[str]) -> list[str]:
        """The collections among ``names`` the user may read (the others stay unnamed)."""
        if self.user.admin:
            return list(names)
        mine = self.store.roles_of(self.user.principals())
        return [n for n in names if n in mine]

    def require(self, collection: str, action: str) -> Role:
        """The user's role, or :class:`AccessDenied`; the same words whether or not a collection
        the user cannot read exists."""
        role = self.role(collection)
        if allows(role, action):
            assert role is not None
            return role
        if role is None:
            raise AccessDenied(f"no collection {collection!r} that you ({self.user.label}) may open")
        raise AccessDenied(f"you are a {role.label} of {collection!r}: to {_VERB[action]} it you need to "
                           f"be {NEEDS[action].label}")

    def require_path_access(self, path: str) -> None:
        """A collection opened by folder path bypasses the catalog: admins only."""
        if not self.user.admin:
            raise AccessDenied(f"only an admin may open a collection by folder path ({path!r})")

    def claim(self, collection: str) -> bool:
        """Own a collection just created, unless it already has members (another user created it
        first): then the caller must check the role it has like for any other collection."""
        if not self.store.claim(collection, self.user.principal):
            return False
        self.record("create", collection)
        return True

    def deleted(self, collection: str) -> None:
        self.store.forget_collection(collection)
        self.record("delete-collection", collection)

    def share(self, collection: str, principal: str, role: Role) -> None:
        self.require(collection, "share")
        self.store.set_role(collection, principal, role, by=self.user.principal)
        self.record("share", collection, f"{principal.strip()} as {role.label}")

    def unshare(self, collection: str, principal: str) -> None:
        self.require(collection, "share")
        owners = [m for m in self.store.members(collection) if m.role is Role.OWNER]
        if [m.principal for m in owners] == [principal]:
            raise ValueError(f"{principal} is the only owner of {collection!r}: make someone else owner first")
        if self.store.remove_member(collection, principal):
            self.record("unshare", collection, principal)

    def record(self, action: str, collection: str | None, detail: str = "") -> None:
        self.store.record(self.user.principal, action, collection, detail)

    def asked(self, collection: str, question: str) -> None:
        """Audit a question only when the deployment chose to (questions can be confidential)."""
        if self.audit_questions:
            self.record("ask", collection, question)
