"""The CPU dtype is chosen by injected timings here, never by real timing."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.models import dtype_probe
from rag.models.dtype_probe import cpu_dtype_choice, decide, machine_key
from rag.models.loading import resolve_dtype


@pytest.fixture(autouse=True)
def _probe_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAG_DTYPE_PROBE", raising=False)


def _timer(fp32: float, bf16: float, calls: list[int]):
    def timer() -> tuple[float, float]:
        calls.append(1)
        return fp32, bf16

    return timer


def test_bf16_clearly_faster_picks_bf16(tmp_path: Path) -> None:
    choice = cpu_dtype_choice(timer=_timer(0.3, 0.1, []), key="k", path=tmp_path / "c.json")
    assert choice.dtype == "bfloat16"
    assert choice.ratio == pytest.approx(3.0)
    assert "3.0x faster" in choice.reason


def test_bf16_slower_or_barely_faster_picks_fp32() -> None:
    assert decide(0.1, 0.18).dtype == "float32"
    assert "slower" in decide(0.1, 0.18).reason
    assert decide(0.11, 0.1).dtype == "float32"  # 1.1x is not clearly faster


def test_cache_written_and_reused(tmp_path: Path) -> None:
    path, calls = tmp_path / "c.json", []
    first = cpu_dtype_choice(timer=_timer(0.3, 0.1, calls), key="k", path=path)
    assert path.is_file() and not first.cached
    second = cpu_dtype_choice(timer=_timer(0.1, 0.3, calls), key="k", path=path)
    assert second.cached and second.dtype == "bfloat16" and len(calls) == 1


def test_cache_key_changes_with_cpu(tmp_path: Path) -> None:
    a = machine_key("Xeon 8480", ["amx_bf16"], "2.5", 16)
    b = machine_key("Xeon 6338", ["avx512_bf16"], "2.5", 16)
    assert a != b
    path, calls = tmp_path / "c.json", []
    assert cpu_dtype_choice(timer=_timer(0.3, 0.1, calls), key=a, path=path).dtype == "bfloat16"
    assert cpu_dtype_choice(timer=_timer(0.1, 0.18, calls), key=b, path=path).dtype == "float32"
    assert len(calls) == 2


def test_corrupt_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    path, calls = tmp_path / "c.json", []
    path.write_text("{not json")
    assert cpu_dtype_choice(timer=_timer(0.3, 0.1, calls), key="k", path=path).dtype == "bfloat16"
    assert cpu_dtype_choice(timer=_timer(0.1, 0.3, calls), key="k", path=path).cached
    assert len(calls) == 1


def test_probe_off_means_fp32(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_DTYPE_PROBE", "off")
    choice = cpu_dtype_choice(timer=_timer(0.3, 0.1, []), key="k", path=tmp_path / "c.json")
    assert choice.dtype == "float32" and not (tmp_path / "c.json").exists()


def test_resolve_dtype_uses_probe_and_explicit_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.models import loading

    monkeypatch.setattr(loading, "cpu_supports_bf16", lambda: True)
    monkeypatch.setattr(dtype_probe, "cpu_dtype_choice", lambda: decide(0.3, 0.1))
    assert resolve_dtype(None, "cpu") == "bfloat16"
    monkeypatch.setattr(dtype_probe, "cpu_dtype_choice", lambda: decide(0.1, 0.3))
    assert resolve_dtype(None, "cpu") == "float32"
    assert resolve_dtype("bfloat16", "cpu") == "bfloat16"
    assert resolve_dtype("float32", "cpu") == "float32"
