"""Errors raised by :mod:`rag.store`; each names the collection or file at fault."""

from __future__ import annotations


class CollectionError(Exception):
    """A collection is missing, malformed, or was asked for something it does not hold."""


class CollectionBusy(CollectionError):
    """Another writer holds the collection's write lock."""


class ModelMismatch(CollectionError):
    """Embeddings of a different model, dimension or sparse kind than the collection was built with."""
