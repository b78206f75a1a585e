"""`assistant feed`: the hall uplink. Captures the hall mixer (or replays a file) and streams it to a
meeting's audio websocket, losing nothing across network loss.

Audio captured while the connection is down waits in a bounded backlog (`--buffer-s`, oldest
dropped first and reported). The stream is resumable (see `audio_ws.py`): on every connection
the server says how many samples of this stream it has, so the feed resends exactly what did not
arrive; late audio carries how long ago it was captured, so it is attributed to whoever held the
floor then. Reconnection backs off from 0.5 s to 10 s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import numpy as np
import websockets
import websockets.protocol

from ..core.tokens import new_token
from .backlog import Backlog, Chunk
from .pcm import SAMPLE_RATE

log = logging.getLogger("assistant.feed")
LATE_S = 0.5  # audio sent this long after capture says when it was captured


class FeedError(ValueError):
    """The feed cannot start; the message says what to fix."""


def audio_url(url: str) -> str:
    """The audio websocket from the URL a user has: the audio URL itself or any page of the meeting."""
    parts = urlsplit(url)
    if parts.scheme in ("ws", "wss") and re.search(r"/api/meetings/[^/]+/audio$", parts.path):
        return f"{parts.scheme}://{parts.netloc}{parts.path}"
    match = re.search(r"/(?:api/meetings|join|meeting|chair|projector|archive)/([A-Za-z0-9_-]+)", parts.path)
    if parts.scheme not in ("http", "https") or not parts.netloc or match is None:
        raise FeedError(
            f"cannot tell the meeting from {url!r}; give the chair or join link "
            "(http://host:port/chair/MEETING) or ws://host:port/api/meetings/MEETING/audio"
        )
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}/api/meetings/{match.group(1)}/audio"


@dataclass
class FeedStats:
    bytes_sent: int = 0
    samples_sent: int = 0
    reconnects: int = 0
    started: float = 0.0

    def line(self, backlog: Backlog) -> str:
        secs = max(time.monotonic() - self.started, 1e-9)
        return (f"captured {backlog.captured / SAMPLE_RATE:.1f} s, server has {backlog.confirmed / SAMPLE_RATE:.1f} s, "
                f"{self.bytes_sent / 1e6:.2f} MB sent ({8 * self.bytes_sent / secs / 1000:.0f} kbit/s), "
                f"{self.reconnects} reconnections, {backlog.dropped / SAMPLE_RATE:.1f} s dropped")


class Feed:
    def __init__(self, url: str, token: str, *, buffer_s: float = 300.0) -> None:
        self.url = audio_url(url)
        self.token = token
        self.stream = new_token(12)
        self.backlog = Backlog(int(buffer_s * SAMPLE_RATE))
        self.stats = FeedStats()
        self._more = asyncio.Event()
        self._source_done = False
        self._warned_drop = 0

    def _connect_url(self) -> str:
        return f"{self.url}?{urlencode({'token': self.token, 'stream': self.stream})}"

    async def run(self, source: AsyncIterator[np.ndarray]) -> FeedStats:
        """Stream `source` until it ends and the server has all of it (or forever, for a device)."""
        self.stats.started = time.monotonic()
        capture = asyncio.create_task(self._capture(source))
        sender = asyncio.create_task(self._send_forever())
        try:
            await asyncio.wait({capture, sender}, return_when=asyncio.FIRST_EXCEPTION)
            if capture.done() and capture.exception() is not None:
                raise capture.exception()  # type: ignore[misc]  # the device or file failed
            await sender
        finally:
            capture.cancel()
            sender.cancel()
        return self.stats

    async def _capture(self, source: AsyncIterator[np.ndarray]) -> None:
        try:
            async for block in source:
                pcm = (np.clip(block, -1.0, 1.0) * 32767).astype("<i2").tobytes()
                self.backlog.add(Chunk(pcm, time.monotonic() - len(block) / SAMPLE_RATE))
                if self.backlog.dropped > self._warned_drop:
                    log.warning("backlog full: %.1f s of the oldest audio dropped so far", self.backlog.dropped / SAMPLE_RATE)
                    self._warned_drop = self.backlog.dropped
                self._more.set()
        finally:
            self._source_done = True
            self._more.set()

    def _finished(self) -> bool:
        return self._source_done and not self.backlog.unsent and not self.backlog.unconfirmed

    async def _send_forever(self) -> None:
        retry = 0.5
        while not self._finished():
            try:
                async with websockets.connect(self._connect_url(), open_timeout=10, ping_interval=5,
                                              ping_timeout=10, max_size=2**20) as ws:
                    ready = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                    self.backlog.reconnected(int(ready["samples"]))
                    log.info("connected to %s; the server has %.1f s of this stream", self.url, ready["samples"] / SAMPLE_RATE)
                    retry = 0.5
                    await self._session(ws)
                    if ws.close_code == 1000:
                        # a clean close: the server read every frame before it, so it has everything
                        self.backlog.confirm(self.backlog.confirmed + self.backlog.in_flight)
                    continue
            except websockets.InvalidStatus as exc:
                status = exc.response.status_code
                body = exc.response.body.decode(errors="replace").strip() if exc.response.body else ""
                if status in (400, 401, 403, 404) or "ended" in body:
                    raise FeedError(f"the server refused the feed ({status}): {body}") from None
                reason = f"the server answered {status} {body}"
            except (OSError, TimeoutError, websockets.ConnectionClosed, websockets.InvalidHandshake) as exc:
                reason = str(exc) or type(exc).__name__
            self.stats.reconnects += 1
            wait = retry * (0.75 + random.random() / 2)
            waiting = (self.backlog.waiting + self.backlog.in_flight) / SAMPLE_RATE
            log.warning("connection lost (%s); reconnecting in %.1f s with %.1f s of audio waiting", reason, wait, waiting)
            await asyncio.sleep(wait)
            retry = min(retry * 2, 10.0)

    async def _session(self, ws: websockets.ClientConnection) -> None:
        """Send and listen until the source is done (then close) or the connection fails (raised)."""
        tasks = [asyncio.create_task(self._send(ws)), asyncio.create_task(self._listen(ws))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a lost connection raises here
            if ws.state is not websockets.protocol.State.CLOSED:
                await ws.wait_closed()
            if ws.close_code != 1000:
                raise websockets.ConnectionClosedError(ws.protocol.close_rcvd, ws.protocol.close_sent)
        finally:
            for task in tasks:
                task.cancel()

    async def _send(self, ws: websockets.ClientConnection) -> None:
        while True:
            chunk = self.backlog.next()
            if chunk is None:
                if self._source_done:
                    await ws.close()
                    return
                self._more.clear()
                await self._more.wait()
                continue
            late = time.monotonic() - chunk.captured_at
            if late > LATE_S:
                await ws.send(json.dumps({"captured_ago_s": round(late, 3)}))
            await ws.send(chunk.pcm)
            self.stats.bytes_sent += len(chunk.pcm)
            self.stats.samples_sent += chunk.samples

    async def _listen(self, ws: websockets.ClientConnection) -> None:
        async for message in ws:
            if isinstance(message, bytes):
                continue
            msg = json.loads(message)
            if msg.get("type") == "received":
                self.backlog.confirm(int(msg["samples"]))
            elif msg.get("type") == "error":
                log.warning("server: %s", msg.get("error"))
