"""Reference FlagEmbedding models on the same tiny checkpoints, fp32 CPU; skipped when unavailable."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest


def _flag_reference() -> Any:
    spec = importlib.util.spec_from_file_location("flag_reference", Path(__file__).with_name("flag_reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def flag_classes() -> tuple[Any, Any]:
    """``(M3Embedder, BaseReranker)``; skips when FlagEmbedding cannot be imported."""
    # Not pytest.importorskip: that imports the package __init__, which is what fails under transformers 5.
    if importlib.util.find_spec("FlagEmbedding") is None:
        pytest.skip("FlagEmbedding is not installed (pip install FlagEmbedding==1.4.2)")
    try:
        return _flag_reference().load_flag_classes()
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"FlagEmbedding's encoder-only classes do not import here: {exc}")


@pytest.fixture(scope="session")
def flag_m3(flag_classes: tuple[Any, Any], tiny_m3_dir: Path) -> Any:
    m3_cls, _ = flag_classes
    return m3_cls(str(tiny_m3_dir), use_fp16=False, devices="cpu", passage_max_length=512, query_max_length=512)


@pytest.fixture(scope="session")
def flag_reranker(flag_classes: tuple[Any, Any], tiny_reranker_dir: Path) -> Any:
    _, reranker_cls = flag_classes
    return reranker_cls(str(tiny_reranker_dir), use_fp16=False, devices="cpu", max_length=512)


@pytest.fixture(scope="session")
def texts() -> list[str]:
    """Mixed lengths and scripts, with repeated words (sparse max) and one text past 512 tokens."""
    long = " ".join(
        ["Either Party may terminate this Agreement for convenience upon thirty (30) days prior written notice."] * 40
    )
    return [
        "What is the notice period for termination?",
        "This Agreement shall be governed by the laws of the State of New York.",
        "本合同适用中华人民共和国法律。因本合同引起的争议，提交仲裁委员会仲裁。",
        "Confidential Information confidential confidential information",
        "a",
        "",
        (
            "The Company shall defend, indemnify and hold harmless the Customer against claims that the "
            "Deliverables infringe any patent, copyright or trademark. 保密义务在合同终止后五年内继续有效。"
        ),
        long,
    ]
