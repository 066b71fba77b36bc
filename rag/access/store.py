"""Memberships, sign-outs and the audit log in one SQLite file beside the collections.

``<data dir>/access.sqlite3`` is this deployment's access catalog: every collection backend
(FAISS folders, Milvus Lite, a Milvus server) reads its roles from here, so one check covers
them all. Each call opens its own connection (the app serves sessions from several threads);
WAL mode lets readers run while a writer commits. With ``RAG_CATALOG=postgresql://...`` (app
replicas on several hosts) the same tables and SQL live in that database's ``rag_access`` schema
instead (:mod:`rag.store.catalog_sql` rewrites the SQL), one connection per thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from rag.access.roles import Role

FILENAME = "access.sqlite3"
PG_SCHEMA = "rag_access"


class _NothingYet(Exception):
    """A read before anything was recorded (the PostgreSQL tables do not exist yet)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS members (
    collection TEXT NOT NULL,
    principal  TEXT NOT NULL,
    role       INTEGER NOT NULL CHECK (role IN (1, 2, 3)),
    added_by   TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    PRIMARY KEY (collection, principal)
);
CREATE TABLE IF NOT EXISTS signouts (
    subject TEXT PRIMARY KEY,
    at      REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    collection TEXT,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_collection ON audit (collection, id);
"""


@dataclass(frozen=True)
class Member:
    collection: str
    principal: str
    role: Role
    added_by: str
    added_at: str


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    collection: str | None
    detail: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class AccessStore:
    """Roles, sign-outs and audit entries of the collections under one data directory."""

    def __init__(self, data_dir: str | Path, catalog: str = "") -> None:
        self.path = Path(data_dir) / FILENAME
        self.catalog = catalog.strip()
        self._local = threading.local()
        self._ready = False

    @contextmanager
    def _pg(self, write: bool) -> Iterator[object]:
        """This thread's connection to the PostgreSQL access schema (created on the first write)."""
        from rag.store.pg_catalog import connect, psycopg_module, safe_url

        psycopg = psycopg_module()
        con = getattr(self._local, "con", None)
        if con is None or con.raw.closed:
            con = self._local.con = connect(self.catalog, PG_SCHEMA)
        try:
            if write and not self._ready:
                con.execute("BEGIN")
                con.execute("SELECT pg_advisory_xact_lock(?)", (0x52414701,))  # one creator at a time
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        con.execute(stmt)
                con.execute("COMMIT")
                self._ready = True
            yield con
        except psycopg.Error as exc:
            if con.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                con.execute("ROLLBACK")
            if type(exc).__name__ == "UndefinedTable" and not write:
                raise _NothingYet from exc
            raise RuntimeError(f"access catalog {safe_url(self.catalog)} cannot be used: {exc}") from exc

    @contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection | None]:
        """A connection (``None`` for a read when the file does not exist yet: nothing recorded)."""
        if self.catalog:
            with self._pg(write) as con:
                yield con  # type: ignore[misc]
            return
        if not write and not self.path.is_file():
            yield None
            return
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout = 30000")
            if write:
                con.execute("PRAGMA journal_mode = WAL")
                con.executescript(_SCHEMA)
            yield con
        except sqlite3.DatabaseError as exc:
            raise RuntimeError(f"access catalog {self.path} cannot be used: {exc}") from exc
        finally:
            con.close()

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple]:
        try:
            with self._db() as con:
                if con is None:
                    return []
                try:
                    return con.execute(sql, args).fetchall()
                except sqlite3.OperationalError as exc:
                    if "no such table" in str(exc):
                        return []
                    raise
        except _NothingYet:
            return []

    # -- memberships ------------------------------------------------------------------------
    def members(self, collection: str) -> list[Member]:
        rows = self._rows("SELECT collection, principal, role, added_by, added_at FROM members "
                          "WHERE collection = ? ORDER BY role DESC, principal", (collection,))
        return [Member(c, p, Role(r), b, a) for c, p, r, b, a in rows]

    def roles_of(self, principals: set[str]) -> dict[str, Role]:
        """Each collection where any of ``principals`` is a member, with the highest role held."""
        if not principals:
            return {}
        marks = ",".join("?" * len(principals))
        rows = self._rows(f"SELECT collection, MAX(role) FROM members WHERE principal IN ({marks}) "
                          "GROUP BY collection", tuple(sorted(principals)))
        return {c: Role(r) for c, r in rows}

    def set_role(self, collection: str, principal: str, role: Role, by: str) -> None:
        principal = principal.strip()
        if not principal:
            raise ValueError("name a member by e-mail or subject")
        key = principal.lower() if "@" in principal else principal
        with self._db(write=True) as con:
            con.execute("INSERT INTO members VALUES (?, ?, ?, ?, ?) ON CONFLICT (collection, principal) "
                        "DO UPDATE SET role = excluded.role, added_by = excluded.added_by, "
                        "added_at = excluded.added_at", (collection, key, int(role), by, _now()))

    def claim(self, collection: str, principal: str) -> bool:
        """Make ``principal`` the owner of a collection that has no members yet; False if it has."""
        with self._db(write=True) as con:
            return con.execute("INSERT INTO members SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS "
                               "(SELECT 1 FROM members WHERE collection = ?)",
                               (collection, principal, int(Role.OWNER), principal, _now(), collection)).rowcount > 0

    def remove_member(self, collection: str, principal: str) -> bool:
        with self._db(write=True) as con:
            return con.execute("DELETE FROM members WHERE collection = ? AND principal = ?",
                               (collection, principal)).rowcount > 0

    def forget_collection(self, collection: str) -> None:
        """Drop a deleted collection's memberships (a new one of that name starts unshared)."""
        with self._db(write=True) as con:
            con.execute("DELETE FROM members WHERE collection = ?", (collection,))

    def rename_collection(self, old: str, new: str) -> None:
        """Memberships and audit entries follow a renamed collection."""
        with self._db(write=True) as con:
            con.execute("BEGIN IMMEDIATE")
            con.execute("DELETE FROM members WHERE collection = ?", (new,))
            con.execute("UPDATE members SET collection = ? WHERE collection = ?", (new, old))
            con.execute("UPDATE audit SET collection = ? WHERE collection = ?", (new, old))
            con.execute("COMMIT")

    # -- sign-outs --------------------------------------------------------------------------
    def record_sign_out(self, subject: str, at: float | None = None) -> None:
        """Every sign-in of ``subject`` issued until now stops working, in every browser."""
        with self._db(write=True) as con:
            con.execute("INSERT INTO signouts VALUES (?, ?) ON CONFLICT (subject) DO UPDATE SET at = excluded.at",
                        (subject, time.time() if at is None else at))

    def signed_out_at(self, subject: str) -> float | None:
        rows = self._rows("SELECT at FROM signouts WHERE subject = ?", (subject,))
        return float(rows[0][0]) if rows else None

    # -- audit ------------------------------------------------------------------------------
    def record(self, actor: str, action: str, collection: str | None, detail: str = "") -> None:
        with self._db(write=True) as con:
            con.execute("INSERT INTO audit (at, actor, action, collection, detail) VALUES (?, ?, ?, ?, ?)",
                        (_now(), actor, action, collection, detail))

    def audit(self, collection: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        """Audit entries, newest first: one collection's, or all (``None``)."""
        sql = "SELECT id, at, actor, action, collection, detail FROM audit"
        args: tuple[object, ...] = ()
        if collection is not None:
            sql, args = sql + " WHERE collection = ?", (collection,)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql, args = sql + " LIMIT ?", args + (int(limit),)
        return [AuditEntry(*row) for row in self._rows(sql, args)]
