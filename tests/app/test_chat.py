"""Chat page: a question gets a streamed answer with source chips, a trace, and a source viewer."""

from __future__ import annotations


def test_question_gets_answer_with_sources_trace_and_viewer(samples_app, make_app, tiny_m3_dir,
                                                           samples_data_dir, plain) -> None:
    at = samples_app.run()
    assert not at.exception
    at.chat_input[0].set_value("Which law governs the master services agreement?").run()
    assert not at.exception

    user, assistant = at.chat_message
    assert user.text[0].value == "Which law governs the master services agreement?"
    answer = plain(assistant.markdown[0].value)
    assert answer.strip()
    chips = assistant.pills[0]
    labels = [plain(option) for option in chips.options]
    assert labels and all(label.startswith("[") and ".pdf" in label for label in labels)
    assert any("p." in label for label in labels)  # PDFs: the chip names the page
    trace = [e for e in assistant.expander if e.label.startswith("Retrieval trace")]
    assert trace and trace[0].dataframe  # per-hit scores and stage timings

    chips.set_value(0).run()
    assert not at.exception
    viewer = at.get("component_instance")
    assert viewer, "clicking a source chip shows the PDF viewer"
    assert any("Page" in c.value for c in at.chat_message[1].caption)

    # the chat belongs to this browser session: another session starts empty
    other = make_app(tiny_m3_dir, samples_data_dir).run()
    assert not other.chat_message and not other.exception

    # a new chat empties it
    next(b for b in at.sidebar.button if b.label == "New chat").click().run()
    assert not at.chat_message
