"""Who said each word: the floor, read per word, and the lines it cuts the transcript into.

Pure: times in, speakers and lines out; no clock, no model, no loop.

A word belongs to whoever held the floor when it was spoken (the middle of the
word, in wall time). Chairs click "give floor" late, typically 0.5 to 2 s after
the new speaker has begun, so a floor change is moved back to where the new
speaker's speech began, at most `LOOKBACK_S` before the click and never before
the click that gave the previous speaker the floor. Where they began is the onset
of one of the gate's runs of speech (`gate.Run`: voiced windows with less than
0.1 s of quiet between them, cut where the voice changes): the one that looks
most like a new speaker, by the pause before it and the change of voice at it
(`voices`), a speaker's breath after their first word not counting as the start.
A click in a pause, or just before a run, moves back only where the speech before
it is the new speaker's: a pause before it was longer than the one the click fell
in (they breathed after "Now,"), or the speech after the click is the next
speaker's (the turn was shorter than the chair's delay), or the speech before it
sounds like the new speaker, heard earlier in the meeting, and not like the one
before (`late_by_voice`: a short turn clicked after it ended, nobody or the chair
speaking next). Otherwise the new speaker starts after it.

Measured over many draws of clicks (`bench/attribution.py`, the two four-speaker
sessions, every word, clicks 0.5-2 s late / anywhere in the pause before each
turn): 99.82 / 99.78 % of words under the right name, and every word more than
0.5 s from a change of speaker (99.63 / 99.97 % before whose voice was heard);
the same sessions joined as a conversation (0.1-0.4 s between speakers), 97.4 /
99.8 %, where the pauses alone (runs joined over 0.3 s of quiet, no voice) gave
84.3 / 96.2 % and voice changes without whose voice 97.0 / 97.6 %.

Committed words are grouped into lines: one speaker's words up to a pause, a
floor change or `MAX_LINE_S`. A line never spans a floor change; it is what a
caption shows live and what is stored, once decoded again in the record's windows (`record`), as
segments.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .gate import Run
from .streaming import Word, ends_sentence
from .voices import COEFFICIENTS, Voice, distance

LOOKBACK_S = 2.5  # a floor change moves back to the new speaker's onset, at most this far
MAX_LINE_S = 20.0  # a line is closed before it spans more than this (one decoding window, with room)
BREATH_S = 0.3  # a pause shorter than this, with the same voice after it, goes on the same utterance
BREATH_VOICE = 1.0  # ... the same voice: a change (`voices.divergence`) under this
VOICE_S = 0.25  # a voice change of 1 (`voices.divergence`) counts as a pause this long, for an onset
KNOWN_S = 2.0  # a speaker's voice is known from this much of their speech (`Voices`)
HEARD_S = 0.5  # ... and speech is told theirs from this much of it
NEARER = 0.2  # ... when it lies this much nearer their voice than the other's (`voices.distance`)


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


def backdated(changes: Sequence[FloorChange], runs: Sequence[Run],
              lookback_s: float = LOOKBACK_S) -> list[FloorChange]:
    """Floor changes moved back to the onset of the speech they fall in (`runs`: the gate's runs of
    speech, `gate.Run`, in wall time, in order): a chair's click lags the new speaker's
    first words (`onset_at`, which also moves a click in a pause after the new speaker's first
    words). Bounded by `lookback_s` and by the click that gave the previous holder the floor; and
    the previous holder's first run of speech in their turn stays theirs. A click in a pause is also
    moved back to the speech before it when the speech after it is the next holder's (their click,
    late too, moved back to it): the new holder said nothing after the click, so it came late for a
    turn shorter than the chair's delay (`late_for_the_run_before`; decided last to first, so that
    a run of such turns moves back one after the other). And by voice (`Voices`, each holder's
    voice over the floor as the pauses set it): a click in a pause moves back over speech in the new
    holder's voice (`late_by_voice`), and a click moved back over speech in the previous holder's
    voice stays where it was (`_theirs`, here and last to first); decided first to last, with the
    pauses' rules again."""
    clicks = [change.at for change in changes]
    moved, since, after, asked = _forward(changes, runs, lookback_s)
    voices = None
    if asked:  # the clicks the voices may move, heard again with them
        voices = Voices(runs, _floor(changes, moved))
        moved, since, after, _ = _forward(changes, runs, lookback_s, voices, (asked, moved))
    following: float | None = None  # where the next holder's floor begins, moved back from a late click
    for i in reversed(range(len(changes))):
        holder = changes[i].holder
        if holder is None:
            continue
        if moved[i] == clicks[i] and following is not None:
            onset = late_for_the_run_before(runs, clicks[i], following, lookback_s, since=since[i])
            if onset is not None:
                start = max(onset, after[i] + 1e-3)
                if voices is None or not _theirs(runs, voices, start, clicks[i], holder, _held(changes, moved, i, start)):
                    moved[i] = start
        following = moved[i] if moved[i] < clicks[i] else None
    return _floor(changes, moved)


