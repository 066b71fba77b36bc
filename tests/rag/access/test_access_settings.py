"""The access settings (rag.config): mode, admins, session length, question audit, remote serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import load_settings


def test_defaults_are_local_single_user():
    s = load_settings({})
    assert (s.mode, s.admins, s.audit_questions, s.session_hours, s.allow_remote, s.user) == \
        ("local", (), False, 12.0, False, "")


def test_environment_and_file(tmp_path: Path):
    s = load_settings({"RAG_MODE": "team", "RAG_ADMINS": " Root@Example.org, sub-42 ,", "RAG_AUDIT_QUESTIONS": "yes",
                       "RAG_SESSION_HOURS": "8", "RAG_ALLOW_REMOTE": "0", "RAG_USER": "bob@example.org"})
    assert s.mode == "team" and s.admins == ("root@example.org", "sub-42") and s.audit_questions
    assert s.session_hours == 8.0 and not s.allow_remote and s.user == "bob@example.org"
    toml = tmp_path / "rag.toml"
    toml.write_text('mode = "team"\nadmins = ["a@example.org", "b@example.org"]\naudit_questions = true\n')
    f = load_settings({"RAG_CONFIG": str(toml)})
    assert f.admins == ("a@example.org", "b@example.org") and f.audit_questions and f.mode == "team"


@pytest.mark.parametrize("env, message", [({"RAG_MODE": "teams"}, "RAG_MODE must be local or team"),
                                          ({"RAG_AUDIT_QUESTIONS": "maybe"}, "must be true or false"),
                                          ({"RAG_SESSION_HOURS": "0"}, "must be positive")])
def test_bad_values_are_named(env: dict[str, str], message: str):
    with pytest.raises(ValueError, match=message):
        load_settings(env)
