"""Clause tree, clause-id normalisation, cross-references and defined terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.structure import (
    find_clause_references,
    normalise_clause_id,
    parse_clause_reference,
    parse_structure,
)
from ingest.terms import find_defined_terms
from rag.documents import Clause


def by_norm(clauses: list[Clause]) -> dict[str, Clause]:
    return {c.norm: c for c in clauses}


def assert_tree(text: str, clauses: list[Clause]) -> None:
    """Invariants every parse must keep: order, nesting, spans inside the text."""
    for i, c in enumerate(clauses):
        assert 0 <= c.start < c.end <= len(text), c
        if i:
            assert clauses[i - 1].start < c.start, "document order"
        if c.parent is None:
            assert c.level == 0
        else:
            p = clauses[c.parent]
            assert c.parent < i and p.start < c.start and c.end <= p.end, (p, c)
            assert c.level == p.level + 1


NUMBERED = """MASTER SERVICES AGREEMENT

This Master Services Agreement is made between Acme Corp. and Beta LLC.

1. Definitions

1.1 "Affiliate" means any entity controlling a party.

1.2 "Services" shall mean the services in Schedule 1.

2. Term and Termination

2.1 Term. This Agreement runs for two years, subject to Clause 9.

2.2 Termination for Convenience. Either party may terminate:
(a) on thirty days' notice; or
(b) immediately if the other party:
(i) becomes insolvent; or
(ii) ceases business.

2.3 Effect. Sections 2.1 and 2.2 survive as set out in Section 10.

3. Fees

The Customer shall pay the fees.

IN WITNESS WHEREOF the parties have signed this Agreement.

SCHEDULE 1
SERVICES

1. Hosting

The Supplier hosts the platform.
"""


def test_numbered_headings_form_a_tree():
    clauses = parse_structure(NUMBERED)
    assert_tree(NUMBERED, clauses)
    got = [(c.norm, c.kind, c.level) for c in clauses]
    assert got == [
        ("1", "numbered", 0),
        ("1.1", "numbered", 1),
        ("1.2", "numbered", 1),
        ("2", "numbered", 0),
        ("2.1", "numbered", 1),
        ("2.2", "numbered", 1),
        ("2.2.a", "item", 2),
        ("2.2.b", "item", 2),
        ("2.2.b.i", "item", 3),
        ("2.2.b.ii", "item", 3),
        ("2.3", "numbered", 1),
        ("3", "numbered", 0),
        ("signatures", "execution", 0),
        ("schedule 1", "schedule", 0),
        ("1", "numbered", 1),
    ]
    c = by_norm(clauses)
    assert c["2"].heading == "Term and Termination"
    assert c["2.1"].heading == "Term"
    assert c["2.2"].heading == "Termination for Convenience"
    assert c["2.2.b"].label == "2.2(b)"
    assert c["2.2.b.ii"].label == "2.2(b)(ii)"
    assert c["schedule 1"].heading == "SERVICES"
    # a clause spans its body and sub-clauses and nothing after them
    two = c["2"]
    assert NUMBERED[two.start : two.end].startswith("2. Term and Termination")
    assert NUMBERED[two.start : two.end].endswith("as set out in Section 10.")
    assert NUMBERED[c["3"].start : c["3"].end] == "3. Fees\n\nThe Customer shall pay the fees."


def test_cross_references_are_not_headings():
    text = (
        "1. Scope\n\nThe Supplier shall provide the Services described in\n"
        "Section 2.1 of Schedule B and, subject to\n"
        "Clause 9, the Support.\n"
        "3.5 percent of the fees is payable monthly.\n\n"
        "2. Fees\n\nFees are due as defined in Section 1.1. Section 4 of the Order applies.\n"
    )
    clauses = parse_structure(text)
    assert [(c.label, c.norm) for c in clauses] == [("1", "1"), ("2", "2")]
    refs = find_clause_references(text)
    assert [(r.label, r.norm) for r in refs] == [
        ("Section 2.1", "2.1"),
        ("Schedule B", "schedule b"),
        ("Clause 9", "9"),
        ("Section 1.1", "1.1"),
        ("Section 4", "4"),
    ]
    for r in refs:
        assert text[r.start : r.end] == r.label


def test_reference_lists_give_one_reference_per_id():
    refs = find_clause_references("as provided in Sections 3.1 and 3.2(b), Article IV and §§ 5, 6")
    assert [(r.label, r.norm) for r in refs] == [
        ("Sections 3.1", "3.1"),
        ("Section 3.2(b)", "3.2.b"),
        ("Article IV", "4"),
        ("§§ 5", "5"),
        ("§ 6", "6"),
    ]


ARTICLES = """ARTICLE I
DEFINITIONS

