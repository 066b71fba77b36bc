"""int8 path (rag.models.int8): every head runs, outputs stay close to fp32, the cache is reused
and built once, killed builds' folders are cleaned up, and a damaged cache, a missing package or an
unwritable cache folder is an error that names the file and says what to do.

Tolerances are for the tiny random-weight checkpoints (2 layers, hidden 64) and for the real
all-MiniLM-L6-v2 weights; they are loose enough for int8's rounding and tight enough to catch a
wrong graph (a mask frozen at export, a missing layer, swapped outputs), which lands far off.
"""

from __future__ import annotations

import errno
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

TEXTS = [
    "The Supplier may terminate this Agreement for convenience on ninety days' written notice.",
    "Confidential Information excludes information that is publicly available.",
    "本协议受中华人民共和国法律管辖。",
    "Either party may assign this Agreement to an affiliate without consent, provided that the assignee "
    "assumes all obligations hereunder and the assigning party remains liable for any breach.",
]


@pytest.fixture(scope="module")
def int8_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("int8-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("RAG_INT8_CACHE", str(root))
    yield root
    mp.undo()


@pytest.fixture(scope="module")
def m3_int8(tiny_m3_dir: Path, int8_cache: Path) -> Any:
    from rag.models import load_encoder

    return load_encoder(tiny_m3_dir, device="cpu", quantize="int8")


@pytest.fixture(scope="module")
def reranker_int8(tiny_reranker_dir: Path, int8_cache: Path) -> Any:
    from rag.models import load_reranker

    return load_reranker(tiny_reranker_dir, device="cpu", quantize="int8")


def test_encoder_int8_runs_every_head_close_to_fp32(m3: Any, m3_int8: Any) -> None:
    assert m3_int8.dtype == "int8" and m3_int8.model.build_s is not None  # built at this load
    assert (m3_int8.has_sparse, m3_int8.has_colbert, m3_int8.dim) == (m3.has_sparse, m3.has_colbert, m3.dim)
    ref = m3.encode(TEXTS, dense=True, sparse=True, colbert=True)
    out = m3_int8.encode(TEXTS, dense=True, sparse=True, colbert=True)
    cos = (out.dense * ref.dense).sum(axis=1)
    assert out.dense.dtype == np.float32 and cos.min() > 0.99, cos
    assert np.allclose(np.linalg.norm(out.dense, axis=1), 1, atol=1e-5)
    for a, b in zip(out.sparse, ref.sparse):
        assert set(a) == set(b)  # same tokens (relu on a tiny random head: weights far from 0)
        assert max(abs(a[t] - b[t]) for t in b) < 0.05 * max(b.values())
    for a, b in zip(out.colbert, ref.colbert):
        assert a.shape == b.shape
        assert (a * b).sum(axis=1).min() > 0.98


def test_encoder_int8_masks_padding(m3_int8: Any) -> None:
    """A short text alone and padded next to a long one give the same vector: the attention mask is
    part of the exported graph, not frozen by the export example."""
    alone = m3_int8.encode(TEXTS[:1], dense=True, sparse=False)
    batched = m3_int8.encode(TEXTS, dense=True, sparse=False, batch_size=len(TEXTS))
    # int8 activations are quantized per batch, so padding-free and padded batches differ slightly
    assert float((alone.dense[0] * batched.dense[0]).sum()) > 0.995


def test_reranker_int8_close_to_fp32(reranker: Any, reranker_int8: Any) -> None:
    from scipy.stats import kendalltau

    query = "Can the supplier terminate for convenience?"
    pairs = [(query, t) for t in TEXTS] + [(query, t[::-1]) for t in TEXTS]
    ref = reranker.score(pairs)
    out = reranker_int8.score(pairs)
    assert reranker_int8.dtype == "int8" and out.dtype == np.float32
    spread = float(np.ptp(ref))
    assert float(np.abs(out - ref).max()) < 0.1 * spread + 1e-3
    assert kendalltau(out, ref).statistic > 0.7


def test_cache_is_reused_without_loading_fp32(tiny_m3_dir: Path, m3_int8: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.models.factory as factory
    from rag.models import load_encoder

    def no_fp32(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("fp32 weights loaded although the int8 cache exists")

    monkeypatch.setattr(factory, "load_weights", no_fp32)
    again = load_encoder(tiny_m3_dir, device="cpu", quantize="int8")
    assert again.model.build_s is None and again.model.path == m3_int8.model.path
    a = again.encode(TEXTS, dense=True, sparse=False).dense
    b = m3_int8.encode(TEXTS, dense=True, sparse=False).dense
    assert np.array_equal(a, b)


def _copy_cache(src: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = root / src.name
    shutil.copytree(src, target)
    monkeypatch.setenv("RAG_INT8_CACHE", str(root))
    return target


def test_truncated_cache_file_is_named(tiny_m3_dir: Path, m3_int8: Any, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.models import ModelLoadError, load_encoder

    cache = _copy_cache(m3_int8.model.path.parent, tmp_path, monkeypatch)
    data = max((p for p in cache.iterdir() if p.name != "manifest.json"), key=lambda p: p.stat().st_size)
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match=str(data).replace(".", r"\.")) as err:
        load_encoder(tiny_m3_dir, device="cpu", quantize="int8")
    assert "delete" in str(err.value)


def test_garbled_cache_file_is_named(tiny_m3_dir: Path, m3_int8: Any, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.models import ModelLoadError, load_encoder
    from rag.models.int8 import MODEL_FILE

    cache = _copy_cache(m3_int8.model.path.parent, tmp_path, monkeypatch)
    model = cache / MODEL_FILE
    model.write_bytes(b"\xff" * model.stat().st_size)  # same size: only onnxruntime can tell
    with pytest.raises(ModelLoadError, match=str(model).replace(".", r"\.")):
        load_encoder(tiny_m3_dir, device="cpu", quantize="int8")


def test_unreadable_manifest_is_named(tiny_m3_dir: Path, m3_int8: Any, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.models import ModelLoadError, load_encoder

    cache = _copy_cache(m3_int8.model.path.parent, tmp_path, monkeypatch)
    (cache / "manifest.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="manifest.json"):
        load_encoder(tiny_m3_dir, device="cpu", quantize="int8")


def test_options_are_checked_before_loading(tiny_m3_dir: Path) -> None:
    from rag.models import load_encoder
    from rag.models.factory import check_quantize

    with pytest.raises(ValueError, match="int4"):
        load_encoder(tiny_m3_dir, device="cpu", quantize="int4")
    with pytest.raises(ValueError, match="bfloat16"):
        load_encoder(tiny_m3_dir, device="cpu", dtype="bfloat16", quantize="int8")
    with pytest.raises(ValueError, match="CPU only") as gpu:
        check_quantize("int8", "cuda", None)
    assert "RAG_DEVICE=cpu" in str(gpu.value) and "unset RAG_QUANTIZE" in str(gpu.value)
    assert check_quantize(None, "cuda", None) is None and check_quantize("none", "cpu", "float32") is None


def test_setting_rag_quantize() -> None:
    from rag.config import load_settings

    assert load_settings({}).quantize == "none"
    assert load_settings({"RAG_QUANTIZE": "INT8"}).quantize == "int8"
    with pytest.raises(ValueError, match="RAG_QUANTIZE"):
        load_settings({"RAG_QUANTIZE": "fp8"})


def test_minilm_int8_close_to_fp32(minilm_dir: Path, int8_cache: Path) -> None:
    """The real demo encoder (BERT, real weights): int8 dense vectors stay close to fp32."""
    from rag.models import load_encoder

    ref = load_encoder(minilm_dir, device="cpu", dtype="float32").encode(TEXTS, dense=True, sparse=False).dense
    out = load_encoder(minilm_dir, device="cpu", quantize="int8").encode(TEXTS, dense=True, sparse=False).dense
    cos = (out * ref).sum(axis=1)
    assert cos.min() > 0.97, cos


def test_load_removes_a_killed_builds_folder(tiny_m3_dir: Path, m3_int8: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A build killed mid-way leaves its side folder (over 1 GB for BGE-M3); the next load removes it
    (no live process holds its lock: see tests/rag/models/test_user_cache.py for the live case)."""
    from rag.models import load_encoder

    cache = _copy_cache(m3_int8.model.path.parent, tmp_path, monkeypatch)
    stale = tmp_path / f".{cache.name}.k1ll3d_0"
    (stale / "fp32").mkdir(parents=True)
    (stale / "fp32" / "model.onnx").write_bytes(b"\0" * 4096)
    again = load_encoder(tiny_m3_dir, device="cpu", quantize="int8")
    assert again.model.build_s is None and not stale.exists() and (cache / "manifest.json").is_file()


def test_two_loads_at_once_build_once(tiny_reranker_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second load waits for the first one's build and reads its cache (no double >1 GB build,
    no rename race between two side folders)."""
    import rag.models.factory as factory
    from rag.models import load_reranker

    monkeypatch.setenv("RAG_INT8_CACHE", str(tmp_path))
    fp32_loads = []
    real = factory.load_weights

    def counting(*args: Any, **kwargs: Any) -> Any:
        fp32_loads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(factory, "load_weights", counting)
    results: list[Any] = [None, None]

    def load(i: int) -> None:
        try:
            results[i] = load_reranker(tiny_reranker_dir, device="cpu", quantize="int8")
        except BaseException as exc:  # re-raised below, in the test's thread
            results[i] = exc

    threads = [threading.Thread(target=load, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    assert len(fp32_loads) == 1
    assert sorted(r.model.build_s is None for r in results) == [False, True]
    assert results[0].model.path == results[1].model.path
    assert not [p for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith(".")]  # no side folder left


def test_missing_onnxruntime_names_the_extra(tiny_m3_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.models import ModelLoadError, load_encoder

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(ModelLoadError, match=re.escape("pip install -e '.[int8]'")) as err:
        load_encoder(tiny_m3_dir, device="cpu", quantize="int8")
    assert "needs the onnxruntime package" in str(err.value) and "unset RAG_QUANTIZE" in str(err.value)


def test_onnx_is_needed_to_build_not_to_read(tiny_m3_dir: Path, m3_int8: Any, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.models import ModelLoadError, load_encoder

    monkeypatch.setitem(sys.modules, "onnx", None)
    assert load_encoder(tiny_m3_dir, device="cpu", quantize="int8").model.build_s is None  # cached
    monkeypatch.setenv("RAG_INT8_CACHE", str(tmp_path))  # nothing cached: this load must build
    with pytest.raises(ModelLoadError, match=re.escape("needs the onnx package")) as err:
        load_encoder(tiny_m3_dir, device="cpu", quantize="int8")
    assert "pip install -e '.[int8]'" in str(err.value)


def test_unwritable_cache_folder_says_where_and_what_to_do(tiny_m3_dir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.models import ModelLoadError, load_encoder

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # (a read-only folder would not stop root)
    monkeypatch.setenv("RAG_INT8_CACHE", str(blocker / "int8"))
    with pytest.raises(ModelLoadError, match="RAG_INT8_CACHE") as err:
        load_encoder(tiny_m3_dir, device="cpu", quantize="int8")
    assert str(blocker / "int8") in str(err.value)


def test_full_disk_during_build_leaves_nothing_behind(tiny_m3_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime.quantization

    from rag.models import ModelLoadError, load_encoder

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", full)
    monkeypatch.setenv("RAG_INT8_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match="free disk space") as err:
        load_encoder(tiny_m3_dir, device="cpu", quantize="int8")
    assert "No space left on device" in str(err.value)
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # neither a half cache nor a side folder
