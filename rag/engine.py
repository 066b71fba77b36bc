"""The one object the app and the command lines hold: settings, models, collections.

Models load lazily, once per process, behind a lock (the Streamlit app serves several browser
sessions from one process). A model that cannot be loaded is remembered with its clear error,
so the app can start anyway and say what to do.

Every engine acts for a user (rag.access): the local admin unless one is given. ``for_user``
binds a user to a process-wide engine (sharing its models); listing, opening, filling and
deleting collections check that user's role first.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from rag.config import Settings, load_settings, resolve_model

if TYPE_CHECKING:
    from rag.access import Identity


class Engine:
    """Settings + lazily loaded encoder and reranker + collections under the data directory."""

    def __init__(self, settings: Settings | None = None, user: Identity | None = None) -> None:
        from rag.access import LOCAL_ADMIN, Access, AccessStore, named_user  # imports the store: lazily

        self.settings = settings or load_settings()
        if user is None:  # RAG_USER / --user names who the CLI or script acts as
            user = named_user(self.settings.user, self.settings.admins) if self.settings.user else LOCAL_ADMIN
        self.access = Access(AccessStore(self.settings.data_dir, self.settings.catalog), user,
                             audit_questions=self.settings.audit_questions)
        self._base: Engine | None = None  # the engine whose models a user-bound engine shares
        self._lock = threading.RLock()
        self._encoder: Any = None
        self._reranker: Any = None
        self._reranker_loaded = False
        self._visual: Any = None  # Visualized BGE (issue 17): loaded on first use when configured
        self._retrievers: dict[str, Any] = {}

    @property
    def user(self) -> Identity:
        return self.access.user

    def for_user(self, user: Identity) -> Engine:
        """This engine acting for ``user``: same models, retriever cache and lock; their access."""
        from rag.access import Access

        bound = copy.copy(self)
        bound._base = self._base or self
        bound.access = Access(self.access.store, user, audit_questions=self.settings.audit_questions)
        return bound

    # -- models -------------------------------------------------------------------------------
    @property
    def encoder(self) -> Any:
        """The embedding model (raises ``ModelLoadError`` with what to do when it cannot load)."""
        if self._base is not None:
            return self._base.encoder
        with self._lock:
            if self._encoder is None:
                from rag.models import load_encoder

                self._encoder = load_encoder(resolve_model(self.settings.embed_model),
                                             device=self.settings.device, quantize=self.settings.quantize,
                                             tokens_per_batch=self.settings.tokens_per_batch or None)
            return self._encoder

    @property
    def reranker(self) -> Any | None:
        """The cross-encoder, or ``None`` when reranking is disabled."""
        if self._base is not None:
            return self._base.reranker
        with self._lock:
            if not self._reranker_loaded:
                if self.settings.rerank_model is not None:
                    from rag.models import load_reranker

                    self._reranker = load_reranker(self.settings.rerank_model, device=self.settings.device,
                                                   quantize=self.settings.quantize,
                                                   tokens_per_batch=self.settings.tokens_per_batch or None)
                self._reranker_loaded = True
            return self._reranker

    @property
    def visual(self) -> Any | None:
        """Visualized BGE when ``RAG_VISUAL_MODEL`` is set, else ``None`` (image items off).

        A configured model that cannot load raises ``ModelLoadError`` every time it is asked for:
        image search is never silently skipped when someone asked for it."""
        if self._base is not None:
            return self._base.visual
        if self.settings.visual_model is None:
            return None
        with self._lock:
            if self._visual is None:
                from rag.models import load_visual_encoder

                self._visual = load_visual_encoder(self.settings.visual_model, device=self.settings.device)
            return self._visual

    # -- collections ----------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)

    @property
    def backend(self) -> Any:
        """Where collections live (``RAG_BACKEND``): FAISS folders or a Milvus address (``RAG_CATALOG``: its catalogs)."""
        from rag.store.milvus_uri import parse_backend

        return parse_backend(self.settings.backend, catalog=self.settings.catalog)

    def collections(self) -> list[str]:
        """The collections this engine's user may read (others are not even named)."""
        return self.access.visible(self._all_collections())

    def _all_collections(self) -> list[str]:
        if self.backend.is_milvus:
            from rag.store.milvus_collections import list_milvus_collections

            return list_milvus_collections(self.backend, self.data_dir)
        from rag.store import list_collections

        return list_collections(self.data_dir) if self.data_dir.is_dir() else []

    def _check(self, name: str, action: str) -> None:
        """Raise ``AccessDenied`` unless this engine's user may ``action`` on collection ``name``."""
        if not self.backend.is_milvus and ("/" in name or Path(name).is_dir()):
            self.access.require_path_access(name)  # a folder outside the catalog: admins only
        else:
            self.access.require(name, action)

    def model_info(self, colbert: bool = False) -> Any:
        """What a new collection records about the encoder that fills it."""
        from rag.store import ModelInfo

        enc = self.encoder
        return ModelInfo(name=enc.name, dim=enc.dim, sparse="lexical" if enc.has_sparse else "bm25",
                         colbert_dim=enc.dim if (colbert and enc.has_colbert) else None)

    def collection(self, name: str, *, create: bool = False, colbert: bool = False) -> Any:
        """Open a collection by name (or folder path), creating it for this encoder if asked.

        Needs the reader role (editor to create it where it exists); a new collection is owned
        by its creator. A reader gets it read-only (``writer()`` refused)."""
        path_like = not self.backend.is_milvus and ("/" in name or Path(name).is_dir())
        if create and not path_like and name not in self._all_collections():
            col = self._open(name, create=True, colbert=colbert)
            if self.access.claim(name):  # the creator owns it, unless another user just did
                return col
        self._check(name, "edit" if create else "read")
        col = self._open(name, create=create, colbert=colbert)
        if path_like or self.access.may(name, "edit"):
            return col
        from rag.access.readonly import ReadOnlyCollection

        return ReadOnlyCollection(col, self.user.label)

    def _open(self, name: str, *, create: bool, colbert: bool) -> Any:
        from rag.store import CollectionError, create_collection, open_collection

        if self.backend.is_milvus:
            from rag.store.backends import open_backend_collection

            col = open_backend_collection(self.backend, name, data_dir=self.data_dir, create=create,
                                          info=self.model_info(colbert) if create else None)
            col.check_model(self.model_info(col.info.colbert_dim is not None))
            return col
        path = Path(name)
        # a bare name lives under the data directory; anything path-like is a folder of its own
        data_dir, leaf = (path.parent, path.name) if ("/" in name or path.is_dir()) else (self.data_dir, name)
        try:
            col = open_collection(data_dir, leaf)
        except CollectionError:
            if not create:
                raise
            try:
                col = create_collection(data_dir, leaf, self.model_info(colbert))
            except CollectionError:
                # another process or session created it since our open failed: use theirs
                col = open_collection(data_dir, leaf)
        col.check_model(self.model_info(col.info.colbert_dim is not None))
        return col

    def retriever(self, name: str, options: Any = None) -> Any:
        """A retriever over a collection, shared by every session of this process."""
        from rag.retrieve import RetrievalOptions, Retriever

        self._check(name, "read")
        with self._lock:
            key = f"{name}|{options!r}"
            if key not in self._retrievers:  # shared by every user: holds the store's own object
                col = self._open(name, create=False, colbert=False)
                reranker = self.reranker
                self._retrievers[key] = Retriever(col, self.encoder, reranker,
                                                  options or RetrievalOptions(rerank=reranker is not None),
                                                  visual=self.visual)
            return self._retrievers[key]

    def forget(self, name: str) -> None:
        """Drop the cached retrievers of a collection (after it was deleted or re-created)."""
        with self._lock:
            for key in [k for k in self._retrievers if k.split("|", 1)[0] == name]:
                del self._retrievers[key]

    def delete_collection(self, name: str) -> None:
        """Delete a collection under the data directory (waits for a writer to finish)."""
        from rag.store import delete_collection

        self._check(name, "delete")
        with self._lock:
            self.forget(name)
            if self.backend.is_milvus:
                from rag.store.milvus_collections import delete_milvus_collection

                delete_milvus_collection(self.backend, name, self.data_dir, wait=True, timeout=60)
            else:
                delete_collection(self.data_dir, name, wait=True, timeout=60)
            self.access.deleted(name)

    def delete_documents(self, name: str, doc_ids: Iterable[int]) -> int:
        """Delete documents by id (editor role); how many were deleted."""
        self._check(name, "edit")
        ids = list(doc_ids)
        with self._open(name, create=False, colbert=False).writer() as w:
            for doc_id in ids:
                w.delete_document(doc_id)
        self.access.record("delete-documents", name, ", ".join(f"#{i}" for i in ids))
        return len(ids)

    def rename_collection(self, name: str, new_name: str) -> None:
        """Rename a collection (waits up to a minute for a running batch); ``CollectionError`` if
        ``new_name`` is taken or invalid. Other processes must reopen it under the new name."""
        from rag.store import rename_collection

        self._check(name, "rename")
        with self._lock:
            self.forget(name)
            if self.backend.is_milvus:
                from rag.store.milvus_collections import rename_milvus_collection

                rename_milvus_collection(self.backend, name, new_name, self.data_dir, wait=True, timeout=60)
            else:
                rename_collection(self.data_dir, name, new_name, wait=True, timeout=60)
            self.access.store.rename_collection(name, new_name)
            self.access.record("rename", new_name, f"from {name}")

    def ingest(self, sources: Iterable[Any], collection: str, *, create: bool = True,
               colbert: bool = False, on_file: Callable[[int, int, str], None] | None = None,
               on_batch: Callable[[int, int], None] | None = None,
               on_units: Callable[[str, int, int], None] | None = None) -> Any:
        """Ingest files (paths or :class:`ingest.pipeline.Source`) into a collection (the callbacks
        as in :func:`ingest.pipeline.ingest`)."""
        from ingest.pipeline import Limits, Source, discover, ingest

        sources = list(sources)
        srcs = [s for s in sources if isinstance(s, Source)]
        srcs += discover([s for s in sources if not isinstance(s, Source)])
        if not create:
            self._check(collection, "edit")
        col = self.collection(collection, create=create, colbert=colbert)
        report = ingest(srcs, col, self.encoder, limits=Limits.from_settings(self.settings),
                        on_file=on_file, on_batch=on_batch, on_units=on_units, visual=self.visual)
        added = [f.name for f in report.files if f.status not in ("failed", "duplicate")]
        if added:
            self.access.record("add", collection, ", ".join(added))
        return report