Section 1.01 Defined Terms. Capitalised terms have these meanings.

Section 1.02 Interpretation. Headings are for convenience only.

ARTICLE II
LICENSE GRANT

Section 2.01 Grant. Licensor grants Licensee a license, subject to Article IV.

Section 2.02 Restrictions. Licensee shall not sublicense.

ARTICLE III
TERM

Section 3.01 Term. Five years.
"""


def test_article_and_section_forms():
    clauses = parse_structure(ARTICLES)
    assert_tree(ARTICLES, clauses)
    got = [(c.label, c.norm, c.kind, c.heading, c.parent) for c in clauses]
    assert got == [
        ("ARTICLE I", "1", "article", "DEFINITIONS", None),
        ("Section 1.01", "1.1", "section", "Defined Terms", 0),
        ("Section 1.02", "1.2", "section", "Interpretation", 0),
        ("ARTICLE II", "2", "article", "LICENSE GRANT", None),
        ("Section 2.01", "2.1", "section", "Grant", 3),
        ("Section 2.02", "2.2", "section", "Restrictions", 3),
        ("ARTICLE III", "3", "article", "TERM", None),
        ("Section 3.01", "3.1", "section", "Term", 6),
    ]


def test_sections_numbered_through_articles_and_paragraph_sign():
    text = (
        "Article 1 General\n\n§ 1 Scope. This agreement governs supply.\n\n§ 2 Orders. Orders are binding.\n\n"
        "Article 2 Prices\n\n§ 3 Prices. Prices are fixed.\n\n§ 4 Payment. Net 30.\n"
    )
    clauses = parse_structure(text)
    assert_tree(text, clauses)
    assert [(c.label, c.norm, c.level) for c in clauses] == [
        ("Article 1", "1", 0),
        ("§ 1", "1", 1),
        ("§ 2", "2", 1),
        ("Article 2", "2", 0),
        ("§ 3", "3", 1),
        ("§ 4", "4", 1),
    ]
    clauses = parse_structure("Clause 1 Scope\n\nThe scope.\n\nClause 2 Fees\n\nThe fees.\n")
    assert [(c.label, c.norm, c.kind, c.heading) for c in clauses] == [
        ("Clause 1", "1", "clause", "Scope"),
        ("Clause 2", "2", "clause", "Fees"),
    ]


def test_recitals_and_unnumbered_definitions():
    text = (
        "SUPPLY AGREEMENT\n\nThis Agreement is made on 1 May 2020.\n\nRECITALS\n\n"
        "WHEREAS, the Supplier makes widgets; and\n\nWHEREAS, the Buyer wants widgets.\n\n"
        "NOW, THEREFORE, the parties agree as follows:\n\nDEFINITIONS\n\n"
        '"Widget" means a widget.\n\n1. Supply\n\nThe Supplier supplies Widgets.\n'
    )
    clauses = parse_structure(text)
    assert_tree(text, clauses)
    assert [(c.kind, c.norm) for c in clauses] == [
        ("recitals", "recitals"),
        ("definitions", "definitions"),
        ("numbered", "1"),
    ]
    rec = clauses[0]
    assert text[rec.start : rec.end].endswith("the parties agree as follows:")
    # WHEREAS without a RECITALS heading opens the recitals too
    bare = parse_structure("Preamble.\n\nWHEREAS, A sells.\n\nWHEREAS, B buys.\n\n1. Sale\n\nA sells to B.\n")
    assert [c.norm for c in bare] == ["recitals", "1"]


def test_table_of_contents_is_not_body():
    text = (
        "LICENSE AGREEMENT\n\nTABLE OF CONTENTS\n\n"
        "1. Definitions ........ 1\n2. Grant of License ........ 2\n2.1 Scope ........ 2\n"
        "3. Fees ........ 3\n4. Term ........ 4\n5. General ........ 5\n\n"
        "This License Agreement is made between A and B.\n\n"
        "1. Definitions\n\nTerms have the meanings given.\n\n2. Grant of License\n\n2.1 Scope. A licenses B.\n\n"
        "3. Fees\n\nB pays A.\n\n4. Term\n\nOne year.\n\n5. General\n\nDelaware law governs.\n"
    )
    clauses = parse_structure(text)
    assert_tree(text, clauses)
    assert [c.norm for c in clauses] == ["toc", "1", "2", "2.1", "3", "4", "5"]
    toc = clauses[0]
    assert toc.kind == "toc"
    assert text[toc.start : toc.end].startswith("TABLE OF CONTENTS")
    assert text[toc.start : toc.end].endswith("5. General ........ 5")
    body_start = text.index("This License Agreement")
    assert all(c.start > body_start for c in clauses[1:])


def test_flattened_text_headings_after_sentences_and_gaps():
    text = (
        'This LICENSE AGREEMENT ("Agreement") is made by A and B, who agree as follows: ARTICLE 1. '
        "DEFINITIONS 1.1 Licensor owns the Mark (as defined in Article 1.3). 1.2 Licensee wants to use the "
        'Mark. 1.3 "Mark" means the H mark. ARTICLE 2. GRANT 2.1 Licensor grants a license.   '
        "2.2 The license is exclusive.   (a) Licensee may sublicense.   (b) Licensee may not assign. "
        "ARTICLE 3. TERM 3.1 This Agreement lasts ten years from Effective Date No. 1. Renewal is automatic."
    )
    clauses = parse_structure(text)
    assert_tree(text, clauses)
    assert [c.norm for c in clauses] == ["1", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "2.2.a", "2.2.b", "3", "3.1"]
    assert by_norm(clauses)["1"].heading == "DEFINITIONS"
    assert by_norm(clauses)["2"].heading == "GRANT"


def test_page_numbers_and_running_headers_are_not_headings():
    page = "ACME - BETA SUPPLY AGREEMENT CONFIDENTIAL\n"
    text = (
        page
        + "1. Supply\n\nThe Supplier supplies the Buyer.\n\n2\n\n"
        + page
        + "2. Price\n\nThe price is fixed.\n\n3\n\n"
        + page
        + "3. Delivery\n\nDelivery is DDP.\n\n4\n\n"
        + "4 Widgets Ltd\n"  # a table row, not a heading: no numbering continues into it
    )
    clauses = parse_structure(text)
    assert_tree(text, clauses)
    assert [c.norm for c in clauses] == ["1", "2", "3"]


CHINESE = """技术服务合同

