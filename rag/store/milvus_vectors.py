"""The Milvus vector store: one Milvus collection (``rag_<name>``) holding each chunk's vectors.

The catalog stays the source of truth and the commit point; Milvus holds the dense and sparse
vectors keyed by chunk id (:mod:`rag.store.milvus_engine`), the catalog's extra tables tie the
two together (:mod:`rag.store.milvus_catalog`). Loading a generation reads its live chunk ids
from the catalog (:class:`~rag.store.milvus_search.MilvusSnapshot` searches); batches are
:class:`~rag.store.milvus_batch.MilvusBatch`. BM25 collections keep the FAISS backend's scores
(:mod:`rag.store.milvus_bm25`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rag.store import milvus_bm25 as bm25
from rag.store import milvus_catalog as mcat
from rag.store.catalog import current_generation, read_meta
from rag.store.catalog_access import CatalogHeader
from rag.store.catalog_db import CatalogDB
from rag.store.cleanup import collect_garbage
from rag.store.errors import CollectionError
from rag.store.fsutil import dir_bytes
from rag.store.milvus_batch import MilvusBatch
from rag.store.milvus_engine import IDS_PER_REQUEST, MilvusTable, sparse_arrays, sparse_row
from rag.store.milvus_search import MilvusSnapshot
from rag.store.milvus_uri import Backend

INFLIGHT = "inflight.json"


class MilvusVectors:
    """A collection's vectors on Milvus (see the module docstring)."""

    keeps_current = True  # loading a generation reads all its chunk ids: keep the current one loaded

    def __init__(self, backend: Backend, header: CatalogHeader, col: Any) -> None:
        self.backend = backend
        self.db: CatalogDB = col.db
        path = self.db.where
        self.name = name = col.name
        self.info, self.options = header.info, header.options
        self._reader: Callable[[], Any] = col._conn
        try:
            table_name = header.meta["milvus_collection"]
            self.catalog_id = header.meta["catalog_id"]
        except KeyError as exc:
            raise CollectionError(f"catalog of {path} is malformed: {exc}") from exc
        self.table = MilvusTable(backend, table_name, self.info, self.options)
        if not self.table.exists():
            raise CollectionError(
                f"collection {name!r}: its Milvus collection {table_name!r} is missing at {backend.uri} "
                f"(catalog in {path})"
            )
        owner = self.table.properties().get("rag.catalog_id")
        if owner != self.catalog_id:
            raise CollectionError(
                f"collection {name!r}: Milvus collection {table_name!r} at {backend.uri} belongs to another "
                f"catalog ({owner!r}, this one is {self.catalog_id!r})"
            )
        self.table.load()

    # ------------------------------------------------------------------ reading
    def load(self, conn: Any, gen: int, manifest: dict[str, Any], lease_fd: Any) -> MilvusSnapshot:
        if gen == 0:
            manifest = {"next_chunk_id": 1}
        ids, doc_of = mcat.live_chunks(conn, gen)
        hidden, hidden_rows = mcat.hidden_documents(conn, gen)
        length_sum = mcat.live_length_sum(conn, gen) if self.info.sparse == "bm25" else 0.0
        return MilvusSnapshot(self.name, gen, int(manifest["next_chunk_id"]), ids, doc_of, hidden, hidden_rows,
                              length_sum, lease_fd, self.table, self.info, self._reader)

    # ------------------------------------------------------------------ writing (the writer holds the lock)
    def begin(self, conn: Any, meta: dict[str, str], base: Callable[[], Any]) -> MilvusBatch:
        return MilvusBatch(self, conn, meta)

    def mark_inflight(self, first_chunk: int) -> None:
        self.db.set_marker(INFLIGHT, json.dumps({"first_chunk": int(first_chunk), "pid": os.getpid()}).encode())

    def clear_inflight(self) -> None:
        self.db.set_marker(INFLIGHT, None)

    def forget_uncommitted(self, first_chunk: int) -> None:
        """Delete a rolled-back batch's vectors now; if Milvus fails, the next writer does (``inflight.json``)."""
        import warnings

        try:
            self.table.delete_from(first_chunk)
            self.clear_inflight()
        except Exception as exc:
            warnings.warn(f"collection {self.name!r}: could not delete the rolled-back batch's vectors now "
                          f"({exc}); the next writer will", stacklevel=4)

    def clean_up(self, conn: Any) -> None:
        """Collect old generations, purge their rows, delete purged and uncommitted vectors from Milvus."""
        inflight = read_inflight(self.db.get_marker(INFLIGHT))
        if inflight is not None:
            committed = int(read_meta(conn)["next_chunk_id"])
            self.table.delete_from(max(inflight, committed))
            self.clear_inflight()
        collect_garbage(conn, self.db)
        purged = mcat.purged_trash(conn)
        if purged:
            self.table.delete_documents([doc for doc, _, _ in purged])
            mcat.forget_trash(conn, purged)

    def renormalise(self, conn: Any, gen: int) -> None:
        """Rewrite BM25 weights with generation ``gen``'s average length; ask Milvus to compact."""
        if self.info.sparse == "bm25":
            ids, _ = mcat.live_chunks(conn, gen)
            n = len(ids)
            avgdl = mcat.live_length_sum(conn, gen) / n if n else 1.0
            for start in range(0, n, IDS_PER_REQUEST):
                part = ids[start:start + IDS_PER_REQUEST].tolist()
                rows = self.table.fetch(part, ["doc_id", "dense", "sparse", "dl", "nref"])
                out = []
                for cid in part:
                    r = rows.get(cid)
                    if r is None:
                        continue  # reported by verify(); nothing to re-normalise
                    terms, w = sparse_arrays(r["sparse"])
                    n_new = float(bm25.length_norm(float(r["dl"]), avgdl))
                    w_new = bm25.live_term_scores(w, float(r["nref"]), n_new)
                    out.append({"id": cid, "doc_id": int(r["doc_id"]), "dense": np.asarray(r["dense"], np.float32),
                                "sparse": sparse_row(terms, w_new), "dl": float(r["dl"]), "nref": n_new})
                self.table.insert(out, upsert=True)
        self.table.compact()

    # ------------------------------------------------------------------ accounting
    def stats(self, snap: MilvusSnapshot) -> tuple[dict[str, Any], dict[str, int]]:
        conn = self._reader()
        colbert = int(conn.execute("SELECT COALESCE(SUM(LENGTH(vecs)), 0) FROM milvus_colbert").fetchone()[0])
        milvus = 0
        if self.backend.kind == "milvus-lite":
            milvus = dir_bytes(Path(self.backend.address) / "collections" / self.table.name)
        counts: dict[str, Any] = {
            "backend": self.backend.uri,
            "milvus_collection": self.table.name,
            "milvus_rows": self.table.count(),
            "hidden_rows": snap.hidden_rows,
            "dense_index": self.info.dense_index,
        }
        if self.info.sparse == "bm25":
            counts["bm25_avgdl"] = round(snap.avgdl, 4)
        return counts, {"colbert": colbert, "milvus": milvus}

    def problems(self, snap: MilvusSnapshot) -> list[str]:
        problems: list[str] = []
        conn = self._reader()
        m_ids, m_docs = self.table.ids_between(0, snap.bound)
        pos = np.zeros(0, np.int64)
        if len(m_ids):
            pos = np.searchsorted(m_ids, snap.ids)
            in_milvus = pos < len(m_ids)
            in_milvus[in_milvus] = m_ids[pos[in_milvus]] == snap.ids[in_milvus]
        else:
            in_milvus = np.zeros(snap.n_live, bool)
        if not in_milvus.all():
            problems.append(f"chunks without vectors in Milvus: {snap.ids[~in_milvus][:10].tolist()}")
        elif snap.n_live and not np.array_equal(m_docs[pos], snap.doc_of):
            problems.append("Milvus rows carry other document ids than the catalog")
        _, live = snap.positions(m_ids)
        extra = m_ids[~live & ~np.isin(m_docs, snap.hidden_docs)]
        if len(extra):
            problems.append(f"Milvus rows below id {snap.bound} that no document owns: {extra[:10].tolist()}")
        if self.info.sparse == "bm25":
            conn.execute("BEGIN DEFERRED")  # one read snapshot: milvus_df follows the current generation
            try:
                current = snap.gen == current_generation(conn)
                want = mcat.recount_df(conn, snap.gen) if current else {}
                have = dict(conn.execute("SELECT term, df FROM milvus_df").fetchall()) if current else {}
            finally:
                conn.execute("COMMIT")
            if want != have:
                diff = sorted(set(want.items()) ^ set(have.items()))[:5]
                problems.append(f"BM25 document frequencies differ from the documents' terms: {diff}")
        if self.info.colbert_dim and snap.n_live:
            n = conn.execute(
                "SELECT COUNT(*) FROM milvus_colbert WHERE chunk_id IN (SELECT value FROM json_each(?))",
                (json.dumps(snap.ids.tolist()),),
            ).fetchone()[0]
            if n != snap.n_live:
                problems.append(f"{snap.n_live - n} live chunk(s) have no ColBERT vectors")
        return problems


def read_inflight(marker: bytes | None) -> int | None:
    """The first chunk id of a batch that wrote to Milvus and may not have finished, if any."""
    if marker is None:
        return None
    try:
        return int(json.loads(marker)["first_chunk"])
    except (ValueError, KeyError, TypeError):
        return 0  # unreadable (torn by a crash): sweep everything above the committed ids
