"""Fakes the speech tests share: a tone "language", its recognizer and VAD, a clock, a meeting sink.

Each word of the tone language is a burst of its own loudness, read back by a
scripted recognizer; the VAD hears anything loud as speech. Only the model is
faked; the gate, the streaming policy, attribution and the server are real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from assistant.audio.pcm import SAMPLE_RATE
from assistant.speech.gate import WINDOW
from assistant.speech.record import Window
from assistant.speech.streaming import Word

VOCAB = ["good", "morning", "everyone.", "thank", "you", "chair.", "we", "support", "this", "proposal."]
FRAME_S = 0.1  # the audio websocket's frames in the tests
WINDOW_SAMPLES = 30 * SAMPLE_RATE  # a window of the record


def tone(text: str) -> np.ndarray:
    """Each word: 0.4 s at its own loudness, then 0.1 s of quiet."""
    out = []
    for word in text.split():
        amp = 0.1 + 0.03 * VOCAB.index(word)
        out += [np.full(int(0.4 * SAMPLE_RATE), amp, np.float32), np.zeros(int(0.1 * SAMPLE_RATE), np.float32)]
    return np.concatenate(out)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


class ToneRecognizer:
    multilingual = False

    def __init__(self) -> None:
        self.calls = 0

    def transcribe(self, audio: np.ndarray, *, language: str | None, prompt: str, hotwords: str) -> list[Word]:
        self.calls += 1
        loud = np.abs(audio) > 0.05
        words, i, n = [], 0, len(audio)
        while i < n:
            if not loud[i]:
                i += 1
                continue
            j = i
            while j < n and loud[j]:
                j += 1
            if j - i >= int(0.3 * SAMPLE_RATE) and j < n:  # a whole burst, followed by quiet
                k = round((float(np.median(np.abs(audio[i:j]))) - 0.1) / 0.03)
                words.append(Word(i / SAMPLE_RATE, j / SAMPLE_RATE, " " + VOCAB[k]))
            i = j
        return words

    def decode_window(self, speech: np.ndarray, *, start: int, level: float, language: str | None,
                      prompt: tuple[int, ...], hotwords: str, beam_size: int) -> Window:
        """A window of the record, decoded as offline: here, as a live pass hears it; the next window
        starts after its last whole word, or at its end; the prompt is the text so far, as code points."""
        window = speech[start : start + WINDOW_SAMPLES]
        words = self.transcribe(window, language=language, prompt="", hotwords=hotwords)
        whole = start + WINDOW_SAMPLES >= len(speech)
        next_s = len(window) / SAMPLE_RATE if whole or not words else words[-1].end
        return Window(words, next_s, (*prompt, *map(ord, "".join(w.text for w in words))), language or "en", level)


def loud_windows() -> Any:
    return lambda audio: (np.abs(audio.reshape(-1, WINDOW)).max(axis=1) > 0.05).astype(np.float32)


def pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


class Clock:
    """Wall-clock seconds that move only when a test moves them."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def send_frames(ws: Any, samples: np.ndarray, clock: Clock, *, pause_s: float = 0.002) -> None:
    """Send audio in 100 ms frames, each a frame later on the clock. `pause_s` of real time between
    frames only lets the server's loop take each frame before the clock moves on."""
    frame = int(FRAME_S * SAMPLE_RATE)
    for i in range(0, len(samples), frame):
        await ws.send_bytes(pcm(samples[i:i + frame]))
        await asyncio.sleep(pause_s)
        clock.advance(FRAME_S)


class RecordingSink:
    """A `MeetingSink` around a fixed meeting state: keeps what a channel sends."""

    def __init__(self, state: Any) -> None:
        self._state = state
        self.segments: list[dict[str, Any]] = []
        self.live: list[dict[str, Any]] = []

    async def state(self, meeting_id: str) -> Any:
        return self._state

    async def record_segments(self, meeting_id: str, segments: Sequence[dict[str, Any]]) -> object:
        self.segments.extend(segments)
        return None

    def publish_live(self, meeting_id: str, message: dict[str, Any]) -> None:
        self.live.append(message)


class Person:
    def __init__(self, participant_id: str, name: str, *, language: str = "", mode: str = "onsite",
                 role: str = "participant") -> None:
        self.participant_id, self.name, self.language, self.mode, self.role = participant_id, name, language, mode, role
        self.affiliation, self.group = "", "government"


class FloorTurn:
    def __init__(self, participant_id: str, started_at: float, ended_at: float | None = None) -> None:
        self.participant_id, self.started_at, self.ended_at = participant_id, started_at, ended_at


class FakeState:
    """The members of the meeting state the speech layer reads, and nothing else."""

    def __init__(self, people: Sequence[Person], created_at: float = 0.0) -> None:
        self.participants = {p.participant_id: p for p in people}
        self.turns: list[FloorTurn] = []
        self.agenda: list[str] = []
        self.current_item = 0
        self.created_at = created_at

    def give_floor(self, participant_id: str, at: float) -> None:
        if self.turns and self.turns[-1].ended_at is None:
            self.turns[-1].ended_at = at
        self.turns.append(FloorTurn(participant_id, at))

    def holder_at(self, at: float) -> str | None:
        for turn in reversed(self.turns):
            if turn.started_at <= at:
                return turn.participant_id if turn.ended_at is None or at < turn.ended_at else None
        return None

    def chair_id(self) -> str | None:
        return next((p.participant_id for p in self.participants.values() if p.role == "chair"), None)

    def next_speakers(self, n: int) -> list[str]:
        return []
