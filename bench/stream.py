"""Streaming benchmark: real speech at real-time pace through the audio websocket.

Builds the evaluation stream of ../shared/audio/eval.tsv (the utterances joined
with one second of silence), starts the real server with the given model,
gives the floor to one speaker, streams the audio in 100 ms frames at real
time to /api/meetings/{id}/audio while a websocket client listens, and prints
for each model:

- WER of the committed transcript (stored segments) against the references,
  and the same model's offline WER on the same audio (beam 5, VAD);
- committed-text latency p50/p95: from a word's end in the audio (word times
  from the offline pass, aligned to the committed words) to the moment the
  client received it as committed text (a caption's committed part or a segment);
- partial latency p50: the same, to its first appearance in any caption;
- real-time factor of the live pipeline (model time / audio time) and its lag;
- peak RSS of the server process.

    .venv/bin/python bench/stream.py --model embedded:tiny.en --model embedded:base
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import re
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
import jiwer
import numpy as np
import psutil
from common import ADMIN, percentile, start_server, wait_for_model

AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"

SR = 16_000


def normalize(text: str) -> list[str]:
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^\w' ]+", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def build_stream() -> tuple[np.ndarray, str]:
    from faster_whisper.audio import decode_audio

    pieces, refs = [], []
    for line in (AUDIO / "eval.tsv").read_text().splitlines():
        audio_path, ref_path = line.split("\t")
        pieces += [decode_audio(str(AUDIO / audio_path)), np.zeros(SR, np.float32)]
        refs.append((AUDIO / ref_path).read_text().strip())
    return np.concatenate(pieces), " ".join(refs)


def offline(model_spec: str, audio: np.ndarray, data_dir: Path) -> tuple[list[tuple[str, float]], str, float]:
    """Words with end times, text, and seconds taken, from the same model offline."""
    from assistant.config import AsrConfig
    from assistant.models import load

    rec = load(AsrConfig(model=model_spec), data_dir / "models")
    t0 = time.perf_counter()
    segments, _ = rec.transcribe_file(audio, language="en")
    words, texts = [], []
    for seg in segments:
        texts.append(seg.text)
        for w in seg.words or []:
            for token in normalize(w.word):
                words.append((token, float(w.end)))
    return words, " ".join(texts), time.perf_counter() - t0


async def stream(model_spec: str, audio: np.ndarray, data_dir: Path, asr_extra: str = "") -> dict[str, object]:
    proc, base = start_server(data_dir, f'[asr]\nmodel = "{model_spec}"\nlanguage = "en"\n{asr_extra}')
    server = psutil.Process(proc.pid)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_for_model(http, base)
            auth = {"Authorization": f"Bearer {ADMIN}"}
            created = await (await http.post(f"{base}/api/meetings", json={"title": "Stream bench", "agenda": ["One"]},
                                             headers=auth)).json()
            mid = created["id"]
            body = {"name": "Speaker", "group": "other", "mode": "onsite", "invite_code": created["invite_code"], "language": "en"}
            speaker = await (await http.post(f"{base}/api/meetings/{mid}/participants", json=body)).json()
            for op in ({"op": "request_floor"},):
                await http.post(f"{base}/api/meetings/{mid}/commands", json=op, headers={"Authorization": f"Bearer {speaker['token']}"})
            await http.post(f"{base}/api/meetings/{mid}/commands", json={"op": "give_floor"},
                            headers={"Authorization": f"Bearer {created['chair_token']}"})
            listener = await http.ws_connect(f"{base}/api/meetings/{mid}/ws?token={created['chair_token']}")
            await listener.receive_json()

            stored: list[str] = []  # committed words in stored segments
            committed_at: list[float] = []  # arrival time of the k-th committed word
            seen_at: list[float] = []  # first time k words were on screen (committed or partial)
            done = asyncio.Event()

            async def listen() -> None:
                while not done.is_set():
                    try:
                        msg = await listener.receive_json(timeout=1)
                    except TimeoutError:
                        continue
                    except (TypeError, aiohttp.ClientError):
                        return
                    now = time.perf_counter()
                    if msg.get("name") == "segment":
                        stored.extend(normalize(msg["data"]["text"]))
                        committed = len(stored)
                        shown = committed
                    elif msg.get("type") == "caption":
                        committed = len(stored) + len(normalize(msg["committed"]))
                        shown = len(stored) + len(normalize(msg["text"]))
                    else:
                        continue
                    while len(committed_at) < committed:
                        committed_at.append(now)
                    while len(seen_at) < shown:
                        seen_at.append(now)

            listening = asyncio.create_task(listen())
            peak_rss = server.memory_info().rss
            ws = await http.ws_connect(f"{base}/api/meetings/{mid}/audio?token={created['chair_token']}")
            frame = SR // 10
            pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
            start = time.perf_counter()
            for i, at in enumerate(range(0, len(pcm), frame)):
                await ws.send_bytes(pcm[at:at + frame].tobytes())
                peak_rss = max(peak_rss, server.memory_info().rss) if i % 10 == 0 else peak_rss
                delay = start + (i + 1) * 0.1 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            health = await (await http.get(f"{base}/api/health")).json()
            await ws.close()
            await asyncio.sleep(3)
            done.set()
            await listening
            await listener.close()
            channel = next(iter(health["asr"]["channels"].values()), {"busy_s": float("nan"), "audio_s": 1, "lag_s": 0})
            return {"stored": stored, "committed_at": committed_at, "seen_at": seen_at, "start": start,
                    "peak_rss": peak_rss, "rtf": channel["busy_s"] / max(channel["audio_s"], 1e-9),
                    "lag_s": channel["lag_s"]}
    finally:
        proc.terminate()  # the server commits what is still queued before it exits
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def latencies(arrivals: list[float], hyp: list[str], ref_words: list[tuple[str, float]], start: float) -> list[float]:
    """Arrival of each hypothesis word minus the end of the offline word it aligns to."""
    matcher = difflib.SequenceMatcher(a=hyp, b=[w for w, _ in ref_words], autojunk=False)
    out = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            i, j = block.a + k, block.b + k
            if i < len(arrivals):
                out.append(arrivals[i] - (start + ref_words[j][1]))
    return out


async def main(args: argparse.Namespace) -> None:
    if not (AUDIO / "eval.tsv").exists():
        raise SystemExit(f"no evaluation audio in {AUDIO}")
    audio, reference = build_stream()
    ref = " ".join(normalize(reference))
    print(f"evaluation stream: {len(audio) / SR:.1f} s, {len(ref.split())} reference words")
    for spec in args.model:
        with tempfile.TemporaryDirectory() as tmp:
            words, text, took = offline(spec, audio, Path(tmp))
            offline_wer = jiwer.wer(ref, " ".join(normalize(text)))
            extra = "".join(f"{k} = {v}\n" for k, v in (("beam_size", args.beam), ("step_s", args.step)) if v)
            live = await stream(spec, audio, Path(tmp), extra)
        stored: list[str] = live["stored"]  # type: ignore[assignment]
        streaming_wer = jiwer.wer(ref, " ".join(stored))
        committed = latencies(live["committed_at"], stored, words, live["start"])  # type: ignore[arg-type]
        partial = [live["seen_at"][i] - (live["start"] + words[i][1])  # type: ignore[index, operator]
                   for i in range(min(len(words), len(live["seen_at"])))]  # type: ignore[arg-type]
        print(f"\nmodel {spec}")
        print(f"  WER streaming {100 * streaming_wer:.1f} %  offline {100 * offline_wer:.1f} %"
              f"  (offline pass took {took:.1f} s)")
        print(f"  committed latency p50 {percentile(committed, 50):.2f} s  p95 {percentile(committed, 95):.2f} s"
              f"  ({len(committed)} words aligned)")
        print(f"  partial latency p50 {percentile(partial, 50):.2f} s")
        print(f"  real-time factor {live['rtf']:.2f}  lag at the end {live['lag_s']:.2f} s")
        print(f"  server peak RSS {live['peak_rss'] / 2**20:.0f} MiB")  # type: ignore[operator]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="embedded:tiny.en (default), embedded:base, or any model")
    parser.add_argument("--beam", type=int, help="[asr] beam_size for the live pipeline (default: the config's)")
    parser.add_argument("--step", type=float, help="[asr] step_s for the live pipeline (default: the config's)")
    parsed = parser.parse_args()
    parsed.model = parsed.model or ["embedded:tiny.en"]
    asyncio.run(main(parsed))
