"""File locks: one writer per collection, and reader leases on generations.

Both use ``flock(2)``: the kernel drops a lock when its holder dies (even by
``kill -9``), so a crashed process never leaves a collection locked. ``flock``
locks belong to an open file description, so two opens in one process exclude
each other just as two processes do (several writer objects, or a writer and the
garbage collector against views, in one Streamlit process behave correctly).

Reader leases: a process that uses generation G holds a *shared* lock on
``locks/gen-G.lock``. The writer may only forget G (drop its catalog row, then
purge rows and files no later generation needs) after taking an *exclusive* lock
on that file without waiting. A reader re-checks, after locking, that G still
has its catalog row, so a reader can never start using a generation that is
being collected. POSIX only (``fcntl``).
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from pathlib import Path
from typing import Any

from rag.store.errors import CollectionBusy
from rag.store.fsutil import TMP_MARK, remove_path

_LOCK_RE = re.compile(r"^gen-(\d+)\.lock$")


class WriteLock:
    """The collection's single-writer lock (``write.lock``, holding the writer's pid)."""

    def __init__(self, path: Path, collection: str) -> None:
        self.path = path
        self.collection = collection
        self._fd: int | None = None

    def _holder(self) -> str:
        try:
            text = self.path.read_text().strip()
        except OSError:
            text = ""
        return f"pid {text}" if text.isdigit() else "another process"

    def acquire(self, wait: bool = False, timeout: float | None = None) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    os.close(fd)
                    raise CollectionBusy(
                        f"collection {self.collection!r} is being written by {self._holder()}"
                    ) from None
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    raise CollectionBusy(
                        f"collection {self.collection!r} is being written by {self._holder()}; "
                        f"gave up waiting after {timeout:g} s"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


def gen_lock_path(locks_dir: Path, gen: int) -> Path:
    return locks_dir / f"gen-{gen:012d}.lock"


def lease_generation(locks_dir: Path, gen: int) -> int:
    """Take a shared lease on ``gen``; returns the fd to close when the generation is no longer used."""
    fd = os.open(gen_lock_path(locks_dir, gen), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except BaseException:
        os.close(fd)
        raise
    return fd


def release_lease(lease: Any) -> None:
    """End a lease (or exclusive hold): a lock file's fd here, or an object with ``release()``
    (:mod:`rag.store.pg_catalog`)."""
    if not isinstance(lease, int):
        lease.release()
        return
    try:
        fcntl.flock(lease, fcntl.LOCK_UN)
    finally:
        os.close(lease)


def try_exclusive(locks_dir: Path, gen: int) -> int | None:
    """An exclusive lock on ``gen`` if no process leases it right now, else ``None``."""
    fd = os.open(gen_lock_path(locks_dir, gen), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def forget_stale_leases(locks_dir: Path, live_gens: set[int]) -> int:
    """Remove lease files of generations the catalog no longer has (and temporary files); how many."""
    removed = 0
    if not locks_dir.is_dir():
        return 0
    for f in locks_dir.iterdir():
        m = _LOCK_RE.match(f.name)
        if m and int(m.group(1)) not in live_gens:
            fd = try_exclusive(locks_dir, int(m.group(1)))
            if fd is not None:
                try:
                    f.unlink(missing_ok=True)
                finally:
                    release_lease(fd)
        elif TMP_MARK in f.name:
            remove_path(f)
    return removed
