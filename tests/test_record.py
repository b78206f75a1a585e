"""The record's blocks: when closed lines are decoded again, on which audio, and where each word
of the block goes. Pure: no model, no loop."""

from __future__ import annotations

import numpy as np

from assistant.audio.pcm import SAMPLE_RATE
from assistant.speech import record
from assistant.speech.attribution import Line
from assistant.speech.record import (
    AudioHistory,
    assign,
    bounds,
    due,
    heard_in,
    hotwords_heard,
    missed,
    prompt,
)
from assistant.speech.streaming import Word, join_words


def words(text: str, start: float = 0.0, step: float = 0.5) -> list[Word]:
    return [Word(start + i * step, start + i * step + 0.4, " " + w) for i, w in enumerate(text.split())]


def line(text: str, start: float, number: int = 1, language: str | None = "en") -> Line:
    return Line(number, "ana", words(text, start), language)


def test_a_block_waits_for_its_length_and_a_pause() -> None:
    lines = [line("good morning everyone", 0.0), line("we support this", 8.0, 2)]  # 0.0 to 9.4
    assert due(lines, voiced_until=0.0, heard_until=10.0, pause=True, final=False) == 0  # short, and not quiet long enough
    longer = [*lines, line("and we thank the chair", 19.0, 3)]  # to 21.4: past BLOCK_S
    assert due(longer, voiced_until=0.0, heard_until=21.8, pause=False, final=False) == 0  # someone speaks: later
    assert due(longer, voiced_until=0.0, heard_until=21.8, pause=True, final=False) == 3
    # the VAD heard speech after the last line that the live passes have not committed yet: no pause
    assert due(longer, voiced_until=23.0, heard_until=23.5, pause=True, final=False) == 0
    assert due([], voiced_until=0.0, heard_until=50.0, pause=True, final=True) == 0


def test_a_block_of_any_length_is_decoded_after_a_quiet_or_at_the_end_and_a_long_one_at_once() -> None:
    lines = [line("good morning everyone", 0.0)]  # ends 1.4
    assert due(lines, voiced_until=0.0, heard_until=1.4 + record.QUIET_S - 0.1, pause=True, final=False) == 0
    assert due(lines, voiced_until=0.0, heard_until=1.4 + record.QUIET_S, pause=True, final=False) == 1
    assert due(lines, voiced_until=0.0, heard_until=1.5, pause=False, final=True) == 1
    long = [line("one two three", 0.0), line("four five six", record.MAX_BLOCK_S - 1, 2)]  # to 30.4 s
    assert due(long, voiced_until=0.0, heard_until=record.MAX_BLOCK_S + 1.5, pause=False, final=False) == 2


def test_a_block_is_never_longer_than_its_bound_however_many_lines_waited() -> None:
    lines = [line("one two three", 10.0 * n, n + 1) for n in range(13)]  # 0 to 121 s, all waiting
    assert due(lines, voiced_until=0.0, heard_until=135.0, pause=True, final=False) == 3  # 0, 10 and 20 s
    assert due(lines, voiced_until=0.0, heard_until=135.0, pause=True, final=True) == 3


def test_a_line_whose_language_is_not_known_yet_never_joins_another_speakers_block() -> None:
    thanks = Line(1, "ana", words("thank you madam chair", 0.0), None)  # closed before its turn's language was found
    merci = Line(2, "ben", words("merci madame la présidente", 3.0), "fr")
    assert due([thanks, merci], voiced_until=0.0, heard_until=5.0, pause=False, final=False) == 1


def test_a_block_never_spans_a_change_of_language() -> None:
    lines = [line("buenos dias", 0.0, 1, None), line("a todos", 2.0, 2, "es"), line("good morning", 4.0, 3, "en")]
    assert due(lines, voiced_until=0.0, heard_until=5.0, pause=False, final=False) == 2  # the Spanish lines, now
    assert due(lines[2:], voiced_until=0.0, heard_until=5.0, pause=False, final=False) == 0


