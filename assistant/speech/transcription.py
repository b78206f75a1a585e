"""Live transcription: one pipeline per audio channel, attributed by the floor.

A `Channel` takes PCM from any source (the audio websocket, a device, a
file), gates it with the VAD, runs the streaming transcriber on the model's
own thread, and turns committed words into `segment` events labelled with
whoever held the floor when each word was spoken. Partial hypotheses go out
as live `caption` messages. The event loop never waits for the model: audio
that arrives while the model is busy is taken in one go next time, so the
pipeline never falls further and further behind; it reports its lag.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..audio.pcm import SAMPLE_RATE
from ..config import AsrConfig, decoding_language
from ..core.meeting import MeetingState
from .gate import ProbabilityFn, SpeechGate
from .streaming import Recognizer, StreamingTranscriber, Word, ends_sentence, join_words
from .vad import SileroProbabilities

log = logging.getLogger(__name__)


class MeetingSink(Protocol):
    """Where a channel reads the meeting from and sends what it heard (the service's `Meetings`)."""

    async def state(self, meeting_id: str) -> MeetingState: ...
    async def record_segments(self, meeting_id: str, segments: Sequence[dict[str, Any]]) -> object: ...
    def publish_live(self, meeting_id: str, message: dict[str, Any]) -> None: ...

HALL = "hall"
MAX_SEGMENT_S = 20.0
CLICK_LAG_S = 0.25  # the chair's click usually lags the new speaker's first words
HOTWORDS_MIN_S = 2.0  # below this, Whisper tends to read the hotwords back as speech
CATCH_UP_S = 2.0  # audio that piled up is transcribed in pieces of this size


@dataclass
class Step:
    """What one pass of the model produced."""

    committed: list[Word] = field(default_factory=list)
    partial: list[Word] = field(default_factory=list)
    ended: bool = False
    busy_s: float = 0.0


@dataclass
class Attributed:
    speaker_id: str | None
    words: list[Word]


class Channel:
    def __init__(
        self,
        *,
        meeting_id: str,
        participant_id: str | None,  # None: the hall channel
        recognizer: Recognizer,
        probabilities: ProbabilityFn,
        meetings: MeetingSink,
        executor: ThreadPoolExecutor,
        config: AsrConfig,
        is_live: Callable[[str, str], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.meeting_id = meeting_id
        self.participant_id = participant_id
        self.source = "hall" if participant_id is None else "remote"
        self.meetings = meetings
        self.executor = executor
        self.config = config
        self.is_live = is_live
        self.clock = clock
        self.gate = SpeechGate(probabilities)
        self.transcriber = StreamingTranscriber(recognizer)
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0
        self._wake = asyncio.Event()
        self._closed = False
        self._arrivals: list[tuple[float, float]] = []  # (timeline end of a chunk, wall time it arrived)
        self.received_s = 0.0
        self.lag_s = 0.0
        self.busy_s = 0.0  # model time spent on this channel, for the real-time factor
        self.last_audio_at = 0.0
        self._open: Attributed | None = None  # the sentence being committed
        self.task: asyncio.Task[None] | None = None

    # -- input --------------------------------------------------------------

    def feed(self, samples: np.ndarray, at: float | None = None) -> None:
        """Add audio; `at` is when its last sample was captured (default: now, as it arrives)."""
        if self._closed or len(samples) == 0:
            return
        now = self.clock()
        self.last_audio_at = now
        if at is not None:
            now = min(now, at)
        self._pending.append(samples)
        self._pending_samples += len(samples)
        self.received_s += len(samples) / SAMPLE_RATE
        self._arrivals.append((self.received_s, now))
        if len(self._arrivals) > 4000:  # keep a few minutes: words are committed well before that
            del self._arrivals[:1000]
        if self._pending_samples >= self.config.step_s * SAMPLE_RATE:
            self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- the loop -----------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"asr-{self.meeting_id}-{self.participant_id or HALL}")

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.config.step_s)
                self._wake.clear()
                if not self._pending and not self._closed:
                    continue
                audio = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
                self._pending, self._pending_samples = [], 0
                final = self._closed
                state = await self.meetings.state(self.meeting_id)
                language, hotwords = self._context(state)
                step = await loop.run_in_executor(self.executor, self._work, audio, final, language, hotwords)
                self.lag_s = self._pending_samples / SAMPLE_RATE + step.busy_s
                self.busy_s += step.busy_s
                await self._publish(state, step)
                if final:
                    return
                if self._pending_samples >= self.config.step_s * SAMPLE_RATE:
                    self._wake.set()  # audio piled up while the model worked: go again now
        except Exception:
            log.exception("transcription of %s in meeting %s failed", self.source, self.meeting_id)

    def _work(self, audio: np.ndarray, final: bool, language: str | None, hotwords: str) -> Step:
        """On the model's thread: gate, transcribe, commit.

        Audio that piled up while the model was busy is taken in pieces of a
        few seconds: fewer passes than one per step (partials are skipped),
        but never one pass over a long buffer, where Whisper may stop early
        and words would be lost.
        """
        started = time.perf_counter()
        step = Step()
        piece = int(max(self.config.step_s, CATCH_UP_S) * SAMPLE_RATE)
        starts = range(0, max(len(audio), 1), piece)
        for n, at in enumerate(starts):
            last = n == len(starts) - 1
            parts = self.gate.push(audio[at : at + piece]).parts
            for part in parts:
                for t, samples in part.speech:
                    self.transcriber.insert_audio(samples, t)
                stream_ends = final and last and part is parts[-1]
                closing = part.ended or stream_ends
                if part.speech or closing:
                    # On a short buffer Whisper tends to read the hotwords back as speech: only bias longer ones.
                    bias = hotwords if self.transcriber.buffered_s >= HOTWORDS_MIN_S else ""
                    voiced = part.voiced_until if part.ended else self.gate.voiced_until
                    update = self.transcriber.process(language=language, hotwords=bias, force=closing,
                                                      voiced_until=voiced if closing else None)
                    step.committed += update.committed
                    step.partial = update.partial
                if closing:  # a pause: the rest of the utterance is committed now
                    step.committed += self.transcriber.commit_tail()
                    step.partial = []
                    step.ended = True
                if part.reset or stream_ends:
                    step.committed += self.transcriber.finish()
        step.busy_s = time.perf_counter() - started
        return step

    def _context(self, state: MeetingState) -> tuple[str | None, str]:
        """Decoding language of whoever speaks, and names and agenda terms as hotwords."""
        speaker = self.participant_id or state.holder_at(self.clock())
        language = self.config.language
        if speaker is not None and speaker in state.participants and state.participants[speaker].language:
            language = state.participants[speaker].language
        # Bias towards what is likely to be said now: the item, the speaker and the next few on the
        # list (a chair says "thank you, Brazil; I give the floor to Fiji"). Every name in a large
        # meeting would be read back as speech in pauses; a short list mostly is not.
        terms: list[str] = []
        if state.agenda:
            terms.append(state.agenda[min(state.current_item, len(state.agenda) - 1)])
        likely = [speaker] if speaker is not None else []
        likely += state.next_speakers(3)
        for pid in likely:
            p = state.participants.get(pid or "")
            if p is not None and p.role != "chair":
                terms += [p.name, p.affiliation]
        hotwords = " ".join(dict.fromkeys(t for t in terms if t))[:200]
        return decoding_language(language), hotwords

    # -- attribution and output ---------------------------------------------

    def wall(self, t: float) -> float:
        """When the audio at timeline `t` reached the server: when it was said, as the floor saw it."""
        if not self._arrivals:
            return self.clock()
        i = bisect.bisect_left(self._arrivals, (t, -1.0))
        end, arrived = self._arrivals[min(i, len(self._arrivals) - 1)]
        return arrived - (end - t)

    def speaker_of(self, state: MeetingState, word: Word) -> str | None:
        """Whoever held the floor when `word` was said; the chair when nobody did."""
        if self.participant_id is not None:
            return self.participant_id
        return state.holder_at(self.wall(word.middle + CLICK_LAG_S)) or state.chair_id()

    def _is_duplicate(self, state: MeetingState, speaker: str | None) -> bool:
        """Hall audio of a remote speaker whose own channel carries their voice."""
        if self.participant_id is not None or speaker is None:
            return False
        who = state.participants.get(speaker)
        return who is not None and who.mode == "remote" and self.is_live(self.meeting_id, speaker)

    async def _publish(self, state: MeetingState, step: Step) -> None:
        closed: list[Attributed] = []
        for word in step.committed:
            speaker = self.speaker_of(state, word)
            current = self._open
            if current is not None and (
                current.speaker_id != speaker or word.end - current.words[0].start > MAX_SEGMENT_S
            ):
                closed.append(current)
                current = self._open = None
            if current is None:
                current = self._open = Attributed(speaker, [])
            current.words.append(word)
            if ends_sentence(word):
                closed.append(current)
                self._open = None
        if step.ended and self._open is not None:
            closed.append(self._open)
            self._open = None
        segments = [self._segment(state, group) for group in closed if not self._is_duplicate(state, group.speaker_id)]
        segments = [s for s in segments if s["text"]]
        if segments:
            await self.meetings.record_segments(self.meeting_id, segments)
        self._caption(state, step)

    def _segment(self, state: MeetingState, group: Attributed) -> dict[str, Any]:
        who = state.participants.get(group.speaker_id or "")
        return {
            "start": round(max(0.0, self.wall(group.words[0].start) - state.created_at), 3),
            "end": round(max(0.0, self.wall(group.words[-1].end) - state.created_at), 3),
            "text": join_words(group.words),
            "speaker_id": group.speaker_id,
            "speaker_name": who.name if who else "",
            "affiliation": who.affiliation if who else "",
            "source": self.source,
            "language": (who.language if who and who.language else self.config.language),
            "item": state.current_item,
        }

    def _caption(self, state: MeetingState, step: Step) -> None:
        committed = self._open.words if self._open else []
        text = join_words([*committed, *step.partial])
        first = (committed or step.partial or [Word(self.received_s, self.received_s, "")])[0]
        speaker = self.speaker_of(state, first)
        if self._is_duplicate(state, speaker):
            return
        who = state.participants.get(speaker or "")
        self.meetings.publish_live(
            self.meeting_id,
            {
                "type": "caption",
                "text": text,
                "committed": join_words(committed),
                "partial": join_words(step.partial),
                "speaker_id": speaker,
                "speaker_name": who.name if who else "",
                "source": self.source,
                "final": step.ended,
                "lag_s": round(self.lag_s, 2),
            },
        )


class Transcription:
    """The model (loaded once, run on its own thread) and the live channels."""

    def __init__(
        self, config: AsrConfig, meetings: MeetingSink, recognizer: Recognizer | None = None,
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
        self.channels: dict[tuple[str, str], Channel] = {}
        self._ending: dict[tuple[str, str], asyncio.Task[None]] = {}  # channels waiting for their sender to return
        self._loaded = asyncio.Event()
        if recognizer is not None:
            self._loaded.set()

    async def load(self, loader: Callable[[], Recognizer]) -> None:
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
                config=self.config, is_live=self.is_live, clock=self.clock,
            )
            chan.start()
            self.channels[key] = chan
            assert chan.task is not None
            chan.task.add_done_callback(functools.partial(self._forget, key, chan))
        return chan

    def _forget(self, key: tuple[str, str], chan: Channel, _task: object = None) -> None:
        """A channel is listed until its last words are stored."""
        if self.channels.get(key) is chan:
            del self.channels[key]

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
        """Per live channel: lag, audio received and model time spent (their ratio is the RTF)."""
        return {
            f"{m}/{c}": {"lag_s": round(ch.lag_s, 2), "audio_s": round(ch.received_s, 2), "busy_s": round(ch.busy_s, 2)}
            for (m, c), ch in self.channels.items()
        }

    async def close(self) -> None:
        for waiting in self._ending.values():
            waiting.cancel()
        self._ending.clear()
        for key in list(self.channels):
            await self.end(key[0], None if key[1] == HALL else key[1])
        self.executor.shutdown(wait=False, cancel_futures=True)