def _forward(changes: Sequence[FloorChange], runs: Sequence[Run], lookback_s: float, voices: Voices | None = None,
             before: tuple[set[int], list[float]] | None = None
             ) -> tuple[list[float], list[float], list[float], set[int]]:
    """The clicks moved back first to last (`onset_at`; with `voices`, `late_by_voice` for a click in
    a pause after speech that stayed, and a click moved back over speech in the previous holder's
    voice stays, `_theirs`): where each holder's floor begins, when the previous holder's began and
    when they were clicked; and the clicks the voices would hear (those two kinds). With `before`
    (those clicks, and where each floor began without voices), only those are decided again: any
    other click is in speech with no onset within `lookback_s` before it, or before all speech,
    and stays where it is whatever came before it."""
    moved = [change.at for change in changes]
    since: list[float] = [float("-inf")] * len(changes)  # when the previous holder held the floor (moved back)
    after: list[float] = [float("-inf")] * len(changes)  # ... and when they were clicked
    heard_from = runs[0].onset if runs else float("inf")  # before it, nothing moves
    clicked = began = float("-inf")
    asked: set[int] = set()
    for i, change in enumerate(changes):
        holder = change.holder
        if holder is None:
            continue
        onset = None
        if before is not None and i not in before[0]:
            moved[i] = before[1][i]
        elif change.at > heard_from:
            utterance = began == clicked and _pause_at(runs, clicked) is not None
            onset = onset_at(runs, change.at, lookback_s, since=began, utterance=utterance)
            if onset is None and _pause_at(runs, change.at) is not None:
                asked.add(i)
                if voices is not None:
                    onset = late_by_voice(runs, change.at, holder, voices, functools.partial(_held, changes, moved, i),
                                          lookback_s, since=began, utterance=utterance, after=clicked + 1e-3)
            elif onset is not None:
                asked.add(i)
                start = max(onset, clicked + 1e-3)
                if voices is not None and _theirs(runs, voices, start, change.at, holder, _held(changes, moved, i, start)):
                    onset = None  # back over speech in the previous holder's voice: theirs
        if onset is not None:
            moved[i] = max(onset, clicked + 1e-3)
        since[i], after[i] = began, clicked
        clicked, began = change.at, moved[i]
    return moved, since, after, asked


def _held(changes: Sequence[FloorChange], moved: Sequence[float], i: int, at: float) -> str | None:
    """Who held the floor just before `at`, by the changes before the `i`-th where they stand now
    (`moved`; None: nobody)."""
    for j in range(i - 1, -1, -1):
        if moved[j] < at:
            return changes[j].holder
    return None


def _theirs(runs: Sequence[Run], voices: Voices, start: float, t: float, holder: str, other: str | None) -> bool:
    """Whether the speech from `start` to a click at `t` giving `holder` the floor is `other`'s, who
    held it before, by its voice (`nearer`, NEARER the wrong way)."""
    margin = nearer(runs, voices, start, t, holder, other)
    return margin is not None and margin <= -NEARER


def _floor(changes: Sequence[FloorChange], moved: Sequence[float]) -> list[FloorChange]:
    """The floor changes at their moved times, in order: a change moved back before an earlier one
    overrides it."""
    out: list[FloorChange] = []
    for change, at in zip(changes, moved, strict=True):
        while out and out[-1].at >= at:
            out.pop()
        out.append(change if at == change.at else FloorChange(at, change.holder))
    return out


