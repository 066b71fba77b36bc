"""A collection of synthetic contracts with known clauses, embedded with the real MiniLM model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CONTRACT = HERE / "supply_contract.txt"

#: a second contract: no governing-law, insurance or assignment clause; a non-compete
SERVICES = """CONSULTING SERVICES AGREEMENT

This Consulting Services Agreement is made on 1 June 2022 between Harbor Analytics LLC ("Consultant") and Meridian Foods plc ("Client").

1. Services
1.1 Consultant shall provide the data analysis services described in the Statement of Work.

2. Fees
2.1 Client shall pay Consultant a monthly fee of twelve thousand dollars within thirty days of invoice.

3. Non-Competition
3.1 During the term and for twelve (12) months thereafter, Consultant shall not provide services to any competitor of Client in the food retail sector.

4. Termination
4.1 Either party may terminate this Agreement at any time without cause upon sixty (60) days prior written notice to the other party.
"""


@pytest.fixture(scope="session")
def review_engine(tmp_path_factory: pytest.TempPathFactory, minilm_dir: Path):  # type: ignore[no-untyped-def]
    """An Engine (MiniLM, no reranker) whose ``contracts`` collection holds the supply contract."""
    from rag.config import Settings
    from rag.engine import Engine

    data_dir = tmp_path_factory.mktemp("review-data")
    engine = Engine(replace(Settings(), embed_model=str(minilm_dir), rerank_model=None, data_dir=data_dir,
                            device="cpu"))
    report = engine.ingest([CONTRACT], "contracts")
    assert not report.failed, report.summary()
    return engine


@pytest.fixture
def services_file(tmp_path: Path) -> Path:
    path = tmp_path / "services_agreement.txt"
    path.write_text(SERVICES, encoding="utf-8")
    return path
