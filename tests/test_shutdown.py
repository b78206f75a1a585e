"""Stopping the real server: every socket closed at once with 1001, transcription drained within a
bounded time, and the process gone within a few seconds."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import numpy as np
import pytest

ADMIN = "shutdown-admin-token-0123456789"
EXIT_WITHIN_S = 6.0  # the drain is bounded at 3 s; the rest is Python's own exit


def config(tmp_path: Path, *, asr: bool) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = 0\nadmin_token = "{ADMIN}"\ndata_dir = "{tmp_path / "data"}"\n'
        f"[asr]\nenabled = {'true' if asr else 'false'}\n"
    )
    return path


def start(path: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--config", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return proc, match.group(1)
    raise AssertionError(f"server did not start (exit {proc.wait()})")


async def closed(ws: aiohttp.ClientWebSocketResponse) -> int:
    """Read what is still on its way (captions, an ack) up to the close frame; its code.

    The code the server sent, not `ws.close_code`: the server may drop the connection before the
    client's answering close frame is written, which the client then records as 1006."""
    while (msg := await ws.receive()).type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
        pass
    assert msg.type == aiohttp.WSMsgType.CLOSE, msg
    return int(msg.data)


async def stop_with_everything_open(tmp_path: Path, sig: signal.Signals, *, asr: bool) -> float:
    proc, url = start(config(tmp_path, asr=asr))
    try:
        async with aiohttp.ClientSession() as http:
            auth = {"Authorization": f"Bearer {ADMIN}"}
            created = await (await http.post(f"{url}/api/meetings", json={"title": "T"}, headers=auth)).json()
            mid, chair = created["id"], created["chair_token"]
            if asr:  # the model loads in the background: wait for it so the hall channel is live
                for _ in range(600):
                    health = await (await http.get(f"{url}/api/health", headers=auth)).json()
                    if health["asr"]["ready"]:
                        break
                    await asyncio.sleep(0.1)
            pages = [await http.ws_connect(f"{url}/api/meetings/{mid}/ws?token={chair}", heartbeat=None)
                     for _ in range(3)]
            for page in pages:
                assert (await page.receive_json())["type"] == "snapshot"
            audio = None
            if asr:
                audio = await http.ws_connect(f"{url}/api/meetings/{mid}/audio?token={chair}")
                assert (await audio.receive_json())["type"] == "ready"
                tone = (np.sin(np.arange(16000 * 3) / 16000 * 2 * np.pi * 220) * 8000).astype("<i2")
                for i in range(0, len(tone), 1600):  # 100 ms frames; still being transcribed when the stop comes
                    await audio.send_bytes(tone[i : i + 1600].tobytes())
                await asyncio.sleep(0.3)
            began = time.monotonic()
            proc.send_signal(sig)
            codes = await asyncio.wait_for(asyncio.gather(*(closed(page) for page in pages)), 5)
            closed_in = time.monotonic() - began
            assert codes == [1001] * 3
            assert closed_in < 1.5, f"pages were told after {closed_in:.1f} s"
            if audio is not None:
                assert await asyncio.wait_for(closed(audio), 5) == 1001
            # a command sent now fails at once instead of hanging
            t = time.monotonic()
            with pytest.raises(aiohttp.ClientError):
                await http.post(f"{url}/api/meetings/{mid}/commands", json={"op": "end_turn"},
                                headers={"Authorization": f"Bearer {chair}"})
            assert time.monotonic() - t < 2
        await asyncio.to_thread(proc.wait, 30)
        took = time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        output = proc.stdout.read()
        proc.stdout.close()
    assert proc.returncode == 0, output
    assert took < EXIT_WITHIN_S, f"the process took {took:.1f} s to exit\n{output}"
    print(f"exit after {sig.name}: {took:.2f} s (pages told in {closed_in:.2f} s)")
    return took


async def test_sigterm_closes_sockets_at_once_and_exits(tmp_path: Path) -> None:
    await stop_with_everything_open(tmp_path, signal.SIGTERM, asr=False)


@pytest.mark.slow
async def test_sigint_with_the_model_transcribing(tmp_path: Path) -> None:
    await stop_with_everything_open(tmp_path, signal.SIGINT, asr=True)
