"""A Milvus Lite gRPC server for tests (``milvus-lite server``): its own process on a free loopback
port, like a Milvus deployment that several app and ingest processes share; stopped at the end.

``running_server`` skips the calling test (saying why) when the ``milvus-lite`` command is absent.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.streamlit_server import free_port


@contextlib.contextmanager
def running_server(root: Path) -> Iterator[str]:
    """Start ``milvus-lite server`` with its data under ``root``; yields ``127.0.0.1:PORT``."""
    import pytest

    exe = Path(sys.executable).with_name("milvus-lite")
    if not exe.exists():
        pytest.skip("the milvus-lite command is not installed")
    port = free_port()
    proc = subprocess.Popen([str(exe), "server", "--data-dir", str(root / "data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"milvus-lite server did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)
