"""Clause lookup: a contract's clause tree; find a clause by number or description; common clause types."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages import components as ui
from app_pages import state
from rag.store import CollectionError

#: Common clause types, named as CUAD's categories (Hendrycks et al., 2021; "Limitation of
#: Liability" is CUAD's "Cap On Liability"), each with a description to search for, in English
#: and in Chinese: the description in the contract's language is the query.
CLAUSE_TYPES: dict[str, tuple[str, str]] = {
    "Governing Law": ("governing law: this agreement is governed by the laws of a state or country",
                      "适用法律：本合同适用的法律"),
    "Termination for Convenience": (("termination for convenience: a party may terminate at any time without "
                                     "cause by giving prior written notice"),
                                    "合同的解除：一方提前书面通知解除本合同"),
    "Limitation of Liability": (("limitation of liability: total aggregate liability shall not exceed a cap; "
                                 "no indirect or consequential damages"),
                                "违约责任：赔偿责任总额不超过"),
    "Non-Compete": ("non-compete: shall not compete or provide services to competitors during the term",
                    "竞业限制：不得从事与对方竞争的业务"),
    "Change of Control": ("change of control: merger, sale of shares or of substantially all assets of a party",
                          "控制权变更：一方发生合并、分立或者控制权变更"),
    "Anti-Assignment": ("assignment: may not assign or transfer this agreement without prior written consent",
                        "转让：未经书面同意不得转让、转包或分包"),
    "Audit Rights": ("audit rights: keep records and allow the other party to inspect and audit them",
                     "审计：查阅和审计账簿记录"),
    "Insurance": ("insurance: maintain liability insurance of at least an amount", "保险：投保责任保险"),
    "Renewal Term": ("renewal: renews automatically for successive terms unless notice of non-renewal",
                     "续签：期限届满前经双方同意续签"),
    "IP Ownership Assignment": ("intellectual property: assigns all right, title and interest in the deliverables",
                                "知识产权：交付成果的知识产权归属"),
    "No-Solicit of Employees": ("non-solicitation: shall not solicit for employment employees of the other party",
                                "不得招揽对方员工"),
    "Warranty Duration": ("warranty: warrants that deliverables conform for a period after acceptance",
                          "质量保证：验收后保证期"),
}


def clause_ref(name: str, doc_id: int, doc_name: str, document: Any, clause: Any) -> ui.SourceRef:
    return ui.SourceRef(collection=name, doc_id=doc_id, doc_name=doc_name, start=clause.start, end=clause.end,
                        pages=document.pages_of(clause.start, clause.end), clause=clause.label or clause.kind,
                        text=document.text[clause.start: clause.end], heading=clause.heading, via="clause")


def clause_of(clauses: list[Any], start: int) -> Any | None:
    """The innermost clause holding character ``start`` (where a hit begins)."""
    holding = [c for c in clauses if c.start <= start < c.end]
    return max(holding, key=lambda c: (c.start, c.level)) if holding else None


def by_number(query: str, doc_id: int, clauses: list[Any]) -> list[Any]:
    """Clauses the query names by number ("12.3", "Section 9(b)", "第十二条"), in tree order."""
    from ingest.structure import normalise_clause_id, parse_clause_reference
    from rag.retrieve.clause_lookup import match_clauses

    wanted = parse_clause_reference(query) or [normalise_clause_id(query)]
    return [m.clause for m in match_clauses(wanted, {doc_id: clauses})]


def by_description(rt: state.Runtime, name: str, query: str, doc_id: int, doc_name: str, document: Any,
                   clauses: list[Any], limit: int = 3) -> list[ui.SourceRef]:
    """The clauses holding the best retrieved passages for ``query`` inside this contract."""
    hits = state.retriever(rt, name).search(query, documents=[doc_id], top_k=8,
                                            options=state.retrieval_options(rt)).hits
    refs: list[ui.SourceRef] = []
    seen: set[tuple[int, int]] = set()
    for hit in hits:
        clause = clause_of(clauses, hit.start)  # the clause holding the ranked span
        ref = (clause_ref(name, doc_id, doc_name, document, clause) if clause is not None
               else ui.SourceRef.from_hit(name, hit))
        if (ref.start, ref.end) not in seen:
            seen.add((ref.start, ref.end))
            refs.append(ref)
        if len(refs) == limit:
            break
    return refs


def show_clause(col: Any, ref: ui.SourceRef, key: str) -> None:
    """A clause's label, heading, pages and text, and its highlighted page on request."""
    with st.container(border=True):
        title = " ".join(p for p in (ref.clause or "", ref.heading) if p) or "(untitled passage)"
        where = f" · {ui.pages_label(ref.pages)}" if ref.pages else ""
        st.markdown(f"**{ui.md_escape(title)}**{where}")
        text = ref.text if len(ref.text) <= 4000 else ref.text[:4000] + " …"
        st.text(text)
        show = f"Show it highlighted on {ui.pages_label(ref.pages)}" if ref.pages else "Show it highlighted in the text"
        if st.toggle(show, key=f"open-{key}"):
            ui.show_source(col, ref, key=f"viewer-{key}")


