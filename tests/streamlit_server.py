"""The app as a real server for browser tests: ``streamlit run app.py`` on a free local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(settings: dict[str, str], log_path: Path, start_timeout_s: float = 90, *,
                port: int | None = None, extra_args: Sequence[str] = ()) -> Iterator[str]:
    """Start the app with ``settings`` as its only ``RAG_*`` environment; its URL until the block ends.

    ``port`` when the caller needs the URL beforehand (a sign-in redirect); ``extra_args`` go to
    ``streamlit run`` (e.g. ``--secrets.files``).

    The server's output goes to ``log_path``; if it exits or is not healthy within the timeout,
    ``RuntimeError`` carries that log.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k != "OPENAI_API_KEY"}
    env.update(settings)
    port = port or free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *extra_args],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not start:\n" + log_path.read_text(errors="replace"))
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
