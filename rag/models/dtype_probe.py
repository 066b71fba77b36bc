"""Pick the CPU compute dtype by measuring it, not by reading CPU flags.

Why: bf16 weights are not always faster on CPU. On a Xeon with AVX512_BF16 but no AMX, BGE-M3 in
bf16 ran 161 tokens/s against 288 in fp32 (1.8x slower); on one with AMX it ran 960 against 322.
Flags alone cannot tell these apart reliably, so at first load we time a small linear-layer
workload (BGE-M3/reranker shaped: hidden 1024, FFN 4096) in both dtypes and keep bf16 only when it
is clearly faster. The decision is cached per machine (CPU model, bf16/AMX flags, torch version,
thread count) in ``$XDG_CACHE_HOME/bge-contract-rag/dtype-probe.json`` (``RAG_DTYPE_PROBE_CACHE``
overrides the path), so it costs about 0.2 s once.

``RAG_DTYPE_PROBE=off`` skips the probe and picks fp32 (tests, reproducible runs).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.models.user_cache import user_cache_path

#: bf16 must beat fp32 by this factor to be chosen; below it fp32's exactness wins.
BF16_MIN_SPEEDUP = 1.2
_FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f")

#: (fp32 seconds, bf16 seconds); injectable so tests never depend on timing.
Timer = Callable[[], tuple[float, float]]


@dataclass(frozen=True)
class DtypeChoice:
    """The CPU dtype, the measured bf16-over-fp32 speed ratio (None when not measured) and why."""

    dtype: str
    ratio: float | None
    reason: str
    fp32_s: float | None = None
    bf16_s: float | None = None
    key: str = ""
    cached: bool = False


def cache_path() -> Path:
    """Where decisions are kept: ``RAG_DTYPE_PROBE_CACHE``, else the user's cache dir."""
    return user_cache_path("RAG_DTYPE_PROBE_CACHE", "dtype-probe.json")


def cpu_description() -> tuple[str, list[str]]:
    """(CPU model string, the bf16-relevant flags it has), from /proc/cpuinfo where there is one."""
    import platform

    model, flags = "", set()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name") and not model:
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), [f for f in _FLAGS if f in flags]


def machine_key(cpu: str, flags: list[str], torch_version: str, threads: int) -> str:
    """Cache key: a decision is only valid for the same CPU, flags, torch build and thread count."""
    return f"{cpu}|{','.join(sorted(flags))}|torch {torch_version}|threads {threads}"


def current_key() -> str:
    import torch

    cpu, flags = cpu_description()
    return machine_key(cpu, flags, torch.__version__, torch.get_num_threads())


def measure(hidden: int = 1024, ffn: int = 4096, tokens: int = 256, repeats: int = 3) -> tuple[float, float]:
    """Best-of-``repeats`` seconds for a transformer-FFN-shaped forward pass, in (fp32, bf16).

    A few Linear layers at the model's width are what dominates encoder time on CPU.
    """
    import torch

    from torch.nn.functional import gelu, linear

    results = []
    with torch.inference_mode():
        # Random weights straight from randn: nn.Linear's init costs more than the timing itself.
        w_up, w_down = torch.randn(ffn, hidden) * 0.02, torch.randn(hidden, ffn) * 0.02
        x32 = torch.randn(tokens, hidden)
        for dtype in (torch.float32, torch.bfloat16):
            up, down, x = w_up.to(dtype), w_down.to(dtype), x32.to(dtype)
            linear(gelu(linear(x, up)), down)  # warm-up: kernel selection, allocator
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(2):
                    linear(gelu(linear(x, up)), down)
                best = min(best, time.perf_counter() - start)
            results.append(best)
    return results[0], results[1]


def decide(fp32_s: float, bf16_s: float, *, key: str = "", threshold: float = BF16_MIN_SPEEDUP) -> DtypeChoice:
    """bf16 only when it measured at least ``threshold`` times faster than fp32."""
    ratio = fp32_s / bf16_s if bf16_s > 0 else 0.0
    if ratio >= threshold:
        dtype, reason = "bfloat16", f"bf16: measured {ratio:.1f}x faster than fp32 on this CPU"
    elif ratio >= 1:
        dtype, reason = "float32", f"fp32: bf16 measured only {ratio:.2f}x faster on this CPU (needs {threshold}x)"
    else:
        dtype, reason = "float32", f"fp32: bf16 measured {1 / ratio if ratio else float('inf'):.1f}x slower on this CPU"
    return DtypeChoice(dtype, ratio, reason, fp32_s, bf16_s, key)


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or corrupt: measure again and rewrite
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home must not stop the model from loading


def cpu_dtype_choice(*, timer: Timer | None = None, key: str | None = None, path: Path | None = None) -> DtypeChoice:
    """The CPU dtype for this machine: cached decision, else measured now (and cached)."""
    if os.environ.get("RAG_DTYPE_PROBE", "").strip().lower() in {"off", "0", "no", "false"}:
        return DtypeChoice("float32", None, "fp32: dtype probe disabled (RAG_DTYPE_PROBE=off)")
    key = current_key() if key is None else key
    path = cache_path() if path is None else path
    data = _read_cache(path)
    entry = data.get(key)
    if isinstance(entry, dict):
        try:
            fields = {k: entry[k] for k in ("dtype", "ratio", "reason", "fp32_s", "bf16_s")}
            if fields["dtype"] in {"float32", "bfloat16"}:
                return DtypeChoice(**fields, key=key, cached=True)
        except (KeyError, TypeError):
            pass
    fp32_s, bf16_s = (timer or measure)()
    choice = decide(fp32_s, bf16_s, key=key)
    record = {k: v for k, v in asdict(choice).items() if k not in {"key", "cached"}}
    data[key] = {**record, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _write_cache(path, data)
    return choice
