"""The stored record: the channel's speech decoded again as offline Whisper decodes a recording.

Live passes hear a few seconds at a time and commit a word once two passes agree, so a word
committed live was heard with less context than offline Whisper hears it ("sub" + "license",
"tense" for "tents"). Offline, faster-whisper drops the silences of two seconds or more (its VAD),
decodes the speech that remains in **windows** of 30 s, each conditioned on the text before it,
and starts each window where the last complete segment of the one before ended. The record does
the same, one window at a time, as the audio arrives: a window is decoded once the speech after
the last one's end holds a whole window and a little more (`WINDOW_S` + `SETTLED_S`: its VAD
chunks are then settled), so its words are those offline would write for the same audio. Where
offline would go on, the record stops short and decodes what it has, as if the recording ended
there (a **flush**): once the channel has been quiet for `QUIET_S`, where the language changes,
and at the end of the stream.

Closed lines are shown as heard live until the windows have decided all their words (`hand_out`);
each of a window's words goes to the line whose live word it matches, or to the nearest (`assign`),
unless the windows missed a line the live passes heard, or a stretch of it (`checked`).

Given the recording's own floor for the features, the record's words are offline's, word for word
where the features come out the same bits (tests/test_models.py; numpy's matmul rounds by the
matrix's width on some CPUs, and one float step moves where a window ends); a live record knows
only the loudest sound so far, and where that is lower than the recording's, its windows end
elsewhere (docs/transcription.md, "The record", has the figures).
Pure but for `decode`, which runs the recognizer it is given; no clock, no I/O.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..audio.pcm import SAMPLE_RATE
from .attribution import Line
from .gate import WINDOW, ProbabilityFn
from .streaming import Word, word_key

WINDOW_S = 30.0  # what Whisper hears at once, offline and in the record
SETTLED_S = 2.5  # speech past a window before it is decoded: the VAD's chunks inside the window are final
QUIET_S = 2.0  # a flush once the channel has heard nothing for this long after its last line
KEEP_S = 90.0  # audio kept: a window and what is heard while it decodes, well within this
CONTEXT_S = 2.5  # audio before a window's start in a job: the VAD's quiet so far (2 s + 0.4 s), the features' 0.1 s
READY_S = 1.0  # a line ending this far past the windows' end is decided if they heard its last word
EARLY_S = 3.0  # a word heard this far before any line waiting for words is nobody's: dropped
PAST_END_S = 0.3  # a word whose middle is further past a line's end is the next speech's
UNCOMMITTED_S = 0.8  # speech the VAD heard this far past the last line is not committed yet: no pause
INVENTED_PROBABILITY = 0.05  # a phrase after the last line's words starting this unlikely was invented ("Thank you.")
MISSED_SHARE = 0.5  # a line (or a stretch of one) of which the windows heard under half the letters keeps its live words
MIN_WORDS = 3  # ... when it had at least this many
# faster-whisper's VAD as offline runs it (VadOptions' defaults): speech from a probability of 0.5,
# ending at one under 0.35 followed by 2 s without speech, padded by 0.4 s each side
VAD_THRESHOLD = 0.5
VAD_NEG_THRESHOLD = 0.35
VAD_MIN_SILENCE_S = 2.0
VAD_PAD_S = 0.4


@dataclass(frozen=True)
class Window:
    """One window decoded (`WindowRecognizer.decode_window`)."""

    words: list[Word]  # times from the start of the speech given
    next_s: float  # where the next window starts: the end of the last complete segment, or the window's end
    prompt: tuple[int, ...]  # what the next window is conditioned on (Whisper's tokens; opaque here)
    language: str | None  # the language decoded in
    level: float  # the loudest the channel's features have been (opaque here: the recognizer's)


class WindowRecognizer(Protocol):
    """What the record needs from a recognizer: offline's windows, one at a time."""

    multilingual: bool

    def decode_window(self, speech: np.ndarray, *, start: int, level: float, language: str | None,
                      prompt: tuple[int, ...], hotwords: str, beam_size: int) -> Window:
        """The window (30 s) of `speech` (16 kHz mono float32, silences removed) from sample `start`
        as offline decodes it, conditioned on `prompt`; `language` None: detected on the window;
        `level`: the last window's (-inf at first)."""
        ...


