"""Encode throughput: rag.models' BGE-M3 encoder against FlagEmbedding's M3Embedder, side by side.

Same checkpoint (``python -m rag.models.testing full-m3 DIR``: BGE-M3's real shape, random weights),
same mixed-length contract passages (32-512 tokens, from ../shared/eval/legal/corpus/cuad when
present, else the repo's data/ text, else the built-in sample), same outputs (dense + sparse).
Reports tokens/s (real tokens, padding not counted) in fp32 and bf16, the dtype the probe picked, the speed-up over FlagEmbedding and the dense
cosine of our default-precision output to our fp32 output.

    python bench/encode.py --model /tmp/full-m3 [--passages 48] [--device cpu|cuda]

Writes bench/results/encode-<machine>.json and prints a table.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import random
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED_CUAD = Path(os.environ.get("RAG_SHARED_EVAL", REPO.parent / "shared" / "eval")) / "legal" / "corpus" / "cuad"
TARGET_SPEEDUP = 2.5
TARGET_COSINE = 0.999


def source_texts() -> tuple[str, list[str]]:
    """(where the text came from, documents)."""
    files = sorted(SHARED_CUAD.glob("*.txt")) if SHARED_CUAD.is_dir() else []
    if files:
        return str(SHARED_CUAD), [f.read_text(encoding="utf-8", errors="replace") for f in files]
    files = sorted(p for p in (REPO / "data").rglob("*.txt") if p.is_file())
    if files:
        return str(REPO / "data"), [f.read_text(encoding="utf-8", errors="replace") for f in files]
    from rag.models.tokenizer_corpus import ENGLISH

    return "rag.models.tokenizer_corpus (built-in sample)", [ENGLISH]


def make_passages(tokenizer: Any, docs: list[str], n: int, seed: int, lo: int = 32, hi: int = 512) -> list[str]:
    """``n`` passages of consecutive contract words whose token counts spread evenly over [lo, hi]."""
    rng = random.Random(seed)
    words = [re.sub(r"\s+", " ", d).split(" ") for d in docs]
    words = [w for w in words if len(w) > 50]
    passages = []
    for target in np.linspace(lo, hi, n).astype(int).tolist():
        doc = rng.choice(words)
        start = rng.randrange(0, max(1, len(doc) - 2 * target))
        text = " ".join(doc[start : start + 2 * target])
        ids = tokenizer(text, add_special_tokens=True, truncation=True, max_length=target)["input_ids"]
        passages.append(tokenizer.decode(ids, skip_special_tokens=True))
    rng.shuffle(passages)
    return passages


def flag_m3_class() -> Any:
    path = REPO / "tests" / "comparison" / "flag_reference.py"
    spec = importlib.util.spec_from_file_location("flag_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_flag_classes()[0]


def model_shape(folder: Path) -> dict[str, Any]:
    """The checkpoint's shape and its tokenizer's size: token counts (and so tokens/s and seconds per
    page) depend on the tokenizer, and the test checkpoints may carry XLM-R's (250,002 pieces) or a
    small trained one that cuts contract English into about 1.8 times as many tokens."""
    config = json.loads((folder / "config.json").read_text())
    keys = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "vocab_size")
    shape: dict[str, Any] = {k: config.get(k) for k in keys}
    tokenizer = folder / "tokenizer.json"
    if tokenizer.is_file():
        model = json.loads(tokenizer.read_text(encoding="utf-8")).get("model", {})
        shape["tokenizer_pieces"] = len(model.get("vocab", [])) or None
    return shape


def agreement(out: Any, ref: Any) -> dict[str, Any]:
    """How close ``out`` is to the fp32 reference ``ref``: dense cosine per passage and, with sparse
    weights, the share of fp32's tokens kept, the share of its weight mass they carry, and the
    relative error of the lexical self-score (sum of squared weights, what a query-passage match sums)."""
    cos = (out.dense * ref.dense).sum(axis=1)
    agree: dict[str, Any] = {"dense_cosine_min": float(cos.min()), "dense_cosine_mean": float(cos.mean())}
    if out.sparse is not None and ref.sparse is not None:
        kept, mass, score_err = [], [], []
        for a, b in zip(out.sparse, ref.sparse):
            if not b:
                continue
            common = set(a) & set(b)
            kept.append(len(common) / len(b))
            mass.append(sum(b[t] for t in common) / sum(b.values()))
            dot = sum(a[t] * b[t] for t in common)
            score_err.append(abs(dot - sum(w * w for w in b.values())) / sum(w * w for w in b.values()))
        agree.update({"sparse_tokens_kept_min": min(kept), "sparse_tokens_kept_mean": float(np.mean(kept)),
                      "sparse_weight_mass_kept_min": min(mass),
                      "sparse_self_score_rel_err_max": max(score_err),
                      "sparse_self_score_rel_err_mean": float(np.mean(score_err))})
    return agree


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def machine_info() -> dict[str, Any]:
    import torch

    from rag.eval.machine import cpu_model
    from rag.models.loading import cpu_supports_bf16

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_bf16": cpu_supports_bf16(),
        "dtype_probe": probe_info(),
        "gpu": gpu or "none (no GPU on this machine; --device cuda not measured)",
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def probe_info() -> dict[str, Any]:
    """What rag.models.dtype_probe picked on this CPU and its measured bf16/fp32 speed ratio."""
    from dataclasses import asdict

    from rag.models.dtype_probe import cpu_dtype_choice

    return asdict(cpu_dtype_choice())


def versions() -> dict[str, str]:
    from rag.eval.machine import package_versions

    found = package_versions(("torch", "transformers", "tokenizers", "numpy", "FlagEmbedding"))
    return {"python": platform.python_version(), **{k: v or "not installed" for k, v in found.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model", type=Path, required=True, help="folder from `python -m rag.models.testing full-m3 DIR`"
    )
    parser.add_argument("--passages", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default=None, help="our encoder's dtype (default: load_encoder's rule)")
    parser.add_argument("--tokens-per-batch", type=int, default=None)
    parser.add_argument("--skip-reference", action="store_true", help="only our encoder (no FlagEmbedding run)")
    parser.add_argument("--variants", nargs="+", default=["float32", "bfloat16"],
                        choices=["float32", "bfloat16", "int8", "torch-int8"],
                        help="our runs besides the default dtype (int8: ONNX Runtime dynamic int8, rag.models.int8; "
                             "torch-int8: torch.ao.quantization.quantize_dynamic on the backbone, for comparison)")
    parser.add_argument("--max-length", type=int, default=512, help="tokens per passage (MiniLM: 256)")
    parser.add_argument("--rounds", type=int, default=1, help="timed runs per variant, interleaved")
    parser.add_argument("--machine", default=None, help="name in the results file (default: hostname)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)

    from transformers import AutoTokenizer

    from rag.models import load_encoder

    source, docs = source_texts()
    tokenizer = AutoTokenizer.from_pretrained(str(args.model))
    passages = make_passages(tokenizer, docs, args.passages, args.seed)
    lengths = [len(ids) for ids in tokenizer(passages, truncation=True, max_length=args.max_length)["input_ids"]]
    n_tokens = int(sum(lengths))
    info = machine_info()
    print(f"{len(passages)} passages, {n_tokens} tokens ({min(lengths)}-{max(lengths)} per passage) from {source}")
    print(
        f"{info['cpu_model']}, {info['cpu_cores']} cores, torch threads {info['torch_threads']}, device {args.device}"
    )

    rows: list[dict[str, Any]] = []
    want_sparse = True

    def load(variant: str) -> Any:
        """One of our encoders: a dtype name, or "int8" (ONNX Runtime dynamic int8, rag.models.int8)."""
        nonlocal want_sparse
        quantize = "int8" if variant == "int8" else None
        dtype = None if variant in ("default", "int8") else "float32" if variant == "torch-int8" else variant
        load_before = os.getloadavg()[0]
        enc, seconds = timed(lambda: load_encoder(args.model, device=args.device, dtype=dtype, max_length=args.max_length,
                                                  tokens_per_batch=args.tokens_per_batch, quantize=quantize))
        if variant == "torch-int8":  # the alternative not taken (deprecated API), measured for the record
            import torch

            start = time.perf_counter()
            enc.model = torch.ao.quantization.quantize_dynamic(enc.model, {torch.nn.Linear}, dtype=torch.qint8)
            enc.dtype = "torch-int8"
            seconds += time.perf_counter() - start
        want_sparse = enc.has_sparse
        enc.encode(passages[:2], dense=True, sparse=want_sparse)  # warm-up (kernel selection, allocator)
        backend = getattr(enc.model, "build_s", "absent")
        load_info = {"load_s": seconds, "load_average": load_before}
        if backend != "absent":  # the int8 ONNX model: built now (export + quantize) or read from its cache
            load_info.update({"int8_built_s": enc.model.build_s, "int8_session_s": enc.model.load_s,
                              "int8_cache": str(enc.model.path.parent)})
        print(f"  loaded {variant} ({enc.dtype}) in {seconds:.1f} s {load_info}", flush=True)
        return enc, load_info

    from rag.models.loading import resolve_dtype

    default = args.dtype or resolve_dtype(None, args.device)
    variants = [default] + [v for v in args.variants if v != default]  # the default first, each once
    encoders = {}
    for v in variants:
        encoders[v] = load(v)
        gc.collect()
    resolved = {v: enc.dtype for v, (enc, _) in encoders.items()}
    seen = {resolved[v]: v for v in encoders}
    times: dict[str, list[float]] = {v: [] for v in encoders}
    loads: dict[str, list[float]] = {v: [] for v in encoders}
    outputs: dict[str, Any] = {}
    for r in range(args.rounds):  # interleaved (A/B/A/B): a load change hits every variant alike
        for v, (enc, _) in encoders.items():
            loads[v].append(os.getloadavg()[0])
            out, seconds = timed(lambda: enc.encode(passages, dense=True, sparse=want_sparse))
            times[v].append(seconds)
            outputs[v] = out
            print(f"  round {r + 1} {v} ({enc.dtype}): {seconds:.1f} s, {n_tokens / seconds:.1f} tokens/s "
                  f"(load {loads[v][-1]:.2f})", flush=True)
    for v, (enc, load_info) in encoders.items():
        best = min(times[v])
        rows.append({"name": f"rag.models ({enc.dtype})", "dtype": enc.dtype, "seconds": best,
                     "tokens_per_s": n_tokens / best, "seconds_per_round": times[v],
                     "load_average_per_round": loads[v], **load_info})
    fp32_key = seen.get("float32")
    dense_fp32 = outputs[fp32_key].dense if fp32_key else None
    dense_default = outputs[variants[0]].dense
    fidelity = {}
    if fp32_key:
        for v in encoders:
            if v != fp32_key:
                fidelity[resolved[v]] = agreement(outputs[v], outputs[fp32_key])
    per_round = {resolved[v]: [f / q for f, q in zip(times[fp32_key], times[v])]
                 for v in encoders if fp32_key and v != fp32_key}
    del encoders
    gc.collect()
    cosine = float((dense_default * dense_fp32).sum(axis=1).min()) if dense_fp32 is not None else None

    reference = None
    if not args.skip_reference:
        m3_cls = flag_m3_class()
        devices = "cuda:0" if args.device == "cuda" else "cpu"
        flag = m3_cls(str(args.model), use_fp16=args.device == "cuda", devices=devices, passage_max_length=512)
        flag.encode(passages[:2], return_dense=True, return_sparse=True)
        out, seconds = timed(
            lambda: flag.encode(passages, return_dense=True, return_sparse=True, return_colbert_vecs=False)
        )
        reference = {
            "name": "FlagEmbedding M3Embedder.encode (defaults: batch_size 256, fp32 on CPU)",
            "dtype": "float16" if args.device == "cuda" else "float32",
            "seconds": seconds,
            "tokens_per_s": n_tokens / seconds,
            "dense_max_abs_diff_to_our_fp32": float(np.abs(np.asarray(out["dense_vecs"]) - dense_fp32).max()),
        }
        rows.append(reference)
        print(f"  FlagEmbedding: {seconds:.1f} s, {n_tokens / seconds:.1f} tokens/s", flush=True)
        del flag
        gc.collect()

    ours_default = rows[0]
    speedup = ours_default["tokens_per_s"] / reference["tokens_per_s"] if reference else None
    result = {
        "benchmark": "encode",
        "model": {"path": str(args.model), **model_shape(args.model)},
        "passages": len(passages),
        "tokens": n_tokens,
        "tokens_per_passage": {"min": min(lengths), "max": max(lengths), "mean": n_tokens / len(lengths)},
        "text_source": source,
        "outputs": "dense + sparse" if want_sparse else "dense (this model has no sparse head)",
        "device": args.device,
        "machine": info,
        "versions": versions(),
        "runs": rows,
        "speedup_vs_flagembedding": speedup,
        "dense_cosine_min_default_vs_fp32": cosine,
        "fidelity_vs_fp32": fidelity,
        "speedup_over_fp32_per_round": per_round,
        "rounds": args.rounds,
        "targets": {"speedup": TARGET_SPEEDUP, "cosine": TARGET_COSINE},
        "met": {
            "speedup": None if speedup is None else speedup >= TARGET_SPEEDUP,
            "cosine": None if cosine is None else cosine >= TARGET_COSINE,
        },
        "notes": [
            "tokens/s counts real tokens (no padding), identical input for every run; after a 2-passage warm-up, "
            "--rounds timed runs per variant, interleaved (A/B/A/B), best reported, every round kept",
            "int8: ONNX Runtime dynamic int8 (rag.models.int8: MatMul weights int8 per channel, activations "
            "quantized per batch, heads in torch fp32); load_s includes the export + quantization when "
            "int8_built_s is set, else reading the cached model",
            "FlagEmbedding's encode() pads each batch to its longest text and runs its first batch twice (batch-size probe)",
            "shared machine: other processes ran concurrently; see load_average_at_start",
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    machine = re.sub(r"[^A-Za-z0-9_.-]+", "-", args.machine or info["hostname"])
    path = args.out / f"encode-{machine}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")

    print()
    print(f"{'run':<75} {'dtype':<9} {'seconds':>8} {'tokens/s':>9}")
    for row in rows:
        print(f"{row['name']:<75} {row['dtype']:<9} {row['seconds']:>8.1f} {row['tokens_per_s']:>9.1f}")
    if speedup is not None:
        print(f"speed-up over FlagEmbedding: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x)")
    print(
        f"dense cosine, {ours_default['dtype']} vs fp32 (min over passages): {cosine:.5f} (target >= {TARGET_COSINE})"
    )
    for name, agree in fidelity.items():
        print(f"fidelity {name} vs fp32: {json.dumps(agree)}")
    for name, ratios in per_round.items():
        print(f"{name} speed-up over fp32 per round: " + ", ".join(f"{x:.2f}x" for x in ratios))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
