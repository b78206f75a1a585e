"""Fan-out: every message of a meeting to every browser watching it.

Each subscriber has one bounded queue, drained by the one relay task of its
socket. `publish` only appends to queues, it never awaits a client, so a
slow or stalled browser cannot hold up the others. A message is encoded once
per meeting, to UTF-8 bytes, and the same bytes go to every subscriber.

Three kinds of message:
- stored events (with a seq): never dropped. A subscriber whose queue fills
  is cut off: its socket is closed with the last `seq` it was sent, and it
  resumes with `since` and loses nothing;
- views (the derived queue): latest value. A view still waiting in a
  subscriber's queue when a newer one comes is skipped, so a lagging client
  may miss an intermediate view but always gets the last one;
- live messages (captions): dropped first, long before a cut-off.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

_VIEW = object()  # a view's place in a subscriber's queue; the text is the latest one


class Subscriber:
    def __init__(self, meeting_id: str, limit: int, *, manager: bool = False) -> None:
        self.meeting_id = meeting_id
        self.limit = limit
        self.manager = manager  # sees the managers' views (written texts in the queue)
        self._queue: deque[tuple[object, int | None]] = deque()
        self._view: bytes | None = None  # the latest view not yet sent
        self._view_queued = False
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False
        self.sent_seq = 0  # seq of the last stored event handed to the socket
        self.on_overflow: Callable[[], None] | None = None  # called once, when cut off

    def offer(self, text: str | bytes, seq: int | None = None, *, droppable: bool = False) -> None:
        if isinstance(text, str):
            text = text.encode()
        if self.closed or self.overflowed:
            return
        if droppable and len(self._queue) >= self.limit // 2:
            return
        if len(self._queue) >= self.limit:
            self.overflowed = True  # the socket is closed; the client resumes with since
            self._queue.clear()
            self._view = None
            if self.on_overflow is not None:
                self.on_overflow()
        else:
            self._queue.append((text, seq))
        self._ready.set()

    def offer_view(self, text: bytes) -> None:
        """The latest derived view: replaces one still waiting, else goes after what is queued."""
        if self.closed or self.overflowed:
            return
        self._view = text
        if not self._view_queued:
            self._view_queued = True
            self._queue.append((_VIEW, None))
            self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def next(self) -> bytes | None:
        """The next message to send, or None once the subscriber is closed or cut off."""
        while True:
            while not self._queue:
                if self.closed or self.overflowed:
                    return None
                self._ready.clear()
                await self._ready.wait()
            if self.closed or self.overflowed:
                return None
            item, seq = self._queue.popleft()
            if item is _VIEW:
                self._view_queued = False
                view, self._view = self._view, None
                if view is None:
                    continue
                return view
            if seq is not None:
                self.sent_seq = seq
            assert isinstance(item, bytes)
            return item


class Hub:
    def __init__(self, client_limit: int) -> None:
        self.client_limit = client_limit
        self._subs: dict[str, set[Subscriber]] = {}

    def subscribe(self, meeting_id: str, *, manager: bool = False) -> Subscriber:
        sub = Subscriber(meeting_id, self.client_limit, manager=manager)
        self._subs.setdefault(meeting_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.close()
        subs = self._subs.get(sub.meeting_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.meeting_id]

    def publish(
        self, meeting_id: str, data: str | bytes, seq: int | None = None, *, droppable: bool = False
    ) -> None:
        if isinstance(data, str):
            data = data.encode()
        for sub in self._subs.get(meeting_id, ()):
            sub.offer(data, seq, droppable=droppable)

    def publish_view(self, meeting_id: str, public: bytes, managers: bytes) -> None:
        """A derived view, in the version for everyone and the one for the chair and moderators."""
        for sub in self._subs.get(meeting_id, ()):
            sub.offer_view(managers if sub.manager else public)

    def watching(self, meeting_id: str) -> bool:
        return bool(self._subs.get(meeting_id))

    def count(self, meeting_id: str | None = None) -> int:
        if meeting_id is not None:
            return len(self._subs.get(meeting_id, ()))
        return sum(len(s) for s in self._subs.values())

    def close_all(self) -> None:
        for subs in list(self._subs.values()):
            for sub in list(subs):
                self.unsubscribe(sub)
