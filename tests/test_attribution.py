"""Who said each word, and the lines the transcript is cut into: pure, no model, no loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from assistant.speech.attribution import (
    KNOWN_S,
    FloorChange,
    Lines,
    Voices,
    backdated,
    floor_changes,
    holder_at,
    said_at,
    settled,
)
from assistant.speech.gate import Run
from assistant.speech.streaming import Word, join_words
from assistant.speech.voices import Voice


@dataclass
class Turn:
    participant_id: str
    started_at: float
    ended_at: float | None = None


def speech(*runs: tuple[float, float | None]) -> list[Run]:
    """Runs of speech as the gate gives them, with no change of voice heard at their onsets."""
    return [Run(onset, end) for onset, end in runs]


def words(text: str, start: float = 0.0, step: float = 0.5) -> list[Word]:
    return [Word(start + i * step, start + i * step + 0.4, " " + w) for i, w in enumerate(text.split())]


def floor(change_at: float) -> Callable[[Sequence[Word]], list[str | None]]:
    return lambda said: ["ana" if w.middle < change_at else "ben" for w in said]


def test_a_line_is_one_speakers_words_and_never_spans_a_change_of_speaker() -> None:
    lines = Lines(at_sentence_end=False)
    closed = lines.add(words("good morning everyone we support"), floor(1.4), ended=False, language=None)
    assert [(line.speaker_id, join_words(line.words)) for line in closed] == [("ana", "good morning everyone")]
    assert lines.open is not None and join_words(lines.open.words) == "we support"
    closed = lines.add([], floor(1.4), ended=True, language=None)
    assert [(line.speaker_id, line.number) for line in closed] == [("ben", 2)] and lines.open is None


def test_a_click_that_comes_after_the_words_moves_them_to_the_new_speaker() -> None:
    lines = Lines(at_sentence_end=False)
    assert lines.add(words("good morning everyone we"), floor(99), ended=False, language=None) == []
    closed = lines.add(words("support", start=2.5), floor(1.4), ended=False, language=None)  # clicked now
    assert [(line.speaker_id, join_words(line.words), line.number) for line in closed] == [
        ("ana", "good morning everyone", 1)]  # the id the captions showed
    assert lines.open is not None and (lines.open.speaker_id, join_words(lines.open.words)) == ("ben", "we support")
    assert lines.open.number == 2


def test_a_line_closes_before_it_grows_past_its_length() -> None:
    lines = Lines(max_line_s=2.0)
    closed = lines.add(words("one two three four five six"), floor(99), ended=True, language=None)
    assert [join_words(line.words) for line in closed] == ["one two three four", "five six"]


def test_a_floor_change_clicked_during_speech_counts_from_its_onset_within_the_bound() -> None:
    changes = floor_changes([Turn("ana", 0.0, 10.0), Turn("ben", 10.0)])
    runs = speech((1.0, 8.0), (8.9, None))  # Ana until 8.0; Ben from 8.9, the chair clicks at 10.0
    floor = backdated(changes, runs)
    assert holder_at(floor, 8.5) == "ana" and holder_at(floor, 9.0) == "ben"
    assert holder_at(backdated(changes, speech((1.0, 8.0), (7.0, None)), lookback_s=2.5), 7.5) == "ana"  # 3 s: too far


def test_a_late_click_counts_from_the_pause_before_the_new_speaker_not_from_their_first_breath() -> None:
    """Ben says "Now," then breathes (0.4 s) and goes on; the chair clicks in his second run. His turn
    starts after the longest pause in the look-back (0.8 s, after Ana), not after his breath."""
    changes = floor_changes([Turn("ana", 0.0, 40.57), Turn("ben", 40.57)])
    runs = speech((35.9, 38.5), (39.3, 39.7), (40.1, None))
    floor = backdated(changes, runs)
    assert holder_at(floor, 38.4) == "ana" and holder_at(floor, 39.5) == "ben"
    # Ana's last words after a short pause stay hers when the pause before Ben is longer
    floor = backdated(changes, speech((35.9, 38.5), (38.8, 39.1), (39.9, None)))
    assert holder_at(floor, 39.0) == "ana" and holder_at(floor, 40.0) == "ben"


def test_a_late_click_never_takes_the_previous_speakers_short_turn() -> None:
    """Ana has the floor from 30.0 and speaks 30.8-32.0; Ben begins at 32.7 and is clicked at 33.2. The
    longest pause in the look-back is the one before Ana: her turn stays hers."""
    changes = floor_changes([Turn("ana", 30.0, 33.2), Turn("ben", 33.2)])
    floor = backdated(changes, speech((25.0, 28.0), (30.8, 32.0), (32.7, None)))
    assert holder_at(floor, 31.0) == "ana" and holder_at(floor, 32.8) == "ben"
    # ... and if Ben's click falls in the first run after Ana's click (Ana said nothing), it is Ben's
    floor = backdated(changes, speech((25.0, 28.0), (32.4, None)))
    assert holder_at(floor, 32.5) == "ben"


def test_a_floor_change_in_a_pause_stays_where_it_was_clicked() -> None:
    changes = floor_changes([Turn("ana", 0.0, 10.0), Turn("ben", 10.0)])
    floor = backdated(changes, speech((1.0, 9.6), (10.4, None)))  # clicked between the two speakers
    assert holder_at(floor, 9.5) == "ana" and holder_at(floor, 10.2) == "ben"
    # ... right after Ana's last words (0.1 s), whose pause before them is shorter than the one clicked in
    floor = backdated(changes, speech((1.0, 8.0), (8.3, 9.9), (10.6, None)))
    assert holder_at(floor, 9.5) == "ana" and holder_at(floor, 10.7) == "ben"
    # ... and while nobody has spoken since, or if the next speech began more than 2.5 s after it: the
    # pause goes on (so its meaning is settled 2.5 s after the click)
    assert holder_at(backdated(changes, speech((1.0, 8.0), (8.3, 9.9))), 9.5) == "ana"
    late = floor_changes([Turn("ana", 0.0, 17.4), Turn("ben", 17.4)])  # Ben 15.5-16.9 after 14 s of quiet
    assert holder_at(backdated(late, speech((0.0, 1.4), (15.5, 16.9), (24.0, None))), 16.0) == "ana"
    assert holder_at(backdated(late, speech((0.0, 1.4), (15.5, 16.9), (19.0, None))), 16.0) == "ben"
    # the previous holder's first run stays theirs, a click in the pause after it notwithstanding
    floor = backdated(floor_changes([Turn("ana", 0.0, 0.6), Turn("ben", 0.6)]), speech((0.0, 0.4), (1.2, 2.4)))
    assert holder_at(floor, 0.2) == "ana" and holder_at(floor, 1.5) == "ben"


def test_a_click_in_a_breath_after_the_new_speakers_first_words_counts_from_before_them() -> None:
    """Ana until 9.0; Ben says "Now," (9.8-10.2), breathes (0.4 s) and goes on; the chair clicks in the
    breath. The pause before "Now," is the longer: Ben's turn starts there."""
    changes = floor_changes([Turn("ana", 0.0, 10.4), Turn("ben", 10.4)])
    floor = backdated(changes, speech((1.0, 9.0), (9.8, 10.2), (10.6, None)))
    assert holder_at(floor, 8.9) == "ana" and holder_at(floor, 10.0) == "ben"


