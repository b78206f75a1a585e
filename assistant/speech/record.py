"""The stored record: closed lines decoded again in blocks, as the same model decodes a recording.

Live passes hear a few seconds at a time and commit a word once two passes agree, so a word
committed live was heard with less context than offline Whisper hears it ("sub" + "license",
"tense" for "tents"), and a short utterance alone is heard with none. Offline decoding hears 30 s
windows of speech, each conditioned on the text before it. So closed lines are not stored at once:
they wait, shown as heard live, until they make a **block** of the channel's audio (`due`): at
least `BLOCK_S` of it ending in a pause, or any length once the channel has been quiet for
`QUIET_S`, or `MAX_BLOCK_S` without a pause, or where the language changes, or at the end of the
stream. The block is decoded as a recording is offline (`WholeRecognizer.transcribe_whole`:
faster-whisper's own windows and VAD, beam 5, conditioned on the previous text), with the
channel's stored text before it as the prompt, and its words replace the lines' live words, each
going to the line nearest it in time (`assign`), unless the block missed a line the live passes
heard (`missed`).

Replayed on the five English streams (bench/replay.py), blocks cut at pauses after 10 s stored
126 errors, after 20 s 125, after 30 s 125, where the same model offline makes 124 and the live
words 164 (docs/transcription.md). Pure: the recognizer is passed in; no clock, no I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..audio.pcm import SAMPLE_RATE
from .attribution import Line
from .streaming import Word, word_key

BLOCK_S = 20.0  # a block is decoded at the first pause after this much of the channel's speech
MAX_BLOCK_S = 30.0  # ... or at this length, pause or not; never longer (the audio kept is 90 s)
QUIET_S = 2.0  # ... or at any length once the channel has heard nothing for this long
KEEP_S = 90.0  # audio kept: a block waits for its pause and for late clicks, well within this
EARLY_S = 3.0  # audio before a block's first line that it hears: words the live passes missed there
PAD_AFTER_S = 0.4  # audio after a block's last word that it hears (never into the next speech)
PAST_END_S = 0.3  # a block's word whose middle is further past the last line's end is the next speech's
PROMPT_CHARS = 1000  # the stored text before a block, as its prompt (Whisper keeps 223 tokens of it)
UNCOMMITTED_S = 0.8  # speech the VAD heard this far past the last line is not committed yet: no pause
INVENTED_PROBABILITY = 0.05  # a phrase after the block's speech starting this unlikely was invented ("Thank you.")
MISSED_SHARE = 0.5  # a line for which the block heard under half as many words keeps its live words
MIN_WORDS = 3  # ... when it had at least this many


class WholeRecognizer(Protocol):
    """What the record needs from a recognizer: a recording's decoding, as offline."""

    multilingual: bool

    def transcribe_whole(self, audio: np.ndarray, *, language: str | None, prompt: str, hotwords: str,
                         beam_size: int) -> list[Word]:
        """Words with times relative to the start of `audio` (16 kHz mono float32)."""
        ...


@dataclass(frozen=True)
class Block:
    """What a block's decoding needs, taken from the channel when the block is due."""

    lines: list[Line]
    start: float  # timeline position of `audio`
    audio: np.ndarray
    prompt: str
    hotwords: str
    language: str | None


class AudioHistory:
    """The channel's most recent audio on its timeline (every sample received, quiet included)."""

    def __init__(self, keep_s: float = KEEP_S) -> None:
        self.keep = int(keep_s * SAMPLE_RATE)
        self._audio = np.zeros(0, np.float32)
        self.start = 0.0  # timeline position of the first sample kept
        self.end = 0.0

    def append(self, samples: np.ndarray) -> None:
        if len(samples) == 0:
            return
        self._audio = np.concatenate([self._audio, samples.astype(np.float32, copy=False)])
        self.end += len(samples) / SAMPLE_RATE
        extra = len(self._audio) - self.keep
        if extra > self.keep // 4:  # drop in large pieces: one copy every 22 s, not every chunk
            self._audio = self._audio[extra:].copy()
            self.start += extra / SAMPLE_RATE

    def slice(self, t0: float, t1: float) -> tuple[float, np.ndarray]:
        """The audio from `t0` to `t1` (clipped to what is kept) and where it starts."""
        t0 = max(t0, self.start)
        i, j = round((t0 - self.start) * SAMPLE_RATE), round((t1 - self.start) * SAMPLE_RATE)
        return t0, self._audio[max(i, 0) : max(j, 0)]