@dataclass(frozen=True)
class Job:
    """What a window's decoding needs, taken from the channel on the loop."""

    start: float  # timeline position of `audio` (on a VAD window's edge)
    seek: float  # where the window starts (the last one's end; the audio before it is heard for the features)
    audio: np.ndarray
    probabilities: np.ndarray  # the VAD's, one per WINDOW samples of `audio`
    in_speech: bool  # `audio` starts in speech (offline's VAD chunk goes on from before it)
    final: bool  # a flush: decode to the end, as if the recording ended there
    prompt: tuple[int, ...]
    level: float
    hotwords: str
    language: str | None
    beam_size: int

    @property
    def end(self) -> float:
        return self.start + len(self.audio) / SAMPLE_RATE


@dataclass
class Decoded:
    """A job's outcome: the words decided, and where the next window starts."""

    words: list[Word] = field(default_factory=list)  # on the timeline
    until: float = 0.0  # every word before this is decided; the next window starts here
    prompt: tuple[int, ...] = ()
    language: str | None = None
    level: float = -np.inf
    windows: int = 0  # windows decoded (0: not enough speech yet)
    final: bool = False  # a flush: the next window starts afresh


class AudioHistory:
    """The channel's most recent audio on its timeline (every sample received, quiet included), and
    the VAD's probability for each of its windows of WINDOW samples (`probabilities`: offline's VAD,
    `vad.SileroStream`; None: none kept)."""

    def __init__(self, keep_s: float = KEEP_S, probabilities: ProbabilityFn | None = None) -> None:
        self.keep = int(keep_s * SAMPLE_RATE) // WINDOW * WINDOW
        self.vad = probabilities
        self._audio = np.zeros(0, np.float32)
        self._probabilities = np.zeros(0, np.float32)
        self._heard = 0  # samples of `_audio` the VAD has taken (whole windows)
        self.start = 0.0  # timeline position of the first sample kept
        self.end = 0.0

    def append(self, samples: np.ndarray) -> None:
        if len(samples) == 0:
            return
        self._audio = np.concatenate([self._audio, samples.astype(np.float32, copy=False)])
        self.end += len(samples) / SAMPLE_RATE
        whole = (len(self._audio) - self._heard) // WINDOW * WINDOW
        if self.vad is not None and whole:
            self.append_probabilities(self.vad(self._audio[self._heard : self._heard + whole]))
            self._heard += whole
        extra = (len(self._audio) - self.keep) // WINDOW * WINDOW  # whole windows: probabilities stay aligned
        if extra > self.keep // 4:  # drop in large pieces: one copy every 22 s, not every chunk
            self._audio = self._audio[extra:].copy()
            self._probabilities = self._probabilities[extra // WINDOW :].copy()
            self._heard = max(0, self._heard - extra)
            self.start += extra / SAMPLE_RATE

    def append_probabilities(self, probabilities: np.ndarray) -> None:
        """Probabilities for the next windows (the first window of the timeline on)."""
        if len(probabilities):
            self._probabilities = np.concatenate([self._probabilities, probabilities.astype(np.float32)])

    @property
    def voiced_end(self) -> float:
        """The end of the audio the VAD has heard (whole windows)."""
        return self.start + len(self._probabilities) * WINDOW / SAMPLE_RATE

    def slice(self, t0: float, t1: float) -> tuple[float, np.ndarray, np.ndarray]:
        """The audio from `t0` (moved back to a VAD window's edge, and clipped to what is kept) to `t1`
        (clipped to what the VAD has heard), where it starts, and its windows' probabilities."""
        first = max(0, int((t0 - self.start) * SAMPLE_RATE) // WINDOW)
        last = max(first, min(len(self._probabilities), round((t1 - self.start) * SAMPLE_RATE) // WINDOW))
        return (self.start + first * WINDOW / SAMPLE_RATE, self._audio[first * WINDOW : last * WINDOW],
                self._probabilities[first:last])


def speech_chunks(probabilities: np.ndarray, samples: int, *, in_speech: bool = False) -> list[tuple[int, int]]:
    """Where the speech is in audio of `samples` samples, from its VAD probabilities, as
    faster-whisper's `get_speech_timestamps` finds it offline with its default options: the same
    chunks, so that the record's windows hold the same speech as offline's (sample offsets).
    `in_speech`: the audio starts inside a chunk (where the last window ended, in speech)."""
    min_silence, pad = VAD_MIN_SILENCE_S * SAMPLE_RATE, int(VAD_PAD_S * SAMPLE_RATE)
    found: list[list[int]] = []
    start: int | None = 0 if in_speech else None
    quiet_from: int | None = None  # where the quiet that may end the chunk began
    for i, p in enumerate(probabilities):
        at = WINDOW * i
        if p >= VAD_THRESHOLD:
            quiet_from = None
            if start is None:
                start = at
            continue
        if p < VAD_NEG_THRESHOLD and start is not None:
            quiet_from = at if quiet_from is None else quiet_from
            if at - quiet_from >= min_silence:
                found.append([start, quiet_from])
                start, quiet_from = None, None
    if start is not None:
        found.append([start, samples])
    for i, chunk in enumerate(found):
        if i == 0:
            chunk[0] = max(0, chunk[0] - pad)
        if i < len(found) - 1:
            gap = found[i + 1][0] - chunk[1]
            half = gap // 2 if gap < 2 * pad else pad
            chunk[1] += half
            found[i + 1][0] = max(0, found[i + 1][0] - half)
        else:
            chunk[1] = min(samples, chunk[1] + pad)
    return [(a, b) for a, b in found]


class TimeMap:
    """From the joined speech's seconds back to the audio's, as faster-whisper restores a word's
    time: by the chunk its middle falls in."""

    def __init__(self, chunks: Sequence[tuple[int, int]]) -> None:
        self.ends: list[int] = []  # each chunk's end in the joined speech (samples)
        self.before: list[float] = []  # seconds of audio left out before each chunk
        left, previous = 0, 0
        for a, b in chunks:
            left += a - previous
            previous = b
            self.ends.append(b - left)
            self.before.append(left / SAMPLE_RATE)

    def original(self, t: float, at: float | None = None) -> float:
        """`t` on the audio's timeline, counted in the chunk where `at` (default: `t`) falls."""
        if not self.ends:
            return t
        chunk = min(bisect.bisect(self.ends, int((t if at is None else at) * SAMPLE_RATE)), len(self.ends) - 1)
        return t + self.before[chunk]

    def word(self, w: Word) -> Word:
        return Word(self.original(w.start, w.middle), self.original(w.end, w.middle), w.text, w.probability)


def joined(audio: np.ndarray, chunks: Sequence[tuple[int, int]]) -> np.ndarray:
    return np.concatenate([audio[a:b] for a, b in chunks]) if chunks else np.zeros(0, np.float32)


def speech_s(probabilities: np.ndarray, samples: int, *, in_speech: bool = False) -> float:
    """Seconds of speech in audio of `samples` samples, as offline's VAD keeps it."""
    return sum(b - a for a, b in speech_chunks(probabilities, samples, in_speech=in_speech)) / SAMPLE_RATE


def decode(job: Job, recognizer: WindowRecognizer) -> Decoded:
    """On the record's thread: the job's speech joined as offline joins it, then one window decoded
    from the seek (or, for a flush, windows to the end); not a window while the speech after the
    seek is shorter than WINDOW_S + SETTLED_S, unless the job is a flush."""
    chunks = speech_chunks(job.probabilities, len(job.audio), in_speech=job.in_speech)
    speech, timeline = joined(job.audio, chunks), TimeMap(chunks)
    seek = round((job.seek - job.start) * SAMPLE_RATE)
    at = sum(max(0, min(b, seek) - a) for a, b in chunks)  # the seek in the joined speech
    out = Decoded(until=job.seek, prompt=job.prompt, language=job.language, level=job.level, final=job.final)
    if not job.final and len(speech) - at < (WINDOW_S + SETTLED_S) * SAMPLE_RATE:
        return out
    while at < len(speech) - SAMPLE_RATE // 100:
        window = recognizer.decode_window(speech, start=at, level=out.level, language=out.language,
                                          prompt=out.prompt, hotwords=job.hotwords, beam_size=job.beam_size)
        out.words += [timeline.word(w.shifted(at / SAMPLE_RATE)).shifted(job.start) for w in window.words]
        out.prompt, out.language, out.level = window.prompt, window.language or out.language, window.level
        out.windows += 1
        at += max(round(window.next_s * SAMPLE_RATE), SAMPLE_RATE // 100)
        if not job.final:
            break
    out.until = job.end if job.final else job.start + timeline.original(at / SAMPLE_RATE)
    return out


def due(lines: Sequence[Line], *, open_line: Line | None, speech_after_s: float, heard_until: float,
        voiced_until: float, pause: bool, final: bool, multilingual: bool) -> tuple[float, bool] | None:
    """Whether the record decodes now, and to where: (end of the audio to decode, flush), or None.
    `lines`: the closed lines waiting for their words; `open_line`: the line being heard;
    `speech_after_s`: speech (offline's VAD) since the last window's end; `heard_until`: the end of
    the audio received; `voiced_until`: the end of the last speech the VAD heard; `pause`: nobody
    is speaking now; `multilingual`: languages matter (an English model has one)."""
    if final:
        return heard_until, True
    if lines:
        # one language a window: the lines before a change are flushed, up to where it starts
        language = lines[0].language
        later = [*lines[1:], *([open_line] if open_line is not None else [])]
        for before, line in zip([lines[0], *later], later, strict=False):
            if not multilingual:
                break
            known = language is not None and line.language is not None
            if (known and line.language != language) or (not known and line.speaker_id != before.speaker_id):
                return line.start, True
            language = language or line.language
        # a pause after the lines, not after speech the live passes have not committed yet
        quiet = pause and voiced_until <= lines[-1].end + UNCOMMITTED_S
        if quiet and heard_until - lines[-1].end >= QUIET_S:
            return heard_until, True
    if speech_after_s >= WINDOW_S + SETTLED_S:
        return heard_until, False
    return None


def hand_out(lines: Sequence[Line], heard: Sequence[Word], until: float) -> tuple[list[list[Word]], list[Word]]:
    """The first of the waiting `lines` whose words the windows have all decided (those ending
    before `until`, or a little after if the windows heard their last word), each with its words,
    and the words `heard` that are left for the lines after them."""
    owner, last_heard = _owners(lines, heard)
    ready = 0
    for n, line in enumerate(lines):
        if not (line.end <= until or (n in last_heard and line.end <= until + READY_S)):
            break
        ready = n + 1
    if not ready:
        return [], list(heard)
    # the words before the first one the live passes heard in a later line: those heard in these
    # lines, and those said before the last one ends or nearer to it than to the next line (words
    # the live passes missed)
    later = next((i for i, n in enumerate(owner) if n is not None and n >= ready), len(heard))
    last_end = lines[ready - 1].end + PAST_END_S
    if ready < len(lines):
        last_end = max(last_end, (lines[ready - 1].end + lines[ready].start) / 2)
    taken = [i for i in range(later) if owner[i] is not None or heard[i].middle <= last_end]
    # a phrase Whisper invents where a flush stops, after the last word the live passes heard
    # ("Thank you very much.", its first word at a probability near zero)
    tail = max((n + 1 for n, i in enumerate(taken) if owner[i] is not None), default=0)
    invented = next((n for n in range(tail, len(taken)) if heard[taken[n]].probability < INVENTED_PROBABILITY), None)
    mine = [heard[i] for i in (taken if invented is None else taken[:invented])]
    gone = set(taken)
    return assign(lines[:ready], mine), [w for i, w in enumerate(heard) if i not in gone]


def assign(lines: Sequence[Line], words: Sequence[Word]) -> list[list[Word]]:
    """Words shared out to `lines`. By what was said, not by time: a window's word times can be a
    second off where the VAD joined two stretches of speech, while its words mostly agree with the
    live ones. Each word the live passes also heard goes to that live word's line; a word they
    missed goes to the line nearest in time among its neighbours' lines and those between them,
    lines none of whose words the windows heard alike ("hitherto" heard live as "in the two")."""
    owner, _ = _owners(lines, words)
    out: list[list[Word]] = [[] for _ in lines]
    for i, word in enumerate(words):
        n = owner[i]
        if n is None:
            # the matched words' lines rise with the words: the nearest before is the largest
            before = max((m for m in owner[:i] if m is not None), default=0)
            after = min((m for m in owner[i + 1:] if m is not None), default=len(lines) - 1)
            n = min(range(before, after + 1),
                    key=lambda m: max(lines[m].start - word.middle, word.middle - lines[m].end, 0.0))
        out[n].append(word)
    return out


def _owners(lines: Sequence[Line], words: Sequence[Word]) -> tuple[list[int | None], set[int]]:
    """For each of `words`, the line whose live word it matches (None: the live passes missed it);
    and the lines whose last live word is matched."""
    live = [(n, w.key) for n, line in enumerate(lines) for w in line.words]
    owner: list[int | None] = [None] * len(words)
    last_matched: set[int] = set()
    matcher = difflib.SequenceMatcher(a=[k for _, k in live], b=[w.key for w in words], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            n = live[block.a + k][0]
            owner[block.b + k] = n
            if block.a + k + 1 == len(live) or live[block.a + k + 1][0] != n:
                last_matched.add(n)
    return owner, last_matched


def checked(live: Sequence[Word], heard: Sequence[Word], around: Sequence[Word] = ()) -> tuple[list[Word], int]:
    """The words to store for a line heard live as `live`, given the windows' `heard`, and how many
    stretches of it keep their live words: the whole line if the windows missed it (`missed`), and
    else each stretch they missed inside it (between words heard alike both ways, `MIN_WORDS` live
    words or more of which the windows heard under half the letters): Whisper jumps ahead in a
    window now and then, offline too ("if you love me and will" for "... will wed me it is
    enough"), and the live passes, which heard those seconds on their own, are the check. Not a
    stretch the windows heard, word for word, in this line or `around` it (the lines next to it): the
    live passes committed it twice ("horizon seems extremely distant the horizon seems ...")."""
    said = [w.key for w in (*heard, *around)]

    def keep(stretch: Sequence[Word], instead: Sequence[Word]) -> bool:
        return missed(stretch, instead) and not _within([w.key for w in stretch], said)

    if keep(live, heard):
        return list(live), 1
    out: list[Word] = []
    kept = 0
    matcher = difflib.SequenceMatcher(a=[w.key for w in live], b=[w.key for w in heard], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal" and keep(live[i1:i2], heard[j1:j2]):
            out += live[i1:i2]
            kept += 1
        else:
            out += heard[j1:j2]
    return out, kept


def _within(keys: Sequence[str], said: Sequence[str]) -> bool:
    """Whether `keys` occur, one after the other, in `said`."""
    n = len(keys)
    return any(list(said[i:i + n]) == list(keys) for i in range(len(said) - n + 1))


def missed(live: Sequence[Word], heard: Sequence[Word]) -> bool:
    """Whether the windows missed a line the live passes heard (the VAD dropped quiet speech, or
    Whisper skipped a stretch): then its live words are stored. Counted in letters, not words: one
    long word heard where the live passes heard three short ones ("hitherto", "in the two") is the
    same speech heard again."""
    return len(live) >= MIN_WORDS and _letters(heard) < MISSED_SHARE * _letters(live)


def _letters(words: Sequence[Word]) -> int:
    return sum(len(w.key) for w in words)


def hotwords_heard(hotwords: str, lines: Sequence[Line]) -> str:
    """Only the hotwords (names, the agenda item) the live passes heard: over a whole window, names
    nobody said change words that have nothing to do with them ("ask" -> "as")."""
    said = {w.key for line in lines for w in line.words}
    return " ".join(t for t in hotwords.split() if word_key(t) in said)
