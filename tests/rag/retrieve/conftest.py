"""A small collection of contracts ingested with the tiny BGE-M3 checkpoint, shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

NDA = """MUTUAL NON-DISCLOSURE AGREEMENT

This Mutual Non-Disclosure Agreement is made between Acme Robotics Ltd and Beta Logistics GmbH.

1. Definitions
1.1 "Confidential Information" means any information disclosed by one party to the other that is marked confidential.
1.2 "Purpose" means the evaluation of a possible logistics partnership.

2. Obligations
2.1 The Receiving Party shall keep the Confidential Information secret and use it only for the Purpose.
2.2 The Receiving Party may disclose Confidential Information to its employees who need to know it.

3. Term and Termination
3.1 This Agreement starts on the Effective Date and lasts for two years, unless it is terminated earlier under this Clause 3. The parties may extend the term by written agreement signed by authorised representatives of both parties, and any extension applies to all Confidential Information disclosed before or during the extended term.
3.2 Either party may terminate this Agreement by giving thirty days written notice to the other party. Notice must be delivered by hand or by registered mail to the address stated at the head of this Agreement, and takes effect on the day it is received. Termination does not affect rights that accrued before it.
3.3 On termination the Receiving Party shall return or destroy all Confidential Information within ten days, except one archival copy kept by its legal department solely to determine its continuing obligations. The Receiving Party shall confirm the return or destruction in writing, signed by an officer, within five days after it is completed.

4. Governing Law
4.1 This Agreement is governed by the laws of England and Wales.
"""

SERVICES = """MASTER SERVICES AGREEMENT

This Master Services Agreement is made on 2 May 2023 between Gamma Software Inc and Delta Bank plc.

1. Services
1.1 The Supplier shall provide the hosting services described in Schedule 2.
1.2 The Supplier shall meet the service levels with an availability of 99.9 percent each month.

2. Fees
2.1 The Customer shall pay the fees within forty-five days of invoice.
2.2 Late payments bear interest at four percent above the base rate.

3. Limitation of Liability
3.1 Neither party is liable for indirect or consequential loss.
3.2 Each party's total liability is capped at the fees paid in the twelve months before the claim.

Schedule 2 Hosting Services
The Supplier hosts the Customer's payment platform in two data centres with nightly backups.
"""

CHINESE = """技术服务合同

甲方：华东科技有限公司
乙方：西部数据服务有限公司

第一条 服务内容
乙方为甲方提供数据存储和备份服务。

第二条 费用
甲方应在收到发票后三十日内支付服务费用。

第三条 不可抗力
因地震、洪水等不可抗力导致不能履行合同的，受影响方不承担违约责任，但应及时通知对方。

第四条 争议解决
因本合同引起的争议，提交上海仲裁委员会仲裁。
"""

#: small chunks so that sub-clauses of these short contracts get chunks of their own
CHUNKING = dict(target_tokens=64, max_tokens=128, min_tokens=16)

DOCS = {"acme-beta-nda.txt": NDA, "gamma-delta-msa.txt": SERVICES, "技术服务合同.txt": CHINESE}


@pytest.fixture(scope="session")
def contract_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("contracts")
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_encoder(tiny_m3_dir: Path):
    from rag.models import load_encoder

    return load_encoder(str(tiny_m3_dir), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def tiny_reranker(tiny_reranker_dir: Path):
    from rag.models import load_reranker

    return load_reranker(str(tiny_reranker_dir), device="cpu", dtype="float32")


@pytest.fixture(scope="session", params=["faiss", "milvus-lite"])
def contract_collection(request, tmp_path_factory: pytest.TempPathFactory, contract_files: Path, tiny_encoder):
    """The three contracts in a collection with ColBERT vectors stored, on each storage backend."""
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import discover, ingest
    from rag.store import ModelInfo

    data_dir = tmp_path_factory.mktemp("collections")
    backend = None
    if request.param == "milvus-lite":
        pytest.importorskip("milvus_lite")
        backend = f"milvus-lite://{data_dir / 'vectors.db'}"
    from rag.store.milvus import close_backend, open_backend_collection, parse_backend

    info = ModelInfo(name=tiny_encoder.name, dim=tiny_encoder.dim, sparse="lexical",
                     colbert_dim=tiny_encoder.dim)
    col = open_backend_collection(backend, "contracts", data_dir=data_dir, create=True, info=info)
    report = ingest(discover([contract_files]), col, tiny_encoder, chunking=ChunkingConfig(**CHUNKING))
    assert not report.failed, report.failed
    yield col
    if backend is not None:
        close_backend(parse_backend(backend))