def test_a_turn_shorter_than_the_chairs_delay_is_its_speakers_when_the_next_speaker_is_clicked_late() -> None:
    """Ben speaks 10.2-11.4 (after a 0.6 s pause) and stops; the chair clicks him at 12.0, after he
    finished, then Cleo begins at 12.5 (a longer pause) and is clicked at 13.5, late. Ben said nothing
    after his click: it was late for his words."""
    turns = [Turn("ana", 0.0, 12.0), Turn("ben", 12.0, 13.5), Turn("cleo", 13.5)]
    runs = speech((1.0, 9.6), (10.2, 11.4), (12.5, None))
    floor = backdated(floor_changes(turns), runs)
    assert [holder_at(floor, t) for t in (9.0, 10.5, 12.6)] == ["ana", "ben", "cleo"]
    # Cleo clicked in the pause before she began (in time): Ben's click, in the pause too, is taken as
    # in time as well (said there: nobody can tell), and his words stay Ana's
    turns = [Turn("ana", 0.0, 12.0), Turn("ben", 12.0, 12.3), Turn("cleo", 12.3)]
    assert [holder_at(backdated(floor_changes(turns), runs), t) for t in (10.5, 12.6)] == ["ana", "cleo"]
    # Ben spoke after his click: his click was for that, and Ana's last words stay hers
    turns = [Turn("ana", 0.0, 10.0), Turn("ben", 10.0, 13.5), Turn("cleo", 13.5)]
    floor = backdated(floor_changes(turns), speech((1.0, 8.0), (8.6, 9.6), (10.2, 11.4), (12.5, None)))
    assert [holder_at(floor, t) for t in (9.0, 10.5, 12.6)] == ["ana", "ben", "cleo"]
    # the next speech began more than 2.5 s after Ben's click: not taken as showing it late
    turns = [Turn("ana", 0.0, 12.0), Turn("ben", 12.0, 16.0), Turn("cleo", 16.0)]
    floor = backdated(floor_changes(turns), speech((1.0, 9.6), (10.2, 11.4), (15.0, None)))
    assert [holder_at(floor, t) for t in (10.5, 15.1)] == ["ana", "cleo"]
    # never back before the click that gave the previous holder the floor
    turns = [Turn("ana", 0.0, 3.1), Turn("ben", 3.1, 3.5), Turn("cleo", 3.5, 5.5), Turn("dina", 5.5)]
    floor = backdated(floor_changes(turns), speech((2.5, 3.3), (4.8, 5.6)))
    assert [holder_at(floor, t) for t in (2.9, 3.2, 4.9)] == ["ben", "cleo", "dina"]
    # two such turns in a row: each moves back in turn
    turns = [Turn("ana", 0.0, 12.0), Turn("ben", 12.0, 14.2), Turn("cleo", 14.2, 16.0), Turn("dina", 16.0)]
    runs = speech((1.0, 9.6), (10.2, 11.4), (12.5, 13.6), (15.0, None))
    assert [holder_at(backdated(floor_changes(turns), runs), t) for t in (9.0, 10.5, 13.0, 15.1)] == [
        "ana", "ben", "cleo", "dina"]


