"""The audio websocket: PCM s16le 16 kHz mono in binary frames.

The chair's, a moderator's or a feed token sends the hall channel (one
sender at a time). A remote participant's token is accepted only while that
participant holds the floor, on a channel of their own; the moment their
turn ends their audio is refused and the socket closed.
"""

from __future__ import annotations

from aiohttp import WSMsgType, web

from . import events as ev
from .appkeys import AUDIO_SENDERS, MEETINGS, TRANSCRIPTION
from .errors import json_error
from .service import NotFound
from .transcription import pcm_to_float

HALL_ROLES = ("chair", "moderator", "feed")
CLOSE_NOT_YOUR_TURN = 4003
MAX_AUDIO_FRAME = 64 * 1024  # 2 s of audio; browsers send 20–100 ms frames


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
    senders = request.app[AUDIO_SENDERS]
    key = (meeting_id, speaker or "hall")
    if key in senders:
        return json_error(409, "another connection is already sending this channel's audio")
    if transcription.recognizer is None:
        return json_error(503, transcription.error or "the speech model is still loading; try again in a moment")

    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_AUDIO_FRAME)
    await ws.prepare(request)
    senders.add(key)
    channel = transcription.channel(meeting_id, speaker)
    odd = b""
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                if speaker is not None and (state.floor is None or state.floor.participant_id != speaker):
                    await ws.send_str(ev.dumps({"type": "error", "error": "your turn has ended; audio is no longer accepted"}))
                    await ws.close(code=CLOSE_NOT_YOUR_TURN, message=b"your turn has ended")
                    break
                data = odd + msg.data
                cut = len(data) - len(data) % 2
                odd = data[cut:]
                channel.feed(pcm_to_float(data[:cut]))
            elif msg.type == WSMsgType.TEXT:
                await ws.send_str(ev.dumps({"type": "error", "error": "send audio as binary frames of PCM s16le, 16 kHz, mono"}))
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        senders.discard(key)
        await transcription.end(meeting_id, speaker)
    return ws

