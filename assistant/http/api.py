"""HTTP handlers of the API (DESIGN section 6): parse, call the service, answer JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from ..archive.store import Grant
from ..config import POLICIES, is_timezone
from ..core import commands as cmd
from ..core import views
from ..core.meeting import MANAGERS
from ..speech import languages
from . import limits
from .appkeys import CONFIG, GUARD, MEETINGS, PLAYBACK, TRANSCRIPTION
from .errors import json_error

JOIN_ROLES = ("participant", "observer")
MAX_SEQ = 2**53  # a seq beyond this is no meeting's; it is refused before it reaches SQLite
ISSUED_ROLES = ("moderator", "observer", "feed")


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise cmd.CommandError("send the body as JSON with Content-Type: application/json")
    data = limits.loads(await request.read(), request.app[CONFIG].limits.max_json_depth, "the body")
    if not isinstance(data, dict):
        raise cmd.CommandError("the body must be a JSON object")
    return data


def multilingual(app: web.Application) -> bool:
    """Whether the speech model decodes other languages than English (the loaded one, else the configured)."""
    recognizer = app[TRANSCRIPTION].recognizer
    if recognizer is not None:
        return bool(recognizer.multilingual)
    asr = app[CONFIG].asr
    return not asr.enabled or languages.is_multilingual(asr.model)


def language(request: web.Request, f: cmd.Fields) -> str:
    """A participant's declared language, as a code the speech model decodes."""
    try:
        return languages.check(f.language(), multilingual=multilingual(request.app))
    except languages.LanguageError as exc:
        raise cmd.CommandError(f"{f.what}: {exc}") from None


def base_url(request: web.Request) -> str:
    public = request.app[CONFIG].server.public_url
    return public.rstrip("/") if public else str(request.url.origin())


def urls(
    base: str, meeting_id: str, *, chair_token: str | None = None, invite_code: str | None = None
) -> dict[str, str]:
    out = {"projector_url": f"{base}/projector/{meeting_id}"}
    if chair_token is not None:
        out["chair_url"] = f"{base}/chair/{meeting_id}#token={chair_token}"
    if invite_code is not None:
        # in the fragment, like the tokens: never sent to a server, kept out of logs and Referer
        out["join_url"] = f"{base}/join/{meeting_id}#code={invite_code}"
    return out


ALL_ROLES = ("chair", "moderator", "participant", "observer", "feed")


def _grant_for(request: web.Request, meeting_id: str, roles: tuple[str, ...], doing: str) -> Grant:
    meetings = request.app[MEETINGS]
    grant = meetings.authenticate(bearer(request), meeting_id)
    if grant is None:
        raise web.HTTPUnauthorized(text=f"{doing} needs this meeting's token as Authorization: Bearer")
    if grant.role not in roles:
        raise web.HTTPForbidden(text=f"only {' or '.join(roles)} can {doing}")
    return grant


def check_readable(request: web.Request, meeting_id: str) -> None:
    """With public_archive off, reading a meeting needs one of its tokens or the admin token."""
    if request.app[CONFIG].server.public_archive or request.app[MEETINGS].is_admin(bearer(request)):
        return
    _grant_for(request, meeting_id, ALL_ROLES, "reading this meeting")


