"""A document's identity as its own text states it: its head (title, parties) and, compact, the
title and party names that every chunk carries.

Document scoping (``rag.retrieve.scoping``) scores a question against each document's head;
ingest adds the compact identity to every chunk's lexical weights (``ChunkingConfig.identity``;
or to its ``embed_text`` too, "contextual chunk headers"), so that a search over the whole
collection can tell which contract a clause deep inside it belongs to when a question names the
contract by its title and parties ("Consider the Supply Agreement between Acme Inc and Beta
LLC; ..."). Both read the same head.
"""

from __future__ import annotations

import re

__all__ = ["HEAD_CHARS", "HEAD_SCAN", "PARTIES_CHARS", "document_identity", "head_text"]

HEAD_CHARS = 1500
PARTIES_CHARS = 600  # of the parties clause, from its "between"
#: How far into a document its parties clause is looked for (after a cover page, a table of
#: contents or a filing's legends it can be tens of thousands of characters in).
HEAD_SCAN = 60_000
_PARTIES = re.compile(r"\b(?:by and between|by and among|between|among|entered into by)\b", re.I)

#: the words a title ends on ("MARKETING AFFILIATE AGREEMENT", "Privacy Policy")
_TITLE_NOUNS = {"agreement", "agreements", "contract", "lease", "license", "licence", "addendum", "amendment",
                "policy", "notice", "terms", "deed", "memorandum", "undertaking", "guaranty",
                "guarantee", "indenture", "understanding", "nda"}
_CONNECTORS = {"of", "and", "for", "to", "the", "de", "du", "la", "&", "-", "on", "in"}
_NOT_NAMES = {"this", "these", "whereas", "recitals", "witnesseth", "now", "therefore", "agreement", "party",
              "parties", "effective", "date", "dated", "source", "exhibit", "section", "article", "each", "page",
              "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december", "notice"}
#: cover-page words before a title ("EXECUTION VERSION", "[FORM]") that are not part of it
_NOT_TITLE = {"execution", "version", "copy", "final", "confidential", "draft", "form", "inc", "corp", "ltd", "llc"}
_TOKEN = re.compile(r"\S+")
#: where one party of a parties clause ends and the next may start
_PARTY_SPLIT = re.compile(r"\s(?:and|AND|And)(?:/or)?\s|;|\s\(\s*(?:\d{1,2}|[a-hA-H]|i{1,3}|iv)\s*\)\s|:\s")
_SUFFIX_DOT = re.compile(r"(?:Inc|Corp|Co|Ltd|Plc|L\.L\.C|N\.V|B\.V|S\.A|A\.G|L\.P|Jr|Sr)\.$", re.I)


def _squeezed(text: str) -> str:
    """The first ``HEAD_SCAN`` characters with runs of white space squeezed (layout-preserving
    text spends hundreds of characters on indentation)."""
    return " ".join(text[:HEAD_SCAN].split())


def head_text(text: str) -> str:
    """The parts of a document that name it: its first characters (title, often the parties)
    and, where that is further in, the clause that names the parties."""
    squeezed = _squeezed(text)
    head = squeezed[:HEAD_CHARS]
    m = _PARTIES.search(squeezed, max(HEAD_CHARS - 200, 0))
    if m is None or _PARTIES.search(head) is not None:
        return head
    return f"{head} {squeezed[max(m.start() - 300, HEAD_CHARS):m.start() + PARTIES_CHARS]}"


def _word(token: str) -> str:
    return token.strip("\"'“”‘’()[],.;:*").lower()


def _capitalised(token: str) -> bool:
    """A word of a name: starts with a capital or a digit, or is camel-cased ("mPhase", "iBio")."""
    core = token.strip("\"'“”‘’()[]*")
    return bool(core) and (core[0].isupper() or (core[0].islower() and any(c.isupper() for c in core[1:])))


def _ends_phrase(token: str) -> bool:
    """Punctuation after the token ends a title or a name ("Inc." does not)."""
    core = token.rstrip("\"'”’)*]")
    if core.endswith((",", ";", ":", "(", ")")) or token.endswith(")"):
        return True
    return core.endswith(".") and not _SUFFIX_DOT.search(core) and not re.search(r"\b[A-Z]\.$", core)


