"""Hybrid retrieval: scoping, clause lookup, dense + sparse fusion, ColBERT, reranking."""

from rag.retrieve.hits import Hit, Retrieval, Trace
from rag.retrieve.pipeline import MODES, RetrievalOptions, Retriever
from rag.retrieve.scoping import ScopingConfig

__all__ = ["Hit", "MODES", "Retrieval", "RetrievalOptions", "Retriever", "ScopingConfig", "Trace"]
