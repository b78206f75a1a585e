"""Listening for remote participants: the hall audio relayed to browsers that ask for it.

Off by default in the page (it costs data): 8-bit µ-law companded samples (as in telephony) at
8 kHz, 64 kbit/s, in 100 ms frames,
the captions staying the always-on fallback. One bounded queue per listener: a slow listener
loses old audio (it is live, not a record) and never holds up the others or the speakers.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import numpy as np

FRAME_SAMPLES = 800  # 100 ms at 8 kHz
QUEUE_FRAMES = 20  # 2 s: beyond this a listener's oldest audio is dropped
MU = 255.0


def to_mulaw_8k(samples: np.ndarray) -> bytes:
    """16 kHz float32 -> 8 kHz µ-law bytes (pairs averaged: a simple low-pass before decimating)."""
    x = samples[: len(samples) // 2 * 2].reshape(-1, 2).mean(axis=1)
    x = np.clip(x, -1.0, 1.0)
    y = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    return bytes(((y + 1.0) * 127.5).round().astype(np.uint8).tobytes())


def from_mulaw(data: bytes) -> np.ndarray:
    """The inverse, as a browser does it: µ-law bytes -> float32 at 8 kHz."""
    y = np.frombuffer(data, np.uint8).astype(np.float32) / 127.5 - 1.0
    out: np.ndarray = (np.sign(y) * np.expm1(np.abs(y) * np.log1p(MU)) / MU).astype(np.float32)
    return out


class Listener:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_FRAMES)
        self.dropped = 0

    def offer(self, frame: bytes) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(frame)


class AudioRelay:
    def __init__(self) -> None:
        self.listeners: dict[str, set[Listener]] = defaultdict(set)
        self._pending: dict[str, bytes] = defaultdict(bytes)

    def listen(self, meeting_id: str) -> Listener:
        listener = Listener()
        self.listeners[meeting_id].add(listener)
        return listener

    def leave(self, meeting_id: str, listener: Listener) -> None:
        self.listeners[meeting_id].discard(listener)

    def publish(self, meeting_id: str, samples: np.ndarray) -> None:
        """Audio of the meeting as it arrives (16 kHz float32); cut into 100 ms frames for listeners."""
        if not self.listeners.get(meeting_id):
            self._pending.pop(meeting_id, None)
            return
        data = self._pending[meeting_id] + to_mulaw_8k(samples)
        whole = len(data) // FRAME_SAMPLES * FRAME_SAMPLES
        self._pending[meeting_id] = data[whole:]
        for at in range(0, whole, FRAME_SAMPLES):
            frame = data[at : at + FRAME_SAMPLES]
            for listener in self.listeners[meeting_id]:
                listener.offer(frame)
