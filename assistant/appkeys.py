"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from aiohttp import web

from .config import Config
from .service import Meetings

CONFIG = web.AppKey("config", Config)
MEETINGS = web.AppKey("meetings", Meetings)