def test_words_wait_for_the_clicks_that_can_still_move_them() -> None:
    ana = floor_changes([Turn("ana", 0.0)])
    assert settled(10.0, ana) == 12.5  # a click moves the floor back at most 2.5 s
    ben = floor_changes([Turn("ana", 0.0, 11.0), Turn("ben", 11.0)])
    assert settled(10.0, ben) == 16.0  # clicked in the pause after them: the next speaker's click too
    assert settled(10.0, floor_changes([Turn("ana", 0.0, 13.0), Turn("ben", 13.0)])) == 12.5  # too late for them
    # a run of short turns: each click waits for the next, and Dina's (17.1) decides Ben's words
    turns = [Turn("ana", 0.0, 12.0), Turn("ben", 12.0, 14.3), Turn("cleo", 14.3, 17.1), Turn("dina", 17.1)]
    runs = speech((1.0, 9.6), (10.2, 11.4), (12.5, 13.6), (15.3, None))
    assert abs(settled(11.4, floor_changes(turns)) - 22.1) < 1e-9
    assert holder_at(backdated(floor_changes(turns[:3]), runs), 10.5) == "ana"  # before Dina's click
    assert holder_at(backdated(floor_changes(turns), runs), 10.5) == "ben"


def test_a_floor_change_is_never_moved_into_the_previous_speakers_turn() -> None:
    changes = floor_changes([Turn("ana", 0.0, 5.0), Turn("ben", 5.0, 6.0), Turn("cleo", 6.0)])
    floor = backdated(changes, speech((4.0, None)))  # one run of speech across both clicks
    assert holder_at(floor, 4.5) == "ben" and holder_at(floor, 5.5) == "cleo" and holder_at(floor, 3.0) == "ana"


def test_a_word_stretched_back_into_the_pause_before_it_is_read_where_its_speech_is() -> None:
    runs = speech((0.0, 4.0), (5.0, None))  # a pause from 4.0 to 5.0
    assert said_at(Word(4.3, 5.4, " printing"), runs) == 5.0  # middle 4.85, in the pause: the onset
    assert said_at(Word(3.6, 4.6, " end"), runs) == 4.0  # the last word stretched into the pause
    assert said_at(Word(5.2, 5.6, " yes"), runs) == 5.4  # in speech: its middle
    assert said_at(Word(4.2, 4.6, " um"), runs) == 4.4  # no speech inside it: its middle


