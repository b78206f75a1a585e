"""One audio channel's pipeline: the VAD gate, the model's passes, and when to run them.

A `Channel` takes PCM from any source (the audio websocket, a device, a file),
gates it with the VAD and runs the streaming transcriber on the model's own
thread. Who said each word is decided by `attribution` (pure); captions and
segments go out through `publish`. The event loop never waits for the model:
audio that arrives while the model is busy is taken in one go next time, so
the pipeline never falls further and further behind; it reports its lag.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..audio.pcm import SAMPLE_RATE
from ..config import AsrConfig, decoding_language
from ..core.meeting import MeetingState
from .attribution import Line, Lines
from .gate import ProbabilityFn, SpeechGate
from .publish import MeetingSink, Publisher
from .streaming import Recognizer, StreamingTranscriber, Word

log = logging.getLogger(__name__)

HALL = "hall"
CLICK_LAG_S = 0.25  # the chair's click usually lags the new speaker's first words
HOTWORDS_MIN_S = 2.0  # below this, Whisper tends to read the hotwords back as speech
CATCH_UP_S = 2.0  # audio that piled up is transcribed in pieces of this size
ARRIVALS_KEPT = 4000  # chunk arrival times kept for wall(): a few minutes, words are committed well before


@dataclass
class Step:
    """What one pass of the model produced."""

    committed: list[Word] = field(default_factory=list)
    partial: list[Word] = field(default_factory=list)
    ended: bool = False
    busy_s: float = 0.0


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
        self.lines = Lines()
        self.publisher = Publisher(meeting_id=meeting_id, source=self.source, sink=meetings, wall=self.wall,
                                   default_language=config.language,
                                   line_prefix=f"{participant_id or HALL}-{secrets.token_hex(3)}")
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0
        self._wake = asyncio.Event()
        self._closed = False
        self._arrivals: list[tuple[float, float]] = []  # (timeline end of a chunk, wall time it arrived)
        self.received_s = 0.0
        self.lag_s = 0.0
        self.busy_s = 0.0  # model time spent on this channel, for the real-time factor
        self.last_audio_at = 0.0
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
        if len(self._arrivals) > ARRIVALS_KEPT:
            del self._arrivals[: ARRIVALS_KEPT // 4]
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
        closed = self.lines.add([(w, self.speaker_of(state, w)) for w in step.committed], ended=step.ended,
                                language=None)
        await self.publisher.record([self.publisher.segment(state, line, line.words) for line in closed
                                     if not self._is_duplicate(state, line.speaker_id)])
        self._caption(state, step)

    def _caption(self, state: MeetingState, step: Step) -> None:
        line = self.lines.open
        if line is None:
            first = (step.partial or [Word(self.received_s, self.received_s, "")])[0]
            line = Line(self.lines.count + 1, self.speaker_of(state, first))
        if self._is_duplicate(state, line.speaker_id):
            return
        self.publisher.caption(state, line, step.partial, final=step.ended, lag_s=self.lag_s)
