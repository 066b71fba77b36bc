"""A document's identity from its text: the head scoping reads, and the compact title and parties
that chunks carry in their embedded text."""

from __future__ import annotations

from ingest.identity import HEAD_CHARS, document_identity, head_text

PREAMBLE = ("Exhibit 10.27\n\nMARKETING AFFILIATE AGREEMENT\n\nThis Marketing Affiliate Agreement (the "
            "\"Agreement\") is entered into this 8th day of May 2014, by and between BIRCH FIRST GLOBAL "
            "INVESTMENTS INC., a corporation incorporated in the U.S. Virgin Islands (referred to as \"Company\") "
            "and MOUNT KNOWLEDGE HOLDINGS INC., a Nevada corporation (\"Marketer\").\n\n1. Definitions\n")


def test_title_and_parties_as_the_contract_writes_them():
    assert document_identity(PREAMBLE) == (
        "MARKETING AFFILIATE AGREEMENT between BIRCH FIRST GLOBAL INVESTMENTS INC. and MOUNT KNOWLEDGE HOLDINGS INC.")
    # "entered into by and between", camel-cased names, addresses and defined roles left out
    text = ("CO-BRANDING AGREEMENT This Agreement is entered into by and between Lucent Technologies Inc., a "
            "Delaware corporation having a principal place of business at 600 Mountain Avenue (\"Lucent\") and "
            "mPhase Technologies Inc., a New Jersey corporation (\"mPhase\").")
    assert document_identity(text) == "CO-BRANDING AGREEMENT between Lucent Technologies Inc. and mPhase Technologies Inc."


def test_a_document_that_names_no_title_or_parties_has_no_identity():
    assert document_identity("Dear John, thanks for lunch. See you on Monday between two and three.") == ""
    assert document_identity("") == ""
    assert document_identity("PRIVACY POLICY\n\nWe care about your data.") == "PRIVACY POLICY"


def test_parties_past_the_head_and_the_length_cap():
    legend = "CONFIDENTIAL TREATMENT REQUESTED. " * (HEAD_CHARS // 30)
    text = legend + "SUPPLY AGREEMENT. This Agreement is made by and between Quillon Widgets Inc. and Marbeck Foods LLC."
    assert document_identity(text) == "Quillon Widgets Inc. and Marbeck Foods LLC."  # the title is read in the head only
    capped = document_identity(PREAMBLE, max_chars=40)
    assert len(capped) <= 40 and PREAMBLE.replace("\n", " ").find(capped.split(" between")[0]) >= 0
    assert not capped.endswith(" ")


def test_scoping_reads_the_same_head():
    from rag.retrieve import scoping

    assert scoping.head_text is head_text
    assert head_text("EXHIBIT 10.1" + " " * 3000 + "LICENSE AGREEMENT\n\n   between A and B") == \
        "EXHIBIT 10.1 LICENSE AGREEMENT between A and B"
