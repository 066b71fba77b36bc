"""The query pipeline: scope -> the document's own date -> clause lookup -> dense + sparse (side by
side) -> fuse -> ColBERT -> spans (small to big) -> rerank.

One :class:`Retriever` serves one collection for any number of threads. What it derives from
the catalog (the document scorer, clause trees, languages) is built once per collection
generation and reused by every query until a writer commits a new generation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Iterable

import numpy as np

from rag.lexical import language_of, term_counts
from rag.retrieve.channels import search_channels
from rag.retrieve.clause_lookup import chunks_of_clause, match_clauses, referenced_clauses
from rag.retrieve.document_facts import date_hits
from rag.retrieve.fusion import Channel, fuse
from rag.retrieve.generation_cache import GenerationCache
from rag.retrieve.hits import Hit, Retrieval, Trace
from rag.retrieve.images import ImageIndex, ImageSearchOptions, fuse_with_text, image_query_hits, question_hits
from rag.retrieve.scoping import ScopingConfig
from rag.retrieve.spans import SpanWeights, rank_spans


@dataclass(frozen=True)
class RetrievalOptions:
    """Knobs of the pipeline; the defaults are what the app and the benchmarks use."""

    top_k: int = 8
    dense_k: int = 100  # candidates from each channel
    sparse_k: int = 100
    use_dense: bool = True
    use_sparse: bool = True
    fusion: str = "weighted"  # "weighted" (BGE-M3's weighted sum) or "rrf"
    dense_weight: float = 1.0
    #: the official BGE-M3 evaluations used 0.3 for its lexical weights; the max-normalised BM25
    #: fallback measured best at 0.3 too (ContractNLI, 400 queries: R@16 90.1 vs 89.2 at 0.5)
    sparse_weight: float = 0.3
    #: lexical overlap across languages is noise: the sparse weight is multiplied by this for
    #: documents whose language differs from the question's
    cross_lingual_sparse_factor: float = 0.1
    colbert: bool = False  # ColBERT rescoring of the fused candidates (needs a ColBERT head)
    colbert_top: int = 50
    #: (dense, sparse, colbert) weights of the rescoring sum, as in BGE-M3's compute_score
    colbert_weights: tuple[float, float, float] = (0.4, 0.2, 0.4)
    rerank: bool = True  # cross-encoder reranking when a reranker is loaded
    rerank_top: int = 20  # cap on K: CPU latency grows linearly with it
    rerank_max_chars: int = 2000  # cap on passage length sent to the reranker (~512 tokens)
    scope_documents: bool = True  # search inside the documents a question names
    clause_lookup: bool = True  # answer "Section 12.3" from the clause tree first
    #: a question about the named document's own date ("the date of this agreement", "when is
    #: it effective") gets that date first, read from where the document states it
    #: (rag/retrieve/document_facts.py)
    document_facts: bool = True
    attach_context: bool = True  # parent heading and definitions of terms used
    #: small to big: rank the sentences / sub-clauses of the best ``span_chunks`` chunks and
    #: return each with its chunk as context (rag/retrieve/spans.py)
    spans: bool = True
    span_chunks: int = 20
    #: inside the documents a question names, the words that named them (their title, parties:
    #: ``DocumentScorer.residual``) are dropped from the "sparse" query, or from "both" queries,
    #: or kept ("none"). Measured (bench/span_tuning.py, MiniLM + BM25, recall at 2,000 chars on
    #: the dev half): "sparse" 52.8 / 67.8 / 29.9 vs "none" 34.9 / 61.9 / 29.9 on
    #: cuad_dev_parties / cuad_dev / privacy_qa; "both" 48.0 / 57.8 / 31.7 (the title helps the
    #: dense query find the preamble's dates and parties)
    drop_naming_words: str = "sparse"
    #: inside the documents a question names, spans are ranked (dense and lexical query) by what
    #: it asks ("asked": ``DocumentScorer.asked_part``, the question less the parts that name
    #: them) or by the whole "question" (lexical: less ``drop_naming_words``); chunks are always
    #: found with the whole question. Measured (bench/span_tuning.py, MiniLM + BM25, recall at
    #: 2,000 chars, dev / held-out halves, "asked" vs "question"): privacy_qa 43.4 / 37.4 vs
    #: 29.9 / 26.0, contractnli 73.6 / 77.4 vs 72.9 / 77.5, cuad_dev_parties 61.5 / 63.4 vs
    #: 52.8 / 62.0, cuad_dev 65.6 / 56.9 vs 67.8 / 56.6 (a title naming a contract also points
    #: at its preamble: agreement dates are lost). The asked part for the dense query only gave
    #: 35.7 / 31.0, 74.7 / 77.7, 60.9 / 62.3, 65.4 / 55.8; for the chunks too, 5-8 points less
    #: on the cuad dev halves
    span_query: str = "asked"
    #: inside the documents a question is about (the ones it names, or the collection's only
    #: one), the cross-encoder reads what it asks ("asked": ``DocumentScorer.asked_part``) or the
    #: whole "question". The naming part is the same words against every candidate of those
    #: documents, so it ranks nothing there, yet a cross-encoder reads it once per pair. Measured
    #: (bench/latency.py's contract, 40 CUAD questions, XLM-R tokenizer, top 20): 71 -> 27
    #: question tokens, 2,847 -> 1,967 tokens per question p50. Its effect on a real reranker's
    #: ranking is not measured here (no cross-encoder weights offline); as the spans' query the
    #: asked part measured as above
    rerank_query: str = "asked"
    span_weights: SpanWeights = SpanWeights()
    #: image items (issue 17; only with a visual model): how they join the text hits
    image_search: ImageSearchOptions = ImageSearchOptions()


#: ablation presets for the evaluation harness
MODES: dict[str, dict[str, Any]] = {
    "dense": dict(use_sparse=False, colbert=False, rerank=False),
    "sparse": dict(use_dense=False, colbert=False, rerank=False),
    "hybrid": dict(colbert=False, rerank=False),
    "hybrid+colbert": dict(colbert=True, rerank=False),
    "hybrid+rerank": dict(colbert=False, rerank=True),
}


class Retriever:
    """Hybrid retrieval over one collection with one encoder (and optionally a reranker)."""

    def __init__(self, collection: Any, encoder: Any, reranker: Any | None = None,
                 options: RetrievalOptions = RetrievalOptions(),
                 scoping: ScopingConfig = ScopingConfig(), visual: Any = None) -> None:
        self.collection = collection
        self.encoder = encoder
        self.reranker = reranker
        self.options = options
        self.scoping = scoping
        self.sparse_kind = collection.info.sparse
        self._cache: GenerationCache | None = None
        self._cache_lock = threading.Lock()
        self._unit_store: Any = False  # opened on first use: rag.retrieve.unit_vectors.store_for
        self.visual = visual  # Visualized BGE, or None: no image items searched (issue 17)
        self._images = ImageIndex()

    # -- per-generation state -------------------------------------------------------------
    def _state(self, view: Any) -> GenerationCache:
        with self._cache_lock:
            if self._cache is None or self._cache.generation != view.generation:
                self._cache = GenerationCache(view)
            return self._cache

    def _resolve_documents(self, state: GenerationCache, documents: Iterable[str | int]) -> list[int]:
        ids = []
        for d in documents:
            if isinstance(d, (int, np.integer)) and int(d) in state.docs:
                ids.append(int(d))
            elif isinstance(d, str) and d in state.by_name:
                ids.append(state.by_name[d])
            else:
                raise KeyError(f"no document {d!r} in collection {self.collection.name!r}")
        return ids

    # -- the pipeline -----------------------------------------------------------------------
    def search(self, question: str, *, documents: Iterable[str | int] | None = None,
               top_k: int | None = None, options: RetrievalOptions | None = None,
               **overrides: Any) -> Retrieval:
        """Rank the chunks of the collection for ``question``.

        ``documents`` restricts the search to those documents (names or ids); without it, a
        question that names a document is searched inside that document.
        """
        opt = replace(options or self.options, **overrides)
        k = top_k or opt.top_k
        trace = Trace()
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            trace.timings[stage] = trace.timings.get(stage, 0.0) + now - clock
            clock = now

        view = self.collection.view()
        state = self._state(view)
        if not state.docs or not question.strip():
            return Retrieval([], trace)

        scope: list[int] | None = None
        if documents:
            scope = self._resolve_documents(state, documents)
            trace.notes.append(f"restricted to {len(scope)} selected document(s)")
        elif opt.scope_documents:
            named = state.scorer(self.scoping).select(question)
            if named:
                scope = named
                trace.notes.append("question names " + ", ".join(state.docs[d].name for d in named))
        if scope is not None:
            trace.scoped_docs = [state.docs[d].name for d in scope]
        lap("scope")

        asked = question  # the question less the words that named the scope
        drop = opt.drop_naming_words if scope is not None else "none"
        if drop not in ("none", "sparse", "both"):
            raise ValueError(f"drop_naming_words must be none, sparse or both, not {drop!r}")
        if drop != "none":
            asked = state.scorer(self.scoping).residual(question, scope,  # type: ignore[arg-type]
                                                        self.scoping.naming_max_df)
            if asked != question:
                trace.notes.append(f"ranked inside the named document(s) with {drop} query as: {asked}")
        want_colbert = opt.colbert and getattr(self.encoder, "has_colbert", False)
        want_sparse = opt.use_sparse and self.sparse_kind == "lexical"
        for name in ("span_query", "rerank_query"):
            if getattr(opt, name) not in ("asked", "question"):
                raise ValueError(f"{name} must be asked or question, not {getattr(opt, name)!r}")
        # "this agreement": the named (or selected) documents, or the collection's only one
        about = scope if scope is not None else (list(state.docs) if len(state.docs) == 1 else None)
        # what the question asks of them, less the parts that name them
        asked_about = question if about is None else state.scorer(self.scoping).asked_part(question, about)
        texts = [asked if drop == "both" else question]
        asked_span: str | None = None
        if opt.spans and scope is not None and opt.span_query == "asked":
            asked_span = asked_about
            if asked_span != texts[0]:
                texts.append(asked_span)  # one batch: ranks the spans only
                trace.notes.append(f"spans ranked inside the named document(s) for: {asked_span}")
        enc = self.encoder.encode(texts, dense=True, sparse=want_sparse, colbert=want_colbert, query=True)
        q_dense = np.asarray(enc.dense[0], dtype=np.float32)
        q_span = np.asarray(enc.dense[-1], dtype=np.float32)
        sparse_text = asked if drop != "none" else question
        if self.sparse_kind == "lexical":
            q_sparse = {}
            if want_sparse:
                q_sparse = dict(enc.sparse[0]) if sparse_text == question or drop == "both" else dict(
                    self.encoder.encode([sparse_text], dense=False, sparse=True, query=True).sparse[0])
        else:
            q_sparse = term_counts(sparse_text) if opt.use_sparse else {}
        q_sparse_span = q_sparse  # the lexical query of the span stage
        if len(texts) > 1 and opt.use_sparse:
            q_sparse_span = dict(enc.sparse[-1]) if want_sparse else term_counts(texts[-1])
        if scope is not None and len(scope) == 1 and self.sparse_kind == "bm25":
            # words of the document's own name occur all over it and rank nothing inside it
            for t in state.scorer(self.scoping).name_terms(scope[0]):
                q_sparse.pop(t, None)
                q_sparse_span.pop(t, None)
        lap("encode")

        lookup: list[Hit] = []
        if opt.document_facts and about is not None and len(about) <= self.scoping.max_documents:
            # judged on what is asked, not on the words that name the contract
            lookup = date_hits(asked_about, about, state.text, state.chunks, state.pages)
            if lookup:
                trace.notes.append("the question asks for the document's own date: it is cited first, "
                                   "from where the document states it")
        lap("document_facts")
        if opt.clause_lookup:
            lookup += self._clause_hits(state, question, scope)
        lap("clause_lookup")

        found = search_channels(view, q_dense if opt.use_dense else None,
                                q_sparse if opt.use_sparse else None, opt.dense_k, opt.sparse_k, scope)
        lap("search")
        if found.dense_s and found.sparse_s:
            trace.notes.append(f"dense search {found.dense_s * 1000:.1f} ms and sparse search "
                               f"{found.sparse_s * 1000:.1f} ms, side by side")

        ids = np.unique(np.concatenate([found.dense_ids, found.sparse_ids]))
        ids = ids[ids >= 0]
        if len(ids) == 0:
            return Retrieval(lookup[:k], trace)
        chunks = view.chunks(list(ids))
        dense = view.dense_vectors(ids) @ q_dense if opt.use_dense else np.full(len(ids), np.nan)
        sparse = (view.sparse_scores(q_sparse, ids).astype(np.float64)
                  if opt.use_sparse and q_sparse else np.full(len(ids), np.nan))
        q_lang = language_of(question)
        lang_factor = np.array([1.0 if state.languages.get(c.doc_id, q_lang) == q_lang
                                else opt.cross_lingual_sparse_factor for c in chunks])
        channels = []
        if opt.use_dense:
            channels.append(Channel("dense", dense, opt.dense_weight))
        if opt.use_sparse and q_sparse:
            channels.append(Channel("sparse", sparse * lang_factor, opt.sparse_weight,
                                    normalise_by_max=self.sparse_kind == "bm25"))
        fused = fuse(channels, opt.fusion) if channels else np.zeros(len(ids))
        order = np.argsort(-fused, kind="stable")
        hits = [Hit(chunks[i], float(fused[i]),
                    {k_: float(v) for k_, v in (("dense", dense[i]), ("sparse", sparse[i]),
                                                 ("fused", fused[i])) if not np.isnan(v)})
                for i in order]
        lap("fuse")

        if want_colbert:
            hits = self._colbert_rescore(view, hits, enc.colbert[0], opt, lang_factor_of=dict(
                zip((c.id for c in chunks), lang_factor)))
            lap("colbert")
        if opt.spans:
            hits = self._spans(state, hits, q_span if opt.use_dense else None,
                               q_sparse_span if opt.use_sparse else None, opt)
            lap("spans")
        if opt.rerank and self.reranker is not None:
            judged = asked_about if opt.rerank_query == "asked" else question
            if judged != question:
                trace.notes.append(f"reranked inside the named document(s) for: {judged}")
            hits = self._rerank(judged, hits, opt)
            lap("rerank")

        seen = {h.chunk.id for h in lookup if h.via == "clause"}  # a whole clause: not listed twice
        ranked = lookup + [h for h in hits if h.chunk.id not in seen]
        ranked = ranked[:k]
        if self.visual is not None and opt.image_search.enabled:  # issue 17 hook: rag/retrieve/images.py
            found = question_hits(self._images, view, self.visual, question, q_dense, scope, opt.image_search,
                                  state.text, trace.notes, ranked)
            ranked = fuse_with_text(ranked, found, k, opt.image_search)
            lap("images")
        if opt.attach_context:
            for h in ranked:
                if h.via != "image":
                    self._attach_context(state, h)
            lap("context")
        return Retrieval(ranked, trace)

    def search_image(self, image: Any, text: str = "", *, documents: Iterable[str | int] | None = None,
                     top_k: int | None = None) -> Retrieval:
        """Image items like ``image`` ("find pages like this seal"); image+text when ``text`` is given."""
        if self.visual is None:
            raise ValueError("searching by image needs Visualized BGE: set RAG_VISUAL_MODEL (see README)")
        view, trace = self.collection.view(), Trace()
        state = self._state(view)
        scope = self._resolve_documents(state, documents) if documents else None
        t0 = time.perf_counter()
        hits = image_query_hits(self._images, view, self.visual, image, text, scope,
                                top_k or self.options.top_k, state.text, trace.notes)
        trace.timings["images"] = time.perf_counter() - t0
        return Retrieval(hits, trace)

    # -- stages -----------------------------------------------------------------------------
    def _clause_hits(self, state: GenerationCache, question: str, scope: list[int] | None) -> list[Hit]:
        wanted = referenced_clauses(question)
        if not wanted:
            return []
        doc_ids = scope if scope is not None else sorted(state.docs)
        matches = match_clauses(wanted, {d: state.clauses(d) for d in doc_ids})
        hits: list[Hit] = []
        for m in matches:
            for ch in chunks_of_clause(m.clause, state.chunks(m.doc_id)):
                hits.append(Hit(ch, 1.0, {"lookup": 1.0}, via="clause"))
        return hits

    def _colbert_rescore(self, view: Any, hits: list[Hit], q_vecs: np.ndarray,
                         opt: RetrievalOptions, lang_factor_of: dict[int, float]) -> list[Hit]:
        from rag.models.scoring import colbert_score

        head = hits[: opt.colbert_top]
        ids = [h.chunk.id for h in head]
        vectors = view.colbert(ids)
        if vectors is None:  # not stored: compute for the candidates only
            vectors = self.encoder.encode([h.chunk.text for h in head], dense=False, sparse=False,
                                          colbert=True).colbert
        w_d, w_s, w_c = opt.colbert_weights
        for h, vecs in zip(head, vectors):
            c = float(colbert_score(q_vecs, vecs))
            s = h.scores.get("sparse", 0.0) * lang_factor_of.get(h.chunk.id, 1.0)
            h.scores["colbert"] = c
            h.score = (w_d * h.scores.get("dense", 0.0) + w_s * s + w_c * c) / (w_d + w_s + w_c)
        head.sort(key=lambda h: -h.score)
        return head + hits[opt.colbert_top:]

    def _spans(self, state: GenerationCache, hits: list[Hit], q_dense: np.ndarray | None,
               q_sparse: dict[int, float] | None, opt: RetrievalOptions) -> list[Hit]:
        """The units of the best chunks ranked, each with its chunk; the rest stay whole chunks."""
        head = hits[: opt.span_chunks]
        if not head:
            return hits
        if self._unit_store is False:
            from rag.retrieve.unit_vectors import store_for

            self._unit_store = store_for(self.collection)
        entries = state.units(self.encoder, self.sparse_kind, self._unit_store).entries(
            [h.chunk for h in head], state.text, state.clauses, state.content_hash)
        spans = rank_spans(head, entries, q_dense, q_sparse, self.sparse_kind, opt.span_weights, state.pages)
        return spans + hits[opt.span_chunks:]

    def _rerank(self, question: str, hits: list[Hit], opt: RetrievalOptions) -> list[Hit]:
        from rag.retrieve.rerank_budget import rerank_prefix

        head = hits[: opt.rerank_top]
        if not head:
            return hits
        # as many candidates as the latency budget allows (RAG_RERANK_BUDGET_S), cached scores free;
        # the reranker scores what was ranked: the span of a span hit (short, so cheap on CPU),
        # the chunk text of a whole-chunk hit
        scores = rerank_prefix(self.reranker, question, [h.text[: opt.rerank_max_chars] for h in head])
        head = head[: len(scores)]
        for h, s in zip(head, scores):
            h.scores["rerank"] = float(s)
            h.score = float(s)
        head.sort(key=lambda h: -h.score)
        return head + hits[len(head):]

    def _attach_context(self, state: GenerationCache, hit: Hit) -> None:
        """Parent heading and definitions of the defined terms the hit uses."""
        if hit.context or hit.definitions:
            return
        doc_id = hit.chunk.doc_id
        clauses = state.clauses(doc_id)
        terms = state.terms(doc_id)
        if not clauses and not terms:
            return
        text = state.text(doc_id)
        inner = [c for c in clauses if c.start <= hit.chunk.start < c.end]
        if inner:
            node = max(inner, key=lambda c: c.start)
            parent = clauses[node.parent] if node.parent is not None else None
            if parent is not None and parent.start < hit.chunk.start:
                line = text[parent.start: parent.end].split("\n", 1)[0].strip()
                if line:
                    hit.context.append((f"parent {parent.label}", line[:300]))
        body = hit.chunk.text
        for term in terms:
            if term.term in body and not (hit.chunk.start <= term.start < hit.chunk.end):
                hit.definitions.append((term.term, text[term.start: term.end]))
            if len(hit.definitions) >= 5:
                break
