"""Fan-out: every message of a meeting to every browser watching it.

Each subscriber has one bounded queue, drained by the one relay task of its
socket. `publish` only appends to queues, it never awaits a client, so a
slow or stalled browser cannot hold up the others. A subscriber whose queue
fills with stored events is cut off: its socket is closed with the last
`seq` it was sent, and it resumes with `since` and loses nothing. Live-only
messages (captions) are dropped first, long before that.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable


class Subscriber:
    def __init__(self, meeting_id: str, limit: int) -> None:
        self.meeting_id = meeting_id
        self.limit = limit
        self._queue: deque[tuple[str, int | None]] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False
        self.sent_seq = 0  # seq of the last stored event handed to the socket
        self.dropped_live = 0
        self.on_overflow: Callable[[], None] | None = None  # called once, when cut off

    def offer(self, text: str, seq: int | None = None, *, droppable: bool = False) -> None:
        if self.closed or self.overflowed:
            return
        if droppable and len(self._queue) >= self.limit // 2:
            self.dropped_live += 1
            return
        if len(self._queue) >= self.limit:
            self.overflowed = True  # the socket is closed; the client resumes with since
            self._queue.clear()
            if self.on_overflow is not None:
                self.on_overflow()
        else:
            self._queue.append((text, seq))
        self._ready.set()

    def offer_many(self, items: Iterable[tuple[str, int | None]]) -> None:
        for text, seq in items:
            self.offer(text, seq)

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def next(self) -> str | None:
        """The next message to send, or None once the subscriber is closed or cut off."""
        while not self._queue:
            if self.closed or self.overflowed:
                return None
            self._ready.clear()
            await self._ready.wait()
        if self.closed or self.overflowed:
            return None
        text, seq = self._queue.popleft()
        if seq is not None:
            self.sent_seq = seq
        return text

    @property
    def backlog(self) -> int:
        return len(self._queue)


class Hub:
    def __init__(self, client_limit: int) -> None:
        self.client_limit = client_limit
        self._subs: dict[str, set[Subscriber]] = {}

    def subscribe(self, meeting_id: str) -> Subscriber:
        sub = Subscriber(meeting_id, self.client_limit)
        self._subs.setdefault(meeting_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.close()
        subs = self._subs.get(sub.meeting_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.meeting_id]

    def publish(self, meeting_id: str, text: str, seq: int | None = None, *, droppable: bool = False) -> None:
        for sub in self._subs.get(meeting_id, ()):
            sub.offer(text, seq, droppable=droppable)

    def count(self, meeting_id: str | None = None) -> int:
        if meeting_id is not None:
            return len(self._subs.get(meeting_id, ()))
        return sum(len(s) for s in self._subs.values())

    def close_all(self) -> None:
        for subs in list(self._subs.values()):
            for sub in list(subs):
                self.unsubscribe(sub)
