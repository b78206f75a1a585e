"""A jitter buffer for playing a remote voice: pure, thread-safe, bounded.

Network audio arrives in uneven bursts; a sound card asks for blocks at a steady pace. The buffer
holds `target` samples before it starts playing (and again after running dry), so small delivery
gaps do not cut the voice, and never more than `limit` samples: past that the oldest audio is
dropped, so the delay heard in the hall cannot grow. Between the two it catches up gently: when
more than `target` plus a margin is waiting, a quiet block (a pause between words) is skipped
rather than played, the way VoIP play-out does, so clock drift between the sender and the sound
card, or a burst after a network hiccup, does not leave the hall listening late. Every sample pushed is numbered, so the
player can tell when a given sample reached the loudspeaker.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass
class JitterStats:
    pushed: int = 0  # samples received
    played: int = 0  # samples handed to the device (not counting silence)
    dropped: int = 0  # samples dropped because the buffer was over its limit
    underruns: int = 0  # times the buffer ran dry while playing
    skipped: int = 0  # quiet samples skipped to catch up


class JitterBuffer:
    QUIET_RMS = 0.01  # about -40 dBFS: a pause, not speech

    def __init__(self, target: int, limit: int, margin: int = 320) -> None:
        if not 0 <= target < limit:
            raise ValueError(f"jitter target {target} must be at least 0 and below the limit {limit}")
        self.target, self.limit = target, limit
        self.high = min(target + margin, limit)  # above this, quiet blocks are skipped
        self._chunks: deque[np.ndarray] = deque()
        self._size = 0
        self._head = 0  # number (since the start) of the first sample waiting
        self._priming = True
        self._lock = threading.Lock()
        self.stats = JitterStats()

    @property
    def depth(self) -> int:
        return self._size

    def push(self, samples: np.ndarray) -> int:
        """Add samples; returns the number of the first of them."""
        with self._lock:
            first = self._head + self._size
            self._chunks.append(np.asarray(samples, dtype=np.float32))
            self._size += len(samples)
            self.stats.pushed += len(samples)
            excess = self._size - self.limit
            if excess > 0:
                self._discard(excess)
                self.stats.dropped += excess
            return first

    def pull(self, n: int) -> tuple[np.ndarray, int]:
        """`n` samples to play (silence where there is nothing) and the number of the first real one
        (-1 when the block is all silence)."""
        with self._lock:
            if self._priming:
                if self._size < max(self.target, 1):
                    return np.zeros(n, dtype=np.float32), -1
                self._priming = False
            out, first = self._take(n)
            for _ in range(4):  # behind: skip quiet blocks, a few per call at most
                if self._size < self.high + n or float(np.sqrt(np.mean(out**2))) >= self.QUIET_RMS:
                    break
                self.stats.skipped += n
                self.stats.played -= n
                out, first = self._take(n)
            return out, first

    def _take(self, n: int) -> tuple[np.ndarray, int]:
        """The next `n` samples (zeros past the end) and the number of the first; the lock is held."""
        out = np.zeros(n, dtype=np.float32)
        first, filled = self._head, 0
        while filled < n and self._chunks:
            chunk = self._chunks[0]
            take = min(n - filled, len(chunk))
            out[filled:filled + take] = chunk[:take]
            filled += take
            if take == len(chunk):
                self._chunks.popleft()
            else:
                self._chunks[0] = chunk[take:]
        self._size -= filled
        self._head += filled
        self.stats.played += filled
        if filled < n:
            self._priming = True
            self.stats.underruns += 1
        return out, first if filled else -1

    def clear(self) -> None:
        """The turn ended: what is left is not played."""
        with self._lock:
            self._discard(self._size)
            self._priming = True

    def _discard(self, n: int) -> None:
        while n > 0 and self._chunks:
            chunk = self._chunks[0]
            if len(chunk) <= n:
                self._chunks.popleft()
                n -= len(chunk)
                self._size -= len(chunk)
                self._head += len(chunk)
            else:
                self._chunks[0] = chunk[n:]
                self._size -= n
                self._head += n
                n = 0
