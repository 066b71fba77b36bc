"""The one module that talks to Milvus (through ``pymilvus``): schema, writes, searches, reads.

One Milvus collection per collection, one row per chunk::

    id       INT64 primary key     the catalog's chunk id (never reused)
    doc_id   INT64 (INVERTED)      the catalog's document id: scoping and clean-up filters
    dense    FLOAT_VECTOR[dim]     L2-normalised; index FLAT / HNSW / IVF_FLAT, metric IP
    sparse   SPARSE_FLOAT_VECTOR   SPARSE_INVERTED_INDEX, metric IP: BGE-M3 lexical weights, or
                                   BM25-saturated term frequencies (see rag.store.milvus_bm25)
    dl, nref FLOAT                 BM25 collections only: chunk length and its saturation constant

Expressions are built from integers this module formats itself (never from user text), so no
quoting is involved. Searches and reads ask for ``Strong`` consistency: a reader sees every
write acknowledged before it started. Errors come back as :class:`CollectionError` naming the
Milvus collection and the backend.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.store.errors import CollectionError
from rag.store.milvus_uri import Backend
from rag.store.model import IndexOptions, ModelInfo

#: Milvus refuses a search ``limit`` (topk) above this
MAX_LIMIT = 16384
#: rows per insert request (a 1024-d row is ~4 KB, plus its sparse part): stays far below
#: gRPC's message limits and keeps memory flat
INSERT_ROWS = 1000
#: ids per ``id in [...]`` read or ``doc_id in [...]`` delete request
IDS_PER_REQUEST = 4096
#: an empty sparse vector is not allowed; a chunk without terms stores this dimension, which
#: no query can contain (query terms are < 2**31)
EMPTY_SPARSE_DIM = 2**32 - 2
CONSISTENCY = "Strong"
LITE_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 300_000, "grpc.keepalive_permit_without_calls": False}

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def client_for(backend: Backend) -> Any:
    """The process's ``MilvusClient`` for ``backend`` (one per address; Milvus Lite starts here)."""
    with _clients_lock:
        client = _clients.get(backend.uri)
        if client is None:
            from pymilvus import MilvusClient  # heavy (gRPC): imported on first use

            try:
                if backend.kind == "milvus-lite":
                    # the in-process server keeps gRPC's default ping policy (one ping per 5 minutes without
                    # calls): pymilvus's 10 s keep-alive pings get the channel closed ("too_many_pings")
                    Path(backend.address).parent.mkdir(parents=True, exist_ok=True)
                    client = MilvusClient(backend.address, grpc_options=LITE_GRPC_OPTIONS)
                else:
                    client = MilvusClient(uri=backend.address, token=backend.token, db_name=backend.db_name)
            except Exception as exc:
                hint = ""
                if backend.kind == "milvus-lite":
                    hint = (" (Milvus Lite lets one process at a time open a .db folder: is the app or another "
                            "command using it? To share it, run `milvus-lite server --data-dir "
                            f"{backend.address}` and use milvus://127.0.0.1:19530)")
                raise CollectionError(f"cannot open Milvus backend {backend.uri}: {_message(exc)}{hint}") from exc
            _clients[backend.uri] = client
        return client


def close_backend(backend: Backend) -> None:
    """Close this process's client of ``backend`` (and stop its Milvus Lite server, if any)."""
    with _clients_lock:
        client = _clients.pop(backend.uri, None)
    if client is not None:
        try:
            client.close()
        except Exception:  # closing a dead connection: nothing left to release
            pass
    if backend.kind == "milvus-lite":
        try:
            from milvus_lite import server_manager_instance
        except ImportError:
            return
        server_manager_instance.release_server(backend.address)


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "message", "") or exc)


