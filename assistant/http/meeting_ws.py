"""The meeting websocket: snapshot or replay, then live events, and commands.

One reader loop per socket parses commands; one relay task per socket drains
that client's bounded queue (see hub.py), and sends as the shared UTF-8 bytes
the hub holds (`send_frame`), so a socket adds no copy of its own; one that
takes nothing for `[limits] stalled_client_s` is dropped and resumes with
`since`. While the relay waits with nothing queued, a message is written at
once instead (`_write_now`), as one websocket frame built once for every
socket it goes to, if the socket's buffer is nearly empty: no task wakes up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from ..core import commands as cmd
from ..core import events as ev
from ..service.hub import Subscriber
from ..service.meetings import Meetings, NotFound
from . import limits
from .api import multilingual
from .appkeys import CONFIG, GUARD, MEETINGS, SOCKETS
from .errors import json_error

log = logging.getLogger(__name__)

REPLAY_PAGE = 500
QUICK_SEND = 16 * 1024  # bytes in the socket's buffer, this message included, below which a send never waits
CLOSE_TOO_SLOW = 4008  # cut off for falling behind; reconnect with since
_cutting: set[asyncio.Task[None]] = set()  # cut-offs under way, kept from the garbage collector


async def meeting_ws(request: web.Request) -> web.StreamResponse:
    meetings = request.app[MEETINGS]
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
    guard = request.app[GUARD]
    try:
        with guard.socket(grant.token_hash, "meeting"):
            return await _serve(request, meetings, guard, grant.token_hash, cmd.Actor(grant.participant_id, grant.role),
                                meeting_id, state, since)
    except limits.LimitExceeded as exc:
        return json_error(429, str(exc), limit=exc.limit)


async def _serve(
    request: web.Request, meetings: Meetings, guard: limits.Guard, token_hash: str, actor: cmd.Actor,
    meeting_id: str, state: Any, since: int | None,
) -> web.WebSocketResponse:
    config = request.app[CONFIG]
    # No permessage-deflate, even where the browser offers it: compressing each message once per
    # client cost 33-41 us of CPU per delivery; uncompressed, a delivery is a socket write
    # (bench/scale.py, README).
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=config.limits.max_frame_bytes, compress=False)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)  # closed with 1001 when the server stops
    # No await from here until the relay starts: the subscription and `upto`
    # must be taken at the same moment, so nothing falls between them.
    manager = meetings.sees_texts(actor.role)
    sub = meetings.hub.subscribe(meeting_id, manager=manager)
    upto = state.seq
    first = meetings.snapshot_bytes(state, manager=manager) if since is None else None
    if first is None:  # a resume: the stored events it missed, then the queue as it stands
        public, managers = meetings.queue_messages(state)
        sub.offer_view(managers if manager else public)
    relay = asyncio.create_task(_relay(ws, request, sub, meetings, meeting_id, since, upto, first))
    sub.write_now = _write_now(ws, request)

    def cut_off() -> None:
        # Not relay.cancel(): it would cancel the drain waiter that close() shares.
        task = asyncio.create_task(_cut_off(ws, request, sub))
        _cutting.add(task)
        task.add_done_callback(_cutting.discard)

    sub.on_overflow = cut_off
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await _command(msg.data, sub, meetings, guard, token_hash, meeting_id, actor, request)
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
    """The socket's writer: snapshot or replay, then the subscriber's queue (while it waits with
    nothing queued, the hub may hand a message to `_write_now` instead, which writes nothing else).

    A send that waits longer than `stalled_client_s` for the client to take data drops the
    connection: what it holds is freed and the client resumes with since."""
    stalled_s = request.app[CONFIG].limits.stalled_client_s

    async def send(data: bytes) -> None:
        transport = request.transport
        if transport is not None and transport.get_write_buffer_size() + len(data) < QUICK_SEND:
            # the client keeps up and the message is small: the write cannot wait on it, and a
            # timer per message would cost more than the write (most sends, with thousands watching)
            await ws.send_frame(data, WSMsgType.TEXT)
            return
        async with asyncio.timeout(stalled_s):  # no task per message, unlike wait_for
            await ws.send_frame(data, WSMsgType.TEXT)

    try:
        if first is not None:
            await send(first)
            sub.sent_seq = upto
        else:
            after = since or 0
            while after < upto:
                page = await meetings.store.events(meeting_id, after, REPLAY_PAGE)
                page = [e for e in page if e.seq <= upto]
                if not page:
                    break
                for event in page:
                    await send(event.to_bytes())
                after = sub.sent_seq = page[-1].seq
        while (data := await sub.next()) is not None:
            await send(data)
    except TimeoutError:
        log.info("meeting %s: dropping a client that took no data for %g s (it resumes with since=%d)",
                 meeting_id, stalled_s, sub.sent_seq)
        meetings.hub.unsubscribe(sub)
        transport = request.transport
        if transport is not None:
            transport.abort()
    except (ConnectionError, RuntimeError):
        pass  # the socket went away; the reader loop ends too


def _write_now(ws: web.WebSocketResponse, request: web.Request) -> Callable[[bytes], bool]:
    """Writes a message as one text frame straight to the socket's transport, when that cannot wait
    and cannot pass anything: the hub calls it only while the relay waits with nothing queued, and
    it declines (False: the message is queued for the relay, which has the stalled-client timeout)
    once the socket is closing or its buffer holds QUICK_SEND bytes with this message. The sockets
    are made without permessage-deflate, so the frame is the same bytes for every client."""

    def write_now(data: bytes) -> bool:
        transport = request.transport
        if ws.closed or transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() + len(data) >= QUICK_SEND:
            return False
        transport.write(_frame(data))
        return True

    return write_now


_last_frame: tuple[bytes, bytes] = (b"", b"\x81\x00")  # the latest message and its frame


def _frame(data: bytes) -> bytes:
    """A final text frame from the server (not masked, not compressed), built once per message:
    the hub hands the same bytes object to every socket."""
    global _last_frame
    if _last_frame[0] is data:
        return _last_frame[1]
    n = len(data)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    _last_frame = (data, header + data)
    return _last_frame[1]


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
    guard: limits.Guard,
    token_hash: str,
    meeting_id: str,
    actor: cmd.Actor,
    request: web.Request,
) -> None:
    config = request.app[CONFIG]
    try:
        message = limits.loads(text, config.limits.max_json_depth, "the command")
    except cmd.CommandError as exc:
        sub.offer(_error(None, f"{exc}; send one JSON object per frame"))
        return
    cid = message.get("id") if isinstance(message, dict) else None
    if cid is not None and not _good_id(cid):
        sub.offer(_error(None, '"id" must be a string of at most 64 characters or a whole number'))
        return
    try:
        guard.command(token_hash)  # every command counts, whether it then parses or not
        command = cmd.parse(message, config.limits, config.meeting.groups)
        seq = await guard.execute(meetings, meeting_id, actor, command, multilingual=multilingual(request.app))
    except limits.LimitExceeded as exc:
        sub.offer(_error(cid, str(exc), limit=exc.limit))
        return
    except cmd.CommandError as exc:
        sub.offer(_error(cid, str(exc)))
        return
    except Exception:
        log.exception("command failed in meeting %s", meeting_id)
        sub.offer(_error(cid, "the server could not record this command; nothing was changed, try again"))
        return
    sub.offer(ev.dumps({"type": "ack", "id": cid, "seq": seq}))


def _good_id(cid: Any) -> bool:
    """A command id the ack can echo: a valid Unicode string of at most 64 characters, or a 53-bit integer."""
    if isinstance(cid, bool):
        return False
    if isinstance(cid, int):
        return abs(cid) <= 2**53
    if not isinstance(cid, str) or len(cid) > 64:
        return False
    try:
        cid.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _error(cid: Any, message: str, **extra: str) -> str:
    # a message quoting what the client sent must not break the socket (a lone surrogate cannot be encoded)
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return ev.dumps({"type": "error", "id": cid, "error": message, **extra})
