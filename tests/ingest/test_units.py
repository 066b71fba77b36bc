"""Fine retrieval units: they tile their chunk, stay inside one clause, and are sentence-sized."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunking import ChunkingConfig, chunk_document
from ingest.structure import parse_structure
from ingest.units import DocumentUnits, UnitConfig, split_units
from rag.documents import Document

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


@pytest.fixture(scope="module")
def msa() -> tuple[str, list, list]:
    text = (SAMPLES / "master-services-agreement-northwind-cobalt.txt").read_text(encoding="utf-8")
    clauses = parse_structure(text, "en")
    chunks = chunk_document(Document("msa.txt", text), clauses, None,
                            ChunkingConfig(target_tokens=256, max_tokens=512, min_tokens=48))
    return text, clauses, chunks


def test_units_tile_each_chunk(msa):
    text, clauses, chunks = msa
    units = DocumentUnits(text, clauses)
    for c in chunks:
        got = units.of(c.start, c.end)
        assert got, c.text
        assert got[0].start == c.start and got[-1].end == c.end  # chunks are whitespace-trimmed
        for a, b in zip(got, got[1:]):
            assert a.end <= b.start and not text[a.end:b.start].strip()  # disjoint, only whitespace between
        for u in got:
            assert text[u.start:u.end] == text[u.start:u.end].strip()


def test_units_never_cross_a_clause_boundary(msa):
    """A clause start or end inside a unit only where a bare heading leads into its first body."""
    text, clauses, chunks = msa
    units = [u for c in chunks for u in DocumentUnits(text, clauses).of(c.start, c.end)]
    crossed = 0
    for u in units:
        for cl in clauses:
            for b in (cl.start, cl.end):
                if u.start < b < u.end and text[b:u.end].strip() and text[u.start:b].strip():
                    head = text[u.start:b].split()
                    assert len(head) <= 8, (text[u.start:u.end][:200], cl.label)
                    assert any(c.start == u.start for c in clauses)  # the heading's own clause
                    crossed += 1
    assert crossed < len(units)


def test_units_are_sentence_sized_and_carry_their_heading_path(msa):
    text, clauses, chunks = msa
    units = [u for c in chunks for u in DocumentUnits(text, clauses).of(c.start, c.end)]
    assert len(units) > 2 * len(chunks)
    cfg = UnitConfig()
    for u in units:
        assert (u.end - u.start) / 4 <= cfg.max_tokens + 40  # a sentence the splitter could not cut may run over
    assert any(u.heading_path and u.heading_path[-1].startswith("4.") for u in units)


def test_long_clause_is_cut_at_sentences():
    sentence = "The Supplier shall keep records of every delivery made under this Agreement. "
    text = "1. Records\n" + sentence * 20
    clauses = parse_structure(text, "en")
    got = split_units(text, clauses)
    assert len(got) > 2
    for u in got[1:]:
        assert text[u.start:u.end].startswith("The Supplier")
        assert text[u.start:u.end].endswith("Agreement.")


def test_text_without_structure_and_empty_range():
    text = "Plain words. " * 30
    got = split_units(text, [])
    assert got and got[0].start == 0 and got[-1].end == len(text.rstrip())
    assert split_units("   ", []) == []
