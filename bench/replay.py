"""Streaming replay: the live pipeline's own code and the real model, on a virtual clock.

A real-time run (bench/stream.py) is one draw: where its passes fall depends on
how long each pass took, and a pass boundary that moves by a fraction of a
second changes what Whisper writes for the next few words. Two real-time runs
of the same code differ by several errors per stream. The replay fixes the pass
times: the channel's `_work` (VAD gate, passes, commits, trims) gets the audio
in steps of `[asr] step_s`, the first step `--shift` seconds longer, and a pass
takes no time on the clock. So two policies can be compared on the same pass
times, and replays with different shifts show how much of a difference is chance.

Streams as in bench/stream.py (eval, --session, --folder), with no meeting: no
floor, no hotwords. Prints per stream and pooled: streaming and offline word
errors (after Whisper's English normaliser), committed latency on the virtual
clock (compute time left out: real time adds each pass's own time) and the
model's real-time factor.

    .venv/bin/python bench/replay.py --session synth_en_4spk_a --session synth_en_4spk_b \\
        --folder read_en/ljspeech --folder read_en/hifitts_6097 --shift 0.25
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
from common import percentile
from stream import SR, add_stream_options, chosen_streams, errors, latencies, normalize, offline

from assistant.config import AsrConfig
from assistant.core.meeting import MeetingState
from assistant.speech.pipeline import Channel
from assistant.speech.vad import SileroProbabilities
from assistant.speech.whisper import load


class Sink:
    """No meeting: nobody holds the floor, nothing is stored (the replay reads what `_work` commits)."""

    async def state(self, meeting_id: str) -> MeetingState:
        return MeetingState(meeting_id)

    async def record_segments(self, meeting_id: str, segments: Sequence[dict[str, Any]]) -> object:
        return None

    def publish_live(self, meeting_id: str, message: dict[str, Any]) -> None:
        pass


def replay(rec: Any, config: AsrConfig, audio: np.ndarray, shift: float) -> tuple[str, list[str], list[float], float]:
    """The committed text; its words one by one (normalised) with when each was committed on the audio
    clock, for latency; and the model's seconds."""
    channel = Channel(meeting_id="replay", participant_id=None, recognizer=rec, probabilities=SileroProbabilities(),
                      meetings=Sink(), executor=ThreadPoolExecutor(1), config=config, is_live=lambda *_: False)
    text, words = "", []
    at: list[float] = []
    busy = 0.0
    done, step = 0, int(config.step_s * SR)
    end = step + int(shift * SR)
    while True:
        end = min(end, len(audio))
        final = end == len(audio)
        result = channel._work(audio[done:end], final, config.language, "")
        busy += result.busy_s
        for w in result.committed:
            text += w.text
            for token in normalize(w.text):
                words.append(token)
                at.append(end / SR)
        if final:
            return text, words, at, busy
        done, end = end, end + step


def count(ref: str, hyp: str) -> int:
    out = jiwer.process_words(ref, hyp)
    return int(out.substitutions + out.deletions + out.insertions)


def main(args: argparse.Namespace) -> None:
    streams = chosen_streams(args, with_eval=not args.no_eval)
    overrides = {k: v for k, v in (("beam_size", args.beam), ("step_s", args.step), ("encoder_s", args.encoder)) if v}
    config = AsrConfig(model=args.model, language="en", **overrides)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as models:
        rec = load(config, Path(models))
    print(f"model {config.model}, beam {config.beam_size}, step {config.step_s} s, encoder {config.encoder_s} s, "
          f"shift {args.shift} s")
    total = {"words": 0, "streaming": 0, "offline": 0}
    for name, audio, turns in streams:
        ref = " ".join(w for t in turns for w in normalize(t.text))
        ref_words, text, _ = offline(rec, audio)
        said, heard, at, busy = replay(rec, config, audio, args.shift)
        hyp = normalize(said)  # as a whole: a word alone can normalise differently
        live, off, n = count(ref, " ".join(hyp)), count(ref, " ".join(normalize(text))), len(ref.split())
        lat = latencies(at, heard, ref_words, 0.0)
        print(f"  {name}: {n} words, errors streaming {live} ({100 * live / n:.1f} %) offline {off} "
              f"({100 * off / n:.1f} %); committed latency without compute p50 {percentile(lat, 50):.2f} s "
              f"p95 {percentile(lat, 95):.2f} s; real-time factor {busy / (len(audio) / SR):.2f}")
        if args.errors:
            print(f"    errors: {errors(ref, ' '.join(hyp))}")
        total["words"] += n
        total["streaming"] += live
        total["offline"] += off
    if len(streams) > 1:
        n, live, off = total["words"], total["streaming"], total["offline"]
        print(f"  pooled, {n} words: errors streaming {live} ({100 * live / n:.1f} %) offline {off} "
              f"({100 * off / n:.1f} %): {100 * (live - off) / max(off, 1):+.1f} % relative")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:tiny.en", help="embedded:tiny.en (default), embedded:base, ...")
    add_stream_options(parser)
    parser.add_argument("--shift", type=float, default=0.0, help="seconds added to the first step (default 0)")
    parser.add_argument("--no-eval", action="store_true", help="leave out the eval stream")
    main(parser.parse_args())
