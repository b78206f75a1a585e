"""An instance's side of transcription in a cluster: audio goes to NATS, a worker transcribes it.

`RemoteTranscription` stands where `speech.transcription.Transcription` stands
in one process (the audio websocket calls the same `channel`, `end` and
`end_later`), but its channels publish what they are fed to
`audio.<meeting>.<channel>` (the `AUDIO` stream) as PCM s16le, each message
with the wall-clock time its last sample was captured and the channel's
session. Opening a channel writes it in the `asr_channels` bucket, which is
how workers find it; its end goes down the same subject after the audio.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np
from nats.aio.client import Client
from nats.js.kv import KeyValue

from ..config import AsrConfig
from ..speech.record import Window
from ..speech.streaming import Word
from ..speech.transcription import HALL, Channel, MeetingSink, Transcription
from . import bus

log = logging.getLogger(__name__)


class ChannelInfo(msgspec.Struct):
    """A channel as written in the `asr_channels` bucket (key `<meeting>.<channel>`)."""

    session: str  # one per opening: audio of an earlier opening is not transcribed again
    started: float  # wall clock: a worker taking over reads the stream from here
    open: bool = True


class _Elsewhere:
    """The recognizer slot of an instance: the model runs in the workers."""

    multilingual = True

    def transcribe(self, audio: np.ndarray, *, language: str | None, prompt: str, hotwords: str) -> list[Word]:
        raise RuntimeError("transcription runs in the workers (assistant worker)")

    def decode_window(self, speech: np.ndarray, *, start: int, level: float, language: str | None,
                      prompt: tuple[int, ...], hotwords: str, beam_size: int) -> Window:
        raise RuntimeError("transcription runs in the workers (assistant worker)")


class RemoteChannel(Channel):
    """A channel whose audio is sent to the workers; nothing is transcribed here."""

    def __init__(self, meeting_id: str, participant_id: str | None, send: Callable[[str, dict[str, str], bytes], None],
                 clock: Callable[[], float]) -> None:
        self.meeting_id, self.participant_id = meeting_id, participant_id
        self.key = f"{meeting_id}.{participant_id or HALL}"
        self.subject = bus.audio_subject(meeting_id, participant_id or HALL)
        self.session = uuid.uuid4().hex
        self.started = clock()
        self.send, self.clock = send, clock
        self._closed = False
        self.task = None
        self.received_s = self.lag_s = self.busy_s = 0.0
        self.last_audio_at = 0.0

    def feed(self, samples: np.ndarray, at: float | None = None) -> None:
        if self._closed or len(samples) == 0:
            return
        now = self.clock()
        self.last_audio_at = now
        self.received_s += len(samples) / 16_000
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        self.send(self.subject, {"session": self.session, "at": repr(now if at is None else min(now, at))}, pcm)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.send(self.subject, {"session": self.session, "end": "1"}, b"")

    def start(self) -> None:
        pass


class RemoteTranscription(Transcription):
    def __init__(self, config: AsrConfig, meetings: MeetingSink, nc: Client, channels: KeyValue,
                 *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(config, meetings, _Elsewhere(), clock=clock)
        self.nc, self.kv = nc, channels
        self.remote: dict[tuple[str, str], RemoteChannel] = {}
        self._outbox: asyncio.Queue[tuple[str, dict[str, str], bytes] | tuple[str, str, bytes]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

    def _send(self, subject: str, headers: dict[str, str], data: bytes) -> None:
        self._outbox.put_nowait((subject, headers, data))  # in order, by the one sender task
        if self._sender is None:
            self._sender = asyncio.create_task(self._drain())

    def _put(self, key: str, info: ChannelInfo) -> None:
        self._outbox.put_nowait(("kv", key, msgspec.json.encode(info)))
        if self._sender is None:
            self._sender = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while True:
            subject, second, data = await self._outbox.get()
            try:
                if subject == "kv":
                    assert isinstance(second, str)
                    await self.kv.put(second, data)
                else:
                    assert isinstance(second, dict)
                    await self.nc.publish(subject, data, headers=second)
            except Exception:
                log.exception("audio for %s was not sent", subject)

    async def load(self, loader: Callable[[], Any]) -> None:
        pass

    def channel(self, meeting_id: str, participant_id: str | None) -> Channel:
        key = (meeting_id, participant_id or HALL)
        waiting = self._ending.pop(key, None)
        if waiting is not None:
            waiting.cancel()  # the sender is back: the same session goes on
        chan = self.remote.get(key)
        if chan is None or chan.closed:
            chan = self.remote[key] = RemoteChannel(meeting_id, participant_id, self._send, self.clock)
            self._put(chan.key, ChannelInfo(chan.session, chan.started))
        return chan

    def is_live(self, meeting_id: str, participant_id: str) -> bool:
        chan = self.remote.get((meeting_id, participant_id))
        return chan is not None and chan.clock() - chan.last_audio_at < 2.0

    async def end(self, meeting_id: str, participant_id: str | None) -> None:
        chan = self.remote.pop((meeting_id, participant_id or HALL), None)
        if chan is not None:
            chan.close()
            self._put(chan.key, ChannelInfo(chan.session, chan.started, open=False))

    def stats(self) -> dict[str, dict[str, float]]:
        return {f"{m}/{c}": {"audio_s": round(ch.received_s, 2)} for (m, c), ch in self.remote.items()}

    async def close(self) -> None:
        for waiting in self._ending.values():
            waiting.cancel()
        self._ending.clear()
        for key in list(self.remote):
            await self.end(key[0], None if key[1] == HALL else key[1])
        while not self._outbox.empty() and self._sender is not None and not self._sender.done():
            await asyncio.sleep(0.01)
        if self._sender is not None:
            self._sender.cancel()
        self.executor.shutdown(wait=False)
