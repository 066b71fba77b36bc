"""Where per-machine model artefacts are kept (the dtype probe's decisions, int8 exports), and how
an entry is built there safely.

An entry that takes minutes to build (an int8 export) is written into a side folder next to it
(``.<entry>.<8 random chars>``) and renamed into place, so readers never see half an entry. A
builder holds an exclusive ``flock`` on the entry's lock file (``.<entry>.lock``) from before it
creates its side folder until the folder is renamed or removed. Hence the rule for clean-up: a side
folder whose entry lock can be taken belongs to no live builder (the kernel drops the lock of a
killed process) and is removed; one whose lock is held is never touched. The same lock makes a
second process that wants the same entry wait for the first instead of building it twice. (A build
still running code from before this lock existed holds none, so it would not be seen as live.)

``fcntl.flock`` directly rather than a lock library: deleting a >1 GB folder is only safe if the
lock file is never unlinked (a waiter and a newcomer would lock two different inodes), and that
must not depend on a library version's release policy. Without ``fcntl`` (Windows) builds are not
serialised and no side folder is removed, since nothing proves it stale.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: a side folder: ``.`` + entry name + ``.`` + tempfile.mkdtemp's 8 random characters
_SIDE_FOLDER = re.compile(r"^\.(?P<entry>.+)\.[a-z0-9_]{8}$")


def user_cache_path(env_var: str, name: str) -> Path:
    """``$env_var`` when set, else ``$XDG_CACHE_HOME/bge-contract-rag/<name>`` (``~/.cache`` by
    default): one place for the user's cache, with one override per artefact."""
    explicit = os.environ.get(env_var)
    if explicit:
        return Path(explicit).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bge-contract-rag" / name


def lock_path(entry: Path) -> Path:
    """The lock file of one cache entry (kept after use: waiters must share its inode)."""
    return entry.parent / f".{entry.name}.lock"


def _open_lock(entry: Path) -> int:
    return os.open(lock_path(entry), os.O_RDWR | os.O_CREAT, 0o666)


def _try_lock(fd: int) -> bool:
    """Take the lock without waiting: False when another holder has it; OSError when the file
    system cannot lock (some network mounts)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def build_lock(entry: Path) -> Iterator[None]:
    """Hold ``entry``'s build lock, waiting while another process (or thread) holds it.

    Raises OSError when the lock file cannot be created (a read-only or missing cache folder)."""
    if fcntl is None:
        yield
        return
    fd = _open_lock(entry)
    try:
        try:
            if not _try_lock(fd):
                log.info("waiting for another process building %s", entry)
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:  # no locking on this file system: build unserialised, as without fcntl
            log.warning("cannot lock %s (%s); building without a lock", lock_path(entry), exc)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def side_folder(entry: Path) -> Path:
    """A new side folder to build ``entry`` in; create it only while holding :func:`build_lock`."""
    return Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))


def remove_stale_side_folders(root: Path, entry_name: re.Pattern[str]) -> list[Path]:
    """Remove the side folders under ``root`` left by builds that were killed, and say which.

    Only folders named like a side folder of an entry matching ``entry_name`` are considered (the
    cache root may be a folder the user shares with other things), and of those only the ones
    whose entry lock is free right now; a folder whose lock cannot be taken or created is left."""
    if fcntl is None:
        return []
    try:
        names = sorted(p.name for p in root.iterdir() if p.is_dir())
    except OSError:
        return []  # no cache yet, or not readable: nothing to clean
    removed = []
    for name in names:
        match = _SIDE_FOLDER.match(name)
        if match is None or not entry_name.fullmatch(match["entry"]):
            continue
        try:
            fd = _open_lock(root / match["entry"])
        except OSError:
            continue  # cannot tell (read-only cache): leave the folder alone
        try:
            try:
                if not _try_lock(fd):
                    continue  # a live build is writing it
            except OSError:
                continue  # this file system cannot lock: nothing proves the folder stale
            stale = root / name
            if stale.is_dir():  # gone already when its build finished between listing and locking
                shutil.rmtree(stale, ignore_errors=True)
                if not stale.exists():
                    log.info("removed %s, left by a cache build that did not finish", stale)
                    removed.append(stale)
        finally:
            os.close(fd)
    return removed
