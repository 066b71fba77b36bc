import pytest

from ingest.dates import document_date, find_dates


def _found(text: str) -> list[str]:
    return [text[s:e] for s, e in find_dates(text)]


def test_the_written_forms_of_a_contract_date() -> None:
    assert _found("This Agreement is made as of March 1, 2010 by and between") == ["March 1, 2010"]
    assert _found("entered into this 15th day of June, 2020, by") == ["this 15th day of June, 2020"]
    assert _found("effective 1 March 2010.") == ["1 March 2010"]
    assert _found("Dated: Sept. 5, 2001") == ["Sept. 5, 2001"]
    assert _found("signed on 03/01/2010 and filed 2010-03-01") == ["03/01/2010", "2010-03-01"]
    assert _found("as of December 2019") == ["December 2019"]
    assert _found("本合同于2023年5月2日在上海签订，2023 年 6 月起执行。") == ["2023年5月2日", "2023 年 6 月"]


def test_an_undated_template_has_its_blanks_cited() -> None:
    assert _found("dated as of the ___ day of ________, 2005") == ["the ___ day of ________, 2005"]


def test_words_that_only_look_like_months_are_no_dates() -> None:
    assert _found("Either party may terminate in May; we may") == []
    assert _found("Section 3.1 of the Agreement") == []


def test_offsets_are_into_the_whole_text() -> None:
    text = "Preamble. Made on March 1, 2010. Term: until June 30, 2012."
    start = text.index("Term")
    (s, e), = find_dates(text, start)
    assert text[s:e] == "June 30, 2012"


def test_the_contract_date_is_the_preamble_date_not_a_reference_to_it() -> None:
    footer = "Source: ACME CORP, 10-K, 1/9/2020\n"
    text = (footer + "SUPPLY AGREEMENT\n\nThis Agreement is entered into as of March 3, 2021 by and between A and B.\n"
            + footer + "1. Term. This Agreement commences on the Effective Date and lasts until June 30, 2024.\n"
            + footer + "IN WITNESS WHEREOF, the parties signed as of the date first written above.\n")
    s, e = document_date(text, "agreement")
    assert text[s:e] == "March 3, 2021"  # the footer's filing date repeats on every page: skipped
    with pytest.raises(ValueError, match="kind"):
        document_date(text, "expiration")  # only the contract's own dates


def test_an_effective_date_defined_later_wins_for_effective_date() -> None:
    text = ("AGREEMENT dated May 1, 2019.\n2.1 This agreement commences on January 20, 2020 (the \"Effective Date\") "
            "and lasts six months.")
    assert text[slice(*document_date(text, "effective"))] == "January 20, 2020"
    assert text[slice(*document_date(text, "agreement"))] == "May 1, 2019"
    assert document_date("No dates here at all.", "agreement") is None


def _whole_text_date(text: str, kind: str, head_chars: int = 3000) -> tuple[int, int] | None:
    """``document_date`` as it was, scanning the whole text: the reference the fast scan must match."""
    from ingest.dates import _DEFINED_EFFECTIVE, _furniture, find_dates

    dates = find_dates(text)
    if kind == "effective":
        for s, e in dates:
            if _DEFINED_EFFECTIVE.match(text, e, min(len(text), e + 40)) and not _furniture(text, s):
                return s, e
    for s, e in dates:
        if s >= head_chars:
            break
        if not _furniture(text, s):
            return s, e
    return None


def test_scanning_only_the_head_and_before_each_effective_date_finds_what_a_whole_scan_finds() -> None:
    far = " " * 5000 + "x" * 20000  # a defined date deep in a long filing, after long runs of spaces
    texts = [
        "AGREEMENT dated May 1, 2019.\n" + far + " commences on January 20, 2020 (the \"Effective Date\").",
        "Preamble without a date.\n" + far + " this 3rd day of June, 2011 (\"Effective Date\"); March 2, 2012.",
        "Effective Date means the date of signature.\n" + " " * 3100 + "Signed on July 4, 2001.",
        "x" * 2990 + " on March 1, 2010 and later on April 2, 2011.",
        "No dates here at all.",
    ]
    for text in texts:
        for key in ("agreement", "effective"):
            assert document_date(text, key) == _whole_text_date(text, key), (key, text[:40])
