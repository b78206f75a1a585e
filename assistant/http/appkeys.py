"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

import weakref
from typing import Any

from aiohttp import web

from ..audio.listening import AudioRelay
from ..audio.playback import HallPlayback
from ..config import Config
from ..service.meetings import Meetings
from ..speech.transcription import Transcription
from .limits import Guard

CONFIG = web.AppKey("config", Config)
MEETINGS = web.AppKey("meetings", Meetings)
TRANSCRIPTION = web.AppKey("transcription", Transcription)
AUDIO_SENDERS = web.AppKey("audio_senders", dict[tuple[str, str], Any])  # (meeting, channel) -> its audio_ws.Sender
AUDIO_STREAMS = web.AppKey("audio_streams", dict[tuple[str, str, str], int])  # samples received per resumable stream
AUDIO_STREAM_STARTS = web.AppKey("audio_stream_starts", dict[tuple[str, str, str], float])  # when a hall stream was first seen
PLAYBACK = web.AppKey("playback", HallPlayback)
RELAY = web.AppKey("relay", AudioRelay)
SOCKETS = web.AppKey("sockets", weakref.WeakSet[web.WebSocketResponse])  # every open websocket, closed with 1001 on stop
GUARD = web.AppKey("guard", Guard)  # the limits of each token, participant and client address
