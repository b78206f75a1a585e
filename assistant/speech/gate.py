"""The voice activity gate: only speech reaches Whisper, and pauses end utterances.

`SpeechGate` is pure: it takes audio and a function that gives one speech
probability per 512-sample window (Silero VAD in the product, anything in
tests) and says which audio to pass on and when an utterance has ended.
Silence never reaches the recognizer, so it cannot invent words in pauses.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..audio.pcm import SAMPLE_RATE
from .voices import Change, Voice, VoiceChanges, cepstra

WINDOW = 512  # samples: 32 ms at 16 kHz, Silero's window

ProbabilityFn = Callable[[np.ndarray], np.ndarray]  # windows (n*512 samples) -> n probabilities
CUT_MARGIN_S = 0.3  # a voice change cuts a run only this far inside it


class Run(NamedTuple):
    """A run of speech on the timeline: from `onset` to `end` (None while it goes on), with how much
    the voice changed at its onset (`voices.divergence`; None until a second of speech after it is
    heard) and the voice heard in it so far (`voices.Voice`: who it sounds like)."""

    onset: float
    end: float | None
    change: float | None = None
    voice: Voice | None = None


@dataclass
class Part:
    """Speech of one utterance within a push."""

    speech: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (timeline start, samples)
    ended: bool = False  # a pause ended the utterance here: commit what is pending before the next part
    reset: bool = False  # and the pause went on: the next speech starts afresh (no shared context)
    voiced_until: float | None = None  # where an ended utterance last sounded like speech, before the pause


@dataclass
class Gated:
    """What the gate lets through for one push, split where utterances end: a long push may hold
    the end of one utterance and the start of the next, which must not be transcribed together."""

    parts: list[Part] = field(default_factory=lambda: [Part()])

    @property
    def speech(self) -> list[tuple[float, np.ndarray]]:
        return [w for part in self.parts for w in part.speech]

    @property
    def ended(self) -> bool:
        return any(part.ended for part in self.parts)


class SpeechGate:
    def __init__(
        self,
        probabilities: ProbabilityFn,
        *,
        threshold: float = 0.5,
        neg_threshold: float = 0.35,
        min_silence_s: float = 0.6,
        pad_s: float = 0.4,
        max_gap_s: float = 1.5,
        run_gap_s: float = 0.1,
        runs_kept: int = 256,
    ) -> None:
        self.probabilities = probabilities
        self.threshold, self.neg_threshold = threshold, neg_threshold
        self.min_silence_windows = max(1, int(min_silence_s * SAMPLE_RATE / WINDOW))
        self.pad_windows = max(0, int(pad_s * SAMPLE_RATE / WINDOW))
        self._carry = np.zeros(0, dtype=np.float32)
        self._time = 0.0  # timeline position of the next full window
        self._preroll: deque[tuple[float, np.ndarray]] = deque(maxlen=self.pad_windows or 1)
        # After a pause ends an utterance, the quiet that follows is held for up to max_gap_s: if
        # speech resumes within it, it is passed on whole, so the recognizer hears the new words
        # with the last ones as context on one unbroken timeline; if not, the next speech resets.
        self.max_gap_windows = max(0, int(max_gap_s * SAMPLE_RATE / WINDOW))
        self._held: list[tuple[float, np.ndarray]] | None = None
        self.in_speech = False
        self._silent_windows = 0
        self.voiced_until = 0.0  # timeline end of the last window heard as speech
        # Runs of speech on the timeline: where a speaker may have begun, for a floor change clicked
        # after the first words. Quiet shorter than run_gap_s joins two runs; a change of voice with
        # no quiet between (`voices`) cuts one.
        self.run_gap_s = run_gap_s
        self.runs: deque[Run] = deque(maxlen=runs_kept)
        self.voices = VoiceChanges()

    def push(self, samples: np.ndarray) -> Gated:
        audio = np.concatenate([self._carry, samples.astype(np.float32, copy=False)])
        whole = len(audio) // WINDOW * WINDOW
        self._carry = audio[whole:]
        out = Gated()
        if whole == 0:
            return out
        windows = audio[:whole].reshape(-1, WINDOW)
        probs = self.probabilities(audio[:whole])
        voiced: list[int] = []
        times: list[float] = []
        for n, (window, p) in enumerate(zip(windows, probs, strict=True)):
            start = self._time
            self._time += WINDOW / SAMPLE_RATE
            part = out.parts[-1]
            if p >= self.threshold:
                if self.runs and (self.runs[-1].end is None or start - self.runs[-1].end < self.run_gap_s):
                    self.runs[-1] = self.runs[-1]._replace(end=None)
                else:
                    self.runs.append(Run(start, None))
                self.voiced_until = self._time
                voiced.append(n)
                times.append(start)
            elif self.runs and self.runs[-1].end is None and self._time - self.voiced_until >= self.run_gap_s:
                self.runs[-1] = self.runs[-1]._replace(end=self.voiced_until)
            if self.in_speech:
                part.speech.append((start, window))
                if p < self.neg_threshold:
                    self._silent_windows += 1
                    if self._silent_windows >= self.min_silence_windows:
                        self.in_speech = False
                        part.ended = True
                        part.voiced_until = self.voiced_until
                        out.parts.append(Part())
                        self._held = []
                else:
                    self._silent_windows = 0
            elif p >= self.threshold:
                self.in_speech = True
                self._silent_windows = 0
                if self._held is not None:  # a short pause: the quiet goes along, the timeline unbroken
                    part.speech.extend(self._held)
                else:
                    part.speech.extend(self._preroll if self.pad_windows else [])
                self._held = None
                self._preroll.clear()
                part.speech.append((start, window))
            else:
                if self._held is not None:
                    self._held.append((start, window))
                    if len(self._held) > self.max_gap_windows:  # a long pause: start afresh
                        self._held = None
                        part.reset = True
                        out.parts.append(Part())
                if self.pad_windows:
                    self._preroll.append((start, window))
        if voiced:
            heard = cepstra(windows[voiced])
            most = self.voices.most  # a cut's windows are all still held when it is found
            for k in range(0, len(voiced), most):
                self._voiced(times[k : k + most], heard[k : k + most])
                self._heard_voices(*self.voices.push(times[k : k + most], heard[k : k + most]))
        return out

    def _voiced(self, times: list[float], heard: np.ndarray) -> None:
        """Each voiced window's cepstrum added to the voice of the run it is in."""
        runs: dict[int, list[int]] = {}
        for k, t in enumerate(times):
            i = self._run_at(t)
            if i is not None:
                runs.setdefault(i, []).append(k)
        for i, ks in runs.items():
            part, voice = Voice.of(heard[ks]), self.runs[i].voice
            self.runs[i] = self.runs[i]._replace(voice=part if voice is None else voice + part)

    def _heard_voices(self, scored: list[Change], cuts: list[Change]) -> None:
        """Each run's onset takes its voice change once a second of speech after it is heard; a
        change of voice inside a run (at least CUT_MARGIN_S from its ends) cuts it in two."""
        for change in scored:
            i = self._run_at(change.at)
            if i is not None and self.runs[i].onset == change.at:
                self.runs[i] = self.runs[i]._replace(change=change.score)
        for cut in cuts:
            i = self._run_at(cut.at)
            if i is None:
                continue
            onset, end, score, voice = self.runs[i]
            if cut.at - onset >= CUT_MARGIN_S and (end is None or end - cut.at >= CUT_MARGIN_S):
                after: Voice | None = self.voices.since(cut.at, end)
                if voice is not None and after is not None and after.count:
                    voice -= after
                else:
                    after = None
                self.runs[i] = Run(onset, cut.at, score, voice)
                if len(self.runs) == self.runs.maxlen:  # the oldest run goes, as append would drop it
                    self.runs.popleft()
                    i -= 1
                self.runs.insert(i + 1, Run(cut.at, end, cut.score, after))

    def _run_at(self, t: float) -> int | None:
        """The index of the run that holds timeline `t` (its onset at or before it), latest first."""
        for i in range(len(self.runs) - 1, -1, -1):
            if self.runs[i].onset <= t:
                end = self.runs[i].end
                return i if end is None or t < end else None
        return None