def test_a_block_hears_a_little_around_its_lines_but_not_the_next_speech_or_the_previous_block() -> None:
    lines = [line("good morning everyone", 10.0)]  # 10.0 to 11.4
    assert bounds(lines, block_start=0.0, next_onset=None, heard_until=20.0, voiced_until=None) == (
        10.0 - record.EARLY_S, 11.4 + record.PAD_AFTER_S)
    assert bounds(lines, block_start=9.0, next_onset=11.6, heard_until=20.0, voiced_until=None) == (9.0, 11.6)
    assert bounds(lines, block_start=9.0, next_onset=None, heard_until=11.5, voiced_until=None) == (9.0, 11.5)
    # in a pause: past the end of speech as the VAD heard it (Whisper's word times end early)
    assert bounds(lines, block_start=9.0, next_onset=None, heard_until=20.0, voiced_until=11.7) == (
        9.0, 11.7 + record.PAD_AFTER_S)


def test_each_word_of_the_block_goes_to_the_line_it_was_said_in_or_the_nearest() -> None:
    lines = [line("we support the sub license", 0.0), line("thank you chair", 5.0, 2)]
    heard = [*words("we support the sublicense", 0.0), Word(3.2, 3.5, " indeed"), *words("thank you chair", 5.0),
             Word(6.45, 6.75, " and"), Word(8.0, 8.3, " next")]  # "indeed" missed live; "next" is the next speech
    heard = heard_in(lines, heard)
    first, second = assign(lines, heard)
    assert join_words(first) == "we support the sublicense indeed"
    assert join_words(second) == "thank you chair and"


def test_words_whisper_invents_where_a_block_stops_and_the_next_speech_are_not_the_blocks() -> None:
    lines = [line("portions of the software.", 0.0)]  # ends 1.9
    heard = [*words("portions of the software."), Word(1.85, 1.85, " Thank", 0.0), Word(1.85, 1.9, " you", 0.98),
             Word(1.9, 2.0, " very", 0.9), Word(2.0, 2.1, " much.", 0.9)]
    assert join_words(heard_in(lines, heard)) == "portions of the software."
    assert join_words(heard_in(lines, [*words("portions of the software."), Word(1.9, 2.1, " Yes.", 0.9)])) == (
        "portions of the software. Yes.")


def test_a_block_word_goes_to_the_line_of_the_live_word_it_matches_even_when_its_time_is_off() -> None:
    lines = [line("thank you chair", 0.0), Line(2, "ben", words("he could wait no longer", 3.0), "en")]
    heard = [*words("thank you chair he could", 0.0), *words("wait no longer", 3.0)]  # "he could" timed a second early
    first, second = assign(lines, heard)
    assert join_words(first) == "thank you chair" and join_words(second) == "he could wait no longer"


def test_a_word_the_live_passes_heard_stays_in_the_block_however_late_whisper_timed_it() -> None:
    lines = [line("we support this proposal", 0.0)]  # ends 1.9
    heard = [*words("we support this", 0.0), Word(2.4, 2.8, " proposal")]  # timed 0.7 s late
    assert join_words(heard_in(lines, heard)) == "we support this proposal"


def test_a_line_the_block_missed_keeps_its_live_words() -> None:
    live = words("we support this proposal")
    assert missed(live, words("we"))
    assert not missed(live, words("we support this"))
    assert not missed(words("yes"), [])  # a word or two: the block may well be right


def test_the_prompt_is_the_stored_text_before_the_block_and_names_only_if_heard() -> None:
    assert prompt(["Good morning.", "We support this."]) == "Good morning. We support this."
    assert len(prompt(["x" * 3000])) == record.PROMPT_CHARS
    assert hotwords_heard("Luis Romero Peru General debate", [line("thank you Peru", 0.0)]) == "Peru"


def test_the_audio_kept_for_blocks_is_bounded_and_stays_on_the_timeline() -> None:
    history = AudioHistory(keep_s=2.0)
    for n in range(10):  # ten seconds, a second at a time, each second its own value
        history.append(np.full(SAMPLE_RATE, n, np.float32))
    assert history.end == 10.0 and 7.5 <= history.start <= 8.0  # at most a quarter over the bound
    start, audio = history.slice(8.5, 9.25)
    assert start == 8.5 and len(audio) == int(0.75 * SAMPLE_RATE) and audio[0] == 8 and audio[-1] == 9
    assert history.slice(1.0, 9.0)[0] == history.start  # what is gone is gone
