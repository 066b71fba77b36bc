"""ingest.canonical: the canonicaliser's own map back to the text it was given."""

import random

from ingest.canonical import clean_text, clean_text_with_origin

ALPHABET = "ab \t\n\r\x00\x07\x0b\x0c\x1c\x1f\x7f\x85\x9f\u2028\u2029\u00e9\u4e2d"


def test_same_text_as_clean_text_and_every_kept_character_maps_to_itself():
    rng = random.Random(7)
    for _ in range(400):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
        clean, origin = clean_text_with_origin(text)
        assert clean == clean_text(text)
        for i, ch in enumerate(clean):
            o = origin.start(i)
            if ch == "\n":
                assert text[o] in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
            else:
                assert text[o] == ch
        starts = [origin.start(i) for i in range(len(clean))]
        assert starts == sorted(set(starts))  # strictly increasing
        assert origin.end(len(clean)) <= len(text)


def test_unchanged_text_maps_to_itself():
    clean, origin = clean_text_with_origin("plain text\nsecond line")
    assert clean == "plain text\nsecond line"
    assert [origin.start(i) for i in range(len(clean))] == list(range(len(clean)))
