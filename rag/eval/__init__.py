"""Evaluation harness: ``python -m rag.eval legalbench|beir`` and the metrics behind it."""