def test_a_voice_change_with_hardly_a_pause_outweighs_a_longer_breath() -> None:
    """Ben answers Ana 0.15 s after her (another voice: a change of 3), then breathes 0.4 s; the chair
    clicks at 10.0. Ben's turn starts where his voice began, not after his breath."""
    changes = floor_changes([Turn("ana", 0.0, 10.0), Turn("ben", 10.0)])
    runs = [Run(1.0, 8.0), Run(8.15, 9.0, change=3.0), Run(9.4, None, change=0.3)]
    floor = backdated(changes, runs)
    assert holder_at(floor, 7.9) == "ana" and holder_at(floor, 8.5) == "ben"
    # with no change of voice heard, the longer pause wins, as it always did
    floor = backdated(changes, [Run(1.0, 8.0), Run(8.15, 9.0), Run(9.4, None)])
    assert holder_at(floor, 8.5) == "ana" and holder_at(floor, 9.5) == "ben"


def test_a_click_just_before_another_voice_begins_is_taken_as_in_time() -> None:
    """The gate cut Ana's run where Ben's voice began (8.0, no pause); the chair clicked at 7.9, as Ben
    began: Ben's turn starts there, not back at Ana's last pause."""
    changes = floor_changes([Turn("ana", 0.0, 7.9), Turn("ben", 7.9)])
    floor = backdated(changes, [Run(1.0, 5.0), Run(5.6, 8.0, change=0.4), Run(8.0, None, change=3.0)])
    assert holder_at(floor, 6.0) == "ana" and holder_at(floor, 8.1) == "ben"


def test_a_short_turn_clicked_late_keeps_its_words_when_the_next_speaker_breathes_early() -> None:
    """Ben speaks 10.2-11.4 and is clicked after it (12.0); Cleo begins at 12.5, breathes after her first
    words (0.15 s, her own voice) and is clicked late (14.0), in her second run. Her turn starts at her
    first words, so Ben's click came late for his words (as when Cleo never breathed)."""
    turns = [Turn("ana", 0.0, 12.0), Turn("ben", 12.0, 14.0), Turn("cleo", 14.0)]
    runs = [Run(1.0, 9.6), Run(10.2, 11.4, change=2.0), Run(12.5, 13.4, change=2.0), Run(13.55, None, change=0.3)]
    floor = backdated(floor_changes(turns), runs)
    assert [holder_at(floor, t) for t in (9.0, 10.5, 12.6, 13.6)] == ["ana", "ben", "cleo", "cleo"]


def test_the_previous_holders_first_run_is_the_one_going_on_when_they_got_the_floor() -> None:
    """Xia spoke 7.0-8.4 and was clicked late (9.2), in Ben's first run (8.9-10.5); Ben's click (9.75)
    cannot move back past hers, so his floor begins inside his run, at 9.2. Cleo answers at 11.3,
    breathes (12.55) and is clicked late (12.9): her turn starts at her first words. Ben's first run
    is the one going on when he got the floor, not Cleo's, which stays a place her turn can start."""
    turns = [Turn("wim", 0.0, 9.2), Turn("xia", 9.2, 9.75), Turn("ben", 9.75, 12.9), Turn("cleo", 12.9)]
    runs = [Run(3.0, 5.5), Run(7.0, 8.4, 1.0), Run(8.9, 10.5, 1.9), Run(11.3, 12.4, 1.4), Run(12.55, None, 0.4)]
    floor = backdated(floor_changes(turns), runs)
    assert [holder_at(floor, t) for t in (7.5, 10.0, 11.5, 12.7)] == ["xia", "ben", "cleo", "cleo"]


def test_the_next_speaker_answering_at_once_is_not_the_previous_speakers_breath() -> None:
    """Ben, clicked in the pause after Ana (12.0), speaks 12.3-13.0; Cleo answers 0.15 s later in another
    voice (a change of 2) and is clicked late (14.0). Ben's first utterance ends where the voice
    changed: Cleo's turn starts at 13.15, and Ben keeps his words."""
    turns = [Turn("ana", 0.0, 12.0), Turn("ben", 12.0, 14.0), Turn("cleo", 14.0)]
    runs = [Run(1.0, 9.6), Run(12.3, 13.0, change=2.0), Run(13.15, None, change=2.0)]
    floor = backdated(floor_changes(turns), runs)
    assert [holder_at(floor, t) for t in (9.0, 12.5, 13.5)] == ["ana", "ben", "cleo"]