async def create_meeting(request: web.Request) -> web.Response:
    meetings, config = request.app[MEETINGS], request.app[CONFIG]
    if not meetings.is_admin(bearer(request)):
        return json_error(401, "creating a meeting needs the admin token as Authorization: Bearer")
    data = await body(request)
    f = cmd.Fields(data, "a new meeting", config.limits)
    title = f.text("title", config.limits.max_title_chars)
    agenda_raw = data.get("agenda", [])
    if not isinstance(agenda_raw, list) or not all(isinstance(a, str) for a in agenda_raw):
        raise cmd.CommandError('"agenda" must be a list of strings, one per agenda item')
    if len(agenda_raw) > config.limits.max_agenda_items:
        raise cmd.CommandError(
            f'"agenda" has {len(agenda_raw)} items; at most {config.limits.max_agenda_items}'
        )
    agenda = [
        cmd.Fields({"item": a}, f"agenda item {i + 1}", config.limits).text(
            "item", config.limits.max_title_chars
        )
        for i, a in enumerate(agenda_raw)
    ]
    policy = f.choice("policy", POLICIES, default=config.queue.policy)
    timezone = f.text("timezone", 64, required=False) or config.meeting.timezone
    if not is_timezone(timezone):
        raise cmd.CommandError(f'"timezone" is {timezone!r}; use an IANA name such as Europe/Zurich')
    limit = f.integer("time_limit_s", 0, 86400) if "time_limit_s" in data else None
    starts_at, ends_at = f.moment("starts_at"), f.moment("ends_at")
    if starts_at and ends_at and datetime.fromisoformat(ends_at) <= datetime.fromisoformat(starts_at):
        raise cmd.CommandError(f'"ends_at" ({ends_at}) must be after "starts_at" ({starts_at})')
    created = await meetings.create(
        title=title,
        agenda=agenda,
        policy=policy,
        timezone=timezone,
        time_limit_s=limit,
        chair_name=f.name("chair_name", required=False) or "Chair",
        starts_at=starts_at,
        ends_at=ends_at,
    )
    base = base_url(request)
    return web.json_response(
        {
            "id": created.meeting_id,
            "chair_token": created.chair_token,
            "chair_id": created.chair_id,
            "invite_code": created.invite_code,
            **urls(
                base, created.meeting_id, chair_token=created.chair_token, invite_code=created.invite_code
            ),
        },
        status=201,
    )


async def list_meetings(request: web.Request) -> web.Response:
    """Every meeting in a public archive or for the admin; in a private one, only the caller's."""
    meetings = request.app[MEETINGS]
    found = await meetings.store.meetings()
    if request.app[CONFIG].server.public_archive or meetings.is_admin(bearer(request)):
        return web.json_response(found)
    grant = meetings.authenticate(bearer(request))
    if grant is None:
        return json_error(401, "this archive is private: list meetings with a meeting token or the admin token as Bearer")
    return web.json_response([m for m in found if m["id"] == grant.meeting_id])


async def get_meeting(request: web.Request) -> web.Response:
    meetings = request.app[MEETINGS]
    meeting_id = request.match_info["id"]
    check_readable(request, meeting_id)
    state = await meetings.state(meeting_id)
    grant = meetings.authenticate(bearer(request), meeting_id)
    manager = grant is not None and meetings.sees_texts(grant.role)
    return web.Response(body=meetings.snapshot_bytes(state, manager=manager), content_type="application/json")


async def get_equity(request: web.Request) -> web.Response:
    """Speaking time by group and mode against their share of the room, longest waits, written
    interventions answered: the figures of the chair's report, for the meeting as it stands."""
    meetings = request.app[MEETINGS]
    meeting_id = request.match_info["id"]
    check_readable(request, meeting_id)
    state = await meetings.state(meeting_id)
    return web.json_response(views.equity_of(state, meetings.clock()).to_dict())


async def join(request: web.Request) -> web.Response:
    meetings, config = request.app[MEETINGS], request.app[CONFIG]
    meeting_id = request.match_info["id"]
    data = await body(request)
    f = cmd.Fields(data, "joining", config.limits, config.meeting.groups)
    code = f.text("invite_code", 200)
    await meetings.check_invite(meeting_id, code)
    request.app[GUARD].join(meeting_id, code, request.remote or "")  # counted once the code is right
    role = f.choice("role", JOIN_ROLES, default="participant")
    profile = cmd.Profile.from_fields(f, language=language(request, f), role=role)
    pid, token = await meetings.add_participant(meeting_id, profile)
    return web.json_response({"participant_id": pid, "token": token, "role": role}, status=201)


