"""Clause review: a grid of documents x clause types, each cell a cited span or "not found".

``review(retriever, columns, store=...)`` computes the grid (see :mod:`rag.review.grid`);
``cuad_columns()``/``load_columns()``/``custom_column()`` make the columns; ``rag.review.export``
writes CSV, XLSX and JSON lines. Heavy imports stay lazy: importing this package loads numpy only.
"""

from rag.review.cells import Cell, ScoringConfig
from rag.review.columns import Column, ColumnError, cuad_columns, custom_column, load_columns
from rag.review.grid import Grid, review
from rag.review.storage import ReviewStore, store_path

__all__ = ["Cell", "Column", "ColumnError", "Grid", "ReviewStore", "ScoringConfig", "cuad_columns",
           "custom_column", "load_columns", "review", "store_path"]
