"""The second look: a closed line decoded whole before it is stored.

Live passes hear a few seconds at a time and commit words as soon as two passes
agree, so a word committed early was heard with less context than offline
Whisper would have ("sub" + "license", "tense" for "tents"). When a line closes
(a pause, a floor change, or its length), its audio is decoded once more as a
whole, with the stored text before it as the prompt, as offline decoding does;
what that decoding writes is stored when it checks out against the live words
(`checks_out`), else the live words are. Pure: the recognizer is passed in, no
clock and no I/O; the pipeline runs it on the model's thread.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio.pcm import SAMPLE_RATE
from .attribution import Line
from .streaming import (
    READ_BACK_PROBABILITY,
    Recognizer,
    Word,
    with_punctuation_attached,
    without_loop,
    without_read_back,
    word_key,
)

KEEP_S = 60.0  # audio kept for second looks: a line is at most 20 s, and reviewed within seconds
PAD_BEFORE_S = 0.3  # audio before a line's first word and after its last one that the second look hears
PAD_AFTER_S = 0.4
HOTWORDS_MIN_S = 2.0
MIN_WORDS = 3  # shorter lines are stored as heard live
MIN_LINE_S = 1.0
# Audio before the line the second look could hear as context (its words decoded and dropped).
# Replayed with 8 s (share 0.15, live start): hifitts 62 errors against 66, but eval 5 against 3 and
# session a 30 against 27, session b 17 against 19: no gain overall, for a tenth more compute. Off.
CONTEXT_S = 0.0
PROMPT_CHARS = 200
LIVE_START = True  # a line keeps its live first words up to where the second look agrees
PAST_END_S = 0.15  # a second-look word whose middle is further past the line's last live word is not kept
# The share of the live words the second look may change and still be stored. Replayed over five
# streams (2,297 words, late clicks; offline 124 errors, live 164): a share of 0.15 stored 148 errors,
# 0.34 155, 0.5 159, any 159 (with the line's live start kept; without it 155, 160, 163, 163).
MAX_CHANGED = 0.15
MIN_CHANGED = 2  # ... and it may always change this many (a compound split live, a tense)


@dataclass(frozen=True)
class Review:
    """A closed line waiting for its second look."""

    line: Line
    hotwords: str
    next_start: float | None = None  # where the next speaker's first word starts, if it follows at once
    previous_end: float = 0.0  # where the line before ended


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
        if extra > self.keep // 4:  # drop in large pieces: one copy every 15 s, not every chunk
            self._audio = self._audio[extra:].copy()
            self.start += extra / SAMPLE_RATE

    def slice(self, t0: float, t1: float) -> tuple[float, np.ndarray]:
        """The audio from `t0` to `t1` (clipped to what is kept) and where it starts."""
        t0 = max(t0, self.start)
        i, j = round((t0 - self.start) * SAMPLE_RATE), round((t1 - self.start) * SAMPLE_RATE)
        return t0, self._audio[max(i, 0) : max(j, 0)]


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def checks_out(live: Sequence[Word], second: Sequence[Word], *, max_changed: float | None = None,
               min_changed: int = MIN_CHANGED) -> bool:
    """Whether the second look may replace the live words: it heard something, and it changed at most
    `max_changed` of the live words (or `min_changed`, on a short line: a compound joined, a tense). Past that the two decodings
    disagree about what was said, not about how to write it, and the one the captions showed stands:
    a whole-line decoding can still skip a phrase or loop, where live passes, agreeing twice, rarely do."""
    if not second:
        return False
    a, b = [w.key for w in live], [w.key for w in second]
    share = MAX_CHANGED if max_changed is None else max_changed
    return edit_distance(a, b) <= max(min_changed, share * len(a))


def second_look(recognizer: Recognizer, history: AudioHistory, review: Review, *, language: str | None,
                stored: Sequence[tuple[float, str]], beam_size: int, runs: Sequence[tuple[float, float | None]] = (),
                max_changed: float | None = None) -> list[Word] | None:
    """The line decoded whole, on the channel's timeline, if it checks out; else None. `stored`: the
    channel's stored lines as (end, text), the prompt; `runs`: the VAD's runs of speech."""
    line = review.line
    if len(line.words) < MIN_WORDS or line.end - line.start < MIN_LINE_S:
        return None  # on a word or two Whisper hears what it likes ("For" -> "Thank you.")
    # Heard with what came before as context, as offline decoding hears a 30 s window: the earlier
    # words are decoded again and dropped below, and the prompt is what was stored before them.
    t0 = max(line.start - PAD_BEFORE_S - (CONTEXT_S or 0.0), 0.0 if CONTEXT_S else review.previous_end)
    # not into what follows: the next line's first word, or the next speech the VAD heard (a pause
    # closed the line; the words after it belong to the next line even when Whisper timed them early)
    after = [onset for onset, _ in runs if onset > line.end]
    t1 = min(line.end + PAD_AFTER_S, review.next_start if review.next_start is not None else float("inf"),
             min(after, default=float("inf")), history.end)
    t0, audio = history.slice(t0, t1)
    if len(audio) < SAMPLE_RATE // 4:
        return None
    prompt = " ".join(text for end, text in stored if end <= t0 + 0.1)[-PROMPT_CHARS:]
    # Only the hotwords the live passes heard in this line: on a whole line, unused names and the
    # agenda item in the prompt change words that have nothing to do with them ("ask" -> "as").
    said = {w.key for w in line.words}
    hotwords = " ".join(t for t in review.hotwords.split() if word_key(t) in said)
    hotwords = hotwords if len(audio) >= HOTWORDS_MIN_S * SAMPLE_RATE else ""
    extra: dict[str, Any] = {"beam_size": beam_size} if getattr(recognizer, "takes_beam_size", False) else {}
    heard = recognizer.transcribe(audio, language=language, prompt=prompt, hotwords=hotwords, **extra)
    words = without_loop(with_punctuation_attached(without_read_back(heard, f"{prompt} {hotwords}".strip())))
    while words and words[-1].probability < READ_BACK_PROBABILITY:  # "Thank you." invented after the speech
        words.pop()
    # Words past the line's last live word are not this line's: when speech resumes after a short
    # pause the live passes hear them again, with this audio as context, in the next line. Nor are
    # those before its first one (the context, the end of the previous speaker's last word).
    words = [w for w in (w.shifted(t0) for w in words) if line.start - PAST_END_S <= w.middle <= line.end + PAST_END_S]
    if LIVE_START:
        words = with_live_start(line.words, words)
    return words if checks_out(line.words, words, max_changed=max_changed) else None


def with_live_start(live: Sequence[Word], second: Sequence[Word]) -> list[Word]:
    """The second look from the first word it shares with the live line, the live words before it
    (if any: words the live passes missed at the start are taken). A line's first words are where
    the second look hears least: its audio starts at the line, while the live passes heard those
    words with what came before in their buffer. Replayed (session a), a second look that wrote a
    line's first word differently was wrong four times in five ("Unless" -> "A less", "the joyous"
    -> "a joyous"; right: "asked" -> "Ask")."""
    a, b = [w.key for w in live], [w.key for w in second]
    first = next((m for m in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks() if m.size), None)
    if first is None or first.a == 0:  # nothing to keep, or only words the live passes missed ("The")
        return list(second)
    return [*live[: first.a], *second[first.b :]]
