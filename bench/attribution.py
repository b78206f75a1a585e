"""Attribution under many late chairs: the floor rules (`attribution.py`) over many draws of clicks.

A real-time or replayed run (`bench/stream.py`, `bench/replay.py --late`) is one draw of the
chair's clicks (0.5 to 2 s after each speaker began, one seed): a turn shorter than the click's
delay is missed in one draw and not in the next. This bench hears each session once, as the
server does (the gate's runs of speech, fed `[asr] step_s` at a time; the same model's words
offline), then gives the floor at `--draws` draws of late clicks and attributes every word with
the product's rules, with every click known (as when a line is stored). Prints, per session and
pooled, the share of words under the right name, all and those more than 0.5 s from a change of
speaker (mean over draws, worst draw, draws with a far word wrong), the turns most often lost, and
how long attributing every word of the session took (the floor moved back, each word's speaker).
With --gaps LO HI the sessions' turns are joined as a conversation (`stream.conversation_stream`: LO
to HI s between one voice and the next, where a chair leaves half a second or more).

    .venv/bin/python bench/attribution.py --session synth_en_4spk_a --session synth_en_4spk_b --draws 200
    .venv/bin/python bench/attribution.py --draws 200 --gaps 0.1 0.4 [--in-the-gap]
"""

from __future__ import annotations

import argparse
import collections
import itertools
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from stream import (
    AUDIO,
    SR,
    Turn,
    add_mixing_options,
    attribution,
    conversation_stream,
    normalize,
    session_stream,
    with_noise,
)

from assistant.config import AsrConfig
from assistant.speech.attribution import backdated, floor_changes, holder_at, said_at
from assistant.speech.gate import Run, SpeechGate
from assistant.speech.streaming import Word
from assistant.speech.vad import SileroProbabilities
from assistant.speech.whisper import load


@dataclass(frozen=True)
class Floor:
    """A turn as the meeting state holds it (`attribution.TurnLike`)."""

    participant_id: str
    started_at: float
    ended_at: float | None


def heard(audio: np.ndarray, step_s: float) -> list[Run]:
    """The gate's runs of speech over `audio`, fed as the channel feeds it (`step_s` at a time)."""
    gate = SpeechGate(SileroProbabilities(), runs_kept=1_000_000)
    piece = int(step_s * SR)
    for at in range(0, len(audio), piece):
        gate.push(audio[at : at + piece])
    return list(gate.runs)


def given(turns: list[Turn], rng: random.Random, in_the_gap: bool) -> list[float]:
    """When the chair gives each turn but the first the floor: 0.5 to 2 s after its speaker began (a
    chair who looks up first), or `in_the_gap`, anywhere in the pause before it (a chair who knows
    who is next, or was already looking)."""
    if in_the_gap:
        return [0.0] + [rng.uniform(a.end, b.start) for a, b in itertools.pairwise(turns)]
    return [0.0] + [t.start + rng.uniform(0.5, 2.0) for t in turns[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--session", action="append", help="a session under shared/audio/sessions (default: both)")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--in-the-gap", action="store_true", help="clicks in the pause before each turn, not late")
    add_mixing_options(parser)
    args = parser.parse_args()
    if not (AUDIO / "sessions").is_dir():
        raise SystemExit(f"no sessions in {AUDIO}")
    names = args.session or ["synth_en_4spk_a", "synth_en_4spk_b"]
    print(f"clicks {'in the pause before each turn' if args.in_the_gap else '0.5-2 s after each speaker began'}"
          + (f"; turns {args.gaps[0]} to {args.gaps[1]} s apart" if args.gaps else "")
          + (f"; noise at {args.noise} dBFS" if args.noise is not None else ""))
    config = AsrConfig()
    with tempfile.TemporaryDirectory() as models:
        rec = load(config, Path(models), live=False)
    pooled = np.zeros(4)
    for name in names:
        audio, turns = conversation_stream(name, args.gaps) if args.gaps else session_stream(name)
        if args.noise is not None:
            audio = with_noise(audio, args.noise)
        runs = heard(audio, config.step_s)
        segments, _ = rec.transcribe_file(audio, language="en")
        words = [Word(float(w.start), float(w.end), w.word) for s in segments for w in s.words]
        timed = [(token, w.end) for w in words for token in normalize(w.text)]
        rng = random.Random(args.seed)
        totals, worst, missed, lost, spent = np.zeros(4), 100.0, 0, collections.Counter[int](), 0.0
        for _ in range(args.draws):
            at = given(turns, rng, args.in_the_gap)
            started = time.perf_counter()
            floor = backdated(floor_changes(
                [Floor(t.speaker, a, b) for t, a, b in zip(turns, at, [*at[1:], None], strict=True)]), runs)
            who = [holder_at(floor, said_at(w, runs)) or "" for w in words]
            spent += time.perf_counter() - started
            stored = [(token, speaker) for w, speaker in zip(words, who, strict=True) for token in normalize(w.text)]
            n, right, far, far_right = attribution(stored, turns, timed)
            totals += (n, right, far, far_right)
            worst = min(worst, 100 * far_right / far)
            missed += far_right < far
            for i, t in enumerate(turns):  # a turn lost: most of its words under another name
                mine = [s for w, s in zip(words, who, strict=True) if t.start <= w.middle <= t.end]
                lost[i] += bool(mine) and sum(s == t.speaker for s in mine) < len(mine) / 2
        pooled += totals
        often = ", ".join(f"#{i} ({turns[i].end - turns[i].start:.1f} s) {100 * k / args.draws:.0f} %"
                          for i, k in lost.most_common(4) if k)
        print(f"{name}: {int(totals[0] / args.draws)} words, {len(turns)} turns, {args.draws} draws: "
              f"right name {100 * totals[1] / totals[0]:.2f} %, far words {100 * totals[3] / totals[2]:.2f} % "
              f"(worst draw {worst:.1f} %, draws with a far word wrong {missed}); turns lost: {often or 'none'}; "
              f"every word attributed in {1000 * spent / args.draws:.1f} ms ({len(runs)} runs of speech)")
    if len(names) > 1:
        print(f"pooled: right name {100 * pooled[1] / pooled[0]:.2f} %, far words {100 * pooled[3] / pooled[2]:.2f} %")


if __name__ == "__main__":
    main()