def test_the_previous_speakers_utterance_never_takes_a_click_back_past_the_bound() -> None:
    """Ana, given the floor in a pause (1.0), speaks 1.5-3.5, breathes, goes on 3.7-6.0; Ben begins 0.2 s
    after her in a voice much like hers (0.5) and is clicked at 6.5. Ana's first utterance would reach
    over Ben's run, but it began 5 s before the click: Ben's floor starts at his onset, at most 2.5 s
    back, never at Ana's first words."""
    turns = [Turn("wim", 0.0, 1.0), Turn("ana", 1.0, 6.5), Turn("ben", 6.5)]
    runs = [Run(0.0, 0.5), Run(1.5, 3.5, 1.5), Run(3.7, 6.0, 0.3), Run(6.2, None, 0.5)]
    floor = backdated(floor_changes(turns), runs)
    assert [holder_at(floor, t) for t in (2.0, 5.0, 6.3)] == ["ana", "ana", "ben"]


def test_a_click_just_before_a_speakers_onset_keeps_their_first_run_theirs() -> None:
    """Ben answers Ana with no pause heard (the gate cut her run where his voice began, 29.57) and is
    clicked 0.09 s before it, inside her run: read as in the pause before his run. Cleo is clicked
    in the pause after him (31.5); Ben's run, a stronger voice change than Cleo's onset, is still his
    first run, never her turn's start."""
    turns = [Turn("ana", 0.0, 29.48), Turn("ben", 29.48, 31.5), Turn("cleo", 31.5)]
    runs = [Run(19.94, 27.5, 0.4), Run(27.65, 29.57, 0.5), Run(29.57, 31.39, 3.3), Run(31.68, None, 1.5)]
    floor = backdated(floor_changes(turns), runs)
    assert [holder_at(floor, t) for t in (29.0, 30.0, 31.0, 32.0)] == ["ana", "ben", "ben", "cleo"]


def sounding(seconds: float, shade: float) -> Voice:
    """A voice as the gate sums one up (`voices.Voice`): `seconds` of 32 ms windows whose cepstra are
    `shade` give or take 1 (two voices whose shades lie d apart are d squared apart by
    `voices.distance`, near enough)."""
    n = round(seconds / 0.032)
    return Voice.of(shade + np.where(np.arange(n) % 2, 1.0, -1.0)[:, None] * np.ones((n, 13)))


WALL = 1_800_000_000.0  # wall time, as the channel gives it: a float step there is 0.24 microseconds


def heard(turns: list[Turn], runs: list[Run], at: float) -> Callable[[float], str | None]:
    """Who held the floor at each time, the turns and runs `at` seconds on (0, or in wall time)."""
    floor = backdated(floor_changes([Turn(t.participant_id, t.started_at + at, None if t.ended_at is None
                                          else t.ended_at + at) for t in turns]),
                      [run._replace(onset=run.onset + at, end=None if run.end is None else run.end + at) for run in runs])
    return lambda t: holder_at(floor, t + at)


on_the_wall = pytest.mark.parametrize("at", [0.0, WALL])


@on_the_wall
def test_a_short_turn_clicked_after_it_ended_is_moved_back_when_it_sounds_like_the_new_speaker(at: float) -> None:
    """Ben spoke before (0.5-4.5), then Ana (5.5-12.0); Ben answers 13.0-14.2 and the chair clicks at
    14.6, after he stopped; nobody speaks after. His answer sounds like Ben, not Ana: it is his."""
    turns = [Turn("ben", 0.0, 5.2), Turn("ana", 5.2, 14.6), Turn("ben", 14.6)]
    ben, ana = 1.0, -1.0
    runs = [Run(0.5, 4.5, None, sounding(4.0, ben)), Run(5.5, 12.0, 2.0, sounding(6.5, ana)),
            Run(13.0, 14.2, 2.0, sounding(1.2, ben))]
    who = heard(turns, runs, at)
    assert [who(t) for t in (3.0, 11.0, 13.5)] == ["ben", "ana", "ben"]
    # the same words in Ana's voice (her last sentence; Ben slow to unmute): hers
    runs[2] = runs[2]._replace(voice=sounding(1.2, ana))
    assert heard(turns, runs, at)(13.5) == "ana"
    # halfway between theirs (the chair, say): the click stands; a little nearer Ben's (by over
    # NEARER) is Ben's
    runs[2] = runs[2]._replace(voice=sounding(1.2, 0.0))
    assert heard(turns, runs, at)(13.5) == "ana"
    runs[2] = runs[2]._replace(voice=sounding(1.2, 0.1))
    assert heard(turns, runs, at)(13.5) == "ben"