def id_list(ids: Iterable[int]) -> str:
    """``[1,2,3]`` from integers (an expression literal)."""
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def dense_index_params(info: ModelInfo, options: IndexOptions) -> tuple[str, dict[str, Any]]:
    """Milvus index type and build parameters for the collection's ``dense_index`` choice."""
    if info.dense_index == "hnsw":
        return "HNSW", {"M": options.hnsw_m, "efConstruction": options.hnsw_ef_construction}
    if info.dense_index == "ivf":
        return "IVF_FLAT", {"nlist": options.ivf_nlist or 1024}
    return "FLAT", {}


class MilvusTable:
    """One Milvus collection holding a collection's vectors (see the module docstring)."""

    def __init__(self, backend: Backend, name: str, info: ModelInfo, options: IndexOptions) -> None:
        self.backend = backend
        self.name = name
        self.info = info
        self.options = options
        self.client = client_for(backend)
        self.bm25 = info.sparse == "bm25"

    def _fail(self, what: str, exc: BaseException) -> CollectionError:
        return CollectionError(f"Milvus collection {self.name!r} at {self.backend.uri}: {what} failed: {_message(exc)}")

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CollectionError:
            raise
        except Exception as exc:
            raise self._fail(what, exc) from exc

    # ------------------------------------------------------------------ life cycle
    def exists(self) -> bool:
        return bool(self._call("has_collection", self.client.has_collection, self.name))

    def create(self, properties: dict[str, str]) -> None:
        """Create the Milvus collection with its indexes (``CollectionError`` if it exists)."""
        from pymilvus import DataType, MilvusClient

        if self.exists():
            raise CollectionError(f"Milvus collection {self.name!r} already exists at {self.backend.uri}")
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("doc_id", DataType.INT64)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=self.info.dim)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        if self.bm25:
            schema.add_field("dl", DataType.FLOAT)
            schema.add_field("nref", DataType.FLOAT)
        index = self.client.prepare_index_params()
        kind, params = dense_index_params(self.info, self.options)
        if params and self.backend.kind == "milvus-lite":
            params = {**params, "params": params}  # Milvus Lite reads build parameters from a "params" entry only
        index.add_index("dense", index_type=kind, metric_type="IP", params=params)
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        index.add_index("doc_id", index_type="INVERTED")
        self._call("create_collection", self.client.create_collection, self.name, schema=schema,
                   consistency_level=CONSISTENCY, properties=properties)
        # indexes of an empty collection: nothing to wait for (and Milvus Lite cannot report build progress)
        self._call("create_index", self.client.create_index, self.name, index, sync=False)
        self.load()

    def properties(self) -> dict[str, str]:
        desc = self._call("describe_collection", self.client.describe_collection, self.name)
        return dict(desc.get("properties") or {})

    def load(self) -> None:
        """Load the collection for search (a no-op when it already is)."""
        self._call("load_collection", self.client.load_collection, self.name)

    def drop(self) -> None:
        if self.exists():
            self._call("drop_collection", self.client.drop_collection, self.name)

    def flush(self) -> None:
        self._call("flush", self.client.flush, self.name)

    def compact(self) -> None:
        """Ask Milvus to merge segments and drop deleted rows (asynchronous on a server)."""
        self._call("compact", self.client.compact, self.name)

    # ------------------------------------------------------------------ writes
    def insert(self, rows: list[dict[str, Any]], upsert: bool = False) -> None:
        fn = self.client.upsert if upsert else self.client.insert
        for start in range(0, len(rows), INSERT_ROWS):
            self._call("upsert" if upsert else "insert", fn, self.name, rows[start:start + INSERT_ROWS])

    def delete_from(self, first_id: int) -> None:
        """Delete every row with ``id >= first_id`` (rows of batches that never committed)."""
        self._call("delete", self.client.delete, self.name, filter=f"id >= {int(first_id)}")

    def delete_documents(self, doc_ids: Sequence[int]) -> None:
        docs = sorted({int(d) for d in doc_ids})
        for start in range(0, len(docs), IDS_PER_REQUEST):
            part = docs[start:start + IDS_PER_REQUEST]
            self._call("delete", self.client.delete, self.name, filter=f"doc_id in {id_list(part)}")

    def delete_range(self, first_id: int, end_id: int) -> None:
        self._call("delete", self.client.delete, self.name, filter=f"id >= {int(first_id)} and id < {int(end_id)}")

    # ------------------------------------------------------------------ reads
    def search(
        self,
        field: str,
        queries: list[Any],
        limit: int,
        expr: str,
        output_fields: list[str] | None = None,
    ) -> list[list[tuple[int, float, dict[str, Any]]]]:
        """``(id, score, fields)`` per hit, per query, best first as Milvus ranks them."""
        params: dict[str, Any] = {"metric_type": "IP"}
        if field == "dense" and self.info.dense_index == "hnsw":
            params["params"] = {"ef": max(self.options.hnsw_ef_search, limit)}
        elif field == "dense" and self.info.dense_index == "ivf":
            params["params"] = {"nprobe": self.options.ivf_nprobe}
        res = self._call(
            "search", self.client.search, self.name, data=queries, anns_field=field, limit=int(limit),
            filter=expr, output_fields=output_fields or ["doc_id"], search_params=params, consistency_level=CONSISTENCY,
        )
        out = []
        for hits in res:
            out.append([(int(h["id"]), float(h["distance"]), h.get("entity") or {}) for h in hits])
        return out

    def fetch(self, ids: Sequence[int], fields: list[str]) -> dict[int, dict[str, Any]]:
        """Rows by chunk id (ids Milvus does not hold are absent from the result)."""
        wanted = sorted({int(i) for i in ids})
        out: dict[int, dict[str, Any]] = {}
        for start in range(0, len(wanted), IDS_PER_REQUEST):
            part = wanted[start:start + IDS_PER_REQUEST]
            rows = self._call("query", self.client.query, self.name, filter=f"id in {id_list(part)}",
                              output_fields=["id", *fields], consistency_level=CONSISTENCY)
            for r in rows:
                out[int(r["id"])] = r
        return out

    def ids_between(self, first_id: int, end_id: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, doc_ids)`` of every row with ``first_id <= id < end_id``, ascending (paged)."""
        ids: list[int] = []
        docs: list[int] = []
        lo = int(first_id)
        while lo < end_id:
            hi = min(int(end_id), lo + IDS_PER_REQUEST)
            rows = self._call("query", self.client.query, self.name, filter=f"id >= {lo} and id < {hi}",
                              output_fields=["id", "doc_id"], limit=MAX_LIMIT, consistency_level=CONSISTENCY)
            for r in rows:
                ids.append(int(r["id"]))
                docs.append(int(r["doc_id"]))
            lo = hi
        order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
        return np.asarray(ids, dtype=np.int64)[order], np.asarray(docs, dtype=np.int64)[order]

    def count(self, expr: str = "") -> int:
        rows = self._call("count", self.client.query, self.name, filter=expr, output_fields=["count(*)"],
                          consistency_level=CONSISTENCY)
        return int(rows[0]["count(*)"]) if rows else 0


def sparse_row(terms: np.ndarray, vals: np.ndarray) -> dict[int, float]:
    """A Milvus sparse vector from one chunk's terms and values (a placeholder when empty)."""
    if len(terms) == 0:
        return {EMPTY_SPARSE_DIM: 1.0}
    return dict(zip(terms.tolist(), vals.astype(np.float32).tolist()))


def sparse_arrays(vec: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(terms, values)`` of a sparse vector as Milvus returns it (a dict), without the placeholder."""
    items = dict(vec or {})
    terms = np.fromiter((int(k) for k in items), dtype=np.int64, count=len(items))
    vals = np.fromiter((float(v) for v in items.values()), dtype=np.float64, count=len(items))
    keep = terms != EMPTY_SPARSE_DIM
    return terms[keep], vals[keep]
