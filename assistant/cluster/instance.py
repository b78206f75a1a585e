"""An instance in a cluster: the meetings append to the JetStream log, audio goes to the workers."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from dataclasses import dataclass

from nats.aio.client import Client

from ..config import Config
from ..service.meetings import Meetings
from . import bus
from .audio import RemoteTranscription
from .log import JetStreamLog

log = logging.getLogger(__name__)


@dataclass
class Instance:
    nc: Client
    log: JetStreamLog
    transcription: RemoteTranscription

    @classmethod
    async def join(cls, config: Config, meetings: Meetings) -> Instance:
        """Connect, make sure the streams exist, and have `meetings` append to the stream; before it starts."""
        nc = await bus.connect(config.cluster, f"instance {socket.gethostname()}-{os.getpid()}")
        js = await bus.setup(nc, config.cluster)
        channels, _ = await bus.buckets(js)
        events_log = JetStreamLog(nc, js, meetings.store, meetings.hub)
        meetings.use_log(events_log)
        return cls(nc, events_log, RemoteTranscription(config.asr, meetings, nc, channels))

    async def close(self) -> None:
        await self.transcription.close()
        await self.log.close()
        with contextlib.suppress(Exception):
            await self.nc.drain()
