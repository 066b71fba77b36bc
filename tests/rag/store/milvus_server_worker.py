"""Helper for test_milvus_server: one process of several sharing a collection on a Milvus server.

Usage: python milvus_server_worker.py ingest URI NAME TAG DOCS   adds DOCS documents, one batch each
       python milvus_server_worker.py read URI NAME STOPFILE    checks views until STOPFILE exists
                                                                (STOPFILE.ready-PID once it has checked one)
Prints one line of JSON at the end: what it did or saw.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from store_synth import make_doc  # noqa: E402

from rag.store.milvus import close_backend, open_backend_collection, parse_backend  # noqa: E402


def ingest(col, tag: str, n_docs: int) -> dict:
    rng = np.random.default_rng(abs(hash(tag)) % 2**32)
    ids = []
    for i in range(n_docs):
        with col.writer(wait=True, timeout=120) as w:  # the two ingest processes take turns
            ids.append(make_doc(rng, f"{tag}-{i}.txt", int(rng.integers(1, 6))).add_to(w))
    return {"added": ids}


def read(col, stop: Path) -> dict:
    rng = np.random.default_rng(0)
    last, gens, checks = -1, set(), 0
    while not stop.exists() or checks == 0:
        v = col.view()
        assert v.generation >= last, "a view went back in time"
        last = v.generation
        gens.add(v.generation)
        ids = v.chunk_ids()
        docs = v.documents()
        assert sum(d.chunks for d in docs) == len(ids)
        if len(ids):
            q = rng.standard_normal(col.info.dim).astype(np.float32)
            found, _ = v.dense_search(q, 10)
            assert set(found.tolist()) <= set(ids.tolist())
            sfound, _ = v.sparse_search({int(t): 1.0 for t in rng.choice(200, 4, replace=False)}, 10)
            assert set(sfound.tolist()) <= set(ids.tolist())
            assert {c.doc_id for c in v.chunks(np.concatenate([found, sfound]))} <= {d.id for d in docs}
            if checks % 5 == 0:
                v.verify()
        checks += 1
        if checks == 1:  # the test starts the writers once every reader is reading
            stop.with_name(f"{stop.name}.ready-{os.getpid()}").touch()
    return {"generations": len(gens), "checks": checks}


def main() -> None:
    what, uri, name = sys.argv[1:4]
    backend = parse_backend(uri)
    col = open_backend_collection(backend, name)
    try:
        out = ingest(col, sys.argv[4], int(sys.argv[5])) if what == "ingest" else read(col, Path(sys.argv[4]))
    finally:
        col.close()
        close_backend(backend)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
