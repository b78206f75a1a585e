"""`assistant worker`: transcription apart from the websocket servers.

A worker follows the event stream like an instance (so it knows the floor,
the speakers and what was transcribed) but serves no browser. It watches the
`asr_channels` bucket for open channels and takes each one it can lease:
`create` in the `asr_leases` bucket succeeds for one worker only, and the
lease lives while it is renewed (every `RENEW_S`; the bucket forgets a key
after `bus.LEASE_TTL_S`). A worker that dies stops renewing, its leases
expire, and another worker takes its channels within a few seconds.

Taking a channel: catch up with the meeting, find where its last stored
segment ends (the checkpoint: everything before it is committed), and read
the channel's audio from the `AUDIO` stream from the session's start,
skipping what lies before the checkpoint. What the previous worker had heard
but not yet stored is transcribed again; what it stored is not: no committed
word is lost or doubled. Segments are appended through the log like any
command; captions go to `live.<meeting>` for the instances to relay.

The speech code itself is untouched: a worker runs `Transcription` and its
channels with the service's `Meetings` as their `MeetingSink`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue

from ..archive.store import DB_NAME, Store
from ..audio.pcm import SAMPLE_RATE, pcm_to_float
from ..config import AsrConfig, Config
from ..core.meeting import MeetingState
from ..service.hub import Hub
from ..service.meetings import Meetings
from ..speech import whisper
from ..speech.gate import ProbabilityFn
from ..speech.pipeline import ChannelRecognizer
from ..speech.transcription import HALL, MeetingSink, Transcription
from ..speech.vad import SileroProbabilities
from . import bus
from .audio import ChannelInfo
from .log import JetStreamLog

log = logging.getLogger(__name__)

RENEW_S = 0.5  # leases renewed (and free channels looked for) this often


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerTranscription(Transcription):
    """`Transcription` where a remote speaker counts as live while their channel is open anywhere
    (their own channel may be transcribed by another worker)."""

    def __init__(self, config: AsrConfig, meetings: MeetingSink, recognizer: ChannelRecognizer | None,
                 probabilities: Callable[[], ProbabilityFn], open_channels: dict[str, ChannelInfo],
                 *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(config, meetings, recognizer, probabilities, clock=clock)
        self.open_channels = open_channels

    def is_live(self, meeting_id: str, participant_id: str) -> bool:
        info = self.open_channels.get(f"{meeting_id}.{participant_id}")
        return (info is not None and info.open) or super().is_live(meeting_id, participant_id)


@dataclass
class Held:
    """A channel this worker transcribes."""

    key: str
    meeting_id: str
    participant_id: str | None
    info: ChannelInfo
    revision: int
    checkpoint: float  # wall clock: audio before this is already in stored segments
    sub: Any = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Worker:
    def __init__(self, name: str, meetings: Meetings, transcription: WorkerTranscription, js: JetStreamContext,
                 channels: KeyValue, leases: KeyValue) -> None:
        self.name = name
        self.meetings, self.transcription, self.js = meetings, transcription, js
        self.channels, self.leases = channels, leases
        self.known = transcription.open_channels  # key -> channel, from the bucket
        self.held: dict[str, Held] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        watching = asyncio.create_task(self._watch())
        try:
            while not stop.is_set():
                await self._renew()
                for key, info in list(self.known.items()):
                    if key not in self.held and not stop.is_set():
                        await self._try_take(key, info)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RENEW_S)
        finally:
            watching.cancel()
            for held in list(self.held.values()):
                await self._drop(held, release=True)

    async def _watch(self) -> None:
        watcher = await self.channels.watchall()
        async for entry in watcher:
            if entry is None:
                continue
            if entry.operation in ("DEL", "PURGE") or not entry.value:
                self.known.pop(entry.key, None)
            else:
                try:
                    self.known[entry.key] = msgspec.json.decode(entry.value, type=ChannelInfo)
                except msgspec.DecodeError:
                    log.warning("channel %s: unreadable entry", entry.key)

    async def _try_take(self, key: str, info: ChannelInfo) -> None:
        try:
            revision = await self.leases.create(key, self.name.encode())
        except Exception:
            return  # another worker holds it (or NATS is busy): look again next round
        meeting_id, _, channel = key.partition(".")
        pid = None if channel == HALL else channel
        try:
            await self.meetings.log.catch_up(meeting_id)
            state = await self.meetings.state(meeting_id)
        except Exception:
            log.exception("channel %s: meeting not readable; releasing it", key)
            await self.leases.delete(key)
            return
        held = Held(key, meeting_id, pid, info, revision, checkpoint(state, pid))
        self.held[key] = held
        self.transcription.channel(meeting_id, pid)
        start = datetime.datetime.fromtimestamp(info.started - 2.0, datetime.UTC)

        async def on_audio(msg: Msg) -> None:
            await self._on_audio(held, msg)

        try:
            held.sub = await self.js.subscribe(
                bus.audio_subject(meeting_id, channel), stream=bus.AUDIO, cb=on_audio, ordered_consumer=True,
                idle_heartbeat=1.0,
                config=api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_TIME, opt_start_time=start),
            )
        except Exception:
            log.exception("channel %s: its audio is not readable; releasing it", key)
            await self._drop(held, release=True)
            return
        log.info("worker %s: transcribing %s from %.3f", self.name, key, held.checkpoint)

    async def _on_audio(self, held: Held, msg: Msg) -> None:
        headers = msg.headers or {}
        if headers.get("session") != held.info.session or held.done.is_set():
            return
        if headers.get("end"):
            held.done.set()
            await self.transcription.end(held.meeting_id, held.participant_id)
            log.info("worker %s: channel %s ended", self.name, held.key)
            with contextlib.suppress(Exception):
                entry = await self.channels.get(held.key)
                if entry.value and msgspec.json.decode(entry.value, type=ChannelInfo).session == held.info.session:
                    await self.channels.delete(held.key)
            task = asyncio.create_task(self._drop(held, release=True))  # not from inside its own callback
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        at = float(headers.get("at", "0"))
        samples = pcm_to_float(msg.data)
        if at <= held.checkpoint:
            return  # already in a stored segment
        begins = at - len(samples) / SAMPLE_RATE
        if begins < held.checkpoint:
            samples = samples[int((held.checkpoint - begins) * SAMPLE_RATE):]
        chan = self.transcription.channel(held.meeting_id, held.participant_id)
        chan.feed(samples, at=at)

    async def _renew(self) -> None:
        for held in list(self.held.values()):
            if held.done.is_set():
                continue
            try:
                held.revision = await self.leases.update(held.key, self.name.encode(), last=held.revision)
            except Exception as exc:
                log.warning("worker %s: lost the lease of %s (%r)", self.name, held.key, exc)
                await self._drop(held, release=False)

    async def _drop(self, held: Held, *, release: bool) -> None:
        """Stop transcribing a channel: ended, lost to another worker, or this worker stops."""
        if self.held.get(held.key) is held:
            del self.held[held.key]
        if held.sub is not None:
            with contextlib.suppress(Exception):
                await held.sub.unsubscribe()
        chan = self.transcription.channels.pop((held.meeting_id, held.participant_id or HALL), None)
        if chan is not None and chan.task is not None and not held.done.is_set():
            chan.task.cancel()  # not committed here: the next holder transcribes it again from the checkpoint
        if release:
            with contextlib.suppress(Exception):
                await self.leases.delete(held.key)


def checkpoint(state: MeetingState, participant_id: str | None) -> float:
    """Wall-clock end of the channel's last stored segment (0: none yet)."""
    source = "hall" if participant_id is None else "remote"
    for seg in reversed(state.transcript):
        if seg.get("source") == source and (participant_id is None or seg.get("speaker_id") == participant_id):
            return state.created_at + float(seg["end"])
    return 0.0


