"""The uplink's backlog: captured audio the server has not confirmed yet. Pure: no clock, no I/O."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .pcm import SAMPLE_RATE


@dataclass
class Chunk:
    pcm: bytes  # s16le
    captured_at: float  # monotonic time of its first sample

    @property
    def samples(self) -> int:
        return len(self.pcm) // 2

    def without_first(self, n: int) -> Chunk:
        return Chunk(self.pcm[2 * n:], self.captured_at + n / SAMPLE_RATE)


class Backlog:
    """Captured audio not yet confirmed by the server: sent-but-unconfirmed, then unsent. Pure."""

    def __init__(self, max_samples: int) -> None:
        self.max_samples = max_samples
        self.confirmed = 0  # samples of this stream the server has
        self.unconfirmed: deque[Chunk] = deque()
        self.unsent: deque[Chunk] = deque()
        self.dropped = 0
        self.captured = 0

    @property
    def waiting(self) -> int:
        return sum(c.samples for c in self.unsent)

    @property
    def in_flight(self) -> int:
        """Sent, not yet confirmed by the server."""
        return sum(c.samples for c in self.unconfirmed)

    def add(self, chunk: Chunk) -> None:
        self.captured += chunk.samples
        self.unsent.append(chunk)
        over = self.waiting + self.in_flight - self.max_samples
        while over > 0 and self.unsent:  # the oldest unsent audio goes; what the server may have stays
            first = self.unsent[0]
            take = min(over, first.samples)
            self.unsent[0] = first.without_first(take)
            if not self.unsent[0].samples:
                self.unsent.popleft()
            over -= take
            self.dropped += take

    def next(self) -> Chunk | None:
        if not self.unsent:
            return None
        chunk = self.unsent.popleft()
        self.unconfirmed.append(chunk)
        return chunk

    def confirm(self, samples: int) -> None:
        """The server has `samples` of this stream: forget them."""
        if samples < self.confirmed:  # the server forgot this stream (a restart): it starts again here
            self.confirmed = samples
            return
        n = samples - self.confirmed
        while n > 0 and self.unconfirmed:
            first = self.unconfirmed[0]
            take = min(n, first.samples)
            rest = first.without_first(take)
            if rest.samples:
                self.unconfirmed[0] = rest
            else:
                self.unconfirmed.popleft()
            n -= take
        self.confirmed = samples - n

    def reconnected(self, server_has: int) -> None:
        """After a reconnection: forget what arrived, send again what did not."""
        self.confirm(server_has)
        self.unsent.extendleft(reversed(self.unconfirmed))
        self.unconfirmed.clear()
