"""Helper for test_milvus: commit one batch, write part of a second to Milvus, then die by SIGKILL.

Usage: python milvus_crash_writer.py BACKEND_URI NAME
Prints ``flushed`` once the second batch's vectors are in Milvus, right before the kill.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from store_synth import make_doc  # noqa: E402

from rag.store import IndexOptions, ModelInfo  # noqa: E402
from rag.store.milvus import open_backend_collection  # noqa: E402


def main() -> None:
    uri, name = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(7)
    col = open_backend_collection(uri, name, create=True, info=ModelInfo("m", 16, sparse="bm25"),
                                  options=IndexOptions(flush_rows=4, durable=False))
    with col.writer() as w:
        for i in range(3):
            make_doc(rng, f"kept-{i}.txt", 5, bm25=True).add_to(w)
    w = col.writer()
    for i in range(3):
        make_doc(rng, f"lost-{i}.txt", 5, bm25=True).add_to(w)  # 5 >= flush_rows: each goes to Milvus at once
    print("flushed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main()
