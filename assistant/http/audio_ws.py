"""The audio websocket: PCM s16le 16 kHz mono in binary frames.

The chair's, a moderator's or a feed token sends the hall channel (one
sender at a time). A remote participant's token is accepted only while that
participant holds the floor, on a channel of their own; the moment their
turn ends their audio is refused and the socket closed. Their voice is also
played on the hall loudspeaker (`playback.py`) where one is configured.

A sender that must lose nothing across reconnects (the hall uplink) names its
stream: `?stream=ID`. The server answers every connection with
`{"type": "ready", "stream", "samples"}`, the samples of that stream it already
has, and the sender goes on from there: nothing is lost and nothing is
transcribed twice; every second it is told `{"type": "received", "samples"}` so it
can forget what is safe. Before a frame sent late (after a network loss), a text
frame `{"captured_ago_s": seconds}` says how long ago its first sample was
captured (a duration, so the two machines' clocks need not agree), and its words
are attributed to whoever held the floor when they were spoken.

Audio is accepted no faster than real time, `[limits] audio_burst_s` ahead at most; a
named hall stream is timed from when it was first seen and may be RESUME_CREDIT_S
ahead more (the backlog of a feed that was cut off). A sender that goes beyond gets
an error naming the limit and is closed with 4029; the frame that went beyond is
not taken, nothing is buffered.
When the meeting ends every audio socket of it is closed with 4010 and nothing more
from them is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time

from aiohttp import WSMsgType, web

from ..audio.listening import AudioRelay
from ..audio.pcm import SAMPLE_RATE, pcm_to_float
from ..core import events as ev
from ..service.meetings import NotFound
from .appkeys import (
    AUDIO_SENDERS,
    AUDIO_STREAM_STARTS,
    AUDIO_STREAMS,
    CONFIG,
    GUARD,
    MEETINGS,
    PLAYBACK,
    RELAY,
    SOCKETS,
    TRANSCRIPTION,
)
from .errors import json_error
from .limits import AudioPace, LimitExceeded

HALL_ROLES = ("chair", "moderator", "feed")
CLOSE_NOT_YOUR_TURN = 4003
CLOSE_MEETING_ENDED = 4010
CLOSE_TOO_FAST = 4029  # audio faster than real time (limits.audio_burst_s)
RESUME_CREDIT_S = 300.0  # a hall stream back after a cut may catch up this much (the feed's default backlog)
MAX_AUDIO_FRAME = 64 * 1024  # 2 s of audio; browsers send 20–100 ms frames
STREAM_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
KEPT_STREAMS = 1000
MAX_BACKDATE_S = 600  # audio captured longer ago than this is taken as arriving now
RESUME_GRACE_S = 30.0  # a resumable stream lost without a close keeps its channel this long
ACK_EVERY = SAMPLE_RATE  # samples between "received" messages to a resumable stream


async def audio_ws(request: web.Request) -> web.StreamResponse:
    meetings, transcription = request.app[MEETINGS], request.app[TRANSCRIPTION]
    meeting_id = request.match_info["id"]
    grant = meetings.authenticate(request.query.get("token"), meeting_id)
    if grant is None:
        return json_error(401, "a valid ?token= of this meeting is needed to send audio")
    try:
        state = await meetings.state(meeting_id)
    except NotFound as exc:
        return json_error(404, str(exc))
    if state.ended_at is not None:
        return json_error(409, "this meeting has ended")
    speaker: str | None = None
    if grant.role == "participant":
        who = state.participants.get(grant.participant_id or "")
        if who is None or who.mode != "remote":
            return json_error(403, "only remote participants send their own audio; onsite speakers use the hall microphones")
        if state.floor is None or state.floor.participant_id != who.participant_id:
            return json_error(403, "you can send audio only while you hold the floor")
        speaker = who.participant_id
    elif grant.role not in HALL_ROLES:
        return json_error(403, "an observer's token cannot send audio")
    stream_id = request.query.get("stream")
    if stream_id is not None and not STREAM_ID.match(stream_id):
        return json_error(400, "stream must be 8 to 64 letters, digits, - or _ (the same for every reconnection)")
    senders = request.app[AUDIO_SENDERS]
    key = (meeting_id, speaker or "hall")
    old = senders.get(key)
    if old is not None:
        if stream_id is None or old.stream_id != stream_id:
            return json_error(409, "another connection is already sending this channel's audio")
        # the same stream reconnecting while its old connection is not yet known to be dead: it takes over
        await old.ws.close(code=4009, message=b"replaced by a new connection of the same stream")
        await old.released.wait()
    if transcription.recognizer is None and speaker is None:
        # the hall channel is only transcribed: refuse, so a feed keeps its audio and tries again
        return json_error(503, transcription.error or "the speech model is still loading; try again in a moment")

    ws = web.WebSocketResponse(heartbeat=5.0, max_msg_size=MAX_AUDIO_FRAME)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)  # closed with 1001 when the server stops
    me = senders[key] = Sender(stream_id, ws)
    streams = request.app[AUDIO_STREAMS]
    stream_key = (meeting_id, key[1], stream_id or "")
    received = streams.pop(stream_key, 0) if stream_id else 0
    burst_s = request.app[CONFIG].limits.audio_burst_s
    if stream_id and speaker is None:  # a hall uplink: timed over the stream's life, with room for its backlog
        started = request.app[AUDIO_STREAM_STARTS].setdefault(stream_key, time.monotonic())
        pace = AudioPace(SAMPLE_RATE, burst_s + RESUME_CREDIT_S, started=started, samples=received)
    else:
        pace = AudioPace(SAMPLE_RATE, burst_s)
    # a remote speaker is heard in the hall even when transcription is off or still loading
    channel = transcription.channel(meeting_id, speaker) if transcription.recognizer is not None else None
    playback = request.app[PLAYBACK]
    relay = request.app[RELAY]
    odd = b""
    captured_at: float | None = None
    acked = received
    said_goodbye = False  # the sender closed the socket itself, rather than vanishing
    ended = False  # the meeting ended: its channel is finished at once
    try:
        await ws.send_str(ev.dumps({"type": "ready", "stream": stream_id, "samples": received,
                                    "transcribing": channel is not None}))
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                # only a close frame from the sender is a goodbye: aiohttp may report a connection
                # that ended without one with code 1000 as well (its end-of-stream path)
                said_goodbye = msg.type == WSMsgType.CLOSE and ws.close_code == 1000
                break
            if msg.type == WSMsgType.BINARY:
                if state.ended_at is not None:
                    ended = True
                    await _refuse(ws, CLOSE_MEETING_ENDED, "the meeting has ended; audio is no longer accepted")
                    break
                if not pace.accept((len(odd) + len(msg.data)) // 2):
                    await _refuse(ws, CLOSE_TOO_FAST, (
                        f"audio arrives faster than real time: at most {pace.ahead_s:g} s ahead of the clock are "
                        "accepted (limits.audio_burst_s); send it as it is captured"), limit="audio_burst_s")
                    break
                if speaker is not None and (state.floor is None or state.floor.participant_id != speaker):
                    await ws.send_str(ev.dumps({"type": "error", "error": "your turn has ended; audio is no longer accepted"}))
                    await ws.close(code=CLOSE_NOT_YOUR_TURN, message=b"your turn has ended")
                    break
                data = odd + msg.data
                cut = len(data) - len(data) % 2
                odd = data[cut:]
                samples = pcm_to_float(data[:cut])
                ends_at = None if captured_at is None else captured_at + len(samples) / SAMPLE_RATE
                if channel is not None:  # through the manager: a channel whose recogniser failed restarts
                    transcription.feed(meeting_id, speaker, samples, at=ends_at)
                if speaker is not None:
                    playback.feed(speaker, samples)
                if speaker is None or (meeting_id, "hall") not in senders:  # the hall carries remote voices too
                    relay.publish(meeting_id, samples)
                received += len(samples)
                captured_at = None
                if stream_id:
                    streams[stream_key] = received
                    if received - acked >= ACK_EVERY:
                        acked = received
                        await ws.send_str(ev.dumps({"type": "received", "samples": received}))
            elif msg.type == WSMsgType.TEXT:
                captured_at, problem = _captured_at(msg.data)
                if problem:
                    await ws.send_str(ev.dumps({"type": "error", "error": problem}))
    finally:
        ended = ended or state.ended_at is not None
        if senders.get(key) is me:
            del senders[key]
        if stream_id:
            streams[stream_key] = received
            starts = request.app[AUDIO_STREAM_STARTS]
            while len(starts) > KEPT_STREAMS:
                del starts[next(iter(starts))]
            while len(streams) > KEPT_STREAMS:
                del streams[next(iter(streams))]
        me.released.set()
        if speaker is not None:
            playback.end(speaker)
        if channel is not None and stream_id and not said_goodbye and not ended:
            transcription.end_later(meeting_id, speaker, RESUME_GRACE_S)  # it may come back: keep the sentence open
        elif channel is not None:
            await transcription.end(meeting_id, speaker)
    return ws


async def _refuse(ws: web.WebSocketResponse, code: int, message: str, **extra: str) -> None:
    """Say why, then close: the sender learns what to do from the error and the close code."""
    with contextlib.suppress(ConnectionError, RuntimeError):  # it may be gone already
        await ws.send_str(ev.dumps({"type": "error", "error": message, **extra}))
        await ws.close(code=code, message=message.split(";")[0].encode()[:120])


def close_ended(app: web.Application, meeting_id: str) -> None:
    """The meeting ended: close every audio socket of it (their handlers then end their channels)."""
    for (mid, _channel), sender in list(app[AUDIO_SENDERS].items()):
        if mid == meeting_id and not sender.ws.closed:
            task = asyncio.create_task(_refuse(sender.ws, CLOSE_MEETING_ENDED,
                                               "the meeting has ended; audio is no longer accepted"))
            _closing.add(task)
            task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task[None]] = set()  # closes under way, kept from the garbage collector


class Sender:
    """The one connection sending a channel's audio."""

    def __init__(self, stream_id: str | None, ws: web.WebSocketResponse) -> None:
        self.stream_id, self.ws = stream_id, ws
        self.released = asyncio.Event()  # its bookkeeping is done: a successor may read the stream's count