class Voices:
    """Who sounds like whom: each holder's voice, the sum of the runs of speech that lie wholly
    inside their floor (`floor`: as the pauses' rules set it first to last, `_forward`; None: nobody
    held it, the chair speaking), from the runs kept (`gate.SpeechGate.runs`: the last few minutes
    of speech). Built on first use."""

    def __init__(self, runs: Sequence[Run], floor: Sequence[FloorChange]) -> None:
        self.runs, self.floor = runs, floor
        self._names: dict[str | None, int] = {}
        self._codes: np.ndarray | None = None  # per run: its holder's number; -1: it spans a change, or is unheard
        self._sums: np.ndarray = np.zeros((0, 1 + 2 * COEFFICIENTS))  # per run: its `voices.Voice.sums`
        self._summed: dict[int, np.ndarray] = {}

    def _build(self) -> np.ndarray:
        at = np.array([change.at for change in self.floor])
        lo = np.searchsorted(at, [run.onset for run in self.runs], side="right")
        hi = np.searchsorted(at, [_end(run) for run in self.runs], side="left")  # one ending at a change: before it
        holders = [None, *(change.holder for change in self.floor)]  # before the first change: nobody
        codes = np.array([self._names.setdefault(holders[k], len(self._names)) for k in lo], dtype=int)
        voiced = np.array([run.voice is not None for run in self.runs], dtype=bool)
        codes[(lo != hi) | ~voiced] = -1
        width = 1 + 2 * COEFFICIENTS
        self._sums = np.array([np.zeros(width) if run.voice is None else run.voice.sums
                               for run in self.runs]).reshape(-1, width)
        return codes

    def of(self, holder: str | None, until: float) -> Voice | None:
        """`holder`'s voice from their runs that ended by `until`; None: under KNOWN_S of it."""
        if self._codes is None:
            self._codes = self._build()
        code = self._names.get(holder)
        k = bisect.bisect_right(self.runs, until, key=_end)
        if code is None or k == 0:
            return None
        if (summed := self._summed.get(code)) is None:  # their runs' voices added up, run by run
            summed = self._summed[code] = np.cumsum(np.where((self._codes == code)[:, None], self._sums, 0.0), axis=0)
        voice = Voice(summed[k - 1])
        return voice if voice.seconds >= KNOWN_S else None


def heard_between(runs: Sequence[Run], onset: float, end: float) -> Voice | None:
    """The voice of the speech from `onset` to `end`: the runs that begin at `onset` or after and
    end by `end`, and the one `end` falls in if most of it came before (a run's voice is summed
    whole); None: no voice heard in them."""
    out: Voice | None = None
    for k in range(bisect.bisect_left(runs, onset, key=_onset), len(runs)):
        run = runs[k]
        if run.onset > end:
            break
        if run.voice is None:
            continue
        heard = run.end if run.end is not None else run.onset + run.voice.seconds
        if heard <= end or end - run.onset >= (heard - run.onset) / 2:
            out = run.voice if out is None else out + run.voice
    return out


def late_by_voice(runs: Sequence[Run], t: float, holder: str, voices: Voices, held: Callable[[float], str | None],
                  lookback_s: float = LOOKBACK_S, *, since: float = float("-inf"), utterance: bool = False,
                  after: float = float("-inf")) -> float | None:
    """For a click at `t` in a pause, giving `holder` the floor and moved nowhere: the onset of the
    speech before it (`onset_at`, with its rules; not before `after`) if that speech is `holder`'s
    by its voice (it lies NEARER their voice than the voice of whoever held the floor as it began,
    `held`, by `nearer`). Their turn was shorter than the chair's delay, and nobody clicked after
    it (nobody spoke, or the chair did, who needs no click)."""
    pause = _pause_at(runs, t)
    if pause is None:
        return None
    end = pause[0]
    onset = onset_at(runs, end, lookback_s - (t - end), since=since, utterance=utterance)
    if onset is None:
        return None
    start = max(onset, after)
    margin = nearer(runs, voices, start, end, holder, held(start))
    return start if margin is not None and margin >= NEARER else None


