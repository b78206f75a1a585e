"""The aiohttp application: routes, the pages in web/, and the lifetime of the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import WSCloseCode, web

from ..archive.store import DB_NAME, Store
from ..audio.listening import AudioRelay
from ..audio.playback import HallPlayback
from ..config import Config
from ..service.hub import Hub
from ..service.meetings import Meetings
from ..speech import whisper
from ..speech.gate import ProbabilityFn
from ..speech.pipeline import ChannelRecognizer
from ..speech.transcription import Transcription
from ..speech.vad import SileroProbabilities
from . import admin, api, archive_handlers, audio_ws, invitation, meeting_ws
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
from .errors import errors_as_json
from .headers import security_headers
from .limits import Guard

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
# Stopping (SIGINT, SIGTERM): every websocket is closed at once with 1001 (pages show "reconnecting…"
# and fail their pending commands), handlers still running get HANDLERS_S to finish, transcription
# DRAIN_S to commit what it heard; then the process exits.
CLOSE_S = 1.0  # a client that does not answer the close frame is not waited for longer
HANDLERS_S = 2.0  # the runner's shutdown_timeout (see cli.serve_forever)
DRAIN_S = 3.0

PAGES = {"join": "join.html", "meeting": "meeting.html", "chair": "chair.html", "projector": "projector.html",
         "archive": "record.html"}


def create_app(
    config: Config,
    *,
    store: Store | None = None,
    recognizer: ChannelRecognizer | None = None,
    probabilities: Callable[[], ProbabilityFn] | None = None,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The application; tests may pass a scripted recognizer instead of the real model, and a clock
    of their own (wall-clock seconds since the epoch) that they advance instead of sleeping."""
    limits = config.limits
    app = web.Application(
        middlewares=[security_headers, errors_as_json],
        client_max_size=max(1024 * 1024, limits.max_statement_chars * 4 + 64 * 1024),
    )
    app[CONFIG] = config
    store = store or Store(config.server.data_dir / DB_NAME, synchronous=config.server.synchronous)
    meetings = app[MEETINGS] = Meetings(
        config, store, Hub(limits.client_queue, limits.client_queue_bytes), clock=clock
    )
    meetings.on_ended.append(lambda meeting_id: audio_ws.close_ended(app, meeting_id))
    app[GUARD] = Guard(limits)
    transcription = app[TRANSCRIPTION] = Transcription(
        config.asr, meetings, recognizer, probabilities or SileroProbabilities, clock=clock
    )
    app[AUDIO_SENDERS] = {}
    app[AUDIO_STREAMS] = {}
    app[AUDIO_STREAM_STARTS] = {}
    playback = app[PLAYBACK] = HallPlayback(config.audio)
    app[RELAY] = AudioRelay()
    app[SOCKETS] = weakref.WeakSet()

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        await meetings.store.open()
        await meetings.start()
        playback.start()
        loading = None
        if config.asr.enabled:
            loading = asyncio.create_task(
                transcription.load(lambda: whisper.load(config.asr, config.server.data_dir / "models"))
            )
        yield
        if loading is not None and not loading.done():
            loading.cancel()  # the load itself finishes in its thread; nothing waits for it here
        playback.close()
        try:
            await asyncio.wait_for(transcription.close(), DRAIN_S)
        except TimeoutError:
            log.warning("transcription did not finish within %.0f s; what it had not committed is lost", DRAIN_S)
            transcription.executor.shutdown(wait=False, cancel_futures=True)
        meetings.hub.close_all()
        await meetings.store.close()

    app.cleanup_ctx.append(lifetime)
    app.on_shutdown.append(_close_sockets)

    r = app.router
    r.add_post("/api/meetings", api.create_meeting)
    r.add_get("/api/meetings", api.list_meetings)
    r.add_get("/api/meetings/{id}", api.get_meeting)
    r.add_get("/api/meetings/{id}/invitation", invitation.invitation)
    r.add_post("/api/meetings/{id}/participants", api.join)
    r.add_post("/api/meetings/{id}/tokens", api.issue_token)
    r.add_get("/api/meetings/{id}/invite", api.invite)
    r.add_post("/api/meetings/{id}/commands", api.post_command)
    r.add_get("/api/meetings/{id}/me", api.whoami)
    r.add_get("/api/meetings/{id}/events", api.get_events)
    r.add_get("/api/meetings/{id}/equity", api.get_equity)
    r.add_post("/api/meetings/{id}/schedule", admin.reschedule)
    r.add_post("/api/meetings/{id}/end", admin.end)
    r.add_post("/api/meetings/{id}/chair_link", admin.chair_link)
    r.add_get("/api/meetings/{id}/calendar.ics", admin.calendar_ics)
    r.add_get("/api/admin/meetings", admin.list_meetings)
    r.add_get("/api/meetings/{id}/ws", meeting_ws.meeting_ws)
    r.add_get("/api/meetings/{id}/audio", audio_ws.audio_ws)
    r.add_get("/api/meetings/{id}/listen", audio_ws.listen_ws)
    r.add_get("/api/meetings/{id}/transcript.{fmt}", archive_handlers.transcript)
    r.add_get("/api/meetings/{id}/report.{fmt}", archive_handlers.chair_report)
    r.add_get("/api/meetings/{id}/statements/{statement_id}", archive_handlers.statement)
    r.add_get("/api/search", archive_handlers.search)
    r.add_get("/api/health", api.health)
    r.add_get("/api/languages", api.speech_languages)
    r.add_get("/", _page("archive.html"))
    r.add_get("/archive", _page("archive.html"))
    r.add_get("/admin", _page("admin.html"))
    for prefix, page in PAGES.items():
        r.add_get(f"/{prefix}/{{id}}", _page(page))
    if (WEB_DIR / "static").is_dir():
        r.add_static("/static", WEB_DIR / "static")
    return app


def _page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = WEB_DIR / name
        if not path.is_file():
            raise web.HTTPNotFound(text=f"the page {name} is not installed")
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return handler


async def _close_sockets(app: web.Application) -> None:
    """On stop: every websocket closed at once with 1001 (going away), not when its client leaves."""
    app[MEETINGS].hub.close_all()
    sockets = [ws for ws in app[SOCKETS] if not ws.closed]
    if sockets:
        log.info("closing %d websockets", len(sockets))
        await asyncio.gather(*(_going_away(ws) for ws in sockets))


async def _going_away(ws: web.WebSocketResponse) -> None:
    with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):  # the runner cancels its handler later
        await asyncio.wait_for(ws.close(code=WSCloseCode.GOING_AWAY, message=b"the server is stopping"), CLOSE_S)
