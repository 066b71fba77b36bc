import json
from pathlib import Path

import pytest

from rag.review.columns import PROTOTYPES_FILE, ColumnError, cuad_columns, custom_column, load_columns


def test_the_41_cuad_types_ship_with_their_descriptions_and_attribution() -> None:
    cols = cuad_columns()
    assert len(cols) == 41
    names = [c.name for c in cols]
    assert names[:3] == ["Document Name", "Parties", "Agreement Date"]
    assert "Governing Law" in names and "Cap on Liability" in names
    assert all(c.question and c.kind == "cuad" for c in cols)
    assert len({c.key for c in cols}) == 41
    data = json.loads(PROTOTYPES_FILE.read_text(encoding="utf-8"))
    assert data["license"] == "CC BY 4.0" and "Atticus" in data["attribution"]


def test_names_match_cuad_categories_csv(shared_eval: Path) -> None:
    from rag.review.make_prototypes import read_categories

    assert [c["name"] for c in read_categories(shared_eval / "legal" / "cuad_categories.csv")] == \
        [c.name for c in cuad_columns()]


def test_custom_columns_from_questions_and_files(tmp_path: Path) -> None:
    col = custom_column("Which party pays for insurance?")
    assert col.kind == "custom" and col.name == "Which party pays for insurance?"
    assert col.version != custom_column("Which party pays for shipping?").version
    (tmp_path / "q.txt").write_text("Who owns the data?\n\nIs there a cap on fees?\n", encoding="utf-8")
    assert [c.question for c in load_columns(tmp_path / "q.txt")] == ["Who owns the data?", "Is there a cap on fees?"]
    (tmp_path / "q.csv").write_text("name,question\nGoverning Law,\nData owner,Who owns the data?\n", encoding="utf-8")
    cols = load_columns(tmp_path / "q.csv")
    assert cols[0].kind == "cuad" and cols[1].name == "Data owner"
    (tmp_path / "q.json").write_text(json.dumps([{"name": "Fees", "question": "What are the fees?"}]), encoding="utf-8")
    assert load_columns(str(tmp_path / "q.json"))[0].key == "custom:fees"
    assert len(load_columns("cuad")) == 41


@pytest.mark.parametrize("content,suffix,message", [
    ("", ".txt", "no columns"), ("name,question\nFees,\n", ".csv", "row 1 has no question"),
    ('{"a": 1}', ".json", "JSON list"), ("x", ".docx", "not .docx"), ("{", ".json", "cannot be read"),
    ("Who?\nWho?\n", ".txt", "named twice")])
def test_bad_column_files_say_why(tmp_path: Path, content: str, suffix: str, message: str) -> None:
    path = tmp_path / f"cols{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ColumnError, match=message):
        load_columns(path)


def test_missing_file_and_empty_question() -> None:
    with pytest.raises(ColumnError, match="no column file"):
        load_columns("/nonexistent/cols.txt")
    with pytest.raises(ColumnError):
        custom_column("  ")
