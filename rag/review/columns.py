"""Review columns: the questions asked of every contract.

The default set is CUAD's 41 clause types (name, description, answer format; CC BY 4.0, see
``data/cuad_prototypes.json``). A user's own column is a plain question ("Which party pays for
insurance?"); it has no example clauses and is scored by its question alone.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
PROTOTYPES_FILE = DATA / "cuad_prototypes.json"


class ColumnError(ValueError):
    """A column file or question that cannot be used (the message says why)."""


@dataclass(frozen=True)
class Column:
    """One question asked of every document."""

    key: str  # stable id: "cuad:governing-law", "custom:which-party-pays-for-insurance"
    name: str  # the header shown
    question: str  # what is searched for
    answer_format: str = ""
    kind: str = "custom"  # "cuad" (has example clauses) or "custom"

    @property
    def version(self) -> str:
        """Changes when the question does: stored cells of an edited column are recomputed."""
        return hashlib.sha256(f"{self.name}\n{self.question}".encode()).hexdigest()[:12]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "column"


@lru_cache(maxsize=1)
def _cuad_data() -> dict[str, Any]:
    return json.loads(PROTOTYPES_FILE.read_text(encoding="utf-8"))


def cuad_columns() -> list[Column]:
    """The 41 CUAD clause types, in CUAD's order."""
    return [Column(key=f"cuad:{slug(t['name'])}", name=t["name"], question=t["description"],
                   answer_format=t["answer_format"], kind="cuad") for t in _cuad_data()["types"]]


def custom_column(question: str, name: str | None = None) -> Column:
    """A user's column from a plain question (its name defaults to the question)."""
    question = " ".join(question.split())
    if len(question) < 3:
        raise ColumnError("a column needs a question of at least a few words")
    if len(question) > 500:
        raise ColumnError(f"a column question is at most 500 characters, not {len(question)}")
    name = " ".join((name or question).split())[:80]
    return Column(key=f"custom:{slug(name)}", name=name, question=question)


def load_columns(spec: str | Path) -> list[Column]:
    """``cuad`` (the default set), or a file of columns.

    ``.txt``: one question per line. ``.csv``: columns ``name,question`` (header row). ``.json``:
    a list of ``{"name", "question"}``. Names may repeat the CUAD names: a CUAD type then keeps
    its example clauses when the question is left empty.
    """
    if str(spec).lower() == "cuad":
        return cuad_columns()
    path = Path(spec)
    if not path.is_file():
        raise ColumnError(f"no column file {path} (use 'cuad' or a .txt, .csv or .json file)")
    suffix = path.suffix.lower()
    try:
        if suffix == ".txt":
            rows = [{"question": line} for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        elif suffix == ".csv":
            rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
        elif suffix == ".json":
            rows = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise ColumnError(f"{path}: expected a JSON list of {{\"name\", \"question\"}} objects")
        else:
            raise ColumnError(f"{path}: column files are .txt, .csv or .json, not {suffix or 'no suffix'}")
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise ColumnError(f"{path}: cannot be read ({exc})") from None
    cuad = {c.name.lower(): c for c in cuad_columns()}
    out: list[Column] = []
    for i, row in enumerate(rows, 1):
        name = str(row.get("name") or "").strip()
        question = str(row.get("question") or "").strip()
        if name.lower() in cuad and not question:
            out.append(cuad[name.lower()])
        elif question:
            out.append(custom_column(question, name or None))
        else:
            raise ColumnError(f"{path}: row {i} has no question")
    if not out:
        raise ColumnError(f"{path}: no columns in it")
    keys = [c.key for c in out]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ColumnError(f"{path}: columns named twice: {', '.join(dupes)}")
    return out
