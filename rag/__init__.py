"""Contract-intelligence RAG on BAAI BGE models.

Subpackages, in the order a question flows through them:
``rag.models`` (encoders, reranker) -> ``rag.store`` (collections) ->
``rag.retrieve`` (hybrid search) -> ``rag.answer`` (cited answers).
Heavy libraries (torch, transformers, faiss) are imported lazily inside them.
"""

__version__ = "0.1.0"
