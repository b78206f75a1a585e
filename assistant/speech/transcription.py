"""Live transcription: the model, loaded once and run on its own thread, and the live channels.

Each audio channel (the hall, a remote speaker's own microphone) has its own
pipeline (`pipeline.Channel`); `Transcription` creates them as audio arrives,
keeps one open while its sender reconnects, and ends them so that the last
words are stored. Who said each word is decided in `attribution`; what goes
out goes through `publish.MeetingSink`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import AsrConfig
from .gate import ProbabilityFn
from .pipeline import HALL, Channel, ChannelRecognizer
from .publish import MeetingSink
from .vad import SileroProbabilities
from .whisper import yield_to_live

__all__ = ["HALL", "Channel", "MeetingSink", "Transcription"]

log = logging.getLogger(__name__)


RESTART_S = 5.0  # a channel whose recogniser failed is started again after this long


@dataclass(frozen=True)
class Failure:
    count: int  # how often this channel's recogniser has failed
    error: str  # the last failure
    at: float  # when


class Transcription:
    """The model (loaded once, run on its own thread) and the live channels."""

    def __init__(
        self, config: AsrConfig, meetings: MeetingSink, recognizer: ChannelRecognizer | None = None,
        probabilities: Callable[[], ProbabilityFn] = SileroProbabilities,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self.meetings = meetings
        self.recognizer = recognizer
        self.probabilities = probabilities
        self.error: str | None = None
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="asr-model")
        # the record's blocks, at a low priority from the thread's start (`whisper.yield_to_live`)
        self.record_executor = ThreadPoolExecutor(1, thread_name_prefix="asr-record", initializer=yield_to_live)
        self.channels: dict[tuple[str, str], Channel] = {}
        self._ending: dict[tuple[str, str], asyncio.Task[None]] = {}  # channels waiting for their sender to return
        self.failures: dict[tuple[str, str], Failure] = {}  # channels whose recogniser failed, by the last failure
        self._loaded = asyncio.Event()
        if recognizer is not None:
            self._loaded.set()

    async def load(self, loader: Callable[[], ChannelRecognizer]) -> None:
        if self.recognizer is not None:
            return
        try:
            self.recognizer = await asyncio.get_running_loop().run_in_executor(self.executor, loader)
        except Exception as exc:
            self.error = str(exc)
            log.error("transcription is off: %s", exc)
        finally:
            self._loaded.set()

    async def wait_loaded(self) -> bool:
        """Wait until the model has loaded or failed to; True when it is ready."""
        await self._loaded.wait()
        return self.recognizer is not None

    def channel(self, meeting_id: str, participant_id: str | None) -> Channel:
        if self.recognizer is None:
            raise RuntimeError(self.error or "the speech model is still loading; try again in a moment")
        key = (meeting_id, participant_id or HALL)
        waiting = self._ending.pop(key, None)
        if waiting is not None:
            waiting.cancel()  # the sender is back: the channel goes on as if nothing had happened
        chan = self.channels.get(key)
        if chan is None or chan.closed or chan.task is None or chan.task.done():
            chan = Channel(
                meeting_id=meeting_id, participant_id=participant_id, recognizer=self.recognizer,
                probabilities=self.probabilities(), meetings=self.meetings, executor=self.executor,
                record_executor=self.record_executor,
                config=self.config, is_live=self.is_live, clock=self.clock,
            )
            chan.start()
            self.channels[key] = chan
            assert chan.task is not None
            chan.task.add_done_callback(functools.partial(self._forget, key, chan))
        return chan

    def _forget(self, key: tuple[str, str], chan: Channel, _task: object = None) -> None:
        """A channel is listed until its last words are stored, or until its recogniser fails."""
        if self.channels.get(key) is chan:
            del self.channels[key]
        if chan.failure is not None:
            before = self.failures.get(key)
            self.failures[key] = Failure((before.count if before else 0) + 1, chan.failure, self.clock())

    def feed(self, meeting_id: str, participant_id: str | None, samples: np.ndarray, at: float | None = None) -> None:
        """Audio for a channel. A channel whose recogniser failed is started afresh, at most once every
        RESTART_S; the audio that comes meanwhile is not kept, so a failing recogniser never lets
        audio pile up (the failure is in `stats`, and so in /api/health)."""
        key = (meeting_id, participant_id or HALL)
        chan = self.channels.get(key)
        if chan is None or chan.task is None or chan.task.done():
            failed = self.failures.get(key)
            if self.recognizer is None or (failed is not None and self.clock() - failed.at < RESTART_S):
                return
            chan = self.channel(meeting_id, participant_id)
        chan.feed(samples, at)

    def is_live(self, meeting_id: str, participant_id: str) -> bool:
        chan = self.channels.get((meeting_id, participant_id))
        return chan is not None and chan.clock() - chan.last_audio_at < 2.0

    async def end(self, meeting_id: str, participant_id: str | None) -> None:
        """The stream of this channel ended: commit what is left."""
        key = (meeting_id, participant_id or HALL)
        chan = self.channels.get(key)
        if chan is not None:
            chan.close()
            if chan.task is not None:
                # shielded: the socket handler awaiting this may be cancelled as its client leaves,
                # and that must not cancel the committing of what was said last
                await asyncio.shield(chan.task)

    def end_later(self, meeting_id: str, participant_id: str | None, delay_s: float) -> None:
        """The sender vanished without closing (a network loss): keep the channel open for `delay_s`
        so a reconnection continues the same sentence, then commit what is left."""
        key = (meeting_id, participant_id or HALL)

        async def later() -> None:
            await asyncio.sleep(delay_s)
            if self._ending.get(key) is task:
                del self._ending[key]
                await self.end(meeting_id, participant_id)

        old = self._ending.get(key)
        if old is not None:
            old.cancel()
        task = self._ending[key] = asyncio.create_task(later())

    def stats(self) -> dict[str, dict[str, float]]:
        """Per live channel: lag, audio received and model time spent (their ratio is the RTF), the
        windows of the record decoded, lines or stretches stored as heard live (the windows missed them) and not
        decoded again (compute was short), and rests of buffers decoded where Whisper stopped early."""
        return {
            f"{m}/{c}": {"lag_s": round(ch.lag_s, 2), "audio_s": round(ch.received_s, 2), "busy_s": round(ch.busy_s, 2),
                         **ch.counters()}
            for (m, c), ch in self.channels.items()
        }

    def failed(self) -> dict[str, dict[str, Any]]:
        """Per channel whose recogniser failed: how often, the last error and when."""
        return {f"{m}/{c}": {"count": f.count, "error": f.error, "at": f.at} for (m, c), f in self.failures.items()}

    async def close(self) -> None:
        for waiting in self._ending.values():
            waiting.cancel()
        self._ending.clear()
        # all at once: each stores what it has heard, its last block included
        await asyncio.gather(*(self.end(m, None if c == HALL else c) for m, c in list(self.channels)))
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.record_executor.shutdown(wait=False, cancel_futures=True)

