"""The NATS connection, the streams and buckets the cluster uses, and their names.

- stream `MEETINGS`, subjects `mtg.<meeting>.ev` (the event log of record: one
  message per append, a batch of events) and `mtg.<meeting>.grant` (tokens
  issued without an event); file storage, replicated;
- stream `AUDIO`, subjects `audio.<meeting>.<channel>`: PCM from the instances
  to the workers, kept a few minutes so a worker taking over a channel can
  transcribe again what its predecessor had heard but not yet committed;
- core subjects `live.<meeting>`: captions from the workers to every instance;
- key-value buckets `asr_channels` (the audio channels open, written by the
  instances) and `asr_leases` (which worker transcribes which channel; a
  lease not renewed expires after `LEASE_TTL_S`).
"""

from __future__ import annotations

import asyncio
import logging
import re

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, ServiceUnavailableError
from nats.js.kv import KeyValue

from ..config import ClusterConfig

log = logging.getLogger(__name__)

EVENTS = "MEETINGS"
AUDIO = "AUDIO"
CHANNELS = "asr_channels"
LEASES = "asr_leases"
LEASE_TTL_S = 3.0  # a worker that stops renewing loses its channels after this
AUDIO_KEPT_S = 600.0  # audio a new worker may need to transcribe again
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what may stand in a subject between dots


def events_subject(meeting_id: str) -> str:
    return f"mtg.{meeting_id}.ev"


def grants_subject(meeting_id: str) -> str:
    return f"mtg.{meeting_id}.grant"


def live_subject(meeting_id: str) -> str:
    return f"live.{meeting_id}"


def audio_subject(meeting_id: str, channel: str) -> str:
    return f"audio.{meeting_id}.{channel}"


def replicas(config: ClusterConfig) -> int:
    return config.replicas or min(3, len(config.nats))


async def connect(config: ClusterConfig, name: str) -> Client:
    """A connection that reconnects to any listed server, for ever."""
    return await nats.connect(
        servers=list(config.nats),
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        ping_interval=5,
        max_outstanding_pings=2,
    )


async def setup(nc: Client, config: ClusterConfig, *, wait_s: float = 60.0) -> JetStreamContext:
    """JetStream with the streams and buckets in place (created by whoever comes first)."""
    js = nc.jetstream(timeout=5.0)
    n = replicas(config)
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        try:
            await _stream(js, api.StreamConfig(
                name=EVENTS, subjects=["mtg.>"], storage=api.StorageType.FILE, num_replicas=n,
                duplicate_window=120.0, allow_direct=True,
            ))
            await _stream(js, api.StreamConfig(
                name=AUDIO, subjects=["audio.>"], storage=api.StorageType.FILE, num_replicas=n,
                max_age=AUDIO_KEPT_S, duplicate_window=10.0,
            ))
            await js.create_key_value(bucket=CHANNELS, replicas=n, history=1)
            await js.create_key_value(bucket=LEASES, replicas=n, history=1, ttl=LEASE_TTL_S)
            return js
        except (ServiceUnavailableError, TimeoutError, nats.errors.NoRespondersError) as exc:
            # a NATS cluster just started elects its JetStream leader first
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.info("JetStream is not ready yet (%s); trying again", exc)
            await asyncio.sleep(0.5)


async def _stream(js: JetStreamContext, config: api.StreamConfig) -> None:
    try:
        await js.add_stream(config)
    except BadRequestError as exc:
        if exc.err_code != 10058:  # exists with another configuration: keep the one there
            raise
        assert config.name is not None
        await js.stream_info(config.name)


async def buckets(js: JetStreamContext) -> tuple[KeyValue, KeyValue]:
    return await js.key_value(CHANNELS), await js.key_value(LEASES)
