"""GET /api/meetings/{id}/invitation: what an invitee's join page shows before it has a token.

Public, like the join link it serves: the meeting's title, times and agenda, whether it has ended,
and the stakeholder groups this server offers (`[meeting] groups`), so the join form and the chair's
"add a speaker" form list exactly the groups a join will accept. It never carries the invite code,
a token, or who has joined.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .appkeys import CONFIG, MEETINGS


async def invitation(request: web.Request) -> web.Response:
    meetings, config = request.app[MEETINGS], request.app[CONFIG]
    state = await meetings.state(request.match_info["id"])  # 404 for an unknown meeting
    body: dict[str, Any] = {
        "id": state.meeting_id,
        "title": state.title,
        "agenda": list(state.agenda),
        "timezone": state.timezone,
        "ended": state.ended_at is not None,
        "groups": list(config.meeting.groups),
        "modes": ["remote", "onsite"],
    }
    for name in ("starts_at", "ends_at"):  # meeting times, once the meeting records them
        value = getattr(state, name, None)
        if value is not None:
            body[name] = value
    return web.json_response(body, headers={"Cache-Control": "no-cache"})
