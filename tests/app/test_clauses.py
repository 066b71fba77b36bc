"""Clause lookup page: the clause tree, lookup by number (English and Chinese), clause types."""

from __future__ import annotations


def test_clause_tree_and_lookup_by_number(samples_app, plain) -> None:
    at = samples_app.run()
    at.switch_page("app_pages/clauses.py").run()
    assert not at.exception
    contract = at.selectbox(key="contract-samples")
    msa = next(i for i, label in enumerate(contract.options) if label.startswith("master-services"))
    contract.select_index(msa).run()
    tree = at.dataframe[0].value
    assert "12.3" in set(tree["clause"].str.strip()), "the tree lists nested clauses"

    at.text_input(key=f"find-samples-{at.session_state['contract-samples']}").input("12.3").run()
    assert not at.exception
    shown = "\n".join(t.value for t in at.text)
    assert "Customer may terminate this Agreement or any Statement of Work for convenience" in shown

    zh = next(i for i, label in enumerate(contract.options) if label.startswith("technical-services"))
    at.selectbox(key="contract-samples").select_index(zh).run()
    zh_id = at.session_state["contract-samples"]
    at.text_input(key=f"find-samples-{zh_id}").input("第十条").run()
    shown = "\n".join(t.value for t in at.text)
    assert "不可抗力" in shown and "不能预见" in shown


def test_clause_type_finds_a_match_in_one_click(samples_app, plain) -> None:
    at = samples_app.run()
    at.switch_page("app_pages/clauses.py").run()
    doc_id = at.session_state["contract-samples"]
    types = at.pills(key=f"types-samples-{doc_id}")
    assert {"Governing Law", "Termination for Convenience", "Limitation of Liability", "Non-Compete",
            "Change of Control"} <= set(types.options)
    types.set_value("Governing Law").run()
    assert not at.exception
    assert any("Best match for Governing Law" in plain(c.value) for c in at.caption)
    assert at.text, "the matching clause's text is shown"
    toggle = next(t for t in at.toggle if t.label.startswith("Show it highlighted"))
    toggle.set_value(True).run()
    assert not at.exception
    assert at.get("component_instance"), "the clause's page opens in the PDF viewer"
