"""``python -m rag review``: writes the grid, computes only what is new, refuses bad input clearly."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from rag.__main__ import build_parser


@pytest.fixture
def env(review_engine, monkeypatch: pytest.MonkeyPatch, minilm_dir: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RAG_EMBED_MODEL", str(minilm_dir))
    monkeypatch.setenv("RAG_RERANK_MODEL", "none")
    monkeypatch.setenv("RAG_DATA_DIR", str(review_engine.data_dir))
    monkeypatch.setenv("RAG_DEVICE", "cpu")
    monkeypatch.delenv("RAG_CONFIG", raising=False)
    return review_engine


def _run(*argv: str) -> tuple[int, str]:
    args = build_parser().parse_args(["review", *argv])
    err = io.StringIO()
    return args.func(args, err=err), err.getvalue()


def test_review_to_jsonl_then_from_the_store(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cols = tmp_path / "cols.csv"
    cols.write_text("name,question\nGoverning Law,\nInsurer,Which party must maintain insurance?\n", encoding="utf-8")
    out = tmp_path / "review.jsonl"
    code, err = _run("--collection", "contracts", "--columns", str(cols), "--out", str(out))
    assert code == 0, err
    assert "2 cell(s) computed" in err
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [x["column"] for x in lines] == ["Governing Law", "Insurer"]
    assert lines[0]["found"] and "New York" in lines[0]["text"]
    code, err = _run("--collection", "contracts", "--columns", str(cols), "--out", str(tmp_path / "r.xlsx"))
    assert code == 0 and "0 cell(s) computed, 2 from the store" in err
    assert (tmp_path / "r.xlsx").stat().st_size > 0


@pytest.mark.parametrize("argv,code,message", [
    (["--out", "r.docx"], 2, "--out must end in .csv, .xlsx or .jsonl"),
    (["--out", "nowhere/r.csv"], 2, "does not exist"),
    (["--columns", "missing.txt", "--out", "r.csv"], 2, "no column file"),
])
def test_bad_input_exits_2_with_one_line(env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                         argv: list[str], code: int, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    got, err = _run("--collection", "contracts", *argv)
    assert got == code and message in err and "Traceback" not in err


def test_unknown_collection_exits_1(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, err = _run("--collection", "nope", "--out", str(tmp_path / "r.csv"))
    assert code == 1 and "review of collection 'nope' failed" in err
