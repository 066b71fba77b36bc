"""Backend addresses: which engine a collection lives on, written as one string.

* ``faiss`` (or nothing): the file-based backend, collections under the data directory
  (:mod:`rag.store.collection`).
* ``milvus-lite:///abs/path/file.db`` (``milvus-lite:relative/file.db`` also works): Milvus
  Lite, run inside this process, its data in that ``.db`` folder. Catalogs go beside it, in
  ``file.db.catalogs/<name>/``.
* ``milvus://host:19530`` or ``milvus+https://host:443``: a Milvus server (standalone or
  distributed); ``user:password@host`` or ``RAG_MILVUS_TOKEN`` authenticates. Catalogs go under
  ``<data_dir>/milvus/<host>_<port>/<name>/``.

A path after the server (``milvus://host:19530/contracts``) names the collection. Query
parameters: ``catalog=/folder`` puts the catalogs of this backend in that folder instead,
``catalog=postgresql://user@host:5432/db`` (or ``RAG_CATALOG``) puts them in a PostgreSQL
database, so app replicas on several hosts share the collections (:mod:`rag.store.pg_catalog`;
passwords as libpq takes them: in the address, ``PGPASSWORD`` or ``~/.pgpass``), ``db=name``
picks a Milvus database. FAISS keeps its segments in local files, so it takes no PostgreSQL catalog.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from rag.store.names import validate_name
from rag.store.errors import CollectionError

KINDS = ("faiss", "milvus-lite", "milvus")
_DB_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class Backend:
    """A parsed backend address (see the module docstring)."""

    kind: str
    uri: str
    #: what ``MilvusClient`` takes: the ``.db`` path (Milvus Lite) or ``http(s)://host:port``
    address: str = ""
    #: the collection named by the address itself, if any
    name: str | None = None
    catalog_root: Path | None = None
    token: str = ""
    db_name: str = ""
    #: ``postgresql://...`` when the catalogs are in PostgreSQL, else empty (SQLite files)
    catalog_url: str = field(default="", repr=False)

    @property
    def is_milvus(self) -> bool:
        return self.kind != "faiss"

    def catalogs(self, data_dir: str | os.PathLike[str] | None) -> Path:
        """The folder holding this backend's collection catalogs (one sub-folder per collection)."""
        if self.catalog_root is not None:
            return self.catalog_root
        if self.kind == "milvus-lite":
            return Path(self.address + ".catalogs")
        if self.kind == "milvus":
            if data_dir is None:
                raise CollectionError(f"backend {self.uri}: a data directory is needed for the catalogs "
                                      "(set RAG_DATA_DIR or add ?catalog=/folder to the URI)")
            host = urlsplit(self.address).netloc.replace(":", "_")
            return Path(data_dir) / "milvus" / (f"{host}_{self.db_name}" if self.db_name else host)
        raise CollectionError("the faiss backend keeps its collections under the data directory")

    def collection_name(self, name: str | None) -> str:
        """The collection to use: ``name``, or the one in the address; both must agree when both are given."""
        if name and self.name and name != self.name:
            raise CollectionError(f"backend {self.uri} names collection {self.name!r}, but {name!r} was asked for")
        chosen = name or self.name
        if not chosen:
            raise CollectionError(f"backend {self.uri}: no collection name given")
        return validate_name(chosen)


def parse_backend(text: str | None, catalog: str | None = None) -> Backend:
    """Parse a backend address; ``CollectionError`` names what is wrong with it.

    ``catalog`` (``RAG_CATALOG``): a ``postgresql://`` address for the catalogs, unless the
    address names its own ``catalog=``.
    """
    spec = _parse(text)
    url = spec.catalog_url or (catalog or "").strip()
    if url and not url.startswith(PG_SCHEMES):
        raise CollectionError(f"catalog {url!r}: give a postgresql://user@host:5432/database address")
    if url and not spec.is_milvus:
        raise CollectionError("a PostgreSQL catalog needs vectors on a Milvus server (RAG_BACKEND=milvus://host:19530): "
                              "the faiss backend keeps its segments in files on one host")
    return replace(spec, catalog_url=url) if url else spec


PG_SCHEMES = ("postgresql://", "postgres://")


def _parse(text: str | None) -> Backend:
    raw = (text or "").strip()
    if raw in ("", "faiss"):
        return Backend("faiss", "faiss")
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - {"catalog", "db"}
    if unknown:
        raise CollectionError(f"backend {raw!r}: unknown option(s) {sorted(unknown)}; known: catalog, db")
    pg_url = query.get("catalog", "") if query.get("catalog", "").startswith(PG_SCHEMES) else ""
    catalog = Path(query["catalog"]).expanduser().resolve() if query.get("catalog") and not pg_url else None
    db_name = query.get("db", "")
    if db_name and not _DB_NAME_RE.fullmatch(db_name):
        raise CollectionError(f"backend {raw!r}: invalid Milvus database name {db_name!r}")
    if scheme == "milvus-lite":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise CollectionError(f"backend {raw!r}: give the Milvus Lite file, e.g. milvus-lite:///data/rag.db")
        resolved = Path(path).expanduser().resolve()
        if resolved.suffix != ".db":
            raise CollectionError(f"backend {raw!r}: a Milvus Lite path must end in .db (got {resolved.name!r})")
        if db_name:
            raise CollectionError(f"backend {raw!r}: Milvus Lite files hold one database; drop ?db=")
        return Backend("milvus-lite", f"milvus-lite://{resolved}", address=str(resolved), catalog_root=catalog,
                       catalog_url=pg_url)
    if scheme in ("milvus", "milvus+http", "milvus+https"):
        if not parts.hostname:
            raise CollectionError(f"backend {raw!r}: no host, e.g. milvus://localhost:19530")
        try:
            port = parts.port or 19530
        except ValueError as exc:
            raise CollectionError(f"backend {raw!r}: {exc}") from None
        http = "https" if scheme == "milvus+https" else "http"
        name = unquote(parts.path.strip("/")) or None
        if name is not None:
            validate_name(name)
        token = ""
        if parts.username:
            token = unquote(parts.username) + (":" + unquote(parts.password) if parts.password else "")
        token = token or os.environ.get("RAG_MILVUS_TOKEN", "")
        address = f"{http}://{parts.hostname}:{port}"
        canonical = f"{scheme}://{parts.hostname}:{port}" + (f"/{name}" if name else "")
        return Backend("milvus", canonical, address=address, name=name, catalog_root=catalog, token=token,
                       db_name=db_name, catalog_url=pg_url)
    raise CollectionError(
        f"unknown backend {raw!r}: use 'faiss', 'milvus-lite:///path/file.db' or 'milvus://host:19530'"
    )


def milvus_collection_name(name: str) -> str:
    """The Milvus collection of a collection: ``rag_`` + the name with ``_ . -`` escaped (injective).

    Milvus allows letters, digits and underscores only; each ``_``, ``.`` and ``-`` becomes ``_``
    plus its hex code, so two different names never map to one Milvus collection.
    """
    validate_name(name)
    return "rag_" + "".join(c if c.isalnum() else f"_{ord(c):02x}" for c in name)
