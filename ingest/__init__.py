"""Ingestion: files -> canonical documents -> clause trees -> chunks -> a collection.

Modules by step: ``extract`` (PDF/text with positions), ``ocr`` (scanned pages), ``structure``
(clause tree, clause references), ``terms`` (defined terms), ``chunking`` (clause-aware chunks),
``pipeline`` (the whole run, used by ``python -m ingest`` and the app).
"""
