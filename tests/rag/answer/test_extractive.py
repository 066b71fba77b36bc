"""The no-LLM backend over synthetic contract hits: verbatim, cited, honest when nothing matches."""

from __future__ import annotations

import re

import pytest

from rag.answer import answer, make_llm, rewrite_question
from rag.answer.extractive import Extractive, ExtractiveOptions, split_sentences
from rag.config import Settings
from tests.rag.answer.helpers import GOVERNING_LAW, TERMINATION, contract_hits, make_hit


@pytest.fixture
def extractive() -> Extractive:
    llm = make_llm(Settings())  # nothing configured: extractive is the default
    assert isinstance(llm, Extractive)
    return llm


def _run(question, hits, llm, **kw):
    stream = answer(question, hits, llm, **kw)
    text = "".join(stream)
    return text, stream.result


def _quotes(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("> ")]


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_picks_the_matching_clause_verbatim_and_cites_it(extractive) -> None:
    text, result = _run("Which law governs this agreement?", contract_hits(), extractive)
    lines = text.splitlines()
    assert lines[0] == "The most relevant passages, quoted verbatim from the documents:"
    assert "[3] MSA.pdf, clause 18, p. 11 (18 Governing Law):" in lines
    (quote,) = _quotes(text)
    assert "governed by and construed in accordance with the laws of the State of New York" in quote
    assert quote in _squash(GOVERNING_LAW)  # verbatim (whitespace collapsed)
    assert [c.cited for c in result.citations] == [False, False, True]
    assert result.issues == [] and result.error is None and result.backend == "extractive"


def test_every_quote_is_verbatim_and_the_check_passes(extractive) -> None:
    hits = contract_hits()
    for question in [
        "Can either party terminate for convenience?",
        "How long does confidentiality last?",
        "Who pays the fees?",
    ]:
        text, result = _run(question, hits, extractive)
        assert result.issues == []
        for quote in _quotes(text):
            for part in quote.split(" … "):
                assert any(part in _squash(h.chunk.text) for h in hits), part


def test_termination_question_quotes_notice_period(extractive) -> None:
    text, _ = _run("How much notice is needed to terminate for convenience?", contract_hits(), extractive)
    assert "ninety (90) days' prior written notice" in text
    assert text.index("[1] MSA.pdf, clause 12.3") > 0


def test_nothing_retrieved_is_said_plainly(extractive) -> None:
    text, result = _run("What is the liability cap?", [], extractive)
    assert text == "Not found in the provided documents: no relevant passage was retrieved for this question."
    assert result.citations == [] and result.issues == []


def test_weak_hits_below_min_score_count_as_nothing() -> None:
    llm = Extractive(extractive=ExtractiveOptions(min_score=0.95))
    text, _ = _run("Which law governs?", contract_hits(), llm)
    assert text.startswith("Not found in the provided documents")


def test_no_shared_words_says_so_and_quotes_the_top_passage(extractive) -> None:
    text, result = _run("What is the liability cap?", contract_hits(), extractive)
    assert text.startswith("No passage uses the question's words")
    assert "[1] MSA.pdf, clause 12.3" in text and result.issues == []


def test_clause_lookup_quotes_the_whole_clause(extractive) -> None:
    hits = [make_hit(GOVERNING_LAW, clause="18", via="clause", pages=None), *contract_hits()]
    text, _ = _run("What does clause 18 say?", hits, extractive)
    (quote,) = _quotes(text)
    assert quote == _squash(GOVERNING_LAW)
    assert "[1] MSA.pdf, clause 18:" in text


def test_clause_lookup_quotes_every_chunk_of_the_clause(extractive) -> None:
    first, second = TERMINATION[:120], TERMINATION[120:]
    hits = [
        make_hit(first, clause="12.3", via="clause", chunk_id=1),
        make_hit(second, clause="12.3", via="clause", chunk_id=2),
    ]
    text, result = _run("Show me clause 12.3", hits, extractive)
    assert " ".join(_quotes(text)) == _squash(TERMINATION)
    assert [c.cited for c in result.citations] == [True, True]


def test_quotes_come_from_the_full_chunk_not_the_budget_cut(extractive) -> None:
    passage = "The Supplier shall keep records. " * 60 + "Either party may audit the records once a year."
    text, result = _run("How often can a party audit?", [make_hit(passage)], extractive, context_tokens=100)
    assert result.citations[0].truncated
    assert "Either party may audit the records once a year." in text and "[…]" not in text


