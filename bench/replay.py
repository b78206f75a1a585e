"""Streaming replay: the live pipeline's own code and the real model, on a virtual clock.

A real-time run (bench/stream.py) is one draw: where its passes fall depends on
how long each pass took, and a pass boundary that moves by a fraction of a
second changes what Whisper writes for the next few words. Two real-time runs
of the same code differ by several errors per stream. The replay fixes the pass
times: the channel gets the audio in steps of `[asr] step_s`, the first step
`--shift` seconds longer, and a pass takes no time on the clock. So two policies
can be compared on the same pass times, and replays with different shifts show
how much of a difference is chance.

Everything after the model runs as in the server: the VAD gate, the passes, the
commits and trims (`Channel._work`), attribution of each word to the floor and
the lines (`_publish`), and the record's windows of the channel's speech decoded again before the lines
are stored (`_store_due`, `record`), into a sink that keeps the stored segments. A session's floor
is given at each turn as `bench/stream.py` does (halfway through the gap, or with
--late 0.5-2 s after the speaker started).

Prints per stream and pooled: word errors of the live committed words, of the
stored segments and of the same model offline (after Whisper's normaliser);
attribution of the stored words; committed latency on the virtual clock (compute
time left out: real time adds each pass's own time); the model's real-time factor
(live passes and the record); how many windows the record decoded and lines or stretches kept as heard live.

    .venv/bin/python bench/replay.py --session synth_en_4spk_a --session synth_en_4spk_b \\
        --folder read_en/ljspeech --folder read_en/hifitts_6097 --shift 0.25
    .venv/bin/python bench/replay.py --model embedded:base --beam 1 --language es --language fr --no-eval
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from common import percentile
from stream import (
    NEAR_CHANGE_S,
    PEOPLE,
    SR,
    Turn,
    add_stream_options,
    attribution,
    chosen_streams,
    clicks,
    errors,
    language_of,
    latencies,
    live_settings,
    misattributed,
    normalize,
    offline,
)
from stream import word_errors as count

from assistant.config import AsrConfig
from assistant.core.meeting import MeetingState
from assistant.speech import record
from assistant.speech.pipeline import Channel
from assistant.speech.vad import SileroProbabilities
from assistant.speech.whisper import load, log_mel


class ReplayState:
    """The meeting as the speech layer reads it: one participant a speaker, the floor given on cue."""

    def __init__(self, speakers: list[str], language: str, start: float) -> None:
        self.participants = {s: SimpleNamespace(participant_id=s, name=PEOPLE[n % len(PEOPLE)][0],
                                                affiliation=PEOPLE[n % len(PEOPLE)][1], language=language,
                                                role="participant", mode="onsite", group="government")
                             for n, s in enumerate(speakers)}
        self.turns: list[SimpleNamespace] = []
        self.agenda = ["General debate"]  # as bench/stream.py: names and the item are hotwords
        self.current_item = 0
        self.created_at = start

    def give_floor(self, speaker: str, at: float) -> None:
        if self.turns and self.turns[-1].ended_at is None:
            self.turns[-1].ended_at = at
        self.turns.append(SimpleNamespace(participant_id=speaker, started_at=at, ended_at=None))

    def holder_at(self, at: float) -> str | None:
        for turn in reversed(self.turns):
            if turn.started_at <= at:
                return str(turn.participant_id) if turn.ended_at is None or at < turn.ended_at else None
        return None

    def chair_id(self) -> str | None:
        return None

    def next_speakers(self, n: int) -> list[str]:
        return []


class Sink:
    """Keeps the stored segments; the floor is the replay's."""

    def __init__(self, state: ReplayState) -> None:
        self._state = state
        self.segments: list[dict[str, Any]] = []
        self.captions: list[dict[str, Any]] = []

    async def state(self, meeting_id: str) -> MeetingState:
        return self._state  # type: ignore[return-value]  # the members the speech layer reads

    async def record_segments(self, meeting_id: str, segments: Sequence[dict[str, Any]]) -> object:
        self.segments.extend(segments)
        return None

    def publish_live(self, meeting_id: str, message: dict[str, Any]) -> None:
        self.captions.append(message)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


START = 1_800_000_000.0


async def replay(rec: Any, config: AsrConfig, audio: np.ndarray, shift: float, turns: list[Turn],
                 cues: list[float], language: str, use_hotwords: bool = True, level: float | None = None
                 ) -> dict[str, Any]:
    """The live committed text and when each (normalised) word was committed on the audio clock, the
    stored segments, the model's seconds and the channel's second-look counters."""
    clock = Clock(START)
    state = ReplayState(list(dict.fromkeys(t.speaker for t in turns)), language, START)
    sink = Sink(state)
    channel = Channel(meeting_id="replay", participant_id=None, recognizer=rec, probabilities=SileroProbabilities(),
                      meetings=sink, executor=ThreadPoolExecutor(1), record_executor=ThreadPoolExecutor(1),
                      config=config, is_live=lambda *_: False, clock=clock)
    if level is not None:  # the probe: the record's features floored as offline floors the whole recording's
        channel._level = level
    floor = sorted(zip(cues, (t.speaker for t in turns), strict=True))
    text, words, at = "", [], []
    done, step = 0, int(config.step_s * SR)
    end = step + int(shift * SR)
    while True:
        end = min(end, len(audio))
        final = end == len(audio)
        while floor and floor[0][0] <= end / SR:
            cue, speaker = floor.pop(0)
            state.give_floor(speaker, START + cue)
        clock.now = START + end / SR
        channel.feed(audio[done:end])
        chunk = np.concatenate(channel._pending)
        channel._pending, channel._pending_samples = [], 0
        spoken, hotwords = channel._context(state)  # type: ignore[arg-type]
        hotwords = hotwords if use_hotwords else ""
        result = channel._work(chunk, final, spoken, hotwords)
        channel.busy_s += result.busy_s
        await channel._publish(state, result, hotwords)  # type: ignore[arg-type]
        await channel._store_due(state, everything=final)  # type: ignore[arg-type]
        if channel._job is not None:  # at once: on the virtual clock a window takes no time either
            await asyncio.wait({channel._job})
            await channel._store_due(state, everything=final)  # type: ignore[arg-type]
        for w in result.committed:
            text += w.text
            for token in normalize(w.text, language):
                words.append(token)
                at.append(end / SR)
        if final:
            return {"live": text, "words": words, "at": at, "busy": channel.busy_s, "segments": sink.segments,
                    **channel.counters()}
        done, end = end, end + step
