"""One audio channel's pipeline: the VAD gate, the model's passes, and when to run them.

A `Channel` takes PCM from any source (the audio websocket, a device, a file),
gates it with the VAD and runs the streaming transcriber on the model's own
thread. Who said each word is decided by `attribution` (pure); committed words
make lines, shown live as captions, and the channel's speech is decoded once more
in offline's windows (`record`), whose words replace the closed lines' before they
are stored as segments through `publish` (docs/transcription.md). The event loop never waits for the model:
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
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..audio.pcm import SAMPLE_RATE
from ..config import AsrConfig, decoding_language
from ..core.meeting import MeetingState
from . import record
from .attribution import (
    Line,
    Lines,
    backdated,
    floor_changes,
    holder_at,
    regroup,
    said_at,
    sentences,
    settled,
)
from .gate import ProbabilityFn, Run, SpeechGate
from .publish import MeetingSink, Publisher
from .record import AudioHistory
from .streaming import Recognizer, StreamingTranscriber, Word

log = logging.getLogger(__name__)

HALL = "hall"
HOTWORDS_MIN_S = 2.0  # below this, Whisper tends to read the hotwords back as speech
CATCH_UP_S = 2.0  # audio that piled up is transcribed in pieces of this size
ARRIVALS_KEPT = 4000  # chunk arrival times kept for wall(): a few minutes, words are committed well before
DETECT_AFTER_S = 2.0  # an undeclared language is detected once a turn has this much speech
REVIEW_MAX_LAG_S = 2.0  # a channel this far behind stores lines as heard live: live passes come first


@dataclass
class Step:
    """What one pass of the model produced."""

    committed: list[Word] = field(default_factory=list)
    partial: list[Word] = field(default_factory=list)
    ended: bool = False
    busy_s: float = 0.0
    language: str | None = None  # the language the pass decoded in (declared, detected, or None)
    runs: list[Run] = field(default_factory=list)  # the gate's runs of speech


class ChannelRecognizer(Recognizer, record.WindowRecognizer, Protocol):
    """What a channel needs of its recognizer: live passes (`streaming`) and the record's windows."""


@dataclass
class Outcome(record.Decoded):
    """A job of the record, done on its thread."""

    failed: bool = False  # the model failed: the lines before `until` are stored as heard live
    busy_s: float = 0.0


