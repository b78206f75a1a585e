"""A long meeting: the shared speech streamed at real-time pace for as long as asked, the floor
changing every minute, and the server's lag and memory printed over time.

The server runs in this process (the real app, the real model, a real socket), so its
memory can be measured from inside as well as from outside: RSS from the operating
system, and with --tracemalloc the Python objects that grew between the end of the
warm-up and the end, by the line that allocated them.

    .venv/bin/python bench/long_run.py --minutes 10
    .venv/bin/python bench/long_run.py --minutes 12 --tracemalloc --speed 2

Prints one line a minute: audio sent, the channel's lag, RSS, and (with --tracemalloc)
the traced Python memory; then the growth after the warm-up (`--warmup`, minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
import tempfile
import time
import tracemalloc
from pathlib import Path

import aiohttp
import numpy as np
import psutil
from aiohttp import web
from common import ADMIN
from stream import AUDIO, PEOPLE, SR

from assistant.config import AsrConfig, Config, ServerConfig
from assistant.http.app import create_app
from assistant.http.appkeys import TRANSCRIPTION


def speech() -> np.ndarray:
    """Every English clip of the shared audio, joined with 0.3-1.5 s pauses (about 13 minutes)."""
    import random

    from faster_whisper.audio import decode_audio

    pauses = random.Random(7)
    clips = sorted(p for folder in ("read_en/ljspeech", "read_en/hifitts_6097", "read_en/librispeech")
                   for p in (AUDIO / folder).iterdir() if p.suffix in (".flac", ".wav"))
    pieces: list[np.ndarray] = []
    for clip in clips:
        pieces += [decode_audio(str(clip)), np.zeros(int(SR * pauses.uniform(0.3, 1.5)), np.float32)]
    return np.concatenate(pieces)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main(args: argparse.Namespace) -> None:
    audio = speech()
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    me = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        config = Config(server=ServerConfig(host="127.0.0.1", port=port, admin_token=ADMIN, data_dir=Path(tmp)),
                        asr=AsrConfig(model=args.model, language="en"))
        app = create_app(config)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        base = f"http://127.0.0.1:{port}"
        try:
            assert await app[TRANSCRIPTION].wait_loaded(), app[TRANSCRIPTION].error
            async with aiohttp.ClientSession() as http:
                await run(args, http, base, app, pcm, me)
        finally:
            await runner.cleanup()


async def run(args: argparse.Namespace, http: aiohttp.ClientSession, base: str, app: web.Application,
              pcm: np.ndarray, me: psutil.Process) -> None:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    created = await (await http.post(f"{base}/api/meetings", json={"title": "Long run", "agenda": ["Debate"]},
                                     headers=auth)).json()
    mid = created["id"]
    chair = {"Authorization": f"Bearer {created['chair_token']}"}
    tokens = []
    for name, country in PEOPLE:
        body = {"name": name, "affiliation": country, "group": "government", "mode": "onsite",
                "invite_code": created["invite_code"], "language": "en"}
        tokens.append((await (await http.post(f"{base}/api/meetings/{mid}/participants", json=body)).json())["token"])

    async def command(headers: dict[str, str], op: str) -> None:
        async with http.post(f"{base}/api/meetings/{mid}/commands", json={"op": op}, headers=headers) as r:
            assert r.status < 400, await r.text()

    listener = await http.ws_connect(f"{base}/api/meetings/{mid}/ws?token={created['chair_token']}")
    await listener.receive_json()
    segments = 0

    async def listen() -> None:
        nonlocal segments
        async for msg in listener:
            if msg.type == aiohttp.WSMsgType.TEXT and '"segment"' in msg.data:
                segments += 1

    listening = asyncio.create_task(listen())
    ws = await http.ws_connect(f"{base}/api/meetings/{mid}/audio?token={created['chair_token']}")
    frame = SR // 10
    total_frames = int(args.minutes * 600)
    start = time.perf_counter()
    warm: tracemalloc.Snapshot | None = None
    warm_rss = 0
    lags: list[float] = []
    print(f"model {args.model}, {args.minutes} min at {args.speed}x real time, floor changes every minute")
    print(" minute  lag_s  max_lag_s    RSS MiB  traced MiB  segments")
    for i in range(total_frames):
        if i % 600 == 0:  # a minute: the next speaker
            await command({"Authorization": f"Bearer {tokens[(i // 600) % len(tokens)]}"}, "request_floor")
            if i:
                await command(chair, "end_turn")
            await command(chair, "give_floor")
        at = (int(args.start * 60 * SR) + i * frame) % (len(pcm) - frame)
        await ws.send_bytes(pcm[at:at + frame].tobytes())
        stats = app[TRANSCRIPTION].stats()
        lags.append(max((s["lag_s"] for s in stats.values()), default=0.0))
        if (i + 1) % 600 == 0:
            minute = (i + 1) // 600
            gc.collect()
            rss = me.memory_info().rss
            traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
            print(f" {minute:6d}  {lags[-1]:5.2f}  {max(lags[-600:]):9.2f}  {rss / 2**20:9.1f}  "
                  f"{traced / 2**20:10.1f}  {segments:8d}", flush=True)
            if minute == args.warmup:
                warm_rss = rss
                if tracemalloc.is_tracing():
                    warm = tracemalloc.take_snapshot()
        delay = start + (i + 1) * 0.1 / args.speed - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    gc.collect()
    rss = me.memory_info().rss
    print(f"RSS growth after minute {args.warmup}: {(rss - warm_rss) / 2**20:+.1f} MiB; "
          f"lag max {max(lags):.2f} s")
    if warm is not None:
        top = tracemalloc.take_snapshot().compare_to(warm, "lineno")
        print("Python memory grown since the warm-up, by the line that allocated it:")
        for stat in top[:args.top]:
            print(f"  {stat.size_diff / 2**10:+9.1f} KiB  {stat.count_diff:+7d} blocks  {stat.traceback[0]}")
    await ws.close()
    await listener.close()
    listening.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:tiny.en")
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of audio to stream (default 10)")
    parser.add_argument("--speed", type=float, default=1.0, help="times real time (default 1)")
    parser.add_argument("--warmup", type=int, default=2, help="minutes before growth is counted (default 2)")
    parser.add_argument("--start", type=float, default=0.0,
                        help="minute of the joined speech to start at (8.7: LibriSpeech's long sentences)")
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations (slower)")
    parser.add_argument("--top", type=int, default=12, help="lines of growth to print (default 12)")
    parsed = parser.parse_args()
    if parsed.tracemalloc:
        tracemalloc.start(1)
    asyncio.run(main(parsed))
