"""The meeting websocket: snapshot or replay, then live events, and commands.

One reader loop per socket parses commands; one relay task per socket is the
only writer to it, draining that client's bounded queue (see hub.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiohttp import WSMsgType, web

from ..core import commands as cmd
from ..core import events as ev
from ..service.hub import Subscriber
from ..service.meetings import Meetings, NotFound
from .appkeys import CONFIG, MEETINGS
from .errors import json_error

log = logging.getLogger(__name__)

REPLAY_PAGE = 500
CLOSE_TOO_SLOW = 4008  # cut off for falling behind; reconnect with since
_cutting: set[asyncio.Task[None]] = set()  # cut-offs under way, kept from the garbage collector


class RateLimit:
    """A token bucket: `rate` commands a second, bursts up to twice that."""

    def __init__(self, rate: float) -> None:
        self.rate, self.capacity = rate, max(1.0, 2 * rate)
        self.tokens, self.stamp = self.capacity, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def meeting_ws(request: web.Request) -> web.StreamResponse:
    meetings = request.app[MEETINGS]
    config = request.app[CONFIG]
    meeting_id = request.match_info["id"]
    token = request.query.get("token")
    grant = meetings.authenticate(token, meeting_id)
    if grant is None:
        if meetings.authenticate(token) is not None:
            return json_error(403, "this token belongs to another meeting")
        return json_error(401, "a valid ?token= is needed; join the meeting to get one")
    since: int | None = None
    if "since" in request.query:
        try:
            since = int(request.query["since"])
            if since < 0:
                raise ValueError
        except ValueError:
            return json_error(400, "since must be a whole number 0 or more (the last seq you received)")
    try:
        state = await meetings.state(meeting_id)
    except NotFound as exc:
        return json_error(404, str(exc))
    if since is not None and since > state.seq:
        return json_error(400, f"since={since} is ahead of this meeting, whose last event is seq {state.seq}")

    # No permessage-deflate, even where the browser offers it: compressing each message once per
    # client cost 33-41 us of CPU per delivery; uncompressed, a delivery is a socket write
    # (bench/scale.py, README).
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=config.limits.max_frame_bytes, compress=False)
    await ws.prepare(request)
    # No await from here until the relay starts: the subscription and `upto`
    # must be taken at the same moment, so nothing falls between them.
    manager = meetings.sees_texts(grant.role)
    sub = meetings.hub.subscribe(meeting_id, manager=manager)
    upto = state.seq
    first = meetings.snapshot_bytes(state, manager=manager) if since is None else None
    if first is None:  # a resume: the stored events it missed, then the queue as it stands
        public, managers = meetings.queue_messages(state)
        sub.offer_view(managers if manager else public)
    relay = asyncio.create_task(_relay(ws, request, sub, meetings, meeting_id, since, upto, first))

    def cut_off() -> None:
        # Not relay.cancel(): it would cancel the drain waiter that close() shares.
        task = asyncio.create_task(_cut_off(ws, request, sub))
        _cutting.add(task)
        task.add_done_callback(_cutting.discard)

    sub.on_overflow = cut_off
    actor = cmd.Actor(grant.participant_id, grant.role)
    limiter = RateLimit(config.limits.commands_per_second)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await _command(msg.data, sub, meetings, meeting_id, actor, limiter, request)
            elif msg.type == WSMsgType.BINARY:
                sub.offer(_error(None, "send commands as JSON text frames; audio goes to /audio"))
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        meetings.hub.unsubscribe(sub)
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(relay, timeout=5)  # let it flush what is queued
        if not ws.closed:
            await ws.close()
    return ws


async def _relay(
    ws: web.WebSocketResponse, request: web.Request, sub: Subscriber, meetings: Meetings, meeting_id: str,
    since: int | None, upto: int, first: bytes | None,
) -> None:
    """The only writer to the socket: snapshot or replay, then the subscriber's queue."""
    try:
        if first is not None:
            await ws.send_frame(first, WSMsgType.TEXT)
            sub.sent_seq = upto
        else:
            after = since or 0
            while after < upto:
                page = await meetings.store.events(meeting_id, after, REPLAY_PAGE)
                page = [e for e in page if e.seq <= upto]
                if not page:
                    break
                for event in page:
                    await ws.send_frame(event.to_bytes(), WSMsgType.TEXT)
                after = sub.sent_seq = page[-1].seq
        while (data := await sub.next()) is not None:
            await ws.send_frame(data, WSMsgType.TEXT)
    except (ConnectionError, RuntimeError):
        pass  # the socket went away; the reader loop ends too


async def _cut_off(ws: web.WebSocketResponse, request: web.Request, sub: Subscriber) -> None:
    """Close a client that fell too far behind, telling it where to resume.

    A client that still reads gets a close frame with the reason; one that
    stopped reading altogether has its connection dropped after a few seconds.
    """
    reason = f"too far behind; reconnect with since={sub.sent_seq}"
    log.info("meeting %s: cutting off a client: %s", sub.meeting_id, reason)
    try:
        await asyncio.wait_for(ws.close(code=CLOSE_TOO_SLOW, message=reason.encode()), timeout=5)
    except (TimeoutError, ConnectionError, RuntimeError):
        pass
    finally:
        transport = request.transport
        if transport is not None:
            transport.abort()  # a closing transport still waits to flush to a client that never reads


async def _command(
    text: str,
    sub: Subscriber,
    meetings: Meetings,
    meeting_id: str,
    actor: cmd.Actor,
    limiter: RateLimit,
    request: web.Request,
) -> None:
    config = request.app[CONFIG]
    try:
        message = json.loads(text)
    except ValueError as exc:
        sub.offer(_error(None, f"not valid JSON ({exc}); send one JSON object per frame"))
        return
    cid = message.get("id") if isinstance(message, dict) else None
    if cid is not None and not (
        isinstance(cid, str | int) and not isinstance(cid, bool) and len(str(cid)) <= 64
    ):
        sub.offer(_error(None, '"id" must be a string or number of at most 64 characters'))
        return
    if not limiter.allow():
        sub.offer(_error(cid, f"too many commands; at most {config.limits.commands_per_second:g} a second"))
        return
    try:
        command = cmd.parse(message, config.limits, config.meeting.groups)
        seq = await meetings.execute(meeting_id, actor, command)
    except cmd.CommandError as exc:
        sub.offer(_error(cid, str(exc)))
        return
    except Exception:
        log.exception("command failed in meeting %s", meeting_id)
        sub.offer(_error(cid, "the server could not record this command; nothing was changed, try again"))
        return
    sub.offer(ev.dumps({"type": "ack", "id": cid, "seq": seq}))


def _error(cid: Any, message: str) -> str:
    return ev.dumps({"type": "error", "id": cid, "error": message})
