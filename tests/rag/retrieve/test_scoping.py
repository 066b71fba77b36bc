from rag.retrieve.scoping import DocumentScorer, name_text

NAMES = [
    "contractnli/NDA_ResConnect.txt",
    "contractnli/HNBA-2017-18-Confidentiality-Agreement.txt",
    "contractnli/Sony%20Pictures%20Television%20NDA%20(Executed).txt",
    "cuad/ExactSciencesCorp_20180822_8-K_EX-10.1_11331629_EX-10.1_Promotion Agreement.txt",
]
HEADS = [
    "MUTUAL NON-DISCLOSURE AGREEMENT between ResConnect Inc. and the Recipient",
    "CONFIDENTIALITY AGREEMENT Hispanic National Bar Association",
    "NON-DISCLOSURE AGREEMENT Sony Pictures Television Inc.",
    "COLOGUARD PROMOTION AGREEMENT between Exact Sciences Corporation and Pfizer",
]


def scorer():
    return DocumentScorer([10, 11, 12, 13], NAMES, HEADS)


def test_name_text_splits_separators_camel_case_and_url_escapes():
    words = name_text("contractnli/Sony%20Pictures%20Television%20NDA%20(Executed).txt").split()
    assert {"Sony", "Pictures", "Television", "NDA", "Executed"} <= set(words)
    assert "Res Connect" in name_text("NDA_ResConnect.txt")
    assert "Exact Sciences Corp" in name_text("ExactSciencesCorp_2018.pdf")


def test_question_naming_a_document_is_scoped_to_it():
    s = scorer()
    assert s.select("Consider ResConnect's Non-Disclosure Agreement; may the recipient keep copies?") == [10]
    assert s.select("Consider HNBA's Confidentiality Agreement; Does it allow independent development?") == [11]
    assert s.select("Consider Sony Pictures Television's NDA; is there a non-solicit clause?") == [12]
    q = ("Consider the COLOGUARD PROMOTION AGREEMENT (ExactSciencesCorp_20180822_8-K_EX-10.1_11331629_"
         "EX-10.1_Promotion Agreement); On what date will the initial term expire?")
    assert s.select(q) == [13]


def test_question_naming_no_document_searches_everything():
    s = scorer()
    assert s.select("What is the governing law?") == []
    assert s.select("Which agreements allow the recipient to retain copies of confidential information?") == []


def test_single_document_collection_is_never_scoped():
    assert DocumentScorer([1], NAMES[:1], HEADS[:1]).select("ResConnect NDA") == []


def test_name_terms_are_those_of_the_document_name():
    from rag.lexical import term_counts

    s = scorer()
    assert s.name_terms(10) == set(term_counts(name_text(NAMES[0])))