def nearer(runs: Sequence[Run], voices: Voices, onset: float, end: float, holder: str | None,
           other: str | None) -> float | None:
    """How much nearer the speech from `onset` to `end` (`heard_between`) lies to `holder`'s voice
    than to `other`'s (`voices.distance`), both known from their speech before `onset` (KNOWN_S);
    None: either not known, or under HEARD_S of speech, or one speaker."""
    said = heard_between(runs, onset, end)
    if holder == other or said is None or said.seconds < HEARD_S:
        return None
    theirs, others = voices.of(holder, onset), voices.of(other, onset)
    if theirs is None or others is None:
        return None
    return distance(said, others) - distance(said, theirs)


def late_for_the_run_before(runs: Sequence[Run], t: float, following: float,
                            lookback_s: float = LOOKBACK_S, since: float = float("-inf")) -> float | None:
    """For a click at `t` in a pause whose next holder's floor was moved back to `following`: if
    `following` is the first onset after `t` (nobody spoke between the click and the next speaker)
    and at most `lookback_s` after it, the onset of the speech that ended just before the click, if
    it began at most `lookback_s` before `t` (`onset_at`, with its rules)."""
    pause = _pause_at(runs, t)
    if pause is None:
        return None  # in speech, or no speech before the click
    end, nxt = pause
    if nxt is None or abs(nxt - following) > 1e-6 or nxt - t > lookback_s:
        return None
    return onset_at(runs, end, lookback_s - (t - end), since=since)


def settled(end: float, changes: Sequence[FloorChange], lookback_s: float = LOOKBACK_S) -> float:
    """When no click yet to come can move words said until `end` (wall time) to another speaker.
    A click moves the floor back at most `lookback_s`, so only one at most that long after the words
    can move them. One in speech is decided as it comes; one in a pause by the speech after it,
    which counts only if it begins within `lookback_s` of the click (`onset_at`) and moves the
    click back if the next holder's click, at most `lookback_s` after that speech began, claims it
    (`late_for_the_run_before`): so each such click waits `2 * lookback_s`, and a click within
    that wait may be in a pause too and wait in turn (a run of short turns)."""
    out = bound = end + lookback_s
    for at in sorted(change.at for change in changes if change.holder is not None and change.at > end):
        if at > bound:
            break
        out = bound = at + 2 * lookback_s
    return out


def onset_at(runs: Sequence[Run], t: float, lookback_s: float = LOOKBACK_S,
             since: float = float("-inf"), utterance: bool = False) -> float | None:
    """Where the new holder's speech began, for a click at `t`, if it began at most `lookback_s`
    before `t`: going back through the speech before the click and its short pauses, the onset that
    looks most like a new speaker (`_new_voice`: the longest pause, a change of voice counting as
    pause too; a speaker often stops for breath after their first word or two, "Now, ... the
    question is", and the pause before a new speaker is the longest around, unless they answered
    at once). A click in a pause: that pause competes too (its length and the voice after it, if
    the next speech began within `lookback_s` of the click; if not, or while nobody has spoken, it
    goes on): if it wins, the speech after the click is the new holder's and nothing moves (None).
    A click within a breath (BREATH_S) before the next run is read as one in the pause before it:
    the VAD places an onset to a tenth of a second, and a run cut where the voice changed has no
    pause before it. Never back to the previous holder's first run (the one going on at `since`,
    when they got the floor, or the first after it; with `utterance`, when their floor began at a
    click in a pause, that run and those after it within a breath in the same voice): the pause
    before it is the one before the previous speaker, often the longest too; a click in the speech
    of that run alone takes it (the previous holder said nothing else)."""
    i = _last_begun(runs, t)
    if i < 0:
        return None
    # the previous holder's first run, or utterance (runs after it within a breath) if their floor
    # began at a click in a pause: what they said, unless the click came late for a short turn
    first = _first_going_on(runs, since)
    if first + 1 < len(runs) and runs[first].onset < since and runs[first + 1].onset - since < BREATH_S:
        first += 1  # they were clicked just before it: as in the pause before it (below)
    last = first
    while utterance and last + 1 < len(runs) and t - runs[first].onset <= lookback_s and _breath(runs, last + 1):
        last += 1
    nxt = runs[i + 1].onset if i + 1 < len(runs) else None
    # in a pause, or just before the next run: as good as in the pause before it (a voice change
    # cut there has no pause, and the VAD places onsets to a tenth of a second); inside the
    # previous holder's first utterance, a breath in it is as its speech
    in_pause = not first <= i < last and (
        (nxt is not None and nxt - t < BREATH_S) or _pause_at(runs, t) is not None)
    longest = -1.0
    if in_pause:
        # the pause clicked in, to the next speech if it began within `lookback_s` of the click (if
        # not, or not yet, the pause goes on: the click's meaning is settled by then, `settled`)
        longest = _new_voice(runs, i + 1) if nxt is not None and nxt - t <= lookback_s else float("inf")
    best = None
    while i >= 0 and t - runs[i].onset <= lookback_s:
        if first <= i <= last:
            if best is not None or in_pause:
                break
            i = first  # clicked in it: its onset, or further back
        if (evidence := _new_voice(runs, i)) > longest:
            best, longest = runs[i].onset, evidence
        i -= 1
    return best


