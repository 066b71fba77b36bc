"""A collection's catalog in PostgreSQL, shared by processes on several hosts (psycopg 3).

Each collection is one schema (``rag_<catalog id>``) holding the catalog's tables, created from
the same SQL as the SQLite catalog (:mod:`rag.store.catalog_sql` rewrites it), plus ``sources``
(the original files' copies, inserted inside the batch's transaction) and ``markers`` (what a
writer leaves for the next one, e.g. Milvus's in-flight batch). A schema per collection keeps
every query unchanged (connections set ``search_path``) and makes deleting a collection one
``DROP SCHEMA``; its name comes from the catalog id, not the collection name, so a rename is one
registry row (:mod:`rag.store.pg_collections`) and open objects keep working.

Coordination uses advisory locks, which PostgreSQL drops when the session ends (the process
died, or its host: TCP keepalives notice within about a minute):

* the writer lock: an exclusive lock ``(collection key, 0)`` held by a session of its own for
  the batch, so two writers anywhere, even in one process, exclude each other;
* reader leases: a shared lock ``(collection key, gen + 1)`` per leased generation, held by
  one session per collection object; the writer forgets a generation only after taking that
  key exclusively without waiting (from its own session), as with the SQLite catalog's lock
  files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
import weakref
from typing import Any

from rag.store.catalog_sql import to_postgres
from rag.store.errors import CollectionBusy, CollectionError

#: Tables only a PostgreSQL catalog has (portable SQL, like the rest of the schema).
PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (name TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS markers (name TEXT PRIMARY KEY, data BLOB NOT NULL)
"""


def psycopg_module() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise CollectionError("a PostgreSQL catalog needs psycopg 3: pip install 'psycopg[binary]' "
                              "(the project's 'postgres' extra)") from exc
    return psycopg


def lock_class(schema: str) -> int:
    """The first advisory-lock key of a collection (31 bits, so it reads the same in ``pg_locks``)."""
    return int.from_bytes(hashlib.blake2b(schema.encode(), digest_size=4).digest(), "big") & 0x7FFFFFFF


#: what a statement gets when its schema is gone: undefined table, undefined function, invalid schema
GONE_SQLSTATES = frozenset({"42P01", "42883", "3F000"})