async def issue_token(request: web.Request) -> web.Response:
    """The chair hands out a moderator's, an observer screen's or an audio feed's token."""
    meetings, config = request.app[MEETINGS], request.app[CONFIG]
    meeting_id = request.match_info["id"]
    _grant_for(request, meeting_id, ("chair",), "hand out tokens")
    data = await body(request)
    f = cmd.Fields(data, "a new token", config.limits, config.meeting.groups)
    role = f.choice("role", ISSUED_ROLES)
    if role == "moderator":
        profile = cmd.Profile.from_fields(
            f, language=language(request, f), role=role, group=config.meeting.groups[-1], mode="onsite"
        )
        pid, token = await meetings.add_participant(meeting_id, profile)
        return web.json_response({"participant_id": pid, "token": token, "role": role}, status=201)
    token = await meetings.issue_token(meeting_id, role)
    return web.json_response({"participant_id": None, "token": token, "role": role}, status=201)


async def invite(request: web.Request) -> web.Response:
    meetings = request.app[MEETINGS]
    meeting_id = request.match_info["id"]
    _grant_for(request, meeting_id, MANAGERS, "see the invite code")
    code = await meetings.invite_code(meeting_id)
    return web.json_response({"invite_code": code, **urls(base_url(request), meeting_id, invite_code=code)})


async def whoami(request: web.Request) -> web.Response:
    """Who a token speaks for in this meeting: a page opened from a link learns its participant."""
    meeting_id = request.match_info["id"]
    grant = _grant_for(request, meeting_id, ALL_ROLES, "ask who you are")
    return web.json_response({"participant_id": grant.participant_id, "role": grant.role})


async def post_command(request: web.Request) -> web.Response:
    """The websocket's commands over plain HTTP, for scripts and simple clients."""
    meetings, config = request.app[MEETINGS], request.app[CONFIG]
    meeting_id = request.match_info["id"]
    grant = _grant_for(request, meeting_id, ("chair", "moderator", "participant"), "send commands")
    request.app[GUARD].command(grant.token_hash)
    command = cmd.parse(await body(request), config.limits, config.meeting.groups)
    seq = await request.app[GUARD].execute(
        meetings, meeting_id, cmd.Actor(grant.participant_id, grant.role), command,
        multilingual=multilingual(request.app),
    )
    return web.json_response({"type": "ack", "seq": seq})


async def get_events(request: web.Request) -> web.Response:
    """Stored events after ?since=, in pages of at most ?limit= (1000)."""
    meetings = request.app[MEETINGS]
    meeting_id = request.match_info["id"]
    check_readable(request, meeting_id)
    try:
        since = int(request.query.get("since", "0"))
        limit = int(request.query.get("limit", "1000"))
    except ValueError:
        return json_error(400, "since and limit must be whole numbers")
    if not 0 <= since <= MAX_SEQ or not 1 <= limit <= 1000:
        return json_error(400, f"since must be from 0 to {MAX_SEQ} and limit from 1 to 1000")
    await meetings.state(meeting_id)  # 404 for an unknown meeting
    events = await meetings.store.events(meeting_id, since, limit)
    body = b"[" + b",".join(e.to_bytes() for e in events) + b"]"  # each event as it goes on the wire
    return web.Response(body=body, content_type="application/json")


async def speech_languages(request: web.Request) -> web.Response:
    """The languages a participant may declare at join: every Whisper code, or only English."""
    codes = languages.LANGUAGES if multilingual(request.app) else {"en": languages.LANGUAGES["en"]}
    return web.json_response({"multilingual": multilingual(request.app), "languages": codes})


async def health(request: web.Request) -> web.Response:
    """Whether the server is up; with the admin token, its clients, speech channels and playback too."""
    if not request.app[MEETINGS].is_admin(bearer(request)):
        return web.json_response({"ok": True})
    transcription = request.app[TRANSCRIPTION]
    return web.json_response(
        {
            "ok": True,
            "clients": request.app[MEETINGS].hub.count(),
            "asr": {
                "model": request.app[CONFIG].asr.model if request.app[CONFIG].asr.enabled else None,
                "ready": transcription.recognizer is not None,
                "error": transcription.error,
                "channels": transcription.stats(),
                "failed": transcription.failed(),  # channels whose recogniser failed (restarted after 5 s)
            },
            "playback": request.app[PLAYBACK].stats(),
        }
    )