def tree_rows(clauses: list[Any], document: Any) -> list[dict[str, str]]:
    return [{"clause": "\u2003" * c.level + (c.label or c.kind), "heading": c.heading,
             "pages": ui.pages_label(document.pages_of(c.start, c.end))} for c in clauses]


rt = state.require_runtime()
name = state.page_collection(rt, "Clause lookup")
retriever, view, listed = state.page_documents(rt, name)
col = retriever.collection
docs = {d.id: d for d in listed}

doc_id = st.selectbox("Contract", list(docs), format_func=lambda i: docs[i].name, key=f"contract-{name}")
info = docs[doc_id]
try:
    document = view.document(doc_id)
    clauses = view.clauses(doc_id)
except CollectionError:  # deleted by another session since the list was read
    st.warning("This contract was just removed from the collection.")
    st.stop()
zh = info.language == "zh"

tree, finder = st.columns([2, 3], gap="large")
with tree:
    st.subheader("Clauses", anchor=False)
    if not clauses:
        st.caption("No numbered clauses were recognised in this document; search it on the right.")
    else:
        st.dataframe(tree_rows(clauses, document), hide_index=True, height=420, width="stretch",
                     column_config={"clause": st.column_config.TextColumn(width="small"),
                                    "heading": st.column_config.TextColumn(width="medium"),
                                    "pages": st.column_config.TextColumn(width="small")})
        picked = st.selectbox("Open a clause", range(len(clauses)), index=None, placeholder="Choose a clause",
                              format_func=lambda i: "\u2003" * clauses[i].level + " ".join(
                                  p for p in (clauses[i].label or clauses[i].kind, clauses[i].heading) if p),
                              key=f"tree-{name}-{doc_id}")
        if picked is not None:
            show_clause(col, clause_ref(name, doc_id, info.name, document, clauses[picked]),
                        key=f"tree-{doc_id}-{picked}")

with finder:
    st.subheader("Find a clause", anchor=False)
    query = st.text_input("By number or by description", key=f"find-{name}-{doc_id}",
                          placeholder="12.3 · 第十二条 · termination for convenience · 不可抗力").strip()
    kind = st.pills("Common clause types", list(CLAUSE_TYPES), selection_mode="single",
                    key=f"types-{name}-{doc_id}", wrap=True)
    if query:
        found = by_number(query, doc_id, clauses)
        if found:
            refs = [clause_ref(name, doc_id, info.name, document, c) for c in found]
            st.caption(ui.md_escape(f"Clause {query}:"))
        else:
            with st.spinner("Searching…"):
                refs = by_description(rt, name, query, doc_id, info.name, document, clauses)
            st.caption(ui.md_escape(f"Best matches for “{query}”:") if refs else "Nothing found.")
        for i, ref in enumerate(refs):
            show_clause(col, ref, key=f"find-{doc_id}-{i}")
    if kind is not None:
        description = CLAUSE_TYPES[kind][1 if zh else 0]
        with st.spinner("Searching…"):
            best = by_description(rt, name, description, doc_id, info.name, document, clauses, limit=1)
        if best:
            st.caption(ui.md_escape(f"Best match for {kind} (searched for: {description}). It is the closest "
                                    "passage, not a finding that the contract has such a clause."))
            show_clause(col, best[0], key=f"type-{doc_id}")
        else:
            st.caption(ui.md_escape(f"Nothing found for {kind}."))
