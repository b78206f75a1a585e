"""The event log of record as a JetStream stream; the SQLite file a projection of it.

An append is one message on `mtg.<meeting>.ev` holding the command's events,
numbered by meeting seq, with the tokens and meeting row that come with them.
It is published with `Nats-Expected-Last-Subject-Sequence`, the stream
sequence of the last message of that meeting this process has applied: if
another instance appended since, JetStream refuses it (error 10071) and the
caller catches up and decides again. So every meeting's seq stays gap-free and
total, and the stream's order is the order every process applies.

Each process consumes the whole stream (an ordered consumer from the first
message) and hands every batch to `Meetings.receive`, which projects it into
the process's own SQLite file and publishes it to the browsers there; its own
appends it has applied already and skips. A missing SQLite file is rebuilt
this way on start. Tokens issued without an event go on `mtg.<meeting>.grant`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NoStreamResponseError, NotFoundError, ServiceUnavailableError

from ..archive.store import Grant, SeqConflict, Store
from ..core import events as ev
from ..service.hub import Hub
from ..service.log import Receiver
from . import bus

log = logging.getLogger(__name__)

# JetStream's answers when another append came first: 10071 "wrong last sequence: N", and 10164
# "wrong last sequence" from servers that no longer say N (2.11+ in some paths)
WRONG_LAST_SEQUENCE = (10071, 10164)
PUBLISH_TRIES_S = 15.0  # a NATS node lost: the stream elects another leader meanwhile
CATCH_UP_MAX = 10_000  # messages fetched by one catch-up


class WireEvent(msgspec.Struct, array_like=True):
    seq: int
    name: str
    data: msgspec.Raw
    at: float


class Batch(msgspec.Struct, omit_defaults=True):
    """One append: the events of one command, with the tokens and the meeting row they bring."""

    events: list[WireEvent] = []
    grants: list[Grant] = []
    meeting: dict[str, Any] | None = None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Batch).decode


def encode(events: Sequence[ev.Event], grants: Iterable[Grant] = (), meeting: dict[str, Any] | None = None) -> bytes:
    wire = [WireEvent(e.seq, e.name, msgspec.Raw(e.stored_data().encode()), e.at) for e in events]
    return _encode(Batch(wire, list(grants), meeting))


def decode(meeting_id: str, data: bytes) -> tuple[list[ev.Event], list[Grant], dict[str, Any] | None]:
    batch = _decode(data)
    events = [ev.Event(meeting_id, w.seq, ev.upcast(w.name, bytes(w.data)), w.at) for w in batch.events]
    return events, batch.grants, batch.meeting


class JetStreamLog:
    """`service.log.Log` over JetStream, for instances and workers alike."""

    def __init__(self, nc: Client, js: JetStreamContext, store: Store, hub: Hub, *, live: bool = True) -> None:
        self.nc, self.js, self.store, self.hub = nc, js, store, hub
        self.live = live  # relay captions to this process's browsers (not in a worker)
        self.position = 0  # stream sequence of the last message received
        self.conflicts = 0  # appends refused because another process appended first
        self._last: dict[str, int] = {}  # meeting -> stream sequence of the last batch applied
        self._moved = asyncio.Condition()
        self._receiver: Receiver | None = None
        self._subs: list[Any] = []
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=1000)
        self._sender: asyncio.Task[None] | None = None

    # -- start and stop -------------------------------------------------------------

    async def start(self, receiver: Receiver) -> None:
        """Consume the stream from its first message; return once caught up with it as it was."""
        self._receiver = receiver
        info = await self.js.stream_info(bus.EVENTS)
        target = info.state.last_seq
        self._subs.append(await self.js.subscribe(
            "mtg.>", stream=bus.EVENTS, cb=self._on_message, ordered_consumer=True, idle_heartbeat=1.0,
            deliver_policy=api.DeliverPolicy.ALL,
        ))
        if self.live:
            self._subs.append(await self.nc.subscribe("live.*", cb=self._on_live))
        self._sender = asyncio.create_task(self._send_live())
        log.info("replaying the event stream up to %d", target)
        await self._wait(lambda: self.position >= target, None)
        log.info("caught up with the event stream at %d", self.position)

    async def close(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception:  # the connection may be gone already
                log.debug("unsubscribing failed", exc_info=True)
        self._subs.clear()
        if self._sender is not None:
            self._sender.cancel()

    # -- the consumer -----------------------------------------------------------------

    async def _on_message(self, msg: Msg) -> None:
        position = msg.metadata.sequence.stream
        await self._apply(msg.subject, msg.data, position)
        async with self._moved:
            self.position = position
            self._moved.notify_all()

    async def _apply(self, subject: str, data: bytes, position: int) -> None:
        """Hand one stream message to the receiver (which skips what it has applied already)."""
        try:
            _, meeting_id, kind = subject.split(".")
            events, grants, meeting = decode(meeting_id, data)
            assert self._receiver is not None

            def applied() -> None:
                if kind == "ev":
                    self._last[meeting_id] = max(self._last.get(meeting_id, 0), position)

            await self._receiver.receive(meeting_id, events, grants, meeting, applied)
        except Exception:
            log.exception("could not apply stream message %d (%s)", position, subject)

    async def _wait(self, done: Any, timeout: float | None) -> bool:
        async with self._moved:
            try:
                await asyncio.wait_for(self._moved.wait_for(done), timeout)
            except TimeoutError:
                return False
        return True

    async def catch_up(self, meeting_id: str) -> None:
        """Fetch and apply the meeting's messages after the last one applied, from the stream's
        leader, without waiting for the consumer (which may be stalled while NATS fails over)."""
        if not bus.NAME.match(meeting_id):
            return
        subject = bus.events_subject(meeting_id)
        for _ in range(CATCH_UP_MAX):
            after = self._last.get(meeting_id, 0)
            try:
                msg = await self.js.get_msg(bus.EVENTS, seq=after + 1, subject=subject, next=True)
            except NotFoundError:
                return  # nothing newer
            except Exception as exc:  # NATS is failing over: the caller tries again
                log.warning("meeting %s: cannot read the stream (%r)", meeting_id, exc)
                await asyncio.sleep(0.2)
                return
            if msg.seq is None or msg.data is None:
                return
            await self._apply(subject, msg.data, msg.seq)
            if self._last.get(meeting_id, 0) <= after:
                return  # not applied (logged): do not spin

    # -- appends ------------------------------------------------------------------------

    async def append(
        self,
        meeting_id: str,
        drafts: Sequence[ev.Draft],
        expected_seq: int,
        *,
        grants: Iterable[Grant] = (),
        meeting: dict[str, Any] | None = None,
    ) -> list[ev.Event]:
        grants = list(grants)
        events = [ev.Event(meeting_id, expected_seq + i + 1, d.fact, d.at) for i, d in enumerate(drafts)]
        headers = {
            "Nats-Expected-Last-Subject-Sequence": str(self._last.get(meeting_id, 0)),
            "Nats-Msg-Id": uuid.uuid4().hex,  # a publish retried after a lost answer is stored once
        }
        ack = await self._publish(bus.events_subject(meeting_id), encode(events, grants, meeting), headers)
        self._last[meeting_id] = ack.seq
        # the projection: what the consumer would do, done now so the command is answered at once
        return await self.store.append(meeting_id, drafts, expected_seq, grants=grants, meeting=meeting)

    async def add_grant(self, grant: Grant) -> None:
        await self._publish(bus.grants_subject(grant.meeting_id), encode([], [grant]), {"Nats-Msg-Id": uuid.uuid4().hex})
        await self.store.add_grant(grant)

    async def _publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> api.PubAck:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PUBLISH_TRIES_S
        while True:
            try:
                return await self.js.publish(subject, payload, stream=bus.EVENTS, headers=headers, timeout=2.0)
            except BadRequestError as exc:
                if exc.err_code in WRONG_LAST_SEQUENCE or "wrong last sequence" in (exc.description or ""):
                    self.conflicts += 1
                    log.debug("%s: another process appended first (%d conflicts so far)", subject, self.conflicts)
                    raise SeqConflict(f"{subject}: another instance appended first") from None
                raise
            except (TimeoutError, NatsTimeout, NoRespondersError, NoStreamResponseError, ServiceUnavailableError) as exc:
                # a NATS node lost: the client reconnects elsewhere, the stream elects a new leader
                if loop.time() > deadline:
                    raise
                log.warning("publishing to %s: %r; trying again", subject, exc)
                await asyncio.sleep(0.2)

    # -- live messages --------------------------------------------------------------------

    def publish_live(self, meeting_id: str, text: str) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # captions are live only: dropped first
            self._outbox.put_nowait((bus.live_subject(meeting_id), text.encode()))

    async def _send_live(self) -> None:
        while True:
            subject, data = await self._outbox.get()
            try:
                await self.nc.publish(subject, data)
            except Exception:
                log.debug("a caption was not sent", exc_info=True)

    async def _on_live(self, msg: Msg) -> None:
        meeting_id = msg.subject.partition(".")[2]
        self.hub.publish(meeting_id, msg.data.decode(), droppable=True)
