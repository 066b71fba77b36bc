"""Crash-test subprocess: commit random batches (adds, deletes, compactions) until killed.

Prints each committed generation on its own line, after the commit returned, so
the parent knows which generations were acknowledged.
Usage: python crash_writer.py COLLECTION_PATH SEED
"""

from __future__ import annotations

import sys

import numpy as np
from store_synth import make_doc

from rag.store import Collection


def main() -> None:
    path, seed = sys.argv[1], int(sys.argv[2])
    col = Collection.open(path)
    rng = np.random.default_rng(seed)
    info = col.info
    i = 0
    while True:
        live = [d.id for d in col.view().documents()]
        with col.writer(wait=True, timeout=30) as w:
            for _ in range(int(rng.integers(1, 4))):
                doc = make_doc(rng, f"s{seed}-{i}.txt", int(rng.integers(0, 25)), dim=info.dim,
                               colbert_dim=info.colbert_dim, bm25=info.sparse == "bm25", pdf=bool(i % 2))
                doc.add_to(w)
                i += 1
            if live and rng.random() < 0.5:
                w.delete_document(int(rng.choice(live)))
            if rng.random() < 0.05:
                w.compact()
        print(col.current_generation(), flush=True)


if __name__ == "__main__":
    main()