def _captured_at(text: str) -> tuple[float | None, str]:
    """When the next binary frame's first sample was captured, from a text frame; or what is wrong."""
    try:
        ago = json.loads(text)["captured_ago_s"]
        if isinstance(ago, bool) or not isinstance(ago, int | float):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return None, 'send audio as binary frames of PCM s16le, 16 kHz, mono; text frames may only be {"captured_ago_s": seconds}'
    if not 0 <= ago <= MAX_BACKDATE_S:
        return None, ""  # out of range: take the audio as arriving now
    return time.time() - float(ago), ""



async def listen_ws(request: web.Request) -> web.StreamResponse:
    """The meeting's audio for a browser that asks to listen (see relay.py); any token of the meeting."""
    meetings, relay = request.app[MEETINGS], request.app[RELAY]
    meeting_id = request.match_info["id"]
    grant = meetings.authenticate(request.query.get("token"), meeting_id)
    if grant is None:
        return json_error(401, "a valid ?token= of this meeting is needed to listen")
    try:
        with request.app[GUARD].socket(grant.token_hash, "listen"):
            return await _listen(request, relay, meeting_id)
    except LimitExceeded as exc:
        return json_error(429, str(exc), limit=exc.limit)


async def _listen(request: web.Request, relay: AudioRelay, meeting_id: str) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)  # closed with 1001 when the server stops
    listener = relay.listen(meeting_id)

    async def send() -> None:
        while True:
            await ws.send_bytes(await listener.queue.get())

    sender = asyncio.create_task(send())
    try:
        async for _ in ws:
            pass  # nothing is expected from a listener
    finally:
        relay.leave(meeting_id, listener)
        sender.cancel()
    return ws
