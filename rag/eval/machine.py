"""What a benchmark ran on: machine, library versions (recorded with every result)."""

from __future__ import annotations

import json
import os
import platform
import socket
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_versions(packages: Iterable[str]) -> dict[str, str | None]:
    """Installed version of each package (``None`` where it is not installed)."""
    out: dict[str, str | None] = {}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def machine_info() -> dict[str, object]:
    """Cores, CPU, memory, Python and the versions of the libraries that shape the figures."""
    versions = {k: v for k, v in package_versions(
        ("torch", "transformers", "tokenizers", "faiss-cpu", "numpy", "scipy", "bm25s",
         "FlagEmbedding", "pymilvus", "milvus-lite")).items() if v is not None}
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {"host": socket.gethostname(), "cores": os.cpu_count(), "cpu": cpu_model(),
            "memory_gb": mem_gb, "python": platform.python_version(), "versions": versions}


def machine_tag() -> str:
    """A short name for result files: ``<cores>core-<cpu vendor>``."""
    cpu = cpu_model().lower()
    vendor = "amd" if "amd" in cpu else "intel" if "intel" in cpu else platform.machine()
    return f"{os.cpu_count()}core-{vendor}"


def save_results(payload: dict, out: Path | None, default_stem: str) -> Path:
    """Write a benchmark's results as JSON (``bench/results/<default_stem>-<machine tag>.json``
    unless ``out`` is given), stamped with the machine and the date, and say where."""
    payload = {**payload, "machine": machine_info(), "date": time.strftime("%Y-%m-%d")}
    out = out or Path("bench/results") / f"{default_stem}-{machine_tag()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"saved {out}")
    return out