async def run_worker(
    config: Config,
    *,
    recognizer: ChannelRecognizer | None = None,
    probabilities: Callable[[], ProbabilityFn] = SileroProbabilities,
    stop: asyncio.Event | None = None,
    name: str | None = None,
) -> int:
    """Run a worker until `stop` is set (SIGINT/SIGTERM from the command line); tests pass a scripted recognizer."""
    name = name or worker_name()
    stop = stop or asyncio.Event()
    nc = await bus.connect(config.cluster, f"worker {name}")
    js = await bus.setup(nc, config.cluster)
    channels, leases = await bus.buckets(js)
    store = Store(config.server.data_dir / DB_NAME, synchronous=config.server.synchronous)
    await store.open()
    hub = Hub(config.limits.client_queue)
    meetings = Meetings(config, store, hub)
    events_log = JetStreamLog(nc, js, store, hub, live=False)
    meetings.use_log(events_log)
    transcription = WorkerTranscription(config.asr, meetings, recognizer, probabilities, {})
    try:
        if recognizer is None:
            await transcription.load(lambda: whisper.load(config.asr, config.server.data_dir / "models"))
            if not await transcription.wait_loaded():
                print(f"assistant worker: {transcription.error}", file=sys.stderr)
                return 1
        await meetings.start()
        print(f"Worker {name} transcribing (NATS {', '.join(config.cluster.nats)})", flush=True)
        await Worker(name, meetings, transcription, js, channels, leases).run(stop)
    finally:
        await transcription.close()
        await events_log.close()
        with contextlib.suppress(Exception):
            await nc.drain()
        await store.close()
    return 0
