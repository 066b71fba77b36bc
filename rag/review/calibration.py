"""Calibration: the raw best-unit score of a column -> probability that the clause is present.

Per CUAD type, a logistic fit (``a * raw + b``) of presence on CUAD dev, written by
``bench/review.py --write-calibration`` with leave-one-contract-out examples (the figures the
benchmark reports for decisions use cross-fitted calibrations, never one fit on the contract
scored). Custom columns use the fit pooled over every type's question-only score.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

import numpy as np

from rag.review.cells import Calibration
from rag.review.columns import DATA, Column

CALIBRATION_FILE = DATA / "cuad_calibration.json"


@lru_cache(maxsize=1)
def _table() -> dict[str, Calibration]:
    if not CALIBRATION_FILE.is_file():
        return {}
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    return {k: Calibration(float(v["a"]), float(v["b"])) for k, v in data["columns"].items()}


def calibration_version() -> str:
    return hashlib.sha256(CALIBRATION_FILE.read_bytes()).hexdigest()[:8] if CALIBRATION_FILE.is_file() else "none"


def calibration_for(column: Column) -> Calibration:
    table = _table()
    return table.get(column.key) or table.get("custom") or Calibration()


def fit_logistic(raw: np.ndarray, labels: np.ndarray, l2: float = 1e-2, steps: int = 200) -> Calibration:
    """Logistic regression of ``labels`` on one feature (Newton steps; raw standardised first)."""
    x = np.asarray(raw, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    mu, sd = x.mean(), x.std() or 1.0
    z = (x - mu) / sd
    w = np.zeros(2)
    X = np.stack([z, np.ones_like(z)], axis=1)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(X @ w)))
        g = X.T @ (p - y) + l2 * np.array([w[0], 0.0])
        H = (X * (p * (1 - p))[:, None]).T @ X + l2 * np.diag([1.0, 1e-9])
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    a = w[0] / sd
    if not a > 0:  # a type nearly every contract has (or none): higher scores cannot mean less
        rate = float(np.clip(y.mean(), 0.01, 0.99))
        a = 1e-3
        return Calibration(a, float(np.log(rate / (1 - rate)) - a * mu))
    return Calibration(float(a), float(w[1] - a * mu))
