"""The citation check: block numbers exist, quotes occur in the block they cite."""

from __future__ import annotations

from rag.answer import NOT_FOUND, build_context, check_citations
from tests.rag.answer.helpers import contract_hits, make_hit


def _check(text: str):
    return check_citations(text, build_context(contract_hits()).blocks)


def test_valid_answer_passes() -> None:
    cited, issues = _check(
        "Either party may terminate \u201cupon ninety (90) days' prior written notice\u201d [1]; "
        'New York law governs [3]. Confidentiality lasts "five (5) years after termination" [2].'
    )
    assert cited == {1, 2, 3} and issues == []


def test_unknown_blocks_are_flagged_once() -> None:
    cited, issues = _check("Yes [1][4]. Also [4, 2] and [0].")
    assert cited == {1, 2}
    assert [(i.kind, i.n) for i in issues] == [("unknown_block", 4), ("unknown_block", 0)]
    assert "there are 3" in issues[0].message


def test_citation_forms() -> None:
    cited, issues = _check("A [1, 2]. B [2-3]. C 【1】. D [1，3].")
    assert cited == {1, 2, 3} and issues == []


def test_made_up_quote_is_flagged() -> None:
    _, issues = _check('The Customer must pay "a termination fee of $50,000" [1].')
    (issue,) = issues
    assert issue.kind == "quote_not_in_cited_block" and issue.n == 1
    assert issue.quote == "a termination fee of $50,000"
    assert "does not occur in the cited source [1]" in issue.message
    assert str(issue) == issue.message  # what the app and the CLI show


def test_quote_from_another_block_names_where_it_is() -> None:
    _, issues = _check('The laws "of the State of New York" apply [1].')
    (issue,) = issues
    assert issue.kind == "quote_not_in_cited_block" and "it occurs in [3]" in issue.message


def test_uncited_quote_must_occur_somewhere() -> None:
    assert _check('The clause says "exclusive jurisdiction of the courts".')[1] == []
    (issue,) = _check('The clause says "exclusive jurisdiction of the moon".')[1]
    assert issue.kind == "quote_not_found" and "does not occur in any provided source" in issue.message


def test_matching_ignores_case_whitespace_and_quote_styles() -> None:
    text = "Either party may\n  TERMINATE this Agreement for convenience upon ninety (90) days’ prior written notice"
    _, issues = _check(f'"{text}" [1].')
    assert issues == []
    assert _check("「THE LAWS OF THE STATE OF NEW YORK」[3]。")[1] == []
    assert _check("«governed by and construed» [3].")[1] == []


def test_cjk_quotes_in_chinese_text() -> None:
    blocks = build_context([make_hit("第十二条 任何一方均可提前九十日书面通知终止本协议。", clause="第十二条")]).blocks
    assert check_citations("根据第十二条，“任何一方均可提前九十日书面通知终止本协议”[1]。", blocks)[1] == []
    (issue,) = check_citations("合同规定「任何一方均可随时终止」[1]。", blocks)[1]
    assert issue.kind == "quote_not_in_cited_block"


def test_ellipsis_parts_must_each_occur_in_order() -> None:
    assert _check('"Either party may terminate ... ninety (90) days\' prior written notice" [1].')[1] == []
    assert _check('"Either party may terminate … upon twelve months" [1].')[1] != []
    assert _check('"ninety (90) days\' prior written notice … Either party" [1].')[1] != []  # wrong order


def test_citation_after_the_sentence_end_still_counts() -> None:
    assert _check('Termination requires "ninety (90) days\' prior written notice". [1]')[1] == []


def test_each_quote_is_checked_against_its_own_citation() -> None:
    # swapped citations: each quote is checked against the citation that follows it, not the sentence's
    first, second = _check(
        'It says "upon ninety (90) days\' prior written notice" [3] and "the State of New York" [1].'
    )[1]
    assert first.quote == "upon ninety (90) days' prior written notice" and "it occurs in [1]" in first.message
    assert second.quote == "the State of New York" and "it occurs in [3]" in second.message
    assert (
        _check('It says "upon ninety (90) days\' prior written notice" [1] and "the State of New York" [3].')[1] == []
    )
    assert _check('Both "prior written notice" [2][1] apply.')[1] == []  # adjacent citations form one group


def test_citation_before_the_quote_in_the_same_sentence() -> None:
    assert _check('Under [3] the contract is "governed by and construed in accordance with the laws".')[1] == []


def test_markers_inside_quotes_are_text_and_not_found_phrase_is_exempt() -> None:
    blocks = build_context([make_hit("See note [9] below.")]).blocks
    cited, issues = check_citations('It says "See note [9] below" [1].', blocks)
    assert cited == {1} and issues == []
    assert check_citations(f'The answer is "{NOT_FOUND}".', blocks)[1] == []


def test_quotes_of_definitions_and_headings_count_as_the_block() -> None:
    assert _check('"Confidential Information" means "all non-public information disclosed by a party" [2].')[1] == []
    assert _check('See "12.3 Termination for Convenience" [1].')[1] == []


def test_no_blocks_means_every_citation_is_unknown() -> None:
    cited, issues = check_citations("It is [1].", [])
    assert cited == set() and issues[0].kind == "unknown_block" and "no blocks were provided" in issues[0].message
