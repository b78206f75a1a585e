"""Remote voice benchmark: the delay the server adds before the hall hears a remote speaker, and
the bandwidth of the hall uplink.

1. Delay. Starts the real server with `[audio] output_device` set to a PulseAudio null sink (the
   "hall PA"; the bench starts PulseAudio with one if none runs), gives the floor to a remote
   participant, and streams 20 ms frames over the audio websocket at real time: quiet noise with
   a 10 ms click every 0.5 s. It records the sink's monitor (what the hall hears) and times each
   click from the moment its frame was sent to the moment it is heard. Printed: that loopback
   delay (which also counts PulseAudio's own sink and monitor latency), and the server's own
   measurement of the delay it adds (frame arrival to the converter, from PortAudio's timing).
2. Uplink. Runs `assistant feed --file` on a recording for its whole length through a relay that
   counts the TCP payload each way (audio, WebSocket framing, the server's acknowledgements).

    .venv/bin/python bench/remote_audio.py            # needs pulseaudio (apt-get install pulseaudio)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from common import ADMIN, ADMIN_AUTH, percentile, start_server, wait_for_model

RATE = 16000
FRAME = 320  # 20 ms
AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"


def ensure_pulse() -> None:
    """A PulseAudio server with a null sink "hall" as the default output, its monitor as the default input."""
    if subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
        if shutil.which("pulseaudio") is None:
            raise SystemExit("needs PulseAudio for a loopback hall PA: apt-get install pulseaudio pulseaudio-utils libasound2-plugins")
        subprocess.run(["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n", "--load=module-native-protocol-unix"],
                       check=True, capture_output=True)
        for _ in range(50):
            if subprocess.run(["pactl", "info"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
    sinks = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True).stdout
    if "\thall\t" not in sinks:
        subprocess.run(["pactl", "load-module", "module-null-sink", "sink_name=hall"], check=True, capture_output=True)
    subprocess.run(["pactl", "set-default-sink", "hall"], check=True)
    subprocess.run(["pactl", "set-default-source", "hall.monitor"], check=True)


async def join_remote_speaker(http: aiohttp.ClientSession, base: str) -> tuple[str, str, str]:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    created = await (await http.post(f"{base}/api/meetings", json={"title": "Remote voice", "agenda": ["One"]}, headers=auth)).json()
    mid = created["id"]
    body = {"name": "Remote", "group": "other", "mode": "remote", "invite_code": created["invite_code"]}
    speaker = await (await http.post(f"{base}/api/meetings/{mid}/participants", json=body)).json()
    await http.post(f"{base}/api/meetings/{mid}/commands", json={"op": "request_floor"},
                    headers={"Authorization": f"Bearer {speaker['token']}"})
    await http.post(f"{base}/api/meetings/{mid}/commands", json={"op": "give_floor"},
                    headers={"Authorization": f"Bearer {created['chair_token']}"})
    return mid, speaker["token"], created["chair_token"]


async def delay(seconds: float) -> None:
    import sounddevice as sd

    ensure_pulse()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(Path(tmp), '[audio]\noutput_device = "pulse"\njitter_ms = 60\nmax_delay_ms = 300\n')
        try:
            async with aiohttp.ClientSession() as http:
                await wait_for_model(http, base)
                mid, token, _ = await join_remote_speaker(http, base)
                blocks: list[tuple[float, np.ndarray]] = []

                def record(indata: np.ndarray, frames: int, t: Any, status: Any) -> None:
                    blocks.append((t.inputBufferAdcTime, indata[:, 0].copy()))

                rng = np.random.default_rng(1)
                click = 0.8 * np.sin(2 * np.pi * 2000 * np.arange(160) / RATE)
                sent: list[float] = []
                with sd.InputStream(device="pulse", samplerate=RATE, channels=1, dtype="float32", blocksize=160,
                                    latency="low", callback=record) as mic:
                    ws = await http.ws_connect(f"{base}/api/meetings/{mid}/audio?token={token}")
                    await ws.receive_json()  # ready
                    start = time.perf_counter()
                    for n in range(int(seconds * RATE / FRAME)):
                        frame = (0.002 * rng.standard_normal(FRAME)).astype(np.float32)
                        if n % 25 == 10:  # every 0.5 s
                            frame[:160] = click
                            sent.append(mic.time)
                        await ws.send_bytes((frame * 32767).astype("<i2").tobytes())
                        await asyncio.sleep(max(0.0, start + (n + 1) * FRAME / RATE - time.perf_counter()))
                    await asyncio.sleep(1.0)
                    await ws.close()
                health = await (await http.get(f"{base}/api/health", headers=ADMIN_AUTH)).json()
        finally:
            proc.terminate()
            proc.wait(10)
    heard = []
    for adc, block in blocks:
        loud = np.flatnonzero(np.abs(block) > 0.3)
        if len(loud):
            onset = adc + loud[0] / RATE
            if not heard or onset - heard[-1] > 0.2:
                heard.append(onset)
    delays = [1000 * (min((h for h in heard if h >= s), default=float("nan")) - s) for s in sent]
    delays = [d for d in delays if d == d and d < 2000]
    print(f"clicks sent {len(sent)}, heard {len(delays)}")
    print(f"loopback delay, frame sent -> heard on the sink's monitor: p50 {percentile(delays, 50):.0f} ms, "
          f"p95 {percentile(delays, 95):.0f} ms, max {max(delays):.0f} ms")
    pb = health["playback"]
    print(f"server's own measure, frame arrival -> converter: p50 {pb['added_delay_ms']['p50']} ms, "
          f"p95 {pb['added_delay_ms']['p95']} ms over {pb['added_delay_ms']['count']} frames; "
          f"underruns {pb['underruns']}, dropped {pb['dropped_s']} s")


class CountingRelay:
    """Relays TCP to the server and counts the bytes each way."""

    def __init__(self, port: int) -> None:
        self.port, self.up, self.down = port, 0, 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, upstream: bool) -> None:
            while data := await src.read(65536):
                if upstream:
                    self.up += len(data)
                else:
                    self.down += len(data)
                dst.write(data)
                await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False), return_exceptions=True)


async def uplink(path: Path) -> None:
    from faster_whisper.audio import decode_audio

    secs = len(decode_audio(str(path))) / RATE
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(Path(tmp))
        try:
            async with aiohttp.ClientSession() as http:
                await wait_for_model(http, base)
                mid, _, chair = await join_remote_speaker(http, base)
                feed = await (await http.post(f"{base}/api/meetings/{mid}/tokens", json={"role": "feed"},
                                              headers={"Authorization": f"Bearer {chair}"})).json()
                relay = CountingRelay(int(base.rsplit(":", 1)[1]))
                port = await relay.start()
                run = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "assistant", "feed", f"http://127.0.0.1:{port}/chair/{mid}", "--token",
                    feed["token"], "--file", str(path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
                out, _ = await run.communicate()
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"uplink: {secs:.1f} s of audio; hall -> server {8 * relay.up / secs / 1000:.1f} kbit/s "
          f"(PCM itself 256 kbit/s; WebSocket framing and the handshake {100 * (relay.up / (secs * 32000) - 1):.2f} % more), "
          f"server -> hall {8 * relay.down / secs / 1000:.2f} kbit/s")
    print("  " + out.decode().strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the click stream")
    ap.add_argument("--uplink-file", type=Path, default=AUDIO / "mit-license-en.flac")
    ap.add_argument("--skip-delay", action="store_true")
    args = ap.parse_args()
    if not args.skip_delay:
        asyncio.run(delay(args.seconds))
    if args.uplink_file.exists():
        asyncio.run(uplink(args.uplink_file))


if __name__ == "__main__":
    main()
