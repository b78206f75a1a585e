"""Fan-out: every message of a meeting to every browser watching it.

Each subscriber has one bounded queue, drained by the one relay task of its
socket. `publish` only appends to queues, it never awaits a client, so a
slow or stalled browser cannot hold up the others. A message is encoded to
UTF-8 once per meeting and the same bytes object goes to every subscriber
(sent with `send_frame`, so no socket makes a copy of its own to encode it).

A message for a subscriber whose queue is empty while its relay waits for one
is handed to the socket at once (`write_now`, set by the socket: it declines
when the socket's buffer is not nearly empty or the socket is closing), with
no wake-up of the relay: with thousands watching, most deliveries are that.

A subscriber's queue is bounded by count and by bytes (`[limits] client_queue`,
`client_queue_bytes`): what a slow client can hold is bounded however large
the messages are.

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
DEFAULT_BYTES = 4 * 1024 * 1024


def encoded(text: str | bytes) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else text


class Subscriber:
    def __init__(
        self, meeting_id: str, limit: int, *, manager: bool = False, limit_bytes: int = DEFAULT_BYTES
    ) -> None:
        self.meeting_id = meeting_id
        self.limit = limit
        self.limit_bytes = limit_bytes
        self.manager = manager  # sees the managers' views (written texts in the queue)
        self._queue: deque[tuple[object, int | None]] = deque()
        self.queued_bytes = 0  # held by the messages waiting in the queue, the pending view included
        self._view: bytes | None = None  # the latest view not yet sent
        self._view_queued = False
        self._view_version = 0  # the place in the queue of the waiting view; earlier places are stale
        self._stale = 0  # stale places still in the queue (not counted against the limit)
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False
        self.sent_seq = 0  # seq of the last stored event handed to the socket
        self.on_overflow: Callable[[], None] | None = None  # called once, when cut off
        # set by the socket: writes one message at once if it can do so without waiting, else False
        self.write_now: Callable[[bytes], bool] | None = None
        self._parked = False  # the relay waits in `next` for a message: nothing of ours is being sent

    def offer(self, text: str | bytes, seq: int | None = None, *, droppable: bool = False) -> None:
        if self.closed or self.overflowed:
            return
        data = encoded(text)
        if self._parked and not self._queue and self.write_now is not None and self.write_now(data):
            if seq is not None:
                self.sent_seq = seq
            return
        count, size = len(self._queue) - self._stale + 1, self.queued_bytes + len(data)
        if droppable and (count > self.limit // 2 or size > self.limit_bytes // 2):
            return
        if count > self.limit or size > self.limit_bytes:
            self._overflow()
        else:
            self._queue.append((data, seq))
            self.queued_bytes = size
        self._ready.set()

    def offer_view(self, text: str | bytes) -> None:
        """The latest derived view: replaces one still waiting, else goes after what is queued."""
        if self.closed or self.overflowed:
            return
        data = encoded(text)
        if self._parked and not self._queue and self.write_now is not None and self.write_now(data):
            return  # nothing queued, so no older view waits either
        size = self.queued_bytes - len(self._view or b"") + len(data)
        if size > self.limit_bytes:
            self._overflow()
            self._ready.set()
            return
        self._view, self.queued_bytes = data, size
        if self._view_queued and self._queue and self._queue[-1][0] is _VIEW:
            return  # the waiting view is already last: it is simply replaced
        # a view follows every message queued before it (it reflects their seq): a placeholder further
        # up the queue goes stale and the view takes the last place
        if self._view_queued:
            self._stale += 1
        self._view_version += 1
        self._view_queued = True
        self._queue.append((_VIEW, self._view_version))
        self._ready.set()

    def _overflow(self) -> None:
        self.overflowed = True  # the socket is closed; the client resumes with since
        self._queue.clear()
        self._view, self.queued_bytes, self._stale, self._view_queued = None, 0, 0, False
        if self.on_overflow is not None:
            self.on_overflow()

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
                self._parked = True
                try:
                    await self._ready.wait()
                finally:
                    self._parked = False
            if self.closed or self.overflowed:
                return None
            item, seq = self._queue.popleft()
            if item is _VIEW:
                if seq != self._view_version:
                    self._stale -= 1
                    continue  # a stale place: the view moved to a later one
                self._view_queued = False
                view, self._view = self._view, None
                if view is None:
                    continue
                self.queued_bytes -= len(view)
                return view
            if seq is not None:
                self.sent_seq = seq
            assert isinstance(item, bytes)
            self.queued_bytes -= len(item)
            return item


class Hub:
    def __init__(self, client_limit: int, client_bytes: int = DEFAULT_BYTES) -> None:
        self.client_limit = client_limit
        self.client_bytes = client_bytes
        self._subs: dict[str, set[Subscriber]] = {}

    def subscribe(self, meeting_id: str, *, manager: bool = False) -> Subscriber:
        sub = Subscriber(meeting_id, self.client_limit, manager=manager, limit_bytes=self.client_bytes)
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
        self, meeting_id: str, text: str | bytes, seq: int | None = None, *, droppable: bool = False
    ) -> None:
        subs = self._subs.get(meeting_id)
        if not subs:
            return
        data = encoded(text)  # once for everyone
        for sub in list(subs):
            sub.offer(data, seq, droppable=droppable)

    def publish_view(self, meeting_id: str, public: str | bytes, managers: str | bytes) -> None:
        """A derived view, in the version for everyone and the one for the chair and moderators."""
        subs = self._subs.get(meeting_id)
        if not subs:
            return
        public_data, managers_data = encoded(public), encoded(managers)
        for sub in list(subs):
            sub.offer_view(managers_data if sub.manager else public_data)

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
