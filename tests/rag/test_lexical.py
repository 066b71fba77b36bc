from rag.lexical import language_of, term_counts, term_id, terms


def test_english_terms_are_lowercased_stemmed_without_stop_words():
    assert terms("The Receiving Party shall not disclose it") == ["receiv", "parti", "shall", "disclos"]


def test_inflections_share_a_term():
    assert term_id(terms("terminated")[0]) == term_id(terms("termination")[0])


def test_chinese_text_becomes_unigrams_and_bigrams():
    got = terms("违约责任")
    assert {"违", "约", "责", "任", "违约", "约责", "责任"} <= set(got)


def test_term_counts_count_repeats_and_ids_are_stable():
    counts = term_counts("payment payment terms")
    assert counts[term_id("payment")] == 2.0
    assert counts == term_counts("Payment PAYMENT terms.")
    assert all(0 <= t < 2**31 for t in counts)


def test_language_of_tells_chinese_from_english():
    assert language_of("第十二条 合同的解除") == "zh"
    assert language_of("Section 12. Termination for convenience") == "en"
    assert language_of("本协议 governed by the laws of England and Wales in all respects") == "en"
    assert language_of("") == "en"