def test_left_out_sentences_are_marked(extractive) -> None:
    passage = "The Supplier shall ship the Goods by sea. Invoices are issued monthly. Title passes on payment in full."
    text, _ = _run("How are the goods shipped and when does title pass?", [make_hit(passage)], extractive)
    assert _quotes(text) == ["The Supplier shall ship the Goods by sea. … Title passes on payment in full."]


def test_chinese_question_gets_chinese_lead_in() -> None:
    hits = [
        make_hit("第十二条 任何一方均可提前九十日书面通知终止本协议。本协议适用中华人民共和国法律。", clause="第十二条")
    ]
    text, result = _run("本协议适用什么法律？", hits, Extractive())
    assert text.startswith("以下是文件中最相关的段落（原文引用）：")
    assert "本协议适用中华人民共和国法律。" in text
    assert result.issues == []


def test_follow_up_uses_the_previous_question() -> None:
    llm = Extractive()
    history = [("user", "Which law governs the agreement?"), ("assistant", "New York law [1].")]
    assert rewrite_question("And the courts?", history, llm) == "Which law governs the agreement? And the courts?"
    text, _ = _run("And which ones?", contract_hits(), llm, history=history)
    assert "State of New York" in text


def test_sentence_split_keeps_abbreviations_and_joins_headings() -> None:
    text = "Acme Inc. and Beta Ltd. agree as follows. See Sec. 5 for details.\n\n(a) first item;\n(b) second item."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Acme Inc. and Beta Ltd. agree as follows.",
        "See Sec. 5 for details.",
        "(a) first item;",
        "(b) second item.",
    ]
    text = "ARTICLE 5\n\nPAYMENT TERMS\n\nThe Customer shall pay within 30 days. Late payments bear interest."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "ARTICLE 5\n\nPAYMENT TERMS\n\nThe Customer shall pay within 30 days.",
        "Late payments bear interest.",
    ]
    assert [len(split_sentences("第一条 定义。第二条 期限！第三条 终止")), len(split_sentences(TERMINATION))] == [3, 2]


def test_long_sentences_are_cut_with_an_ellipsis(extractive) -> None:
    long = "The Supplier shall " + " ".join(f"deliver item {i}" for i in range(300)) + "."
    text, result = _run("What shall the Supplier deliver?", [make_hit(long)], extractive)
    (quote,) = _quotes(text)
    assert quote.endswith(" …") and len(quote) <= 702
    assert re.sub(r" …$", "", quote) in long
    assert result.issues == []


def test_a_span_hit_is_quoted_from_its_span_not_its_whole_clause(extractive) -> None:
    """Small to big: the block holds the clause, the quote is the best sentence of the span."""
    from dataclasses import replace

    clause = ("9.1 The Supplier shall insure the goods against loss. "
              "9.2 The Customer may terminate this Agreement on ninety days' written notice. "
              "9.3 Termination does not affect accrued rights of either party.")
    hit = make_hit(clause, clause="9", pages=(4, 4))
    s = clause.index("9.2")
    span = replace(hit, span=(s, s + len("9.2 The Customer may terminate this Agreement on ninety days' written notice.")),
                   span_clause="9.2")
    text, result = _run("How can the Customer terminate the agreement?", [span], extractive)
    assert _quotes(text) == ["9.2 The Customer may terminate this Agreement on ninety days' written notice."]
    assert "[1] MSA.pdf, clause 9.2, p. 4:" in text.splitlines()
    assert result.citations[0].hit.text == _quotes(text)[0]


def test_the_documents_own_date_is_quoted_first_in_its_sentence_once(extractive) -> None:
    """A date hit (rag.retrieve.document_facts) is quoted in the sentence that states it, first,
    even sharing no word with the question, and not again for a search span over that sentence."""
    from dataclasses import replace

    preamble = ("SUPPLY AGREEMENT. This Agreement is entered into as of March 3, 2021 by Acme Inc and Beta LLC. "
                "The parties are bound from the date first written above.")
    s = preamble.index("March 3, 2021")
    date = replace(make_hit(preamble, pages=(1, 1)), span=(s, s + len("March 3, 2021")), via="fact", score=1.0)
    sentence = preamble.index("This Agreement")
    search = replace(make_hit(preamble, pages=(1, 1)), span=(sentence, len(preamble)))
    text, result = _run("When was this agreement entered into?", [date, search], extractive)
    quotes = _quotes(text)
    assert "This Agreement is entered into as of March 3, 2021 by Acme Inc and Beta LLC." in quotes[0]
    assert sum(q.count("March 3, 2021") for q in quotes) == 1
    assert result.citations[0].hit.via == "fact" and result.citations[0].hit.text == "March 3, 2021"
