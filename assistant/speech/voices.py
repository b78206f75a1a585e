"""Where the voice changes: one speaker's last second against the next second of speech.

Pure numpy, no model: each 32 ms window of speech is summed up by its cepstrum (13
mel-frequency cepstral coefficients: the shape of the voice's spectrum, not its words),
and a point in the speech is scored by how far the second of speech before it lies from
the second after it (the symmetric divergence of two diagonal Gaussians, per
coefficient). On the four-speaker sessions, the gate's runs of speech that begin a turn
score a median 1.76 and 2.04, the others (a speaker's breaths) 0.50 (`tests/test_voices.py`).

Attribution reads it twice (`attribution.onset_at`): a late click moves back to the onset
that looks most like a new speaker, by its pause and its voice change together; and the
gate cuts its runs of speech where the voice changes with no pause between (people in a
conversation answer within a tenth of a second, too little for a pause to show).

The same cepstra, summed over a run of speech (`Voice`), say whose voice it is: a
speaker's voice is the sum of their runs, and speech lies nearer its own speaker's voice
than another's by the same divergence (`attribution.late_by_voice`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..audio.pcm import SAMPLE_RATE

WINDOW = 512  # samples: the gate's window
SPAN_S = 1.0  # speech compared on each side of a point
PEAK_S = 0.5  # a cut is the highest score this far either side
CUT_AT = 2.0  # a score from which a voice change with no pause between cuts a run


def _mel_bank(bands: int = 40, low: float = 60.0, high: float = 7600.0) -> np.ndarray:
    """Triangular mel filters over a WINDOW-point spectrum."""
    def mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    edges = 700.0 * (10 ** (np.linspace(mel(np.array(low)), mel(np.array(high)), bands + 2) / 2595.0) - 1.0)
    bins = np.floor((WINDOW + 1) * edges / SAMPLE_RATE).astype(int)
    bank = np.zeros((bands, WINDOW // 2 + 1))
    for i in range(bands):
        a, b, c = bins[i : i + 3]
        bank[i, a:b] = (np.arange(a, b) - a) / max(b - a, 1)
        bank[i, b:c] = (c - np.arange(b, c)) / max(c - b, 1)
    return bank


_BANK = _mel_bank()
_DCT = np.cos(np.pi / _BANK.shape[0] * (np.arange(_BANK.shape[0])[None, :] + 0.5) * np.arange(1, 14)[:, None])
_HANN = np.hanning(WINDOW)
COEFFICIENTS = len(_DCT)


def cepstra(windows: np.ndarray) -> np.ndarray:
    """(n, WINDOW) samples -> (n, 13) cepstral coefficients c1..c13 (c0, the loudness, left out)."""
    power = np.abs(np.fft.rfft(windows * _HANN, axis=1)) ** 2
    out: np.ndarray = np.log(power @ _BANK.T + 1e-8) @ _DCT.T
    return out


def divergence(before: np.ndarray, after: np.ndarray) -> float:
    """How far two stretches of cepstra lie apart: the symmetric Kullback-Leibler divergence of
    diagonal Gaussians fitted to each, per coefficient (0: the same voice and sounds); 0 when
    either has fewer than three windows (`distance`)."""
    return distance(Voice.of(before), Voice.of(after))


@dataclass(frozen=True, eq=False)
class Voice:
    """Windows of speech summed up by their cepstra, in one row (`sums`): how many, their sum and
    their sum of squares. Two stretches add (`+`), and a part of one can be taken back out (`-`),
    so a run of speech keeps its voice as it grows, and a speaker's voice is the sum of their runs'
    (`attribution.Voices` adds many rows at once)."""

    sums: np.ndarray  # (1 + 2 * COEFFICIENTS,): count, sum, sum of squares

    @classmethod
    def of(cls, cepstra: np.ndarray) -> Voice:
        return cls(np.concatenate(([len(cepstra)], cepstra.sum(axis=0), (cepstra**2).sum(axis=0))))

    def __add__(self, other: Voice) -> Voice:
        return Voice(self.sums + other.sums)

    def __sub__(self, other: Voice) -> Voice:
        return Voice(self.sums - other.sums)

    @property
    def count(self) -> int:
        return int(self.sums[0])

    @property
    def seconds(self) -> float:
        return self.count * WINDOW / SAMPLE_RATE


def distance(a: Voice, b: Voice) -> float:
    """`divergence` of the Gaussians two voices sum up (0 when either holds fewer than three windows)."""
    if a.count < 3 or b.count < 3:
        return 0.0
    ea, eb = a.sums[1:] / a.sums[0], b.sums[1:] / b.sums[0]  # the means of c and of c squared
    ma, mb = ea[:COEFFICIENTS], eb[:COEFFICIENTS]
    va = np.maximum(ea[COEFFICIENTS:] - ma**2, 0.0) + 1e-2
    vb = np.maximum(eb[COEFFICIENTS:] - mb**2, 0.0) + 1e-2
    kl2 = 0.5 * np.sum(va / vb + vb / va - 2.0 + (ma - mb) ** 2 * (1.0 / va + 1.0 / vb))
    return float(kl2) / len(ma)


@dataclass(frozen=True)
class Change:
    at: float  # timeline start of the first window of speech after the point
    score: float  # `divergence` of the SPAN_S of speech before and after it


class VoiceChanges:
    """Scores each window of speech as the start of a new voice, SPAN_S of speech after it, and
    finds the cuts: the points that score at least CUT_AT and highest within PEAK_S of speech
    either side (`push` returns both as they become known). Holds a few seconds of cepstra. The
    last second of speech before a long quiet is scored only when speech comes again."""

    def __init__(self, span_s: float = SPAN_S, peak_s: float = PEAK_S, cut_at: float = CUT_AT) -> None:
        self.n = max(3, round(span_s * SAMPLE_RATE / WINDOW))
        self.half = max(1, round(peak_s * SAMPLE_RATE / WINDOW))
        # a cut is found n + half windows before the newest; windows held: 2n. So `since` sees every
        # window after a cut only if a push hands over at most n - half windows after it
        self.most = max(1, self.n - self.half)
        self.cut_at = cut_at
        self._times: deque[float] = deque(maxlen=2 * self.n)
        self._cepstra: deque[np.ndarray] = deque(maxlen=2 * self.n)
        self._scores: deque[Change] = deque(maxlen=2 * self.half + 1)

    def push(self, times: list[float], heard: np.ndarray) -> tuple[list[Change], list[Change]]:
        """Windows of speech (timeline starts, their `cepstra`; at most `most` of them, for `since`):
        the points scored now, and the cuts found."""
        scored: list[Change] = []
        cuts: list[Change] = []
        for t, c in zip(times, heard, strict=True):
            self._times.append(t)
            self._cepstra.append(c)
            if len(self._cepstra) < self.n + self.n // 2:
                continue  # half a second before it at least: fewer windows make noisy figures
            k = len(self._cepstra) - self.n  # the point with SPAN_S of speech after it
            stack = np.array(self._cepstra)
            change = Change(self._times[k], divergence(stack[max(0, k - self.n) : k], stack[k:]))
            scored.append(change)
            self._scores.append(change)
            if len(self._scores) == self._scores.maxlen:
                middle = self._scores[self.half]
                if middle.score >= self.cut_at and middle.score >= max(s.score for s in self._scores):
                    cuts.append(middle)
        return scored, cuts

    def since(self, start: float, end: float | None) -> Voice:
        """The voice of the windows held (the last 2 * SPAN_S of speech) from timeline `start` to
        `end` (None: on): the part of a run after a cut found in the last `push`, all of it held."""
        held = [c for t, c in zip(self._times, self._cepstra, strict=True) if start <= t and (end is None or t < end)]
        return Voice.of(np.array(held).reshape(-1, COEFFICIENTS))
