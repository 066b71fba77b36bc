from rag.review.units import split_units


def test_units_are_exact_sentence_spans_within_the_text() -> None:
    text = "1. Term\n1.1 This Agreement lasts three years. It renews each year.\n\n2. Law\nNew York law governs it."
    units = split_units(text, max_chars=500, min_chars=10)
    spans = list(zip(units.starts.tolist(), units.ends.tolist()))
    assert spans == sorted(spans)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    texts = units.texts(text)
    assert any(t.endswith("It renews each year.") for t in texts)
    assert any("New York law governs it." in t for t in texts)
    assert all(t == t.strip() for t in texts)


def test_long_sentences_are_cut_and_fragments_joined() -> None:
    long = "; ".join(f"the Supplier shall deliver item {i} on time" for i in range(40)) + "."
    units = split_units(long + " Page 3. " + "Buyer pays within thirty days.", max_chars=200, min_chars=30)
    lengths = (units.ends - units.starts).tolist()
    assert max(lengths) <= 200
    assert len(units) > 5
    assert "Page 3." not in [t.strip() for t in units.texts(long + " Page 3. Buyer pays within thirty days.")]


def test_empty_text_has_no_units() -> None:
    assert len(split_units("")) == 0
    assert len(split_units("   \n ")) == 0
