"""Documents page: first run loads the samples; uploads are ingested, refused or listed."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def test_first_run_offers_the_samples_then_uploads_and_deletes(make_app, tiny_m3_dir, tmp_path, plain) -> None:
    data_dir = tmp_path / "collections"
    at = make_app(tiny_m3_dir, data_dir).run()
    at.switch_page("app_pages/documents.py").run()
    assert not at.exception
    load = [b for b in at.button if b.label == "Load the sample contracts"]
    assert load, "an empty data folder offers the sample contracts"
    load[0].click().run()
    assert not at.exception, at.exception
    assert any("3 file(s) ingested" in plain(s.value) for s in at.success), [plain(e.value) for e in at.error]
    listed = at.dataframe[0].value
    assert sorted(listed["document"]) == sorted(p.name for p in SAMPLES.glob("*.pdf"))
    assert set(listed["pages"]) == {2, 3, 5}
    # collections are shared: another browser session sees the new one
    other = make_app(tiny_m3_dir, data_dir).run()
    assert other.sidebar.selectbox(key="collection_picker").options == ["samples"]

    # several files at once: one good upload with a path-like name, two refused
    text = (SAMPLES / "mutual-nda-harbor-lumen.txt").read_bytes()
    at.file_uploader[0].set_value([
        ("../../outside/nda copy.txt", text, "text/plain"),
        ("fake.pdf", b"MZ\x90\x00 this is a program", "application/pdf"),
        ("empty.md", b"", "text/markdown"),
    ]).run()
    next(b for b in at.button if b.label.startswith("Add 3 file(s)")).click().run()
    assert not at.exception, at.exception
    errors = [plain(e.value) for e in at.error]
    assert any(e.startswith("fake.pdf: not a PDF") for e in errors), errors
    assert any(e.startswith("empty.md: the file is empty") for e in errors), errors
    assert not (tmp_path / "outside").exists() and not (data_dir.parent / "outside").exists()
    names = list(at.dataframe[0].value["document"])
    assert "nda copy.txt" in names, "the upload is stored under its bare name"
    assert any("1 file(s) ingested" in plain(s.value) for s in at.success)

    at.multiselect(key="delete-samples").set_value(
        [o for o in at.multiselect(key="delete-samples").options if o.startswith("nda copy.txt")]).run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert not at.exception
    assert "nda copy.txt" not in list(at.dataframe[0].value["document"])
    assert any("Deleted 1 document(s)" in s.value for s in at.success)


def test_first_start_without_the_default_models_runs_the_demo_and_takes_an_upload(
        make_app, monkeypatch, minilm_dir, tmp_path, plain) -> None:
    """A fresh install that cannot reach the Hub: every page says which models run and why, and the
    Documents page takes a first upload at once, into a default collection."""
    from rag.models import ModelLoadError

    def offline(repo_id: str, env_var: str) -> Path:
        raise ModelLoadError(f"model {repo_id!r} is not in the local Hugging Face cache and the Hub cannot be "
                             f"reached (offline or HF_HUB_OFFLINE=1): test")

    monkeypatch.setattr("rag.models.loading._download", offline)
    data_dir = tmp_path / "collections"
    at = make_app("unused", data_dir)
    monkeypatch.delenv("RAG_EMBED_MODEL")
    monkeypatch.delenv("RAG_RERANK_MODEL")
    at.run()
    assert not at.exception, at.exception
    banner = " ".join(plain(w.value) for w in at.warning)
    assert "Offline demo profile" in banner and "BAAI/bge-m3 could not be loaded" in banner
    assert "huggingface-cli download BAAI/bge-m3" in banner
    assert any(link.label == "Upload contracts" for link in at.get("page_link"))

    at.switch_page("app_pages/documents.py").run()
    assert not at.exception, at.exception
    assert any("Offline demo profile" in plain(w.value) for w in at.warning), "the banner is on every page"
    text = (SAMPLES / "mutual-nda-harbor-lumen.txt").read_bytes()
    at.file_uploader[0].set_value([("nda.txt", text, "text/plain")]).run()
    next(b for b in at.button if plain(b.label).startswith("Add 1 file(s) to my-contracts")).click().run()
    assert not at.exception, at.exception
    assert any("1 file(s) ingested" in plain(s.value) for s in at.success), [plain(e.value) for e in at.error]
    assert list(at.dataframe[0].value["document"]) == ["nda.txt"]
    assert at.sidebar.selectbox(key="collection_picker").value == "my-contracts"


def test_an_upload_with_a_visual_model_that_cannot_load_says_why_and_stores_nothing(
        make_app, tiny_m3_dir, tmp_path, plain) -> None:
    """RAG_VISUAL_MODEL names a file that is not there: the upload shows the loader's message (which
    names the file) as an error, not a traceback, and no collection is created."""
    data_dir = tmp_path / "collections"
    missing = tmp_path / "models" / "Visualized_m3.pth"
    at = make_app(tiny_m3_dir, data_dir, RAG_VISUAL_MODEL=str(missing)).run()
    at.switch_page("app_pages/documents.py").run()
    text = (SAMPLES / "mutual-nda-harbor-lumen.txt").read_bytes()
    at.file_uploader[0].set_value([("nda.txt", text, "text/plain")]).run()
    next(b for b in at.button if b.label.startswith("Add 1 file(s)")).click().run()
    assert not at.exception, at.exception
    errors = [plain(e.value) for e in at.error]
    assert any("Visualized_m3.pth" in e for e in errors), errors
    assert not any("ingested" in plain(s.value) for s in at.success)