def due(lines: Sequence[Line], *, heard_until: float, voiced_until: float, pause: bool, final: bool) -> int:
    """How many of the waiting `lines` (closed, in order) make a block now; 0: not yet.
    `heard_until`: the end of the audio received; `voiced_until`: the end of the last speech the VAD
    heard; `pause`: nobody is speaking now."""
    if not lines:
        return 0
    language = lines[0].language
    for n, line in enumerate(lines[1:], 1):
        before = lines[n - 1]
        if line.start - lines[0].start >= MAX_BLOCK_S:
            return n  # a block is at most MAX_BLOCK_S of speech, however many lines waited for it
        if language is not None and line.language is not None and line.language != language:
            return n  # one language a block: the lines before the change make one now
        if (before.language is None or line.language is None) and line.speaker_id != before.speaker_id:
            return n  # a line whose language is not known yet never joins another speaker's
        language = language or line.language
    span = lines[-1].end - lines[0].start
    if final or span >= MAX_BLOCK_S:
        return len(lines)
    # a pause after the lines, not after speech the live passes have not committed yet
    quiet = pause and voiced_until <= lines[-1].end + UNCOMMITTED_S
    if quiet and (span >= BLOCK_S or heard_until - lines[-1].end >= QUIET_S):
        return len(lines)
    return 0


def bounds(lines: Sequence[Line], *, block_start: float, next_onset: float | None, heard_until: float,
           voiced_until: float | None) -> tuple[float, float]:
    """The block's audio: from a little before its first line (not before the previous block's
    end) to a little after its speech ends (`voiced_until`, the VAD's end of speech when the block
    is cut in a pause; Whisper's word times end early), never into the speech that follows
    (`next_onset`: the next run of speech, the next line waiting or the open line)."""
    t0 = max(block_start, lines[0].start - EARLY_S)
    t1 = min(max(lines[-1].end, voiced_until or 0.0) + PAD_AFTER_S, heard_until)
    if next_onset is not None and next_onset > lines[-1].end:
        t1 = min(t1, next_onset)
    return t0, max(t1, lines[-1].end)


def assign(lines: Sequence[Line], words: Sequence[Word]) -> list[list[Word]]:
    """The block's words shared out to its lines. By what was said, not by time: a block's word
    times can be a second off where faster-whisper's VAD joined two stretches of speech, while its
    words mostly agree with the live ones. Each word the live passes also heard goes to that live
    word's line; a word they missed goes with its neighbours, and between two lines to the one
    nearer in time."""
    live = [(n, w.key) for n, line in enumerate(lines) for w in line.words]
    owner: list[int | None] = [None] * len(words)
    matcher = difflib.SequenceMatcher(a=[k for _, k in live], b=[w.key for w in words], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            owner[block.b + k] = live[block.a + k][0]
    out: list[list[Word]] = [[] for _ in lines]
    for i, word in enumerate(words):
        n = owner[i]
        if n is None:
            before = next((owner[j] for j in range(i - 1, -1, -1) if owner[j] is not None), None)
            after = next((owner[j] for j in range(i + 1, len(words)) if owner[j] is not None), None)
            near = sorted({x for x in (before, after) if x is not None}) or list(range(len(lines)))
            n = min(near, key=lambda m: max(lines[m].start - word.middle, word.middle - lines[m].end, 0.0))
        out[n].append(word)
    return out


def heard_in(lines: Sequence[Line], words: Sequence[Word]) -> list[Word]:
    """A block's words that are its lines': not those past its last line (the next speech's, heard
    again by the next block), nor a phrase Whisper invents where the block's audio stops, after the
    last word the live passes also heard ("Thank you very much.", its first word at a probability
    near zero; offline, the next speech follows and nothing is invented there)."""
    live = [w.key for line in lines for w in line.words]
    matcher = difflib.SequenceMatcher(a=live, b=[w.key for w in words], autojunk=False)
    blocks = [m for m in matcher.get_matching_blocks() if m.size]
    heard = {m.b + k for m in blocks for k in range(m.size)}
    # a word the live passes also heard stays, however late Whisper timed it
    last = lines[-1].end + PAST_END_S
    kept = [i for i, w in enumerate(words) if i in heard or w.middle <= last]
    out = [words[i] for i in kept]
    tail = max((n + 1 for n, i in enumerate(kept) if i in heard), default=0)
    invented = next((i for i in range(tail, len(out)) if out[i].probability < INVENTED_PROBABILITY), None)
    return out if invented is None else out[:invented]


def missed(live: Sequence[Word], heard: Sequence[Word]) -> bool:
    """Whether the block missed a line the live passes heard (faster-whisper's VAD dropped quiet
    speech, or a window was skipped): then its live words are stored."""
    return len(live) >= MIN_WORDS and len(heard) < MISSED_SHARE * len(live)


def prompt(stored: Sequence[str]) -> str:
    """The text stored before a block, as its prompt: what offline decoding conditions on."""
    return " ".join(stored)[-PROMPT_CHARS:].strip()


def hotwords_heard(hotwords: str, lines: Sequence[Line]) -> str:
    """Only the hotwords (names, the agenda item) the live passes heard in the block: over a whole
    block, names nobody said change words that have nothing to do with them ("ask" -> "as")."""
    said = {w.key for line in lines for w in line.words}
    return " ".join(t for t in hotwords.split() if word_key(t) in said)
