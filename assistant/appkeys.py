"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from aiohttp import web

from .config import Config
from .service import Meetings
from .transcription import Transcription

CONFIG = web.AppKey("config", Config)
MEETINGS = web.AppKey("meetings", Meetings)
TRANSCRIPTION = web.AppKey("transcription", Transcription)
AUDIO_SENDERS = web.AppKey("audio_senders", set[tuple[str, str]])  # (meeting, channel) being sent
