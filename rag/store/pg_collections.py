"""Collections whose catalog is in PostgreSQL and whose vectors are on Milvus: create, open, list,
rename, delete (what :mod:`rag.store.milvus_collections` does with catalog folders).

The registry ``rag.collections`` maps each name to its schema (:mod:`rag.store.pg_catalog`).
Creating is one transaction (schema, tables, generation 0, registry row: PostgreSQL's DDL is
transactional), committed only after the Milvus collection exists, so a collection appears
whole or not at all; two hosts creating one name at once get one collection and one
``CollectionError``. Renaming changes the registry row (the schema keeps its name); deleting
drops the schema and the row in one transaction under the write lock, then the Milvus
collection. Every call opens a short-lived connection of its own.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from rag.store import milvus_catalog as mcat
from rag.store.catalog import create_schema, read_meta, timestamp
from rag.store.catalog_access import header_of
from rag.store.catalog_sql import POSTGRES_FUNCTIONS
from rag.store.errors import CollectionError
from rag.store.milvus_collection import MilvusCollection
from rag.store.milvus_engine import MilvusTable
from rag.store.milvus_uri import Backend, milvus_collection_name
from rag.store.model import IndexOptions, ModelInfo
from rag.store.names import validate_name
from rag.store.pg_catalog import PG_SCHEMA, PgCatalog, PgConnection, PgWriteLock, connect, safe_url

REGISTRY = """
CREATE TABLE IF NOT EXISTS rag.collections (
    name TEXT PRIMARY KEY,
    schema_name TEXT NOT NULL UNIQUE,
    catalog_id TEXT NOT NULL,
    created_at TEXT NOT NULL
)"""
_REGISTRY_LOCK = 0x52414700  # an advisory key serialising the registry's creation


@contextlib.contextmanager
def _connection(backend: Backend) -> Iterator[PgConnection]:
    conn = connect(backend.catalog_url, None)
    try:
        yield conn
    finally:
        conn.close()


def _registry(conn: PgConnection) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(?)", (_REGISTRY_LOCK,))
    conn.execute("CREATE SCHEMA IF NOT EXISTS rag")
    conn.execute(REGISTRY)


def _has_registry(conn: PgConnection) -> bool:
    return conn.execute("SELECT to_regclass('rag.collections') IS NOT NULL").fetchone()[0]


def _schema_of(conn: PgConnection, name: str) -> str | None:
    if not _has_registry(conn):
        return None
    row = conn.execute("SELECT schema_name FROM rag.collections WHERE name = ?", (name,)).fetchone()
    return None if row is None else row[0]


def _missing(backend: Backend, name: str) -> CollectionError:
    return CollectionError(f"no collection {name!r} on {backend.uri} (catalog {safe_url(backend.catalog_url)})")


def pg_collection_exists(backend: Backend, name: str) -> bool:
    with _connection(backend) as conn:
        return _schema_of(conn, validate_name(name)) is not None


def list_pg_collections(backend: Backend) -> list[str]:
    with _connection(backend) as conn:
        if not _has_registry(conn):
            return []
        return [n for (n,) in conn.execute("SELECT name FROM rag.collections ORDER BY name")]


def _catalog_ids(conn: PgConnection) -> set[str]:
    return {c for (c,) in conn.execute("SELECT catalog_id FROM rag.collections")} if _has_registry(conn) else set()


def create_pg_collection(backend: Backend, name: str, info: ModelInfo, options: IndexOptions | None) -> Any:
    """Create collection ``name``: its catalog schema and its Milvus collection; ``CollectionError`` if it exists."""
    validate_name(name)
    options = options or IndexOptions()
    catalog_id = uuid.uuid4().hex
    schema = f"rag_{catalog_id}"
    exists = f"collection {name!r} already exists on {backend.uri} (catalog {safe_url(backend.catalog_url)})"
    table = MilvusTable(backend, milvus_collection_name(name), info, options)
    created = False
    conn = connect(backend.catalog_url, schema)
    try:
        conn.execute("BEGIN")
        _registry(conn)
        if _schema_of(conn, name) is not None:
            raise CollectionError(exists)
        if table.exists() and table.properties().get("rag.catalog_id") in _catalog_ids(conn):
            table.name = f"{table.name}_{uuid.uuid4().hex[:8]}"  # a renamed collection still holds rag_<name>
        values = {"name": name, "model": info.to_json(), "options": options.to_json(), "created_at": timestamp(),
                  "backend": "milvus", "backend_uri": backend.uri, "milvus_collection": table.name,
                  "catalog_id": catalog_id}
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(POSTGRES_FUNCTIONS)
        create_schema(conn, values, mcat.SCHEMA + ";" + PG_SCHEMA)
        conn.execute("INSERT INTO rag.collections(name, schema_name, catalog_id, created_at) VALUES (?, ?, ?, ?)",
                     (name, schema, catalog_id, values["created_at"]))
        if table.exists():
            raise CollectionError(
                f"Milvus collection {table.name!r} already exists at {backend.uri} but no catalog for it is in "
                f"{safe_url(backend.catalog_url)} (left by an interrupted create: "
                f"delete_milvus_collection(..., force=True) drops it)")
        table.create({"rag.catalog_id": catalog_id, "rag.name": name, "rag.model": info.to_json()})
        created = True
        conn.execute("COMMIT")  # the collection exists from here
    except BaseException as exc:
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")
        if created:
            with contextlib.suppress(CollectionError):
                table.drop()
        if type(exc).__name__ == "UniqueViolation":  # another host created it meanwhile
            raise CollectionError(exists) from exc
        raise
    finally:
        conn.close()
    return open_pg_collection(backend, name)


def open_pg_collection(backend: Backend, name: str) -> Any:
    """Open collection ``name``; ``CollectionError`` if the registry has no such name."""
    with _connection(backend) as conn:
        schema = _schema_of(conn, validate_name(name))
        if schema is None:
            raise _missing(backend, name)
        conn.execute(f"SET search_path TO {schema}")
        meta = read_meta(conn)
    header = header_of({**meta, "name": name}, f"{safe_url(backend.catalog_url)} schema {schema}")
    return MilvusCollection(backend, None, db=PgCatalog(backend.catalog_url, schema, header.options.durable, name),
                            header=header)


@contextlib.contextmanager
def _write_locked(backend: Backend, name: str, wait: bool, timeout: float | None) -> Iterator[tuple[PgConnection, str]]:
    """A connection and the collection's schema, with its write lock held (no batch is running)."""
    with _connection(backend) as conn:
        schema = _schema_of(conn, validate_name(name))
        if schema is None:
            raise _missing(backend, name)
        lock = PgWriteLock(backend.catalog_url, schema, name)
        lock.acquire(wait=wait, timeout=timeout)
        try:
            yield conn, schema
        finally:
            lock.release()


