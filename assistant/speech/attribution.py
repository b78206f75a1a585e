"""Who said each word: the floor, read per word, and the lines it cuts the transcript into.

Pure: times in, speakers and lines out; no clock, no model, no loop.

A word belongs to whoever held the floor when it was spoken (the middle of the
word, in wall time). Chairs click "give floor" late, typically 0.5 to 2 s after
the new speaker has begun, so a floor change that falls inside speech is moved
back to where that speech began (the VAD's onset after the longest pause, a
speaker's breath after their first word not counting as the start), at most
`LOOKBACK_S` before the click and never before the click that gave the previous
speaker the floor. A change that
falls in a pause (more than 0.2 s after speech) stays where it is: the new speaker
starts after it.

Committed words are grouped into lines: one speaker's words up to a pause, a
floor change or `MAX_LINE_S`. A line never spans a floor change; it is what a
caption shows live and what is stored, once decoded again in a block (`record`), as segments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .streaming import Word, ends_sentence

LOOKBACK_S = 2.5  # a floor change inside speech moves back to its onset, at most this far
MAX_LINE_S = 20.0  # a line is closed before it spans more than this (one decoding window, with room)
RUN_GAP_S = 0.3  # less quiet than this inside speech does not start a new run (onset)
# A click this soon after a run of speech ended still counts as in it. Measured on the two
# four-speaker sessions (live words, floor given 0.5-2 s late, five draws; or halfway through the
# gap): only in speech 95.2 % / 100 %; 0.2 s 96.1 % / 100 %; 0.45 s 96.4 % / 97.1 %; any onset in the
# 2.5 s before the click 96.5 % / 95.3 %; the old rule (middle + 0.25 s) 80.3 % / 99.5 %.
CLICK_TOLERANCE_S = 0.2


class TurnLike(Protocol):
    """What attribution reads of a turn of the meeting state."""

    participant_id: str
    started_at: float
    ended_at: float | None


@dataclass(frozen=True)
class FloorChange:
    at: float  # wall time from which `holder` holds the floor
    holder: str | None  # None: nobody


def floor_changes(turns: Iterable[TurnLike]) -> list[FloorChange]:
    """The floor as a list of changes, from the meeting's turns (in order)."""
    out: list[FloorChange] = []
    for turn in turns:
        out.append(FloorChange(turn.started_at, turn.participant_id))
        if turn.ended_at is not None:
            out.append(FloorChange(turn.ended_at, None))
    out.sort(key=lambda c: c.at)  # stable: a turn that ends as the next begins keeps the next
    return out


def backdated(changes: Sequence[FloorChange], runs: Sequence[tuple[float, float | None]],
              lookback_s: float = LOOKBACK_S) -> list[FloorChange]:
    """Floor changes moved back to the onset of the speech they fall in (`runs`: speech as (onset,
    end or None while it goes on), in wall time, in order): a chair's click lags the new speaker's
    first words. Bounded by `lookback_s` and by the click that gave the previous holder the floor;
    and the previous holder's first run of speech in their turn stays theirs."""
    out: list[FloorChange] = []
    clicked = float("-inf")  # when the previous speaker was given the floor (as clicked)
    began = float("-inf")  # ... and from when they held it (moved back as this one is)
    for change in changes:
        at = change.at
        if change.holder is not None:
            onset = onset_at(runs, change.at, lookback_s, since=began)
            if onset is not None:
                at = max(onset, clicked + 1e-3)
            clicked, began = change.at, at
        while out and out[-1].at >= at:
            out.pop()
        out.append(FloorChange(at, change.holder))
    return out


def onset_at(runs: Sequence[tuple[float, float | None]], t: float, lookback_s: float = LOOKBACK_S,
             since: float = float("-inf")) -> float | None:
    """Where the speech going on at `t` (or that ended at most CLICK_TOLERANCE_S before it) began,
    if it began at most `lookback_s` before `t`. Going back through that speech's short pauses, the
    onset after the longest pause: a speaker often stops for breath after their first word or
    two ("Now, ... the question is"), and the pause before a new speaker is the longest around.
    Never back to the first run at or after `since` (when the previous holder got the floor): the
    pause before it is the one before the previous speaker, often the longest too."""
    i = len(runs) - 1
    while i >= 0 and runs[i][0] > t:
        i -= 1
    if i < 0 or ((end := runs[i][1]) is not None and t > end + CLICK_TOLERANCE_S):
        return None
    theirs = next((onset for onset, _ in runs if onset >= since), None)  # the previous holder's first run
    best, longest = None, -1.0
    while i >= 0 and t - runs[i][0] <= lookback_s and (best is None or runs[i][0] != theirs):
        before = runs[i - 1][1] if i > 0 else None
        pause = float("inf") if before is None else runs[i][0] - before
        if pause > longest:
            best, longest = runs[i][0], pause
        i -= 1
    return best