def _title(head: str) -> str:
    """The first run of capitalised words in the head that ends on a contract noun
    ("Exhibit 10.27 MARKETING AFFILIATE AGREEMENT Between: ..." -> "MARKETING AFFILIATE AGREEMENT")."""
    run: list[str] = []
    last_noun = -1

    def found() -> bool:  # a noun after a capitalised word, or an ALL-CAPS noun on its own
        return last_noun >= 1 or (last_noun == 0 and run[0].isupper())

    for m in _TOKEN.finditer(head):
        tok = m.group()
        word = _word(tok)
        if run and last_noun == len(run) - 1 and word not in _TITLE_NOUNS:
            if found():
                break  # "STRATEGIC ALLIANCE AGREEMENT STRATEGIC ...": the title ends on its noun
        member = word in _TITLE_NOUNS or (_capitalised(tok) and word not in {"this", "the"} and not
                                          re.fullmatch(r"[\d.,()\-/]+", tok)) or (bool(run) and word in _CONNECTORS)
        if member:
            run.append(tok)
            if word in _TITLE_NOUNS:
                last_noun = len(run) - 1
        if not member or _ends_phrase(tok):
            if last_noun >= 0 and found():
                break
            run, last_noun = [], -1
    if last_noun < 0 or not found():
        return ""
    words = run[: last_noun + 1][-8:]
    while words and (_word(words[0]) in _CONNECTORS or _word(words[0]) in _NOT_TITLE):
        words = words[1:]
    return " ".join(w.strip("\"'“”‘’()[],;:*") for w in words)


def _name(segment: str) -> str:
    """The name a party segment starts with ("Acme Inc., a Delaware corporation" -> "Acme Inc.")."""
    words: list[str] = []
    for tok in segment.split():
        word = _word(tok)
        if tok.startswith(("(", "[", '"', "“")) or "__" in tok:
            break  # ("Supplier"), [***]: a definition or a legend follows the name
        if _capitalised(tok) and not re.fullmatch(r"[\d.,()\-/#]+", tok):
            words.append(tok)
        elif words and word in _CONNECTORS:
            words.append(tok)
        else:
            break
        if _ends_phrase(tok) or len(words) >= 8:
            break
    while words and _word(words[-1]) in _CONNECTORS:
        words.pop()
    while words and _word(words[0]) in {"the", "and"}:
        words = words[1:]
    name = " ".join(words).strip("\"'“”‘’()[],;:*")
    if not name or {_word(w) for w in words} <= _NOT_NAMES | _CONNECTORS:
        return ""
    return name


def _parties(squeezed: str, limit: int = 2) -> list[str]:
    """Names of the parties in the first parties clause ("by and between A ... and B ...")."""
    m = _PARTIES.search(squeezed)
    if m is None:
        return []
    window = squeezed[m.end(): m.end() + PARTIES_CHARS]
    window = re.sub(r"^\s*(?:and\s+)?(?:between|among)\b", "", window, flags=re.I)  # "entered into by and between"
    out: list[str] = []
    seen: set[str] = set()
    for segment in _PARTY_SPLIT.split(window):
        name = _name(segment.strip())
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
            if len(out) >= limit:
                break
    return out


def document_identity(text: str, max_chars: int = 200) -> str:
    """The title and parties a document states in its head, compact: ``MARKETING AFFILIATE
    AGREEMENT between BIRCH FIRST GLOBAL INVESTMENTS INC. and MOUNT KNOWLEDGE HOLDINGS INC.``;
    ``""`` when its head has neither (a letter, a plain note).

    Read from :func:`head_text`'s head and parties clause, the words document scoping scores a
    question against. Capped at ``max_chars`` (on a word boundary): it is repeated in every
    chunk (its lexical weights, or its embedded text, of which MiniLM reads only 256 tokens).
    """
    squeezed = _squeezed(text)
    title = _title(squeezed[:HEAD_CHARS])
    parties = _parties(squeezed)
    identity = " between ".join(p for p in (title, " and ".join(parties)) if p)
    if len(identity) > max_chars:
        identity = identity[:max_chars].rsplit(" ", 1)[0]
    return identity