@on_the_wall
def test_a_voice_not_yet_known_moves_nothing(at: float) -> None:
    """Ben has not spoken before (or under KNOWN_S of him is kept): his voice is not known, and a click
    after his short answer stays where it was, as before voices were heard."""
    turns = [Turn("ana", 0.0, 14.6), Turn("ben", 14.6)]
    runs = [Run(5.5, 12.0, None, sounding(6.5, -1.0)), Run(13.0, 14.2, 2.0, sounding(1.2, 1.0))]
    assert heard(turns, runs, at)(13.5) == "ana"
    runs.insert(0, Run(0.5, 1.5, None, sounding(KNOWN_S - 1.0, 1.0)))  # a second of Ben, earlier
    turns = [Turn("ben", 0.0, 5.2), Turn("ana", 5.2, 14.6), Turn("ben", 14.6)]
    assert heard(turns, runs, at)(13.5) == "ana"


@on_the_wall
def test_the_chairs_voice_is_known_from_when_nobody_held_the_floor(at: float) -> None:
    """Nobody held the floor 5.2-14.6 and the chair spoke (5.5-12.0); Ben, heard before, answers
    13.0-14.2 and is clicked at 14.6: his voice, not the chair's, so the answer is his."""
    turns = [Turn("ben", 0.0, 5.2), Turn("ben", 14.6)]
    runs = [Run(0.5, 4.5, None, sounding(4.0, 1.0)), Run(5.5, 12.0, 2.0, sounding(6.5, -1.0)),
            Run(13.0, 14.2, 2.0, sounding(1.2, 1.0))]
    who = heard(turns, runs, at)
    assert [who(t) for t in (3.0, 11.0, 13.5)] == ["ben", None, "ben"]


@on_the_wall
def test_a_click_is_not_moved_back_over_speech_in_the_previous_speakers_voice(at: float) -> None:
    """Ben, given the floor in a pause (18.55), speaks 18.82-21.26; Cleo answers with no pause heard
    and no cut, so one run (18.82-22.5) holds both, mostly Ben; the chair clicks Cleo at 21.28, as she
    begins. The pauses alone move her click back to the run's onset (Ben's turn, all of it, hers);
    the run sounds like Ben, not Cleo, both heard before: the click stays."""
    ben, cleo = 1.0, -1.0
    turns = [Turn("ben", 0.0, 5.0), Turn("cleo", 5.0, 18.55), Turn("ben", 18.55, 21.28), Turn("cleo", 21.28)]
    runs = [Run(0.5, 4.5, None, sounding(4.0, ben)), Run(5.5, 12.0, 2.0, sounding(6.5, cleo)),
            Run(12.5, 16.5, 0.3, sounding(4.0, cleo)), Run(18.82, 22.5, 2.0, sounding(3.7, 0.6))]
    who = heard(turns, runs, at)
    assert [who(t) for t in (17.0, 20.0, 21.5)] == ["cleo", "ben", "cleo"]
    assert heard(turns, [run._replace(voice=None) for run in runs], at)(20.0) == "cleo"  # voices unknown
    # halfway between their voices: not told apart, moved back as by the pauses
    runs[3] = runs[3]._replace(voice=sounding(3.7, 0.0))
    assert heard(turns, runs, at)(20.0) == "cleo"


@on_the_wall
def test_a_late_click_in_the_next_speakers_words_is_read_by_the_speech_before_them(at: float) -> None:
    """Ana's short turn (17.3-18.5) after Ben's, clicked late (19.14), after Ben began answering
    (18.9-20.5). The speech the click moves back over is Ana's run, not Ben's, most of which came
    after the click: it sounds like Ana, and her turn starts at her onset."""
    ana, ben = 1.0, -1.0
    turns = [Turn("ana", 0.0, 6.0), Turn("ben", 6.0, 19.14), Turn("ana", 19.14)]
    runs = [Run(0.5, 5.0, None, sounding(4.5, ana)), Run(7.5, 15.9, 2.0, sounding(8.4, ben)),
            Run(17.3, 18.5, 2.0, sounding(1.2, ana)), Run(18.9, 20.5, 2.0, sounding(1.6, ben))]
    who = heard(turns, runs, at)
    assert [who(t) for t in (15.0, 17.5, 18.0)] == ["ben", "ana", "ana"]