class PgConnection:
    """A psycopg connection (autocommit; transactions are explicit) that runs the catalog's SQLite SQL.

    A collection's connections (:meth:`watch`) turn the errors of a schema deleted meanwhile
    (by another process or host) into a :class:`CollectionError` that says so.
    """

    def __init__(self, raw: Any, url: str = "", schema: str | None = None) -> None:
        self.raw = raw
        self.url, self.schema = url, schema
        self.collection: str | None = None

    def watch(self, collection: str) -> PgConnection:
        self.collection = collection
        return self

    def execute(self, sql: str, params: Any = None) -> Any:
        cur = self.raw.cursor()
        self._run(cur.execute, to_postgres(sql), () if params is None else params)
        return cur

    def executemany(self, sql: str, seq: Any) -> Any:
        cur = self.raw.cursor()
        rows = list(seq)
        if rows:
            self._run(cur.executemany, to_postgres(sql), rows)
        return cur

    def _run(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except psycopg_module().Error as exc:
            if self.collection is not None and getattr(exc, "sqlstate", None) in GONE_SQLSTATES and self._gone():
                raise CollectionError(
                    f"collection {self.collection!r} no longer exists: its catalog (schema {self.schema} in "
                    f"{safe_url(self.url)}) was deleted, by another process or host; open it again by name "
                    "or create it anew") from exc
            raise

    def _gone(self) -> bool:
        """Whether this connection's schema no longer exists (asked on a new connection when this
        one is inside a transaction, which the error has aborted)."""
        idle = self.raw.info.transaction_status == psycopg_module().pq.TransactionStatus.IDLE
        try:
            conn = self if idle else connect(self.url, None)
        except CollectionError:  # the server went away too: the original error says more
            return False
        try:
            cur = conn.raw.cursor()
            cur.execute("SELECT to_regnamespace(%s) IS NULL", (self.schema,))
            return bool(cur.fetchone()[0])
        finally:
            if conn is not self:
                conn.close()

    def close(self) -> None:
        self.raw.close()


def connect(url: str, schema: str | None, *, read_only: bool = False, durable: bool = True) -> PgConnection:
    """A connection to ``url`` whose unqualified names are ``schema``'s; ``CollectionError`` naming the server."""
    psycopg = psycopg_module()
    opts = [] if schema is None else [f"-c search_path={schema}"]
    if read_only:
        opts.append("-c default_transaction_read_only=on")
    if not durable:
        opts.append("-c synchronous_commit=off")  # consistent after a crash; may lose the last commits
    try:
        raw = psycopg.connect(url, autocommit=True, options=" ".join(opts), connect_timeout=30,
                              application_name=f"rag pid {os.getpid()} on {socket.gethostname()}"[:63],
                              keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
    except psycopg.Error as exc:
        raise CollectionError(f"cannot reach the PostgreSQL catalog {safe_url(url)}: {exc}") from exc
    return PgConnection(raw, url, schema)


def safe_url(url: str) -> str:
    """``url`` without its password (for messages)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


class _Lease:
    """A shared lease (or the writer's exclusive hold) on one generation's advisory key."""

    def __init__(self, conn: PgConnection, guard: threading.Lock, key: tuple[int, int], shared: bool) -> None:
        self._conn, self._guard, self._key, self._shared = conn, guard, key, shared

    def release(self) -> None:
        fn = "pg_advisory_unlock_shared" if self._shared else "pg_advisory_unlock"
        with self._guard, contextlib.suppress(Exception):  # a closed session has released it already
            self._conn.execute(f"SELECT {fn}(CAST(? AS INTEGER), CAST(? AS INTEGER))", self._key)


class PgWriteLock:
    """The collection's single-writer lock: an advisory lock held by a session of its own."""

    def __init__(self, url: str, schema: str, collection: str) -> None:
        self.url, self.schema, self.collection = url, schema, collection
        self._conn: PgConnection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def _holder(self, conn: PgConnection) -> str:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND CAST(l.classid AS BIGINT) = ? AND CAST(l.objid AS BIGINT) = 0",
            (lock_class(self.schema),),
        ).fetchone()
        return row[0] if row and row[0] else "another process"

    def acquire(self, wait: bool = False, timeout: float | None = None) -> None:
        conn = connect(self.url, self.schema)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.005
        try:
            while not conn.execute("SELECT pg_try_advisory_lock(CAST(? AS INTEGER), 0)", (lock_class(self.schema),)).fetchone()[0]:
                if not wait or (deadline is not None and time.monotonic() >= deadline):
                    why = f"; gave up waiting after {timeout:g} s" if wait else ""
                    raise CollectionBusy(f"collection {self.collection!r} is being written by {self._holder(conn)}{why}")
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:  # unlock first: the server ends a closed session's locks only a moment later
                conn.execute("SELECT pg_advisory_unlock(CAST(? AS INTEGER), 0)", (lock_class(self.schema),))
            except Exception:  # noqa: BLE001 - a broken session: closing it releases the lock
                pass
            conn.close()


class PgCatalog:
    """A collection's catalog in schema ``schema`` of the PostgreSQL database at ``url``."""

    kind = "postgresql"

    def __init__(self, url: str, schema: str, durable: bool, collection: str = "") -> None:
        """``collection``: the name the collection was opened by (for messages)."""
        self.url, self.schema, self.durable = url, schema, durable
        self.collection = collection or schema
        self.where = f"{safe_url(url)} schema {schema}"
        self._key = lock_class(schema)
        self._lock = threading.Lock()
        self._session_guard = threading.Lock()  # the lease/marker session is shared by threads
        self._local = threading.local()
        self._all: weakref.WeakSet[Any] = weakref.WeakSet()
        self._writer: PgConnection | None = None
        self._session: PgConnection | None = None

    def _open(self, **kw: Any) -> PgConnection:
        conn = connect(self.url, self.schema, **kw).watch(self.collection)
        self._all.add(conn.raw)
        return conn

    def reader(self) -> PgConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.raw.closed:
            conn = self._local.conn = self._open(read_only=True)
        return conn

    def writer(self) -> PgConnection:
        with self._lock:
            if self._writer is None or self._writer.raw.closed:
                self._writer = self._open(durable=self.durable)
            return self._writer

    def _session_conn(self) -> PgConnection:
        with self._lock:
            if self._session is None or self._session.raw.closed:
                self._session = self._open()
            return self._session

    def write_lock(self, collection: str) -> PgWriteLock:
        return PgWriteLock(self.url, self.schema, collection)

    def lease(self, gen: int) -> _Lease:
        conn, key = self._session_conn(), (self._key, int(gen) + 1)
        with self._session_guard:
            conn.execute("SELECT pg_advisory_lock_shared(CAST(? AS INTEGER), CAST(? AS INTEGER))", key)
        return _Lease(conn, self._session_guard, key, shared=True)

    def try_exclusive(self, gen: int) -> _Lease | None:
        conn, key = self.writer(), (self._key, int(gen) + 1)  # the writer's session, not the leases'
        if not conn.execute("SELECT pg_try_advisory_lock(CAST(? AS INTEGER), CAST(? AS INTEGER))", key).fetchone()[0]:
            return None
        return _Lease(conn, threading.Lock(), key, shared=False)

    def put_source(self, conn: Any, data: bytes) -> str:
        from rag.store.document_sources import source_name

        name = source_name(data)
        conn.execute("INSERT INTO sources(name, data) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, data))
        return name

    def read_source(self, name: str) -> bytes | None:
        row = self.reader().execute("SELECT data FROM sources WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def source_bytes(self, names: list[str]) -> int:
        row = self.reader().execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM sources WHERE name = ANY(?)",
                                    (list(names),)).fetchone()
        return int(row[0])

    def tidy(self, conn: Any, referenced: set[str], live_gens: set[int]) -> int:
        cur = conn.execute("DELETE FROM sources s WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.source_file = s.name)")
        return max(int(cur.rowcount), 0)

    def set_marker(self, name: str, data: bytes | None) -> None:
        conn = self._session_conn()
        with self._session_guard:
            if data is None:
                conn.execute("DELETE FROM markers WHERE name = ?", (name,))
            else:
                conn.execute("INSERT INTO markers(name, data) VALUES (?, ?) "
                             "ON CONFLICT (name) DO UPDATE SET data = excluded.data", (name, data))

    def get_marker(self, name: str) -> bytes | None:
        row = self.reader().execute("SELECT data FROM markers WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def size_bytes(self) -> int:
        row = self.reader().execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relkind = 'r'",
            (self.schema,),
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        for raw in list(self._all):
            with contextlib.suppress(Exception):
                raw.close()
        self._local = threading.local()
        self._writer = self._session = None