def said_at(word: Word, runs: Sequence[tuple[float, float | None]]) -> float:
    """Where in a word to read the floor: its middle, unless the middle lies in quiet and the word
    reaches into speech (the VAD's `runs`): then the nearest speech inside the word. Whisper often
    stretches the first word after a pause back into the pause, and its middle falls before the
    new speaker's onset, where the floor is still the previous speaker's."""
    t = word.middle
    best: float | None = None
    for onset, end in runs:
        stop = word.end if end is None else end
        if onset <= t <= stop:
            return t
        lo, hi = max(onset, word.start), min(stop, word.end)
        if lo <= hi:  # speech inside the word: its point nearest the middle
            near = lo if lo > t else hi
            if best is None or abs(near - t) < abs(best - t):
                best = near
    return t if best is None else best


def holder_at(changes: Sequence[FloorChange], t: float) -> str | None:
    held: str | None = None
    for change in changes:
        if change.at > t:
            break
        held = change.holder
    return held


@dataclass
class Line:
    """One speaker's committed words up to a pause, a floor change or MAX_LINE_S."""

    number: int
    speaker_id: str | None
    words: list[Word] = field(default_factory=list)
    language: str | None = None

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end


def regroup(line: Line, speakers: Sequence[str | None]) -> list[Line]:
    """A line's words split where their speaker changes (a floor change known only now, clicked
    late); the parts keep the line's number, so their segments replace the one live line."""
    parts: list[Line] = []
    for word, speaker in zip(line.words, speakers, strict=True):
        if not parts or parts[-1].speaker_id != speaker:
            parts.append(Line(line.number, speaker, [], line.language))
        parts[-1].words.append(word)
    return parts or [line]


class Lines:
    """Groups committed words into lines by who said them: pure bookkeeping, no I/O.

    `speakers` gives the speaker of each word as the floor is known now. The open line is read
    again at each call: a click that came after its first words were committed (a chair who
    looked up late) moves them to the new speaker, and splits the line where the floor changed."""

    def __init__(self, max_line_s: float = MAX_LINE_S, *, at_sentence_end: bool = True) -> None:
        self.max_line_s = max_line_s
        self.at_sentence_end = at_sentence_end
        self.open: Line | None = None
        self.count = 0

    def add(self, words: Sequence[Word], speakers: Callable[[Sequence[Word]], list[str | None]], *,
            ended: bool, language: str | None) -> list[Line]:
        """Committed words; `ended`: a pause closed the utterance after them. Returns the lines
        closed, in order."""
        closed: list[Line] = []
        held = self.open.words if self.open is not None else []
        who = speakers([*held, *words])
        if self.open is not None and held:
            parts = regroup(self.open, who[: len(held)])
            if len(parts) > 1:  # the floor changed inside the open line: the rest is a new line
                closed += parts[:-1]
                self.count += 1
                parts[-1].number = self.count
            self.open = parts[-1]
        for word, speaker in zip(words, who[len(held):], strict=True):
            line = self.open
            if line is not None and (
                line.speaker_id != speaker or word.end - line.start > self.max_line_s
                or (line.language is not None and language is not None and line.language != language)
            ):
                closed.append(line)
                line = None
            if line is None:
                self.count += 1
                line = self.open = Line(self.count, speaker, language=language)
            line.language = line.language or language  # found once the turn had a few seconds
            line.words.append(word)
            if self.at_sentence_end and ends_sentence(word):
                closed.append(line)
                self.open = None
        if ended and self.open is not None:
            closed.append(self.open)
            self.open = None
        return closed


def sentences(words: Sequence[Word]) -> list[list[Word]]:
    """Words cut after each sentence end (the last piece may be unfinished)."""
    out: list[list[Word]] = [[]]
    for word in words:
        out[-1].append(word)
        if ends_sentence(word):
            out.append([])
    return [s for s in out if s]