@on_the_wall
def test_a_short_turn_before_the_next_speaker_is_not_moved_back_over_the_previous_speakers_voice(at: float) -> None:
    """Cleo is clicked in the pause after Ben's words (13.3) and says nothing; Dan begins at 13.6 and
    is clicked late (14.5), so his floor starts at 13.6. By the pauses, Cleo's click came late for a
    short turn before Dan's (`late_for_the_run_before`) and moves back over 12.0-13.0; those words
    sound like Ben, who held the floor: they stay his (decided last to first, by voice too)."""
    ben, cleo, dan = 1.0, -1.0, 3.0
    turns = [Turn("cleo", 0.0, 4.5), Turn("ben", 4.5, 13.3), Turn("cleo", 13.3, 14.5), Turn("dan", 14.5)]
    runs = [Run(0.5, 4.0, None, sounding(3.5, cleo)), Run(5.0, 9.0, 2.0, sounding(4.0, ben)),
            Run(10.0, 11.8, 0.4, sounding(1.8, ben)), Run(12.0, 13.0, 0.4, sounding(1.0, ben)),
            Run(13.6, None, 2.0, sounding(2.0, dan))]
    who = heard(turns, runs, at)
    assert [who(t) for t in (12.5, 13.4, 14.0)] == ["ben", "cleo", "dan"]
    assert heard(turns, [run._replace(voice=None) for run in runs], at)(12.5) == "cleo"  # the pauses alone


@on_the_wall
def test_a_short_turn_moved_back_by_voice_leaves_the_next_speakers_first_words_theirs(at: float) -> None:
    """Cleo's short answer (13.0-14.2), clicked after it (14.5), is moved back by her voice. Ana then
    speaks 15.5-16.3, breathes, 16.45-17.0, and is clicked in her next pause (17.2). Cleo's floor began
    at her words, not at a click in a pause, so Ana's first words are not Cleo's first utterance: Ana's
    turn starts at 15.5 (read first to last, with the floor the voices moved)."""
    ana, cleo = 1.0, -1.0
    turns = [Turn("cleo", 0.0, 5.0), Turn("ana", 5.0, 14.5), Turn("cleo", 14.5, 17.2), Turn("ana", 17.2)]
    runs = [Run(0.5, 4.5, None, sounding(4.0, cleo)), Run(5.5, 12.0, 2.0, sounding(6.5, ana)),
            Run(13.0, 14.2, 2.0, sounding(1.2, cleo)), Run(15.5, 16.3, 2.0, sounding(0.8, ana)),
            Run(16.45, 17.0, 0.3, sounding(0.55, ana)), Run(17.35, None, 0.24, sounding(2.0, ana))]
    who = heard(turns, runs, at)
    assert [who(t) for t in (13.5, 15.8, 16.7)] == ["cleo", "ana", "ana"]


def test_a_holders_voice_is_summed_from_the_runs_wholly_inside_their_floor() -> None:
    """A run that spans a change of floor (two speakers, or one clicked late) is nobody's voice; one
    that ends as the next floor begins is the earlier holder's, one that begins with it the next's."""
    floor = [FloorChange(0.0, "ben"), FloorChange(5.0, "cleo")]
    runs = [Run(0.5, 3.0, None, sounding(2.5, 1.0)), Run(3.2, 5.0, None, sounding(1.8, 1.0)),
            Run(5.0, 5.8, None, sounding(0.8, 0.0)), Run(5.9, 9.0, None, sounding(3.1, -1.0))]
    voices = Voices(runs, floor)
    ben, cleo = voices.of("ben", 10.0), voices.of("cleo", 10.0)
    assert ben is not None and ben.count == runs[0].voice.count + runs[1].voice.count  # type: ignore[union-attr]
    assert cleo is not None and cleo.count == runs[2].voice.count + runs[3].voice.count  # type: ignore[union-attr]
    floor = [FloorChange(0.0, "ben"), FloorChange(4.0, "cleo")]  # now the second run spans the change
    assert Voices(runs, floor).of("ben", 10.0) is not None
    assert Voices(runs, floor).of("ben", 10.0).count == runs[0].voice.count  # type: ignore[union-attr]
    assert Voices(runs, floor).of("ben", 2.9) is None  # only runs that ended by then