class Channel:
    def __init__(
        self,
        *,
        meeting_id: str,
        participant_id: str | None,  # None: the hall channel
        recognizer: ChannelRecognizer,
        probabilities: ProbabilityFn,
        meetings: MeetingSink,
        executor: ThreadPoolExecutor,
        record_executor: ThreadPoolExecutor | None = None,  # the record's windows; default: `executor`
        config: AsrConfig,
        is_live: Callable[[str, str], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.meeting_id = meeting_id
        self.participant_id = participant_id
        self.source = "hall" if participant_id is None else "remote"
        self.meetings = meetings
        self.executor = executor
        self.record_executor = record_executor or executor
        self.config = config
        self.is_live = is_live
        self.clock = clock
        self.gate = SpeechGate(probabilities)
        self.recognizer = recognizer
        self.transcriber = StreamingTranscriber(recognizer)
        self.lines = Lines(at_sentence_end=not config.second_look)
        # the recent audio and offline's VAD of it, for the record: the Silero VAD's own (`vad.py`),
        # or the one function given (a stateless fake)
        self.history = AudioHistory(probabilities=getattr(probabilities, "recording", probabilities)
                                    if config.second_look else None)
        self._waiting: list[Line] = []  # closed lines waiting for the windows to decide their words
        self._heard: list[Word] = []  # words the windows decided, not given to a line yet
        self._decided: deque[tuple[Line, list[Word]]] = deque()  # lines with their words, to store
        self._seek = 0.0  # where the record's next window starts on the timeline
        self._prompt: tuple[int, ...] = ()  # ... conditioned on this (`record.Window.prompt`)
        self._record_language: str | None = None  # the language that prompt is in
        self._level = -np.inf  # the loudest the record's features have been (`record.Window.level`)
        self._seek_in_speech = False  # the last window ended in speech (not a flush)
        self._live_until = 0.0  # lines starting before this are stored as heard live (a window failed)
        self._job: asyncio.Future[Outcome] | None = None  # the record's job being decoded
        self._duplicates: set[int] = set()  # lines that were a remote speaker's hall duplicate when they closed
        self._committed_until = 0.0  # the end of the last word the live passes committed
        self._runs: list[Run] = []  # the gate's runs of speech after the last pass
        self._hotwords = ""  # the names and item the last pass was biased towards
        self._turn: tuple[str | None, float] | None = None  # (speaker, turn start) the language is for
        self._detected: str | None = None  # the language detected for that turn, when none was declared
        self.windows = self.kept_live = self.skipped = 0  # windows decoded; lines (or stretches) kept as heard live, not looked at
        self.publisher = Publisher(meeting_id=meeting_id, source=self.source, sink=meetings, wall=self.wall,
                                   default_language=decoding_language(config.language) or "",
                                   line_prefix=f"{participant_id or HALL}-{secrets.token_hex(3)}")
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0
        self._wake = asyncio.Event()
        self._closed = False
        self._arrivals: list[tuple[float, float]] = []  # (timeline end of a chunk, wall time it arrived)
        self.received_s = 0.0
        self.lag_s = 0.0
        self.failure: str | None = None  # why the recogniser stopped this channel, if it did
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
                    if self._waiting or self._decided or self._job:  # no audio: what waits is stored all the same
                        await self._store_due(await self.meetings.state(self.meeting_id), everything=False)
                    continue
                audio = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
                self._pending, self._pending_samples = [], 0
                final = self._closed
                state = await self.meetings.state(self.meeting_id)
                language, hotwords = self._context(state)
                step = await loop.run_in_executor(self.executor, self._work, audio, final, language, hotwords)
                self.lag_s = self._pending_samples / SAMPLE_RATE + step.busy_s
                self.busy_s += step.busy_s
                await self._publish(state, step, hotwords)
                await self._store_due(state, everything=final)
                if final:
                    return
                if self._pending_samples >= self.config.step_s * SAMPLE_RATE:
                    self._wake.set()  # audio piled up while the model worked: go again now
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            log.exception("transcription of %s in meeting %s failed", self.source, self.meeting_id)
            await self._salvage()

    async def _salvage(self) -> None:
        """After a failure: the lines heard and not stored yet are stored as heard live, if the
        meeting can still be read (the restarted channel begins afresh)."""
        try:
            state = await self.meetings.state(self.meeting_id)
            if self._job is not None and not self._job.done():
                self._job.cancel()
            lines = [*(line for line, _ in self._decided), *self._waiting]
            self._decided.clear()
            self._decided.extend((line, line.words) for line in sorted(lines, key=lambda line: line.number))
            self._job, self._waiting, self._heard = None, [], []
            await self._store_due(state, everything=True, decode=False)
        except Exception:
            log.exception("the lines waiting in meeting %s could not be stored either", self.meeting_id)

    def _work(self, audio: np.ndarray, final: bool, language: str | None, hotwords: str) -> Step:
        """On the model's thread: gate, transcribe, commit.

        Audio that piled up while the model was busy is taken in pieces of a
        few seconds: fewer passes than one per step (partials are skipped),
        but never one pass over a long buffer, where Whisper may stop early
        and words would be lost.
        """
        started = time.perf_counter()
        step = Step()
        self.history.append(audio)
        piece = int(max(self.config.step_s, CATCH_UP_S) * SAMPLE_RATE)
        starts = range(0, max(len(audio), 1), piece)
        for n, at in enumerate(starts):
            last = n == len(starts) - 1
            parts = self.gate.push(audio[at : at + piece]).parts
            for part in parts:
                for t, samples in part.speech:
                    self.transcriber.insert_audio(samples, t)
                if language is None and self._detected is None and self.transcriber.buffered_s >= DETECT_AFTER_S:
                    self._detected = self._detect(self.transcriber.audio)
                language = language or self._detected
                stream_ends = final and last and part is parts[-1]
                closing = part.ended or stream_ends
                if part.speech or closing:
                    # On a short buffer Whisper tends to read the hotwords back as speech: only bias longer ones.
                    bias = hotwords if self.transcriber.buffered_s >= HOTWORDS_MIN_S else ""
                    voiced = part.voiced_until if part.ended else self.gate.voiced_until
                    update = self.transcriber.process(language=language, hotwords=bias, force=closing,
                                                      voiced_until=voiced)
                    step.committed += update.committed
                    step.partial = update.partial
                if closing:  # a pause: the rest of the utterance is committed now
                    step.committed += self.transcriber.commit_tail()
                    step.partial = []
                    step.ended = True
                if part.reset or stream_ends:
                    step.committed += self.transcriber.finish()
        step.language = language
        step.runs = list(self.gate.runs)
        step.busy_s = time.perf_counter() - started
        return step

    def _detect(self, audio: np.ndarray) -> str | None:
        """The language of a turn nobody declared one for, from its first seconds (a multilingual model
        only; an English model has nothing to choose). Whisper guesses per pass otherwise, and a guess
        that changes mid-sentence changes the words."""
        detect = getattr(self.recognizer, "detect_language", None)
        if not self.recognizer.multilingual or detect is None:
            return None
        found: str | None = detect(audio)
        return found

    def _context(self, state: MeetingState) -> tuple[str | None, str]:
        """Decoding language of whoever speaks, and names and agenda terms as hotwords."""
        speaker = self.participant_id or state.holder_at(self.clock())
        turn = next((t for t in reversed(state.turns) if t.participant_id == speaker), None)
        key = (speaker, turn.started_at if turn is not None else 0.0)
        if key != self._turn:  # a new turn: its language is found afresh if nobody declared it
            self._turn, self._detected = key, None
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

    def speakers(self, state: MeetingState, words: list[Word], runs: list[Run]) -> list[str | None]:
        """Whoever held the floor when each word was said (the chair when nobody did), a floor change
        clicked during speech counting from that speech's onset (`attribution.backdated`)."""
        if self.participant_id is not None:
            return [self.participant_id] * len(words)
        floor = backdated(floor_changes(state.turns), [
            run._replace(onset=self.wall(run.onset), end=None if run.end is None else self.wall(run.end))
            for run in runs])
        chair = state.chair_id()
        return [holder_at(floor, self.wall(said_at(w, runs))) or chair for w in words]

    def _settled(self, state: MeetingState, line: Line) -> float:
        """When no late click can move the line's words any more (`attribution.settled`); on a
        participant's own channel, at once."""
        if self.participant_id is not None:
            return float("-inf")
        return settled(self.wall(line.end), floor_changes(state.turns))

    def _is_duplicate(self, state: MeetingState, speaker: str | None) -> bool:
        """Hall audio of a remote speaker whose own channel carries their voice."""
        if self.participant_id is not None or speaker is None:
            return False
        who = state.participants.get(speaker)
        return who is not None and who.mode == "remote" and self.is_live(self.meeting_id, speaker)

    async def _publish(self, state: MeetingState, step: Step, hotwords: str = "") -> None:
        self._runs = step.runs
        self._hotwords = hotwords
        if step.committed:
            self._committed_until = step.committed[-1].end
        closed = self.lines.add(step.committed, lambda words: self.speakers(state, list(words), step.runs),
                                ended=step.ended, language=step.language)
        for line in closed:
            duplicate = self._is_duplicate(state, line.speaker_id)
            if not self.config.second_look:
                if not duplicate:
                    await self._store(state, line, line.words)
                continue
            self._waiting.append(line)
            if duplicate:  # decided now: by the time it is stored, the speaker's own channel may be gone
                self._duplicates.add(line.number)
            else:  # the line as heard live, whole and final, until its segments replace it
                self.publisher.caption(state, line, [], final=True, lag_s=self.lag_s)
        self._caption(state, step)

    async def _store_due(self, state: MeetingState, *, everything: bool, decode: bool = True) -> None:
        """The channel's speech decoded again in offline's windows (`record`), one job at a time, on
        the record's own thread (and model: `FasterWhisperRecognizer.decode_window`) while the live
        passes go on; each closed line then takes the words the windows decided for it, is
        attributed again (split where the floor changed) and stored, once no late click can move
        its words any more. Everything, waiting for the record, at the end of the stream (`decode`
        False: what waits is stored as it is, after a failure)."""
        if self._job is not None and (self._job.done() or everything):
            await self._collect()
        self._hand_out(until=self._seek)
        if self._job is None and decode:
            self._plan(everything)
        if everything:
            if self._job is not None:
                await self._collect()
            self._hand_out(until=float("inf"))
        while self._decided:
            line, words = self._decided[0]
            if not everything and self.clock() < self._settled(state, line):
                return  # a click for these words may still come (chairs click late)
            self._decided.popleft()
            # who said what is decided on the live words' times (the windows' can be a second off),
            # the windows' words then going to the parts by what was said (`record.assign`)
            parts = regroup(line, self.speakers(state, line.words, self._runs))
            duplicate = line.number in self._duplicates
            self._duplicates.discard(line.number)
            for part, heard in zip(parts, record.assign(parts, words) if len(parts) > 1 else [words], strict=True):
                if part.speaker_id == line.speaker_id and duplicate:
                    continue
                if part.speaker_id == line.speaker_id or not self._is_duplicate(state, part.speaker_id):
                    await self._store(state, part, heard)

    def _plan(self, everything: bool) -> None:
        """Start the record's next job if one is due (`record.due`); lines the record cannot decode
        in time (the live passes lag, or their audio is gone) are stored as heard live."""
        if not self.config.second_look:
            return
        heard_until = self.history.voiced_end  # what the VAD has heard
        quiet_s = max(0.0, self.clock() - self.last_audio_at)  # no audio arriving (a muted microphone) is quiet too
        if (self.lag_s > REVIEW_MAX_LAG_S and not everything) or self._seek < self.history.start:
            # compute is short, or the record fell behind the audio kept: the lines closed so far as heard live
            self.skipped += len(self._waiting)
            self._decided.extend((line, line.words) for line in self._waiting)
            self._seek = max(self._seek, self.history.start, *(line.end for line in self._waiting))
            self._waiting, self._heard, self._seek_in_speech = [], [], False
            return
        open_line = self._open_words()
        if not self._waiting and open_line is None and not everything:
            if self._in_pause() and heard_until + quiet_s - self.gate.voiced_until >= record.QUIET_S:
                self._seek = max(self._seek, heard_until - record.VAD_PAD_S)  # nobody spoke since: nothing to decode
                self._seek_in_speech = False
            return
        speech_after = 0.0
        if heard_until - self._seek >= record.WINDOW_S + record.SETTLED_S:  # cheap first
            _, audio, probabilities = self.history.slice(self._seek, heard_until)
            speech_after = record.speech_s(probabilities, len(audio), in_speech=self._seek_in_speech)
        plan = record.due(self._waiting, open_line=open_line, speech_after_s=speech_after,
                          heard_until=heard_until + quiet_s, voiced_until=self.gate.voiced_until,
                          pause=self._in_pause(), final=everything, multilingual=self.recognizer.multilingual)
        if plan is None or (plan[1] and plan[0] <= self._seek and not self._waiting):
            return
        end, flush = plan
        # in speech, the job starts a little before the window: offline's VAD has been counting any
        # quiet there, and offline's features hear the audio just before the window
        context = record.CONTEXT_S if self._seek_in_speech else 0.0
        start, audio, probabilities = self.history.slice(self._seek - context, min(end, heard_until))
        lines = [line for line in (*self._waiting, *([open_line] if open_line else [])) if line.start < end]
        language = next((line.language for line in lines if line.language), None)
        if not self.recognizer.multilingual:
            language = self._record_language or language
        if language is not None and language != self._record_language:  # another language starts afresh
            self._prompt, self._record_language = (), language
        hotwords = record.hotwords_heard(self._hotwords, lines) if len(audio) >= HOTWORDS_MIN_S * SAMPLE_RATE else ""
        job = record.Job(start=start, seek=max(start, self._seek) if context else start, audio=audio,
                         probabilities=probabilities, in_speech=self._seek_in_speech, final=flush, prompt=self._prompt,
                         level=self._level, hotwords=hotwords, language=language,
                         beam_size=self.config.second_look_beam_size)
        self._job = asyncio.get_running_loop().run_in_executor(self.record_executor, self._decode, job)
        self._job.add_done_callback(lambda _: self._wake.set())

    async def _collect(self) -> None:
        """The record's job done (waiting for it if need be): its words wait for their lines."""
        assert self._job is not None
        job, self._job = self._job, None
        try:
            decoded = await job
        except asyncio.CancelledError:  # the record's thread was shut down first: what was heard live stands
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            decoded = Outcome(until=self.history.end, failed=True)
        self.windows += decoded.windows
        self.busy_s += decoded.busy_s
        if decoded.failed:  # the lines it was for, as heard live
            n = next((n for n, line in enumerate(self._waiting) if line.end > decoded.until + record.READY_S),
                     len(self._waiting))
            self.kept_live += n
            self._decided.extend((line, line.words) for line in self._waiting[:n])
            del self._waiting[:n]
            self._heard = [w for w in self._heard if w.middle > decoded.until]
            self._live_until = max(self._live_until, decoded.until)
        else:
            self._heard += decoded.words
            self._prompt, self._record_language, self._level = decoded.prompt, decoded.language, decoded.level
        if decoded.until > self._seek:
            self._seek, self._seek_in_speech = decoded.until, decoded.windows > 0 and not decoded.final

    def _hand_out(self, until: float) -> None:
        """The waiting lines whose words the windows have all decided, with those words (or as heard
        live, where the windows missed the line or a stretch of it), to be stored."""
        while self._waiting and self._waiting[0].start < self._live_until:  # partly in a window that failed
            self.kept_live += 1
            line = self._waiting.pop(0)
            self._decided.append((line, line.words))
        if self._waiting:
            given, self._heard = record.hand_out(self._waiting, self._heard, until)
            for n, (line, words) in enumerate(zip(self._waiting, given, strict=False)):
                line.language = line.language or self._record_language
                around = [w for k in (n - 1, n + 1) if 0 <= k < len(given) for w in given[k]]
                words, kept = record.checked(line.words, words, around)
                self.kept_live += kept
                self._decided.append((line, words))
            del self._waiting[: len(given)]
        # words no line will take (heard where the live passes committed nothing, before words they
        # did commit): dropped; words past those committed wait for the live passes
        starts = [line.start for line in self._waiting[:1]]
        if (open_line := self._open_words()) is not None:
            starts.append(open_line.start)
        first = min(starts, default=self._committed_until) - record.EARLY_S
        self._heard = [w for w in self._heard if w.middle >= first]

    def _open_words(self) -> Line | None:
        """The open line, if the live passes have committed words to it."""
        return self.lines.open if self.lines.open is not None and self.lines.open.words else None

    def _in_pause(self) -> bool:
        """Nobody is speaking on the channel (no open line either: a line closes at a short pause, a
        flush only at a real one) and no live pass is due."""
        speaking = self.gate.in_speech or self._open_words() is not None
        return not speaking and self._pending_samples < self.config.step_s * SAMPLE_RATE

    def _decode(self, job: record.Job) -> Outcome:
        """On the record's thread: the job's window(s); if the decoding fails (the model, not the
        meeting), the lines it was for are stored as heard live."""
        started = time.perf_counter()
        try:
            out = Outcome(**vars(record.decode(job, self.recognizer)))
        except Exception:
            log.exception("a window of the record failed in meeting %s; its lines are stored as heard live",
                          self.meeting_id)
            out = Outcome(until=job.end, language=job.language, failed=True)
        out.busy_s = time.perf_counter() - started
        return out

    async def _store(self, state: MeetingState, line: Line, words: list[Word]) -> None:
        """A closed line as segments, one a sentence, each with the line's utterance id."""
        segments = [self.publisher.segment(state, line, piece) for piece in sentences(words)]
        if not segments:  # nothing to store: the page drops the live line
            self.publisher.caption(state, Line(line.number, line.speaker_id, [], line.language), [], final=True,
                                   lag_s=self.lag_s, stored=True)
        await self.publisher.record(segments)

    def _caption(self, state: MeetingState, step: Step) -> None:
        line = self.lines.open
        if line is None:
            first = (step.partial or [Word(self.received_s, self.received_s, "")])[0]
            (speaker,) = self.speakers(state, [first], step.runs)
            line = Line(self.lines.count + 1, speaker, language=step.language)
        if self._is_duplicate(state, line.speaker_id):
            return
        self.publisher.caption(state, line, step.partial, final=step.ended, lag_s=self.lag_s)

    def counters(self) -> dict[str, int]:
        return {"windows": self.windows, "kept_live": self.kept_live, "skipped": self.skipped,
                "rests": self.transcriber.rests}
