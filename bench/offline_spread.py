"""How much the same model offline moves under changes nobody can hear.

The stored record is compared with offline faster-whisper on the same audio (bench/replay.py,
bench/stream.py). Offline is one draw: where its windows start depends on the VAD's chunks and the
features, and a window that starts elsewhere can read a stretch differently or skip it. This prints
offline's word errors per stream on the audio as it is, delayed by 1 ms and by 20 ms, scaled by 0.99
(-0.09 dB), and with white noise at -90 dB, so a difference between the record and offline can be
set against offline's own spread.

    .venv/bin/python bench/offline_spread.py --session synth_en_4spk_a --session synth_en_4spk_b \\
        --folder read_en/ljspeech --folder read_en/hifitts_6097 --no-eval
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from stream import SR, add_stream_options, chosen_streams, normalize, offline, word_errors

from assistant.config import AsrConfig
from assistant.speech.whisper import load


def changes(audio: np.ndarray, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    return [
        ("as is", audio),
        ("+1 ms", np.concatenate([np.zeros(SR // 1000, np.float32), audio])),
        ("+20 ms", np.concatenate([np.zeros(SR // 50, np.float32), audio])),
        ("x0.99", (audio * 0.99).astype(np.float32)),
        ("noise -90 dB", (audio + rng.normal(0, 10 ** (-90 / 20), len(audio))).astype(np.float32)),
    ]


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as models:
        rec = load(AsrConfig(model=args.model, language="en"), Path(models), live=False)
    rng = np.random.default_rng(0)
    pooled: dict[str, int] = {}
    for name, audio, turns in chosen_streams(args, with_eval=not args.no_eval):
        ref = " ".join(w for t in turns for w in normalize(t.text))
        row = []
        for label, changed in changes(audio, rng):
            _, text, _ = offline(rec, changed)
            n = word_errors(ref, " ".join(normalize(text)))
            pooled[label] = pooled.get(label, 0) + n
            row.append(f"{label} {n}")
        print(f"  {name}: {len(ref.split())} words; offline errors: {', '.join(row)}", flush=True)
    print(f"  pooled: {', '.join(f'{label} {n}' for label, n in pooled.items())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:tiny.en", help="embedded:tiny.en (default), embedded:base, ...")
    add_stream_options(parser)
    main(parser.parse_args())