甲方：某某科技有限公司（以下简称“甲方”）
乙方：某某信息技术有限公司（以下简称“乙方”）

第一章 总则

第一条 合同目的
为明确双方权利义务，订立本合同。

第二条 定义
“保密信息”是指一方披露的技术和商业信息。

第二章 服务内容

第三条 服务范围
一、系统开发
（一）需求分析；
（二）软件开发。
二、运行维护
乙方应根据第二条的规定提供维护。

第四条 违约责任
违约方应赔偿损失。

附件一 报价单
"""


def test_chinese_heading_forms():
    clauses = parse_structure(CHINESE, language="zh")
    assert_tree(CHINESE, clauses)
    got = [(c.label, c.norm, c.kind, c.level) for c in clauses]
    assert got == [
        ("第一章", "chapter 1", "cn_chapter", 0),
        ("第一条", "1", "cn_article", 1),
        ("第二条", "2", "cn_article", 1),
        ("第二章", "chapter 2", "cn_chapter", 0),
        ("第三条", "3", "cn_article", 1),
        ("第三条一", "3.1", "cn_item", 2),
        ("第三条一（一）", "3.1.1", "cn_item", 3),
        ("第三条一（二）", "3.1.2", "cn_item", 3),
        ("第三条二", "3.2", "cn_item", 2),
        ("第四条", "4", "cn_article", 1),
        ("附件一", "annex 1", "annex", 0),
    ]
    c = by_norm(clauses)
    assert c["1"].heading == "合同目的"
    assert c["chapter 2"].heading == "服务内容"
    refs = find_clause_references(CHINESE)
    lo, hi = CHINESE.index("运行维护"), CHINESE.index("第四条")
    assert [(r.label, r.norm) for r in refs if lo < r.start < hi] == [("第二条", "2")]


@pytest.mark.parametrize(
    ("label", "norm"),
    [
        ("Section 12.3(b)", "12.3.b"),
        ("12.3(b)(ii)", "12.3.b.ii"),
        ("clause 9(b)", "9.b"),
        ("§ 4", "4"),
        ("§4", "4"),
        ("Sec. 2.01", "2.1"),
        ("第十二条", "12"),
        ("第十二条第三款", "12.3"),
        ("第三章", "chapter 3"),
        ("第二节", "subchapter 2"),
        ("附件一", "annex 1"),
        ("Schedule 2", "schedule 2"),
        ("SCHEDULE II", "schedule 2"),
        ("Exhibit A", "exhibit a"),
        ('Exhibit "B"', "exhibit b"),
        ("Annex 1", "annex 1"),
        ("Appendix C", "appendix c"),
        ("Article IV", "4"),
        ("ARTICLE TWELVE", "12"),
        ("Part 2", "part 2"),
        ("1.", "1"),
        ("(b)", "b"),
        ("Recitals", "recitals"),
        ("DEFINITIONS", "definitions"),
        ("Something Else", "something else"),
    ],
)
def test_normalise_clause_id(label, norm):
    assert normalise_clause_id(label) == norm


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("what does Section 12.3 say", ["12.3"]),
        ("clause 9(b)", ["9.b"]),
        ("explain § 4 please", ["4"]),
        ("第十二条规定了什么？", ["12"]),
        ("show Schedule 2 and Exhibit A", ["schedule 2", "exhibit a"]),
        ("Compare Sections 3.1 and 3.2 with Article IV", ["3.1", "3.2", "4"]),
        ("what is in 12.3(b)?", ["12.3.b"]),
        ("what is the cap on liability", []),
        ("is the fee $1.5 million or 2.5%?", []),
    ],
)
def test_parse_clause_reference(query, ids):
    assert parse_clause_reference(query) == ids


def test_clause_norm_matches_reference_norm():
    clauses = parse_structure(NUMBERED)
    norms = {c.norm for c in clauses}
    for q in ("Section 2.2(b)(ii)", "clause 2.1", "§ 3"):
        (ref,) = parse_clause_reference(q)
        assert ref in norms


DEFINITIONS = """This Agreement (this "Agreement") is made as of May 1, 2020 (the "Effective Date") by Acme Inc.
("Acme") and Beta LLC (each, a "Party" and together, the "Parties").

