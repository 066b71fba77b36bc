"""A throw-away PostgreSQL cluster for tests: initdb into a temporary folder, pg_ctl start on a
free loopback port (its socket in that folder too), trust authentication, stopped at the end.

PostgreSQL refuses to run as root; as root the cluster runs as ``nobody`` (through ``runuser``),
in a folder only it and root use. ``find_bin`` returns ``None`` when the binaries are absent
(Debian: ``apt-get install postgresql``), so tests can skip with that reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.streamlit_server import free_port

SEARCH = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14", "13")]


def find_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or ``None``."""
    for d in SEARCH:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found and (Path(found).resolve().parent / "initdb").is_file() else None


@contextlib.contextmanager
def running_cluster(bin_dir: Path) -> Iterator[str]:
    """Start a cluster; yields ``postgresql://rag@127.0.0.1:PORT/postgres``."""
    root = Path(tempfile.mkdtemp(prefix="rag-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        as_user = ["runuser", "-u", "nobody", "--"]
    port = free_port()
    data = root / "data"

    def run(*cmd: str) -> None:
        out = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120, cwd=root)
        if out.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-2000:] or out.stdout[-2000:]}")

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "rag", "--auth=trust", "-E", "UTF8", "--locale=C",
            "--no-sync")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")
        try:
            yield f"postgresql://rag@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def cluster_or_skip() -> Iterator[str]:
    """:func:`running_cluster` for a pytest fixture: skips (saying why) without psycopg or the binaries."""
    import pytest

    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (the 'postgres' extra)")
    bin_dir = find_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    with running_cluster(bin_dir) as url:
        yield url