def recording_level(rec: Any, audio: np.ndarray) -> float:
    """The loudest value of offline's features of the whole recording (its speech, as faster-whisper's
    VAD keeps it): what offline floors every window's features under, and a live record cannot know."""
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    speech = np.concatenate(collect_chunks(audio, get_speech_timestamps(audio, VadOptions()))[0])
    return log_mel(rec.record_model.feature_extractor, speech, -np.inf, ends=True)[1]


def main(args: argparse.Namespace) -> None:
    streams = chosen_streams(args, with_eval=not args.no_eval)
    config = AsrConfig(model=args.model, language="en", second_look=not args.no_second_look,
                       **live_settings(args))  # type: ignore[arg-type]
    if args.quiet is not None:
        record.QUIET_S = args.quiet
    with tempfile.TemporaryDirectory() as models:
        rec = load(config, Path(models))
    print(f"model {config.model}, beam {config.beam_size}, step {config.step_s} s, encoder {config.encoder_s} s, "
          f"shift {args.shift} s, record {config.second_look} (beam {config.second_look_beam_size}, "
          f"quiet {record.QUIET_S:g} s), clicks {'late' if args.late else 'in the gap'}")
    total = {"words": 0, "live": 0, "stored": 0, "offline": 0, "heard": 0, "right": 0}
    for name, audio, turns in streams:
        language = language_of(name)
        if language != "en" and not rec.multilingual:
            print(f"  {name}: skipped, {config.model} is English only")
            continue
        ref = " ".join(w for t in turns for w in normalize(t.text, language))
        ref_words, text, _ = offline(rec, audio, language)
        out = asyncio.run(replay(rec, config, audio, args.shift, turns, clicks(turns, args.late),
                                 "" if args.undeclared else language, not args.no_hotwords,
                                 recording_level(rec, audio) if args.level else None))
        live_hyp = " ".join(normalize(out["live"], language))  # as a whole: a word alone can normalise differently
        stored = [(w, s["speaker_id"]) for s in out["segments"] for w in normalize(s["text"], language)]
        stored_hyp = " ".join(w for w, _ in stored)
        n = len(ref.split())
        live, kept, off = count(ref, live_hyp), count(ref, stored_hyp), count(ref, " ".join(normalize(text, language)))
        lat = latencies(out["at"], out["words"], ref_words, 0.0)
        langs = sorted({s["language"] for s in out["segments"]})
        print(f"  {name}: {n} words, errors live {live} ({100 * live / n:.1f} %) stored {kept} ({100 * kept / n:.1f} %) "
              f"offline {off} ({100 * off / n:.1f} %); committed latency without compute p50 "
              f"{percentile(lat, 50):.2f} s p95 {percentile(lat, 95):.2f} s; real-time factor "
              f"{out['busy'] / (len(audio) / SR):.2f}; windows {out['windows']}, lines or stretches kept live "
              f"{out['kept_live']}, not run {out['skipped']}; stored language {', '.join(langs)}")
        if len(turns) > 1:
            heard, right, far, far_right = attribution(stored, turns, ref_words)
            total["heard"] += heard
            total["right"] += right
            print(f"    attribution {100 * right / max(heard, 1):.1f} % of {heard} matched words; "
                  f"{100 * far_right / max(far, 1):.1f} % of the {far} more than {NEAR_CHANGE_S} s from a change of speaker")
            if args.errors:
                print(f"    misattributed: {misattributed(stored, turns, language)}")
        if args.errors:
            print(f"    stored errors: {errors(ref, stored_hyp)}")
            print(f"    offline errors: {errors(ref, ' '.join(normalize(text, language)))}")
        total["words"] += n
        total["live"] += live
        total["stored"] += kept
        total["offline"] += off
    if len(streams) > 1:
        n, off = total["words"], total["offline"]
        print(f"  pooled, {n} words: errors live {total['live']} stored {total['stored']} offline {off}: stored "
              f"{100 * (total['stored'] - off) / max(off, 1):+.1f} % relative to offline, live "
              f"{100 * (total['live'] - off) / max(off, 1):+.1f} %"
              + (f"; attribution {100 * total['right'] / total['heard']:.1f} % of {total['heard']}"
                 if total["heard"] else ""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:tiny.en", help="embedded:tiny.en (default), embedded:base, ...")
    add_stream_options(parser)
    parser.add_argument("--shift", type=float, default=0.0, help="seconds added to the first step (default 0)")
    parser.add_argument("--no-second-look", action="store_true", help="store lines as heard live (no record windows)")
    parser.add_argument("--no-hotwords", action="store_true", help="no names or agenda item as hotwords")
    parser.add_argument("--level", action="store_true",
                        help="a probe: the record floors its features under the whole recording's loudest value, "
                             "as offline does (a live record knows only the loudest so far)")
    parser.add_argument("--quiet", type=float, help="the record decodes what it has after this many seconds of quiet")
    main(parser.parse_args())
