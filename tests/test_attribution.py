"""Who said each word, and the lines the transcript is cut into: pure, no model, no loop."""

from __future__ import annotations

from assistant.speech.attribution import Lines
from assistant.speech.streaming import Word, join_words


def words(text: str, start: float = 0.0, step: float = 0.5) -> list[Word]:
    return [Word(start + i * step, start + i * step + 0.4, " " + w) for i, w in enumerate(text.split())]


def test_a_line_is_one_speakers_words_and_never_spans_a_change_of_speaker() -> None:
    lines = Lines()
    said = words("good morning everyone we support")
    closed = lines.add([(w, "ana" if i < 3 else "ben") for i, w in enumerate(said)], ended=False, language=None)
    assert [(line.speaker_id, join_words(line.words)) for line in closed] == [("ana", "good morning everyone")]
    assert lines.open is not None and join_words(lines.open.words) == "we support"
    closed = lines.add([], ended=True, language=None)
    assert [(line.speaker_id, line.number) for line in closed] == [("ben", 2)] and lines.open is None


def test_a_line_closes_before_it_grows_past_its_length() -> None:
    lines = Lines(max_line_s=2.0)
    closed = lines.add([(w, "ana") for w in words("one two three four five six")], ended=True, language=None)
    assert [join_words(line.words) for line in closed] == ["one two three four", "five six"]
