"""The secretariat's handlers: meetings listed with their state, rescheduled, ended, and their
calendar invitation. The admin token (`[server] admin_token`) or the meeting's chair token.

A reschedule or an end is the chair's command (`reschedule`, `end_meeting`) carried out like any
other, so its event reaches every open page; with the admin token it is done in the chair's name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web

from ..config import is_timezone
from ..core import commands as cmd
from ..core.meeting import MANAGERS, MeetingState
from . import calendar
from .api import base_url, bearer, body, check_readable, urls
from .appkeys import CONFIG, MEETINGS


def _admin(request: web.Request, doing: str) -> None:
    if not request.app[MEETINGS].is_admin(bearer(request)):
        raise web.HTTPUnauthorized(text=f"{doing} needs the admin token as Authorization: Bearer")


async def _as_chair(request: web.Request, meeting_id: str, doing: str) -> tuple[cmd.Actor, MeetingState]:
    """The chair acting: the chair's own token, or the admin token acting in the chair's name."""
    meetings = request.app[MEETINGS]
    token = bearer(request)
    state = await meetings.state(meeting_id)  # 404 for an unknown meeting
    if meetings.is_admin(token):
        return cmd.Actor(state.chair_id(), "chair"), state
    grant = meetings.authenticate(token, meeting_id)
    if grant is None:
        raise web.HTTPUnauthorized(text=f"{doing} needs the admin token or the chair's as Authorization: Bearer")
    if grant.role != "chair":
        raise web.HTTPForbidden(text=f"only the chair or the secretariat (admin token) can {doing}")
    return cmd.Actor(grant.participant_id, "chair"), state


def phase(row: dict[str, Any], now: float) -> str:
    """scheduled (its start is still to come), live, or ended."""
    if row.get("ended") is not None:
        return "ended"
    starts = row.get("starts_at")
    if starts and datetime.fromisoformat(starts).timestamp() > now:
        return "scheduled"
    return "live"


async def list_meetings(request: web.Request) -> web.Response:
    """GET /api/admin/meetings: every meeting with its state, times and invite link."""
    _admin(request, "listing meetings with their invite links")
    meetings = request.app[MEETINGS]
    base, now = base_url(request), meetings.clock()
    out = []
    for row in await meetings.store.meetings():
        code = await meetings.invite_code(row["id"])
        out.append({**row, "state": phase(row, now), **urls(base, row["id"], invite_code=code),
                    "calendar_url": f"{base}/api/meetings/{row['id']}/calendar.ics"})
    return web.json_response({"meetings": out, "now": now})


async def reschedule(request: web.Request) -> web.Response:
    """POST /api/meetings/{id}/schedule {starts_at?, ends_at?, timezone?}: the `reschedule` command."""
    meeting_id = request.match_info["id"]
    actor, state = await _as_chair(request, meeting_id, "reschedule the meeting")
    config = request.app[CONFIG]
    command = cmd.Reschedule.from_fields(cmd.Fields(await body(request), "reschedule", config.limits))
    seq = await request.app[MEETINGS].execute(meeting_id, actor, command)
    return web.json_response({"seq": seq, **_schedule(state)})


async def end(request: web.Request) -> web.Response:
    """POST /api/meetings/{id}/end: the `end_meeting` command (409 when it has already ended)."""
    meeting_id = request.match_info["id"]
    actor, state = await _as_chair(request, meeting_id, "end the meeting")
    if state.ended_at is not None:
        raise web.HTTPConflict(text="this meeting has already ended")
    seq = await request.app[MEETINGS].execute(meeting_id, actor, cmd.EndMeeting())
    return web.json_response({"seq": seq, "ended": state.ended_at})


async def chair_link(request: web.Request) -> web.Response:
    """POST /api/meetings/{id}/chair_link (admin): a new chair link, for a chair who lost theirs
    (tokens are stored hashed, so the first one cannot be shown again)."""
    meeting_id = request.match_info["id"]
    _admin(request, "issuing a chair link")
    meetings = request.app[MEETINGS]
    await meetings.state(meeting_id)
    token = await meetings.issue_token(meeting_id, "chair")
    return web.json_response({"chair_token": token, **urls(base_url(request), meeting_id, chair_token=token)},
                             status=201)


async def calendar_ics(request: web.Request) -> web.Response:
    """GET /api/meetings/{id}/calendar.ics: the invitation, from the meeting's own record.

    Its URL is the join page. The invite code is added only for those who may hand it out (the
    admin token, the chair's or a moderator's): a participant's calendar file is forwarded, and a
    public archive's is readable by anyone."""
    meetings = request.app[MEETINGS]
    meeting_id = request.match_info["id"]
    check_readable(request, meeting_id)
    state = await meetings.state(meeting_id)
    token = bearer(request)
    grant = meetings.authenticate(token, meeting_id)
    may_invite = meetings.is_admin(token) or (grant is not None and grant.role in MANAGERS)
    base = base_url(request)
    join_url = (
        urls(base, meeting_id, invite_code=await meetings.invite_code(meeting_id))["join_url"]
        if may_invite
        else f"{base}/join/{meeting_id}"
    )
    text = calendar.ics(invitation(state, base, join_url, now=meetings.clock()))
    return web.Response(
        body=text.encode("utf-8"),
        content_type="text/calendar",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="meeting-{meeting_id}.ics"',
            "Cache-Control": "no-cache",
        },
    )


def invitation(state: MeetingState, base: str, join_url: str, *, now: float) -> calendar.Invitation:
    """The meeting's calendar entry. Without scheduled times it starts when it was opened. Ended
    before its start, it reads as cancelled (one SEQUENCE more, so calendars take the change);
    ended later, it keeps its times and says when it ended."""
    zone = state.timezone if is_timezone(state.timezone) else "UTC"  # an old archive may name no real zone
    created = datetime.fromtimestamp(state.created_at, UTC)
    start = datetime.fromisoformat(state.starts_at) if state.starts_at else created
    end = datetime.fromisoformat(state.ends_at) if state.ends_at else None
    cancelled = state.ended_at is not None and state.ended_at < start.timestamp()
    lines = [f"{i + 1}. {item}" for i, item in enumerate(state.agenda)]
    description = ("Agenda:\n" + "\n".join(lines) + "\n\n" if lines else "") + f"Join: {join_url}"
    if state.ended_at is not None:
        ended = datetime.fromtimestamp(state.ended_at, UTC).astimezone(ZoneInfo(zone))
        description += f"\n\nThis meeting {'was cancelled' if cancelled else 'ended'} on {ended:%Y-%m-%d %H:%M} ({zone})."
    host = urlsplit(base).hostname or "meeting-assistant"
    return calendar.Invitation(
        uid=f"{state.meeting_id}@{host}",
        sequence=state.schedule_sequence + (1 if cancelled else 0),
        title=state.title,
        description=description,
        url=join_url,
        timezone=zone,
        start=start,
        end=end,
        cancelled=cancelled,
        created=created,
        stamp=datetime.fromtimestamp(now, UTC),
    )


def _schedule(state: MeetingState) -> dict[str, Any]:
    return {"starts_at": state.starts_at, "ends_at": state.ends_at, "timezone": state.timezone,
            "sequence": state.schedule_sequence}
