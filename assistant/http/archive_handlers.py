"""HTTP handlers of the archive: transcripts in each format, the chair's report, statements, search."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web

from ..archive import report
from ..archive.exports import CONTENT_TYPES, WRITERS
from ..archive.tables import Record, SearchError
from .api import bearer, check_readable
from .appkeys import CONFIG, MEETINGS
from .errors import json_error

REPORTS: dict[str, Callable[[Record, float], str]] = {"md": report.to_markdown, "html": report.to_html}


async def _record(request: web.Request) -> Record:
    meeting_id = request.match_info["id"]
    check_readable(request, meeting_id)
    found = await request.app[MEETINGS].store.record(meeting_id)
    if found is None:
        raise web.HTTPNotFound(text=f"no meeting {meeting_id!r}")
    return found


def _file(request: web.Request, text: str, fmt: str, name: str) -> web.Response:
    resp = web.Response(text=text, content_type=CONTENT_TYPES[fmt], charset="utf-8")
    if "download" in request.query:
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return resp


async def transcript(request: web.Request) -> web.Response:
    fmt = request.match_info["fmt"]
    if fmt not in WRITERS:
        return json_error(404, f"no transcript format {fmt!r}; formats: {', '.join(WRITERS)}")
    record = await _record(request)
    text = await asyncio.get_running_loop().run_in_executor(None, WRITERS[fmt], record)
    return _file(request, text, fmt, f"transcript-{record.meeting['id']}")


async def chair_report(request: web.Request) -> web.Response:
    fmt = request.match_info["fmt"]
    if fmt not in REPORTS:
        return json_error(404, f"no report format {fmt!r}; formats: {', '.join(REPORTS)}")
    record = await _record(request)
    text = await asyncio.get_running_loop().run_in_executor(None, REPORTS[fmt], record, time.time())
    return _file(request, text, fmt, f"report-{record.meeting['id']}")


async def statement(request: web.Request) -> web.Response:
    """GET /api/meetings/{id}/statements/{statement_id}: a statement for the record, with its body."""
    meeting_id, statement_id = request.match_info["id"], request.match_info["statement_id"]
    check_readable(request, meeting_id)
    store = request.app[MEETINGS].store
    found = await store.statement(meeting_id, statement_id)
    if found is not None:
        return web.json_response(found)
    if await store.meeting(meeting_id) is None:
        return json_error(404, f"no meeting {meeting_id!r}")
    return json_error(404, f"no statement {statement_id!r} in meeting {meeting_id!r}; "
                           "the statement_filed events carry the ids of its statements")


async def search(request: web.Request) -> web.Response:
    """GET /api/search?q=…[&meeting=ID][&limit=N]: transcript lines, written interventions and statements
    across meetings, best first."""
    meetings, config = request.app[MEETINGS], request.app[CONFIG]
    q = request.query.get("q", "")
    try:
        limit = int(request.query.get("limit", "20"))
        if not 1 <= limit <= 200:
            raise ValueError
    except ValueError:
        return json_error(400, "limit must be a whole number from 1 to 200")
    only: list[str] | None = None
    if "meeting" in request.query:
        only = [request.query["meeting"]]
        check_readable(request, only[0])
    elif not (config.server.public_archive or meetings.is_admin(bearer(request))):
        grant = meetings.authenticate(bearer(request))
        if grant is None:
            return json_error(401, "this archive is private: search with a meeting token or the admin token as Bearer")
        only = [grant.meeting_id]
    try:
        hits = await meetings.store.search(q, only, limit)
    except SearchError as exc:
        return json_error(400, str(exc))
    return web.json_response({"query": q, "hits": hits})
