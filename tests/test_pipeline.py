"""One channel's pipeline without a server: the real gate, policy, attribution and second look
around the tone recognizer, a fake meeting and a clock the test moves."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from fakes import (
    FRAME_S,
    Clock,
    FakeState,
    Person,
    RecordingSink,
    ToneRecognizer,
    loud_windows,
    silence,
    tone,
)

from assistant.audio.pcm import SAMPLE_RATE
from assistant.config import AsrConfig
from assistant.speech.gate import SpeechGate
from assistant.speech.pipeline import Channel
from assistant.speech.record import Window
from assistant.speech.streaming import Word
from assistant.speech.transcription import Transcription

START = 1_800_000_000.0


def channel(state: FakeState, recognizer: Any = None, clock: Clock | None = None, **asr: Any) -> tuple[Channel, RecordingSink]:
    sink = RecordingSink(state)
    chan = Channel(meeting_id="m", participant_id=None, recognizer=recognizer or ToneRecognizer(),
                   probabilities=loud_windows(), meetings=sink, executor=ThreadPoolExecutor(1),
                   record_executor=ThreadPoolExecutor(1),
                   config=AsrConfig(step_s=0.5, **asr), is_live=lambda *_: False, clock=clock or Clock(START))
    return chan, sink


def ana_first(*others: Person, recognizer: Any = None) -> tuple[Clock, FakeState, Channel, RecordingSink]:
    """Ana with the floor (and `others` in the meeting); a channel on a clock the test moves."""
    clock = Clock(START)
    state = FakeState([Person("ana", "Ana"), *others], START)
    state.give_floor("ana", START)
    chan, sink = channel(state, recognizer, clock=clock)
    return clock, state, chan, sink


def ana_speaking(recognizer: Any = None) -> tuple[Clock, Channel, RecordingSink]:
    """One speaker, Ana, with the floor; a channel on a clock the test moves."""
    clock, _, chan, sink = ana_first(recognizer=recognizer)
    return clock, chan, sink


def feed(chan: Channel, clock: Clock, samples: np.ndarray, *, clicks: dict[float, Any] | None = None) -> None:
    """Frame by frame, on the clock; `clicks`: audio time -> a function called once that far in."""
    frame = int(FRAME_S * SAMPLE_RATE)
    waiting = dict(clicks or {})
    for i in range(0, len(samples), frame):
        clock.advance(FRAME_S)
        chan.feed(samples[i:i + frame])
        for at in [t for t in waiting if t <= (i + frame) / SAMPLE_RATE]:
            waiting.pop(at)()


async def feed_live(chan: Channel, clock: Clock, samples: np.ndarray, *, clicks: dict[float, Any]) -> None:
    """As `feed`, with the channel running: each step of audio is taken before the next arrives (the
    wait is for the model's thread, not for time)."""
    chan.start()
    step = int(chan.config.step_s * SAMPLE_RATE)
    for i in range(0, len(samples), step):
        feed(chan, clock, samples[i:i + step], clicks={t - i / SAMPLE_RATE: f for t, f in clicks.items()
                                                       if i / SAMPLE_RATE < t <= (i + step) / SAMPLE_RATE})
        while chan._pending or chan._wake.is_set():
            await asyncio.sleep(0.001)
    chan.close()
    assert chan.task is not None
    await chan.task


async def run(chan: Channel) -> None:
    chan.start()
    chan.close()
    assert chan.task is not None
    await chan.task


def said(sink: RecordingSink) -> list[tuple[str, str]]:
    return [(s["text"], s["speaker_name"]) for s in sink.segments]


async def test_a_late_click_gives_the_new_speaker_their_first_words() -> None:
    """Ben starts at 3.0 s; the chair clicks 1.2 s later, in his second word."""
    clock, state, chan, sink = ana_first(Person("ben", "Ben"), Person("chair", "Chair", role="chair"))
    audio = np.concatenate([tone("good morning everyone."), silence(1.5), tone("we support this proposal."), silence(1)])
    feed(chan, clock, audio, clicks={4.2: lambda: state.give_floor("ben", clock())})
    await run(chan)
    assert said(sink) == [("good morning everyone.", "Ana"), ("we support this proposal.", "Ben")]


async def test_a_click_after_the_first_words_were_committed_and_captioned_still_gives_them_to_the_speaker() -> None:
    clock, state, chan, sink = ana_first(Person("ben", "Ben"))
    audio = np.concatenate([tone("good morning everyone."), silence(1.5), tone("we support this proposal."), silence(1)])
    await feed_live(chan, clock, audio, clicks={4.6: lambda: state.give_floor("ben", clock())})  # 1.6 s late
    shown = [(m["speaker_id"], m["committed"]) for m in sink.live if m["committed"].startswith("we")]
    assert shown[0][0] == "ana"  # captioned under Ana before the click came
    assert said(sink) == [("good morning everyone.", "Ana"), ("we support this proposal.", "Ben")]


async def test_a_turn_shorter_than_the_chairs_delay_is_stored_under_its_speaker() -> None:
    """Ben says "thank you chair." (2.3-3.7 s) and stops; the chair clicks him 0.7 s after he finished,
    then Cleo begins (6.0 s) and is clicked 1.5 s into her speech. Ben said nothing after his click,
    so it was late for his words: they are stored under him. His line is decided (2 s of quiet)
    before Cleo's click comes: it waits for it."""
    clock, state, chan, sink = ana_first(Person("ben", "Ben"), Person("cleo", "Cleo"))
    audio = np.concatenate([tone("good morning everyone."), silence(0.8), tone("thank you chair."), silence(2.2),
                            tone("we support this proposal."), silence(1)])
    await feed_live(chan, clock, audio, clicks={4.4: lambda: state.give_floor("ben", clock()),
                                                7.5: lambda: state.give_floor("cleo", clock())})
    assert said(sink) == [("good morning everyone.", "Ana"), ("thank you chair.", "Ben"),
                          ("we support this proposal.", "Cleo")]


async def test_a_line_never_spans_a_floor_change_and_speech_older_than_the_bound_stays_put() -> None:
    clock, state, chan, sink = ana_first(Person("ben", "Ben"))
    # no pause at all: one run of speech from 0 s; the click at 3.0 s is past the look-back bound
    audio = np.concatenate([tone("good morning everyone. we support this proposal."), silence(1)])
    feed(chan, clock, audio, clicks={3.0: lambda: state.give_floor("ben", clock())})
    await run(chan)
    assert said(sink) == [("good morning everyone.", "Ana"), ("we support this", "Ana"), ("proposal.", "Ben")]
    assert len({s["utterance_id"] for s in sink.segments}) == 2  # Ana's line, in two sentences; Ben's


class Recorder(ToneRecognizer):
    """Live passes hear "this"; the record's windows (offline's decoding) hear "the", or `whole`."""

    def __init__(self, whole: str | None = None) -> None:
        super().__init__()
        self.whole = whole
        self.windows: list[tuple[float, str]] = []  # (seconds of speech, prompt) of each window decoded

    def decode_window(self, speech: np.ndarray, **kw: Any) -> Window:
        self.windows.append(((len(speech) - kw["start"]) / SAMPLE_RATE, "".join(map(chr, kw["prompt"])).strip()))
        window = super().decode_window(speech, **kw)
        words = window.words
        if self.whole is not None:
            words = [Word(words[0].start + 0.4 * i, words[0].start + 0.4 * i + 0.3, " " + w)
                     for i, w in enumerate(self.whole.split())]
        else:
            words = [Word(w.start, w.end, " the" if w.key == "this" else w.text, w.probability) for w in words]
        text = "".join(w.text for w in words)
        return Window(words, window.next_s, (*kw["prompt"], *map(ord, text)), window.language, window.level)


async def test_closed_lines_are_stored_as_the_records_window_heard_them_and_captions_carry_their_id() -> None:
    clock = Clock(START)
    state = FakeState([Person("ana", "Ana", language="en")], START)
    state.give_floor("ana", START)
    rec = Recorder()
    chan, sink = channel(state, rec, clock=clock)
    feed(chan, clock, np.concatenate([tone("we support this proposal."), silence(1), tone("thank you chair."),
                                      silence(3)]))
    await run(chan)
    assert said(sink) == [("we support the proposal.", "Ana"), ("thank you chair.", "Ana")]
    assert len(rec.windows) == 1 and rec.windows[0][0] < 6  # both lines in one window, its long silence left out
    finals = [m for m in sink.live if m["final"] and m["committed"]]
    assert finals[0]["committed"].startswith("we support this proposal.")  # as the caption showed it live
    assert finals[0]["utterance_id"] == sink.segments[0]["utterance_id"] and finals[0]["language"] == "en"


async def test_the_record_waits_for_a_quiet_channel_and_conditions_on_the_text_decoded_before() -> None:
    rec = Recorder()
    clock, chan, sink = ana_speaking(rec)
    await feed_live(chan, clock, np.concatenate([tone("good morning everyone."), silence(0.8),
                                                 tone("we support this proposal."), silence(3), tone("thank you chair."),
                                                 silence(3)]), clicks={})
    assert said(sink) == [("good morning everyone.", "Ana"), ("we support the proposal.", "Ana"),
                          ("thank you chair.", "Ana")]
    assert [prompt for _, prompt in rec.windows] == ["", "good morning everyone. we support the proposal."]


async def test_lines_are_stored_when_the_audio_stops_coming_without_the_stream_ending() -> None:
    clock, chan, sink = ana_speaking(Recorder())
    chan.start()
    feed(chan, clock, np.concatenate([tone("we support this proposal."), silence(0.7)]))  # a muted microphone then
    for _ in range(200):
        await asyncio.sleep(0.01)
        if sink.segments:
            break
        clock.advance(0.1)
    assert said(sink) == [("we support the proposal.", "Ana")] and not chan.closed
    chan.close()
    assert chan.task is not None
    await chan.task


class SlowRecord(Recorder):
    """A window that takes as long as the test likes."""

    def __init__(self) -> None:
        super().__init__()
        self.started, self.release = threading.Event(), threading.Event()

    def decode_window(self, speech: np.ndarray, **kw: Any) -> Window:
        self.started.set()
        assert self.release.wait(10)
        return super().decode_window(speech, **kw)


async def test_live_captions_go_on_while_a_window_is_being_decoded() -> None:
    rec = SlowRecord()
    clock, chan, sink = ana_speaking(rec)
    chan.start()
    feed(chan, clock, np.concatenate([tone("we support this proposal."), silence(3)]))  # a flush is due
    for _ in range(500):
        if rec.started.is_set():
            break
        await asyncio.sleep(0.01)
    assert rec.started.is_set()
    feed(chan, clock, np.concatenate([tone("thank you chair."), silence(1)]))
    for _ in range(500):
        if any("chair." in m["committed"] for m in sink.live):
            break
        await asyncio.sleep(0.01)
    assert any("chair." in m["committed"] for m in sink.live) and not sink.segments  # captioned; nothing stored yet
    rec.release.set()
    chan.close()
    assert chan.task is not None
    await chan.task
    assert said(sink) == [("we support the proposal.", "Ana"), ("thank you chair.", "Ana")]


async def test_a_remote_speakers_hall_duplicate_is_decided_when_its_line_closes_not_when_it_is_stored() -> None:
    """Pia speaks from home; the hall loudspeaker carries her voice too. Her own channel is live while
    she speaks and gone by the time the hall's record stores the line: her words are stored once (by her
    channel), never again from the hall."""
    clock = Clock(START)
    state = FakeState([Person("pia", "Pia", mode="remote"), Person("chair", "Chair", role="chair")], START)
    state.give_floor("pia", START)
    live = {"pia": True}
    sink = RecordingSink(state)
    chan = Channel(meeting_id="m", participant_id=None, recognizer=Recorder(), probabilities=loud_windows(),
                   meetings=sink, executor=ThreadPoolExecutor(1), record_executor=ThreadPoolExecutor(1),
                   config=AsrConfig(step_s=0.5), is_live=lambda _m, pid: live.get(pid, False), clock=clock)
    chan.start()
    feed(chan, clock, np.concatenate([tone("we support this proposal."), silence(1)]))
    for _ in range(500):
        if chan._waiting or chan._decided or chan._job:
            break
        await asyncio.sleep(0.01)
    live["pia"] = False  # her channel ends before the hall's line is stored
    chan.close()
    assert chan.task is not None
    await chan.task
    assert sink.segments == [] and not [m for m in sink.live if m["committed"]]


async def test_shutdown_ends_every_channel_at_once_and_stores_what_each_heard_windows_in_flight_included() -> None:
    clock = Clock(START)
    state = FakeState([Person("ana", "Ana"), Person("pia", "Pia", mode="remote")], START)
    state.give_floor("ana", START)
    sink = RecordingSink(state)
    rec = SlowRecord()
    service = Transcription(AsrConfig(step_s=0.5), sink, rec, loud_windows, clock=clock)
    speech = np.concatenate([tone("we support this proposal."), silence(3)])  # a flush is due
    frame, step = int(FRAME_S * SAMPLE_RATE), int(0.5 * SAMPLE_RATE)
    for i in range(0, len(speech), frame):
        clock.advance(FRAME_S)
        service.feed("m", None, speech[i:i + frame])
        service.feed("m", "pia", speech[i:i + frame])
        if (i + frame) % step == 0:  # each step taken before the next arrives, as at real time: no channel lags
            while any(c._pending or c._wake.is_set() for c in service.channels.values()):
                await asyncio.sleep(0.001)
    for _ in range(500):
        if rec.started.is_set():
            break
        await asyncio.sleep(0.01)
    closing = asyncio.create_task(service.close())
    await asyncio.sleep(0.05)
    rec.release.set()  # the window in flight ends while the server shuts down
    await asyncio.wait_for(closing, 10)
    assert sorted(said(sink)) == [("we support the proposal.", "Ana"), ("we support the proposal.", "Pia")]


class BrokenRecord(Recorder):
    def decode_window(self, speech: np.ndarray, **kw: Any) -> Window:
        raise RuntimeError("the record's model broke")


async def test_a_window_whose_decoding_fails_stores_its_lines_as_heard_live() -> None:
    clock, chan, sink = ana_speaking(BrokenRecord())
    feed(chan, clock, np.concatenate([tone("we support this proposal."), silence(1)]))
    await run(chan)
    assert said(sink) == [("we support this proposal.", "Ana")] and chan.failure is None


async def test_a_line_the_record_missed_is_stored_as_heard_live() -> None:
    clock, chan, sink = ana_speaking(Recorder("we"))
    feed(chan, clock, np.concatenate([tone("we support this proposal."), silence(1)]))
    await run(chan)
    assert said(sink) == [("we support this proposal.", "Ana")] and chan.kept_live == 1


async def test_a_stretch_the_record_skipped_inside_a_line_keeps_its_live_words() -> None:
    """The window heard the line's first words and jumped ahead (hifitts: "if you love me and will"
    for "... will wed me, it is enough"): the rest is stored as the live passes heard it."""
    clock, chan, sink = ana_speaking(Recorder("Good morning thank you we"))
    feed(chan, clock, np.concatenate([tone("good morning thank you we support this proposal."), silence(1)]))
    await run(chan)
    assert said(sink) == [("Good morning thank you we support this proposal.", "Ana")] and chan.kept_live == 1


async def test_without_the_record_lines_are_stored_as_heard_at_each_sentence_end() -> None:
    clock = Clock(START)
    state = FakeState([Person("ana", "Ana")], START)
    state.give_floor("ana", START)
    rec = Recorder()
    chan, sink = channel(state, rec, clock=clock, second_look=False)
    feed(chan, clock, np.concatenate([tone("good morning everyone. we support this proposal."), silence(1)]))
    await run(chan)
    assert said(sink) == [("good morning everyone.", "Ana"), ("we support this proposal.", "Ana")]
    assert not rec.windows and len({s["utterance_id"] for s in sink.segments}) == 2


def test_the_gate_keeps_runs_of_speech_with_their_onsets() -> None:
    gate = SpeechGate(loud_windows())
    gate.push(np.concatenate([silence(0.5), tone("good morning"), silence(1.0), tone("we")]))
    (a, b), (c, d) = [(round(x, 1), None if y is None else round(y, 1)) for x, y, *_ in gate.runs]
    assert (a, c) == (0.5, 2.5) and b == 1.4 and d is None  # the 0.1 s inside "good morning" is no gap


class Polyglot(ToneRecognizer):
    """A multilingual recognizer that hears Spanish: it says so when asked, once a turn."""

    multilingual = True

    def __init__(self) -> None:
        super().__init__()
        self.detections = 0
        self.languages: list[str | None] = []

    def detect_language(self, audio: np.ndarray) -> str:
        self.detections += 1
        return "es"

    def transcribe(self, audio: np.ndarray, *, language: str | None, prompt: str, hotwords: str) -> list[Word]:
        self.languages.append(language)
        return super().transcribe(audio, language=language, prompt=prompt, hotwords=hotwords)


async def test_an_undeclared_language_is_detected_once_a_turn_and_stored_with_the_segments() -> None:
    clock = Clock(START)
    state = FakeState([Person("ana", "Ana"), Person("ben", "Ben", language="fr")], START)
    state.give_floor("ana", START)
    rec = Polyglot()
    chan, sink = channel(state, rec, clock=clock, language="auto")
    said_twice = np.concatenate([tone("good morning everyone."), silence(0.8), tone("we support this proposal.")])
    await feed_live(chan, clock, np.concatenate([said_twice, silence(2), tone("thank you chair."), silence(1)]),
                    clicks={7.0: lambda: state.give_floor("ben", clock())})
    assert [(s["speaker_name"], s["language"]) for s in sink.segments] == [("Ana", "es"), ("Ana", "es"), ("Ben", "fr")]
    assert rec.detections == 1 and rec.languages[0] is None and "es" in rec.languages and rec.languages[-1] == "fr"
    # captions say "" until the turn's language is found, then "es"
    assert [m["language"] for m in sink.live if m["speaker_id"] == "ana" and m["committed"]][-1] == "es"
