"""Cache entries built aside (rag.models.user_cache): a killed build's side folder is removed, a
live build's never, and nothing else in the cache folder is touched."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.models.user_cache import build_lock, lock_path, remove_stale_side_folders, side_folder

REPO = Path(__file__).resolve().parents[3]
ENTRY = re.compile(r".+-(base|seq-cls)-[0-9a-f]{16}")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="build locks use fcntl.flock")

#: a build in another process: holds the entry's lock, writes a side folder, says where, then
#: works until it is killed
BUILDER = """
import sys, time
from pathlib import Path
from rag.models.user_cache import build_lock, side_folder
entry = Path(sys.argv[1])
with build_lock(entry):
    work = side_folder(entry)
    (work / "model.onnx").write_bytes(b"x" * 4096)
    print(work, flush=True)
    time.sleep(300)
"""


def _fake_side_folder(root: Path, name: str) -> Path:
    path = root / name
    (path / "fp32").mkdir(parents=True)
    (path / "fp32" / "model.onnx").write_bytes(b"\0" * 4096)
    return path


def test_killed_build_is_cleaned_up_live_build_never(tmp_path: Path) -> None:
    entry = tmp_path / "bge-m3-base-0123456789abcdef"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    builder = subprocess.Popen([sys.executable, "-c", BUILDER, str(entry)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        live = Path(builder.stdout.readline().strip())  # type: ignore[union-attr]
        assert live.parent == tmp_path and live.name.startswith(f".{entry.name}.")
        assert remove_stale_side_folders(tmp_path, ENTRY) == []
        assert (live / "model.onnx").is_file()  # the live build's folder is untouched
    finally:
        builder.kill()
        builder.wait(timeout=30)
    # killed mid-build: the kernel dropped its lock, so its folder is now a leftover
    assert remove_stale_side_folders(tmp_path, ENTRY) == [live]
    assert not live.exists()
    assert lock_path(entry).is_file()  # the lock file stays: later waiters must share its inode


def test_only_side_folders_of_cache_entries_are_removed(tmp_path: Path) -> None:
    stale = _fake_side_folder(tmp_path, ".bge-reranker-v2-m3-seq-cls-fedcba9876543210.k2_9xq0a")
    kept = [_fake_side_folder(tmp_path, n) for n in (
        ".config",  # the cache root may be a folder shared with other things
        ".notes.abcdefgh",  # side-folder shaped, but not of a cache entry
        ".bge-m3-base-0123456789abcdef.toolongsuffix",
        "bge-m3-base-0123456789abcdef",  # an entry itself
    )]
    assert remove_stale_side_folders(tmp_path, ENTRY) == [stale]
    assert all(p.is_dir() for p in kept) and not stale.exists()
    assert remove_stale_side_folders(tmp_path / "missing", ENTRY) == []


def test_a_build_in_this_process_is_live_too(tmp_path: Path) -> None:
    """Another thread's build (its own lock descriptor) counts as live, like another process's."""
    entry = tmp_path / "model-base-0123456789abcdef"
    with build_lock(entry):
        work = side_folder(entry)
        assert remove_stale_side_folders(tmp_path, ENTRY) == []
        assert work.is_dir()
    assert remove_stale_side_folders(tmp_path, ENTRY) == [work]


def test_second_builder_waits_for_the_first(tmp_path: Path) -> None:
    entry = tmp_path / "model-seq-cls-0123456789abcdef"
    events: list[str] = []
    first_holds = threading.Event()

    def first() -> None:
        with build_lock(entry):
            first_holds.set()
            time.sleep(0.3)
            events.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    assert first_holds.wait(10)
    with build_lock(entry):
        events.append("second in")
    thread.join()
    assert events == ["first done", "second in"]
