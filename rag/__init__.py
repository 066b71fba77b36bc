"""Contract-intelligence RAG on BAAI BGE models.

Subpackages, in the order a question flows through them:
``rag.models`` (encoders, reranker) -> ``rag.store`` (collections) ->
``rag.retrieve`` (hybrid search) -> ``rag.answer`` (cited answers).
Heavy libraries (torch, transformers, faiss) are imported lazily inside them.
"""

import os

# OpenMP threads that spin while waiting turn a shared CPU into a trap: with the app's several
# sessions, an ingest and the encoder all wanting cores, a one-sentence query encode measured
# 2.0 s with spinning threads and 0.014 s with passive ones (MiniLM, 2 cores, loaded machine).
# Set before torch loads libgomp; an explicit setting by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