def rename_pg_collection(backend: Backend, name: str, new_name: str, wait: bool = True,
                         timeout: float | None = None) -> Any:
    """Rename collection ``name`` to ``new_name`` (one registry row; open objects keep working)."""
    validate_name(new_name)
    with _write_locked(backend, name, wait, timeout) as (conn, schema):
        conn.execute("BEGIN")
        try:
            if _schema_of(conn, new_name) is not None:
                raise CollectionError(f"collection {new_name!r} already exists on {backend.uri}")
            conn.execute("UPDATE rag.collections SET name = ? WHERE name = ?", (new_name, name))
            conn.execute(f"UPDATE {schema}.meta SET value = ? WHERE key = 'name'", (new_name,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return open_pg_collection(backend, new_name)


def delete_pg_collection(backend: Backend, name: str, wait: bool = False, timeout: float | None = None,
                         force: bool = False) -> None:
    """Delete collection ``name``: its schema, its registry row, then its Milvus collection."""
    table = MilvusTable(backend, milvus_collection_name(name), ModelInfo("unknown", 1), IndexOptions())
    if not pg_collection_exists(backend, name):
        if force and table.exists():
            table.drop()
            return
        raise _missing(backend, name)
    with _write_locked(backend, name, wait, timeout) as (conn, schema):
        meta = dict(conn.execute(f"SELECT key, value FROM {schema}.meta").fetchall())
        conn.execute("BEGIN")
        try:
            conn.execute("DELETE FROM rag.collections WHERE name = ?", (name,))
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    table.name = meta.get("milvus_collection", table.name)
    if table.exists() and table.properties().get("rag.catalog_id") == meta.get("catalog_id"):
        table.drop()
