"""Loading errors name the file, folder or Hub id at fault; family, device and dtype rules."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from rag.models import ModelLoadError, load_encoder, load_reranker
from rag.models.factory import detect_family
from rag.models.loading import check_max_length, resolve_dtype, resolve_model_dir


def _copy_without(src: Path, dst: Path, *names: str) -> Path:
    shutil.copytree(src, dst)
    for name in names:
        (dst / name).unlink()
    return dst


def test_missing_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "bge-m3"
    with pytest.raises(ModelLoadError, match="does not exist") as err:
        load_encoder(missing)
    assert str(missing) in str(err.value)
    assert "RAG_EMBED_MODEL" in str(err.value)


def test_folder_without_config_is_named(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    with pytest.raises(ModelLoadError, match="config.json"):
        resolve_model_dir(tmp_path / "model")


def test_offline_hub_id_says_how_to_use_a_local_folder(tmp_path: Path, python_runner: Any) -> None:
    code = (
        "from rag.models import load_encoder, ModelLoadError\n"
        "try:\n    load_encoder('BAAI/no-such-model-for-tests')\n"
        "except ModelLoadError as exc:\n    print('ERROR:', exc)\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub")}
    proc = python_runner("-c", code, env=env)
    assert proc.returncode == 0, proc.stderr
    message = proc.stdout
    assert "ERROR:" in message
    assert "BAAI/no-such-model-for-tests" in message
    assert "RAG_EMBED_MODEL=/path/to/folder" in message
    assert "huggingface-cli download BAAI/no-such-model-for-tests --local-dir" in message


def test_offline_reranker_names_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelLoadError, match="RAG_RERANK_MODEL=/path/to/folder"):
        load_reranker("BAAI/no-such-reranker-for-tests")


@pytest.mark.parametrize(("missing", "output"), [("sparse_linear.pt", "sparse"), ("colbert_linear.pt", "colbert")])
def test_missing_head_file_is_named_when_that_output_is_requested(
    tiny_m3_dir: Path, tmp_path: Path, missing: str, output: str
) -> None:
    folder = _copy_without(tiny_m3_dir, tmp_path / "bge-m3-partial", missing)
    enc = load_encoder(folder, device="cpu", dtype="float32")
    assert enc.family == "bge-m3"
    assert getattr(enc, f"has_{output}") is False
    with pytest.raises(ModelLoadError, match=missing):
        enc.encode(["termination notice"], dense=True, sparse=output == "sparse", colbert=output == "colbert")
    # What the folder does have still works.
    out = enc.encode(["termination notice"], dense=True, sparse=False, colbert=False)
    assert out.dense.shape == (1, enc.dim)


def test_m3_by_name_without_heads_refuses_sparse(tiny_m3_dir: Path, tmp_path: Path) -> None:
    folder = _copy_without(tiny_m3_dir, tmp_path / "my-bge-m3", "sparse_linear.pt", "colbert_linear.pt")
    enc = load_encoder(folder, device="cpu", dtype="float32")
    assert enc.family == "bge-m3"
    with pytest.raises(ModelLoadError, match="sparse_linear.pt"):
        enc.encode(["x"])


def test_weights_that_do_not_fit_are_an_error(tiny_m3_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    folder = _copy_without(tiny_m3_dir, tmp_path / "broken")
    weights = load_file(folder / "model.safetensors")
    del weights["encoder.layer.1.output.dense.weight"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=r"encoder\.layer\.1\.output\.dense\.weight"):
        load_encoder(folder, device="cpu", dtype="float32")


def test_missing_weights_file_is_named(tiny_m3_dir: Path, tmp_path: Path) -> None:
    folder = _copy_without(tiny_m3_dir, tmp_path / "no-weights", "model.safetensors")
    with pytest.raises(ModelLoadError, match="no-weights"):
        load_encoder(folder, device="cpu")


def test_reranker_refuses_a_checkpoint_without_classifier(tiny_m3_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="ForSequenceClassification"):
        load_reranker(tiny_m3_dir, device="cpu")


def test_family_detection(tiny_m3_dir: Path, tiny_bge_v1_dir: Path, minilm_dir: Path, tmp_path: Path) -> None:
    assert detect_family(str(tiny_m3_dir), tiny_m3_dir) == "bge-m3"
    assert detect_family(str(tiny_bge_v1_dir), tiny_bge_v1_dir) == "bge-v1"
    assert detect_family(str(minilm_dir), minilm_dir) == "sentence-transformers"
    assert detect_family("BAAI/bge-m3", tiny_bge_v1_dir) == "bge-m3"
    st_named_like_bge_v1 = shutil.copytree(minilm_dir, tmp_path / "bge-large-en-v1.5")
    assert detect_family("BAAI/bge-large-en-v1.5", st_named_like_bge_v1) == "bge-v1"
    assert detect_family("BAAI/bge-small-zh", st_named_like_bge_v1) == "bge-v1"
    assert detect_family(str(minilm_dir), minilm_dir) == "sentence-transformers"


def test_family_override(tiny_m3_dir: Path) -> None:
    enc = load_encoder(tiny_m3_dir, device="cpu", dtype="float32", family="bge-v1")
    assert enc.family == "bge-v1" and not enc.has_sparse and not enc.has_colbert
    with pytest.raises(ValueError, match="family"):
        load_encoder(tiny_m3_dir, family="colbert-only")


def test_max_length_limits(tiny_m3_dir: Path) -> None:
    assert check_max_length(None, 512, tiny_m3_dir) == 512
    with pytest.raises(ValueError, match="512"):
        load_encoder(tiny_m3_dir, device="cpu", max_length=1024)
    enc = load_encoder(tiny_m3_dir, device="cpu", dtype="float32", max_length=64)
    assert enc.max_length == 64


def test_dtype_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_DTYPE_PROBE_CACHE", str(tmp_path / "dtype-probe.json"))
    assert resolve_dtype("float32", "cpu") == "float32"
    assert resolve_dtype(None, "cpu") in {"float32", "bfloat16"}
    with pytest.raises(ValueError, match="float16"):
        resolve_dtype("float16", "cpu")
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("int8", "cpu")


def test_device_rules(tiny_m3_dir: Path) -> None:
    import torch

    enc = load_encoder(tiny_m3_dir, device="auto", dtype="float32")
    assert enc.device == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device"):
        load_encoder(tiny_m3_dir, device="tpu")


def test_importing_rag_models_does_not_import_torch(python_runner: Any) -> None:
    code = "import sys, rag.models, rag.models.scoring; print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    proc = python_runner("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("terminal_bar", ["shown", "disabled"])
def test_hub_download_reports_its_progress(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, terminal_bar: str) -> None:
    """huggingface_hub's byte bar (a tqdm_class) reaches the callback with size, rate and ETA, also
    where the terminal bar is turned off (a disabled tqdm would count nothing)."""
    import io

    import huggingface_hub

    from rag.models.loading import DownloadProgress

    (tmp_path / "config.json").write_text("{}")
    off = {"disable": terminal_bar == "disabled"}
    terminal = io.StringIO()

    def fake_snapshot_download(repo_id, ignore_patterns=None, tqdm_class=None):  # type: ignore[no-untyped-def]
        assert tqdm_class is not None
        bar = tqdm_class(total=4_000_000, desc="Downloading bytes", unit="B", file=terminal, **off)
        for _ in range(4):
            bar.update(1_000_000)
        bar.close()
        return str(tmp_path)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    seen: list[DownloadProgress] = []
    assert resolve_model_dir("BAAI/some-model", progress=seen.append) == tmp_path
    bytes_seen = [p for p in seen if p.unit == "B"]
    assert bytes_seen[-1].done == 4_000_000 and bytes_seen[-1].total == 4_000_000
    assert all(p.model == "BAAI/some-model" for p in seen)
    assert ("Downloading bytes" in terminal.getvalue()) == (terminal_bar == "shown")  # the terminal as asked
    assert DownloadProgress("m", "x", "B", 1e6, 4e6, 1e6, 1.0).eta_s == pytest.approx(3.0)
    assert DownloadProgress("m", "x", "B", 1e6, None, 1e6, 1.0).eta_s is None


def test_download_progress_counts_with_tqdm_disable(python_runner: Any) -> None:
    """``TQDM_DISABLE=1`` (read when tqdm is imported) silences the terminal bar, not the app's."""
    code = ("import io\nfrom rag.models.loading import progress_tqdm\nseen, given = [], io.StringIO()\n"
            "bar = progress_tqdm('m', seen.append)(total=4, unit='B', file=given)\n"
            "bar.update(3)\nbar.close()\nprint(max(p.done for p in seen), given.getvalue() == '')")
    proc = python_runner("-c", code, env={"TQDM_DISABLE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["3.0", "True"]  # counted, and nothing written where the bar would go