def _breath(runs: Sequence[Run], i: int) -> bool:
    """Whether run `i` goes on from the one before after a mere breath: a pause shorter than
    BREATH_S and hardly a change of voice (less than BREATH_VOICE; not yet scored: not known)."""
    before, change = runs[i - 1].end, runs[i].change
    return before is not None and runs[i].onset - before < BREATH_S and change is not None and change < BREATH_VOICE


def _new_voice(runs: Sequence[Run], i: int) -> float:
    """How much run `i`'s onset looks like a new speaker, in seconds of pause: the pause before it
    (endless for the first) and its voice change (`voices`; none yet: 0), each unit worth VOICE_S. Over 100 draws
    of clicks (`bench/attribution.py --gaps 0.1 0.4`: the sessions joined as a conversation, too
    little pause between speakers to tell a breath from a turn), late / in the pause: 97.0 / 97.7 %
    of words under the right name; the pause alone over the same runs 95.8 / 96.3 %, 0.5 s a unit
    96.4 / 95.9 %. The sessions as recorded: 99.40 % late, with or without."""
    if i == 0:
        return float("inf")
    before = runs[i - 1].end
    pause = float("inf") if before is None else runs[i].onset - before
    return pause + VOICE_S * (runs[i].change or 0.0)


def _last_begun(runs: Sequence[Run], t: float) -> int:
    """The index of the last run of speech that began at or before `t` (-1: none)."""
    return bisect.bisect_right(runs, t, key=_onset) - 1


def _first_going_on(runs: Sequence[Run], t: float) -> int:
    """The index of the first run of speech still going on after `t` (len(runs): none)."""
    return bisect.bisect_right(runs, t, key=_end)


def _onset(run: Run) -> float:
    return run.onset


def _end(run: Run) -> float:
    """Where a run ends, one going on never (runs are in order and never overlap: so are their ends)."""
    return float("inf") if run.end is None else run.end


def _pause_at(runs: Sequence[Run], t: float) -> tuple[float, float | None] | None:
    """For `t` in a pause after speech: where the speech before it ended and where the next began
    (None: nobody has spoken since). None if `t` is in speech or before any."""
    i = _last_begun(runs, t)
    end = runs[i].end if i >= 0 else None
    if end is None or t <= end:
        return None
    return end, runs[i + 1].onset if i + 1 < len(runs) else None


def said_at(word: Word, runs: Sequence[Run]) -> float:
    """Where in a word to read the floor: its middle, unless the middle lies in quiet and the word
    reaches into speech (the VAD's `runs`): then the nearest speech inside the word. Whisper often
    stretches the first word after a pause back into the pause, and its middle falls before the
    new speaker's onset, where the floor is still the previous speaker's."""
    t = word.middle
    best: float | None = None
    for k in range(bisect.bisect_left(runs, word.start, key=_end), len(runs)):  # none before ends before it
        onset, end = runs[k].onset, runs[k].end
        if onset > word.end:
            break
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
    """Who held the floor at `t`: the last change at or before it (`changes` in order of time, as
    `floor_changes` and `backdated` give them)."""
    i = bisect.bisect_right(changes, t, key=lambda change: change.at)
    return changes[i - 1].holder if i else None


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
