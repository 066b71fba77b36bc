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


def test_a_contract_type_common_to_the_collection_does_not_outweigh_a_rare_name():
    # one file name spells out the contract type; every head carries it
    others = ["Kerber", "eHandshake", "Tazza", "Khronos", "Epsteen", "DoiT", "Sony", "Halcyon", "Oriel"]
    names = ["nda/NU Confidentiality Non-Disclosure Information Security Agreement.txt",
             "nda/VELCO NDA rev0.txt"] + [f"nda/{o}_NDA.txt" for o in others]
    heads = ["NON-DISCLOSURE AGREEMENT between the University and the Recipient",
             "CONFIDENTIAL INFORMATION NON-DISCLOSURE AGREEMENT made by the undersigned"] + [
             f"MUTUAL NON-DISCLOSURE AGREEMENT between {o} and the Company" for o in others]
    s = DocumentScorer(list(range(1, len(names) + 1)), names, heads)
    assert s.select("Consider VELCO's Non-Disclosure Agreement; may the recipient keep copies?") == [2]


def test_parties_named_past_the_head_are_found():
    from rag.retrieve.scoping import HEAD_CHARS, head_text

    legend = "CONFIDENTIAL TREATMENT REQUESTED. " * (HEAD_CHARS // 30)
    texts = [legend + "SUPPLY AGREEMENT. This Agreement is made by and between Quillon Widgets Inc. "
             "(\"Quillon\") and Marbeck Foods LLC (\"Marbeck\").",
             legend + "SUPPLY AGREEMENT. This Agreement is made by and between Orrin Metals Corp. "
             "and Tavish Logistics Ltd.",
             "SUPPLY AGREEMENT between Pellam Bakeries and Stroud Mills. " + legend]
    heads = [head_text(t) for t in texts]
    assert "Quillon" in heads[0] and "Orrin" in heads[1]
    s = DocumentScorer([1, 2, 3], ["a.txt", "b.txt", "c.txt"], heads)
    assert s.select("Consider the Supply Agreement between Quillon Widgets, Inc and Marbeck Foods; "
                    "what is the term?") == [1]
    assert s.select("Consider the Supply Agreement between Pellam Bakeries and Stroud Mills; "
                    "what is the term?") == [3]


def test_head_squeezes_layout_white_space():
    from rag.retrieve.scoping import head_text

    assert head_text("EXHIBIT 10.1" + " " * 3000 + "LICENSE AGREEMENT\n\n   between A and B") == \
        "EXHIBIT 10.1 LICENSE AGREEMENT between A and B"


def test_names_that_glue_words_together_match_the_words():
    names = ["cuad/MEETGROUP,INC_06_29_2017-EX-10.1-COOPERATION AGREEMENT.txt",
             "cuad/ELFBEAUTY,INC_07_02_2020-EX-10.1-COOPERATION AGREEMENT.txt",
             "cuad/URSCORPNEW_03_17_2014-EX-99-COOPERATION AGREEMENT.txt"] + [
             f"cuad/{o}INC_01_01_2019-EX-10.1-SUPPLY AGREEMENT.txt" for o in
             ("ACME", "BOLTON", "CRESTA", "DUNMORE", "ESKER", "FARLEY", "GANTRY", "HOLM")]
    heads = ["COOPERATION AGREEMENT made by the Company and each of the persons on the signature page"] * 3 + [
             "SUPPLY AGREEMENT between the Company and the Supplier"] * 8
    s = DocumentScorer(list(range(1, len(names) + 1)), names, heads)
    assert s.select("Consider the Cooperation Agreement between Meet Group, Inc and Harvest Partners; "
                    "The date of the contract") == [1]
    assert s.select("Consider the Cooperation Agreement between Elf Beauty, Inc and Marathon; the date?") == [2]


def test_residual_drops_the_words_that_named_the_document():
    s = scorer()
    q = "Consider the Cologuard Promotion Agreement between Exact Sciences Corporation and Pfizer; who pays the fees?"
    assert s.select(q) == [13]
    assert s.residual(q, [13]) == "Consider the between and ; who pays the fees?"
    # lower-case words describe what is asked and stay, even where the head holds them
    assert s.residual("the agreement between Pfizer and others on fees", [13]) == \
        "the agreement between and others on fees"
    # words of another document's name are not this document's
    assert s.residual("ResConnect terms in the Pfizer deal", [13]) == "ResConnect terms in the deal"


def test_residual_keeps_the_question_when_nothing_would_be_left():
    assert scorer().residual("Exact Sciences Pfizer", [13]) == "Exact Sciences Pfizer"
    assert scorer().residual("what is the notice period?", [13]) == "what is the notice period?"


def test_residual_keeps_words_that_many_documents_carry_with_a_document_frequency_cap():
    s = scorer()
    q = "In the Exact Sciences Promotion Agreement with Pfizer, what is the term?"
    assert s.residual(q, [13]) == "In the with , what is the term?"  # no cap: every naming word
    # "Agreement" is in every head: with a cap of one document in four it stays in the query
    assert s.residual(q, [13], max_df=0.25) == "In the Agreement with , what is the term?"
