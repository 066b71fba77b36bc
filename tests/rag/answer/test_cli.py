"""``python -m rag ask`` with a fake Engine injected in place of rag.engine."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from rag.__main__ import main
from rag.retrieve.hits import Retrieval, Trace
from tests.fake_openai_server import DEFAULT_MODEL, FakeOpenAIServer, Reply, unused_port
from tests.rag.answer.helpers import API_KEY, contract_hits

REPO = Path(__file__).resolve().parents[3]


class FakeRetriever:
    def __init__(self, calls: list[dict]) -> None:
        self.calls = calls

    def search(self, question: str, documents: list[str] | None = None, top_k: int = 8) -> Retrieval:
        self.calls.append({"question": question, "documents": documents, "top_k": top_k})
        return Retrieval(contract_hits()[:top_k], Trace())


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict]:
    """Install a fake ``rag.engine`` module and a clean environment; returns the recorded calls."""
    calls: list[dict] = []

    class Engine:
        def __init__(self, settings) -> None:
            calls.append({"settings": settings})
            self.access = types.SimpleNamespace(asked=lambda collection, question: None)

        def retriever(self, name: str) -> FakeRetriever:
            if name == "missing":
                raise KeyError(f"no collection named {name!r}")
            calls.append({"collection": name})
            return FakeRetriever(calls)

    module = types.ModuleType("rag.engine")
    module.Engine = Engine  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rag.engine", module)
    for var in (
        "RAG_LLM_BASE_URL",
        "RAG_LLM_MODEL",
        "RAG_LLM_API_KEY",
        "RAG_LLM_BACKEND",
        "OPENAI_API_KEY",
        "RAG_CONFIG",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./rag.toml
    return calls


def _use_server(monkeypatch: pytest.MonkeyPatch, url: str, model: str = DEFAULT_MODEL) -> None:
    monkeypatch.setenv("RAG_LLM_BASE_URL", url)
    monkeypatch.setenv("RAG_LLM_MODEL", model)
    monkeypatch.setenv("RAG_LLM_API_KEY", API_KEY)


def test_extractive_by_default(engine_calls, capsys) -> None:
    code = main(["ask", "Which law governs the agreement?", "--collection", "msa"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out.startswith("The most relevant passages, quoted verbatim from the documents:")
    assert "State of New York" in out
    sources = out[out.index("\nSources:\n") :]
    assert "[1] MSA.pdf  p. 7  clause 12.3  score 0.910" in sources
    assert "[2] MSA.pdf  p. 5-6  clause 9.1  score 0.550" in sources
    assert "[3] MSA.pdf  p. 11  clause 18  score 0.420  cited" in sources
    assert {"collection": "msa"} in engine_calls
    assert {"question": "Which law governs the agreement?", "documents": None, "top_k": 8} in engine_calls


def test_doc_filter_and_top_k_reach_the_retriever(engine_calls, capsys) -> None:
    main(
        [
            "ask",
            "q",
            "--collection",
            "msa",
            "--doc",
            "MSA.pdf",
            "--doc",
            "NDA.pdf",
            "--top-k",
            "2",
            "--llm",
            "extractive",
        ]
    )
    assert {"question": "q", "documents": ["MSA.pdf", "NDA.pdf"], "top_k": 2} in engine_calls


def test_streams_from_an_openai_compatible_server(engine_calls, capsys, monkeypatch) -> None:
    with FakeOpenAIServer(api_key=API_KEY) as server:
        server.queue(Reply(text='Yes: "upon ninety (90) days\' prior written notice" [1]. Arbitration applies [5].'))
        _use_server(monkeypatch, server.base_url)
        code = main(["ask", "Can we terminate?", "--collection", "msa"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out.startswith('Yes: "upon ninety (90) days\' prior written notice" [1]. Arbitration applies [5].\n')
    assert "Citation check failed:\n  ! [5] does not refer to a provided source (there are 3)" in out
    assert "[1] MSA.pdf  p. 7  clause 12.3  score 0.910  cited" in out


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (Reply(status=401), "HTTP 401"),
        (Reply(status=429, headers={"retry-after-ms": "10"}), "HTTP 429"),
        (Reply(text="a b c d", cut_after=2), "stopped midway"),
    ],
)
def test_llm_errors_are_printed_with_the_sources(engine_calls, capsys, monkeypatch, reply, words) -> None:
    with FakeOpenAIServer(api_key=API_KEY) as server:
        server.default = reply  # every try fails, whatever the retry setting
        _use_server(monkeypatch, server.base_url)
        code = main(["ask", "Can we terminate?", "--collection", "msa"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("\nerror: ") and words in err
    assert API_KEY not in out + err
    assert "Sources:" in out and "[3] MSA.pdf" in out


def test_connection_refused(engine_calls, capsys, monkeypatch) -> None:
    url = f"http://127.0.0.1:{unused_port()}/v1"
    _use_server(monkeypatch, url)
    assert main(["ask", "Can we terminate?", "--collection", "msa"]) == 1
    out, err = capsys.readouterr()
    assert f"error: LLM endpoint refused the connection at {url}" in err
    assert "[1] MSA.pdf" in out


def test_unknown_model(engine_calls, capsys, monkeypatch) -> None:
    with FakeOpenAIServer(api_key=API_KEY) as server:
        _use_server(monkeypatch, server.base_url, model="gpt-nonexistent")
        assert main(["ask", "q", "--collection", "msa"]) == 1
    assert "'gpt-nonexistent' was not found" in capsys.readouterr().err


def test_retrieval_failure_is_a_message(engine_calls, capsys) -> None:
    assert main(["ask", "q", "--collection", "missing"]) == 1
    err = capsys.readouterr().err
    assert err == "error: retrieval from collection 'missing' failed: KeyError: \"no collection named 'missing'\"\n"


def test_misconfigured_backend(engine_calls, capsys, monkeypatch) -> None:
    assert main(["ask", "q", "--collection", "msa", "--llm", "openai"]) == 2
    assert "RAG_LLM_MODEL" in capsys.readouterr().err


def test_module_entry_point_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rag", "ask", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for option in ("--collection", "--doc", "--llm", "{openai,local,extractive}", "--top-k"):
        assert option in proc.stdout


def test_sources_name_the_spans_clause_and_pages_not_the_chunks() -> None:
    import io

    from rag.answer.cli import print_sources
    from rag.answer.result import Answer, Citation
    from rag.documents import StoredChunk
    from rag.retrieve.hits import Hit

    text = "12. Term. " + "x" * 200 + " 12.3 Either party may terminate on notice."
    chunk = StoredChunk(1, 1, "MSA.pdf", 0, len(text), text, "12", ("12 Term",), (6, 8))
    span = Hit(chunk, 0.9, {}, span=(text.index("12.3"), len(text)), span_pages=(8, 8), span_clause="12.3")
    other = Hit(chunk, 0.4, {}, span=(0, 9), span_pages=(6, 6), span_clause="12")
    out = io.StringIO()
    print_sources(Answer("q", "a", "extractive", "-", [Citation(1, span, cited=True)], hits=[span, other]), out)
    lines = out.getvalue().splitlines()
    assert "  [1] MSA.pdf  p. 8  clause 12.3  score 0.900  cited" in lines
    assert "   -  MSA.pdf  p. 6  clause 12  score 0.400  (not sent: context budget)" in lines
