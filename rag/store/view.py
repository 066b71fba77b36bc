"""Read-only views: one generation's catalog rows and vectors, consistent while writers commit.

A view is cheap (the loaded vector snapshot, :mod:`rag.store.vectors`, is shared by all views
of a generation in the process) and thread-safe (catalog reads use one connection per
thread; the search structures are immutable). Every catalog query carries the view's
generation, so rows added or deleted by later commits are invisible to it, and nothing it can
see is purged while it lives. Searches go to the snapshot of whichever store holds the vectors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from rag.documents import Clause, DefinedTerm, Document, DocumentInfo, StoredChunk
from rag.store.catalog import CHUNK_COLS, DOC_INFO_COLS, VISIBLE, decode_lines, doc_info, stored_chunk
from rag.store.errors import CollectionError
from rag.store.model import ModelInfo
from rag.store.parts import CollectionParts


class View:
    """A consistent read-only snapshot of one generation of a collection."""

    def __init__(self, collection: CollectionParts, snapshot: Any) -> None:
        self._col = collection
        self._snap = snapshot

    @property
    def generation(self) -> int:
        return self._snap.gen

    @property
    def info(self) -> ModelInfo:
        return self._col.info

    @property
    def name(self) -> str:
        return self._col.name

    def __repr__(self) -> str:
        return f"View({self._col.name!r}, generation={self.generation}, chunks={self._snap.n_live})"

    def _query(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        return self._col._conn().execute(sql, {"gen": self.generation, **params}).fetchall()

    # ------------------------------------------------------------------ documents
    def documents(self) -> list[DocumentInfo]:
        rows = self._query(f"SELECT {DOC_INFO_COLS} FROM documents d WHERE {VISIBLE} ORDER BY d.id", {})
        return [doc_info(r) for r in rows]

    def document_info(self, doc_id: int) -> DocumentInfo:
        rows = self._query(f"SELECT {DOC_INFO_COLS} FROM documents d WHERE d.id = :id AND {VISIBLE}", {"id": int(doc_id)})
        if not rows:
            raise self._no_document(doc_id)
        return doc_info(rows[0])

    def find_document(self, name: str | None = None, content_hash: str | None = None) -> DocumentInfo | None:
        """The newest visible document with this name and/or content hash, or ``None``."""
        if name is None and content_hash is None:
            raise ValueError("find_document needs a name or a content_hash")
        conds, params = [VISIBLE], {}
        if name is not None:
            conds.append("d.name = :name")
            params["name"] = name
        if content_hash is not None:
            conds.append("d.content_hash = :hash")
            params["hash"] = content_hash
        rows = self._query(
            f"SELECT {DOC_INFO_COLS} FROM documents d WHERE {' AND '.join(conds)} ORDER BY d.id DESC LIMIT 1", params
        )
        return doc_info(rows[0]) if rows else None

    def document(self, doc_id: int) -> Document:
        rows = self._query(
            "SELECT d.name, d.text, d.page_spans, d.lines, d.media_type, d.language, d.warnings "
            f"FROM documents d WHERE d.id = :id AND {VISIBLE}",
            {"id": int(doc_id)},
        )
        if not rows:
            raise self._no_document(doc_id)
        name, text, spans, lines, media_type, language, warns = rows[0]
        return Document(
            name=name,
            text=text,
            page_spans=[(int(a), int(b)) for a, b in json.loads(spans)],
            lines=decode_lines(lines),
            media_type=media_type,
            language=language,
            warnings=list(json.loads(warns)),
        )

    def source(self, doc_id: int) -> bytes | None:
        rows = self._query(f"SELECT d.source_file FROM documents d WHERE d.id = :id AND {VISIBLE}", {"id": int(doc_id)})
        if not rows:
            raise self._no_document(doc_id)
        if rows[0][0] is None:
            return None
        data = self._col.db.read_source(rows[0][0])
        if data is None:
            raise CollectionError(f"collection {self.name!r}: source copy {rows[0][0]} of document {doc_id} is missing "
                                  f"({self._col.db.where})")
        return data

    def clauses(self, doc_id: int) -> list[Clause]:
        self.document_info(doc_id)
        rows = self._query(
            'SELECT label, norm, kind, heading, start, "end", parent, level FROM clauses WHERE doc_id = :id ORDER BY idx',
            {"id": int(doc_id)},
        )
        return [Clause(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), None if r[6] is None else int(r[6]), int(r[7])) for r in rows]

    def defined_terms(self, doc_id: int) -> list[DefinedTerm]:
        self.document_info(doc_id)
        rows = self._query('SELECT term, start, "end" FROM terms WHERE doc_id = :id ORDER BY idx', {"id": int(doc_id)})
        return [DefinedTerm(r[0], int(r[1]), int(r[2])) for r in rows]

    def _no_document(self, doc_id: int) -> CollectionError:
        return CollectionError(f"collection {self.name!r} generation {self.generation} has no document {doc_id}")

    # ------------------------------------------------------------------ chunks
    def chunks(self, ids: Sequence[int] | np.ndarray) -> list[StoredChunk]:
        """Stored chunks in the order of ``ids``; ``CollectionError`` if an id is not in this generation."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return []
        rows = self._query(
            f"SELECT {CHUNK_COLS} FROM chunks c JOIN documents d ON d.id = c.doc_id "
            f"WHERE c.id IN (SELECT value FROM json_each(:ids)) AND {VISIBLE}",
            {"ids": json.dumps(sorted(set(wanted)))},
        )
        by_id = {int(r[0]): stored_chunk(r) for r in rows}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise CollectionError(f"collection {self.name!r} generation {self.generation} has no chunk(s) {missing[:10]}")
        return [by_id[i] for i in wanted]

    def chunk_ids(self, doc_ids: Iterable[int] | None = None) -> np.ndarray:
        """Live chunk ids (ascending), of the given documents when ``doc_ids`` is given."""
        return self._snap.chunk_ids(doc_ids)

    # ------------------------------------------------------------------ image items (issue 17)
    def image_items(self, doc_ids: Iterable[int] | None = None, *, vectors: bool = True) -> Any:
        """The visible image items (of ``doc_ids`` when given) with their vectors: an
        :class:`rag.store.image_rows.ImageSet`, searched by brute force (see that module)."""
        from rag.store import image_rows

        return image_rows.visible_items(self._col._conn(), self.generation, doc_ids, vectors=vectors)

    def image_thumbnail(self, doc_id: int, idx: int) -> bytes | None:
        """The PNG thumbnail of a visible image item, or ``None``."""
        from rag.store import image_rows

        return image_rows.thumbnail(self._col._conn(), self.generation, doc_id, idx)

    # ------------------------------------------------------------------ search
    def dense_search(
        self, q: np.ndarray, k: int, doc_ids: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` chunks by inner product with the normalised query.

        ``q`` of shape ``[dim]`` gives 1-d ``(ids, scores)`` with up to ``k`` entries;
        ``[m, dim]`` gives ``[m, k]`` arrays padded with id ``-1`` and score ``-inf``.
        """
        return self._snap.dense_search(q, k, doc_ids)

    def sparse_search(
        self, q: Mapping[int, float], k: int, doc_ids: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` chunks by sparse score; only chunks with a positive score (sharing a query term) are returned."""
        return self._snap.sparse_search(q, k, doc_ids)

    def sparse_scores(self, q: Mapping[int, float], ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return self._snap.sparse_scores(q, ids)

    def dense_vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return self._snap.dense_vectors(ids)

    def colbert(self, ids: Sequence[int] | np.ndarray) -> list[np.ndarray] | None:
        """Float32 copies of the chunks' ColBERT token vectors; ``None`` without a multi-vector part."""
        return self._snap.colbert(ids)

    # ------------------------------------------------------------------ accounting
    def stats(self) -> dict[str, Any]:
        """Counts and bytes on this machine per part (catalog, the vector store's parts, sources)."""
        snap = self._snap
        docs = self._query(f"SELECT COUNT(*) FROM documents d WHERE {VISIBLE}", {})[0][0]
        counts, store_bytes = self._col.vectors.stats(snap)
        files = self._query(f"SELECT DISTINCT d.source_file FROM documents d WHERE d.source_file IS NOT NULL AND {VISIBLE}", {})
        parts = {"catalog": self._col.db.size_bytes(), **store_bytes,
                 "sources": self._col.db.source_bytes([f for (f,) in files])}
        return {
            "name": self.name,
            "generation": self.generation,
            "documents": int(docs),
            "chunks": snap.n_live,
            **counts,
            "bytes": {**parts, "total": sum(parts.values())},
        }

    def verify(self) -> None:
        """Check that the catalog and the vector store agree; ``CollectionError`` lists what does not."""
        snap = self._snap
        problems: list[str] = []
        catalog_ids = np.array(
            [r[0] for r in self._query(f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE {VISIBLE} ORDER BY c.id", {})],
            dtype=np.int64,
        )
        live = snap.chunk_ids()
        if not np.array_equal(catalog_ids, live):
            extra, lost = np.setdiff1d(live, catalog_ids), np.setdiff1d(catalog_ids, live)
            problems.append(f"catalog and index chunk ids differ: index-only {extra[:10].tolist()}, catalog-only {lost[:10].tolist()}")
        for doc in self.documents():
            n = len(snap.chunk_ids([doc.id]))
            if n != doc.chunks:
                problems.append(f"document {doc.id} lists {doc.chunks} chunks, index holds {n}")
        problems += self._col.vectors.problems(snap)
        if problems:
            raise CollectionError(f"collection {self.name!r} generation {self.generation} is inconsistent: " + "; ".join(problems))