1. Definitions

1.1 "Confidential Information" means all information disclosed by a Party,
whether oral or written.

1.2 "Services" shall mean the services set out in Schedule 1.

1.3 "Claim" shall have the meaning set forth in Section 7.1.

1.4 "Territory" has the meaning given in Section 3.

7. Indemnity

7.1 Each Party shall indemnify the other against any claim (a "Claim") by a third party.

The supplier, hereinafter referred to as "Supplier", shall comply. The term "including" means without limitation.
"""


def test_defined_terms():
    terms = find_defined_terms(DEFINITIONS)
    got = {(t.term, DEFINITIONS[t.start : t.end]) for t in terms}
    first_sentence = DEFINITIONS[: DEFINITIONS.index("\n\n")]
    assert ("Agreement", first_sentence) in got
    assert ("Effective Date", first_sentence) in got
    assert ("Parties", first_sentence) in got and ("Party", first_sentence) in got
    assert (
        "Confidential Information",
        '"Confidential Information" means all information disclosed by a Party,\nwhether oral or written.',
    ) in got
    assert ("Services", '"Services" shall mean the services set out in Schedule 1.') in got
    claim = [DEFINITIONS[t.start : t.end] for t in terms if t.term == "Claim"]
    assert claim == ['7.1 Each Party shall indemnify the other against any claim (a "Claim") by a third party.']
    # a pointer is kept when nothing else defines the term
    assert ("Territory", '"Territory" has the meaning given in Section 3.') in got
    assert ("Supplier", 'The supplier, hereinafter referred to as "Supplier", shall comply.') in got
    assert all(t.term != "including" for t in terms)  # not capitalised: not a defined term
    assert [t.start for t in terms] == sorted(t.start for t in terms)


def test_defined_term_sentence_ending_in_an_abbreviation():
    text = 'Beta Ltd ("Beta") is a unit of Acme Inc.'
    assert [(t.term, text[t.start : t.end]) for t in find_defined_terms(text)] == [("Beta", text)]


def test_defined_terms_unquoted_caps_and_chinese():
    caps = "ARTICLE I - DEFINITIONS   1.1 TRANSPORTATION QUANTITY - shall mean the maximum daily quantity.   1.2 Other."
    (t,) = [t for t in find_defined_terms(caps) if t.term == "TRANSPORTATION QUANTITY"]
    assert caps[t.start : t.end] == "TRANSPORTATION QUANTITY - shall mean the maximum daily quantity."
    terms = {t.term for t in find_defined_terms(CHINESE)}
    assert {"甲方", "乙方", "保密信息"} <= terms


def _cuad(shared_eval: Path, prefix: str) -> str:
    (path,) = sorted((shared_eval / "legal" / "corpus" / "cuad").glob(prefix + "*"))[:1]
    return path.read_text(encoding="utf-8")


def test_real_contracts_parse_into_consistent_trees(shared_eval):
    corpus = sorted((shared_eval / "legal" / "corpus" / "cuad").glob("*.txt"))
    assert len(corpus) > 100
    for path in corpus[::20]:
        text = path.read_text(encoding="utf-8")
        assert_tree(text, parse_structure(text))
    # an ARTICLE I / 1.01 contract with a table of contents-free body and defined terms
    cca = _cuad(shared_eval, "CCAINDUSTRIESINC")
    c = parse_structure(cca)
    norms = [x.norm for x in c]
    assert norms[:4] == ["recitals", "1", "1.1", "1.1.a"]
    assert {"2", "2.1", "5.4", "8.1"} <= set(norms)
    assert by_norm(c)["5.4"].heading == "Confidentiality"
    terms = {t.term for t in find_defined_terms(cca, c)}
    assert {"Agreement", "Effective Date", "Confidential Information", "Territory"} <= terms
    # a contract whose clause list comes first as a table of contents
    azul = _cuad(shared_eval, "AzulSa_20170303_F-1A_EX-10.3_9943903_EX-10.3_Maintenance Agreement2")
    a = parse_structure(azul)
    assert a[0].kind == "toc"
    assert [x.norm for x in a if x.level == 0][1:] == ["recitals", "1", "2", "3", "4", "5", "6", "signatures"]
