"""Durable file writes: write to a temporary name, fsync, rename, fsync the directory.

A rename is atomic on POSIX file systems, so a reader (or a process restarted after
``kill -9``) sees either no file or the whole file, never a torn one. The fsyncs
protect against power loss and kernel crashes only (a killed process loses nothing
the kernel already has), so ``sync=False`` (``IndexOptions.durable=False``) keeps
crash safety against ``kill -9`` while skipping them.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np

TMP_MARK = ".tmp-"


def tmp_name(path: Path) -> Path:
    """A sibling temporary name that garbage collection recognises as unfinished."""
    return path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")


def fsync_path(path: Path, sync: bool = True) -> None:
    """Flush a file's data, or a folder's entries (renames into it), to disk; nothing unless ``sync``."""
    if not sync:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path, data: bytes, sync: bool = True) -> None:
    tmp = tmp_name(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        if sync:
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent, sync)


def save_npy(path: Path, array: np.ndarray, sync: bool = True) -> None:
    """Write ``array`` as ``.npy`` and fsync it (the caller renames it or its folder into place)."""
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
        fh.flush()
        if sync:
            os.fsync(fh.fileno())


#: numpy parses a .npy header with ast.literal_eval, and CPython 3.11 keeps the AST constructor's
#: recursion depth per interpreter: two threads inside it at once can fail with "SystemError: AST
#: constructor recursion depth mismatch". A load is a header read and a map: one at a time is free.
_LOAD_LOCK = threading.Lock()


def load_npy(path: Path, mmap: bool = True) -> np.ndarray:
    """Load a ``.npy`` file, memory-mapped read-only by default (shared page cache, no copy).

    Empty arrays cannot be memory-mapped, so those (and any file numpy refuses to map)
    are read into memory instead. Thread-safe (see ``_LOAD_LOCK``).
    """
    with _LOAD_LOCK:
        if mmap:
            try:
                # a plain ndarray view of the map (numpy's memmap subclass slows every slice down)
                return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)
            except ValueError:
                pass
        return np.load(path, allow_pickle=False)


def remove_path(path: Path) -> None:
    """Remove a file or a folder tree; missing is fine (garbage collection is idempotent)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def dir_bytes(path: Path) -> int:
    total = 0
    try:
        if path.is_file():
            return path.stat().st_size
        for p in path.rglob("*"):
            try:
                if p.is_file():
                    total += p.stat().st_size
            except FileNotFoundError:
                continue
    except FileNotFoundError:
        return 0
    return total
