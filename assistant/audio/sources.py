"""Audio sources for the hall channel: an input device (sounddevice) or a file replayed as if live.

Each yields 16 kHz mono float32 chunks. PortAudio is a system library, so
sounddevice is imported only when a device is used, with a message that
says what to install when it is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from .pcm import SAMPLE_RATE

CHUNK_S = 0.1


class AudioError(RuntimeError):
    """An audio source cannot be opened; the message says what to do."""


def load_sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # the module is there but libportaudio is not
        raise AudioError(
            f"PortAudio is missing ({exc}); install it: apt-get install libportaudio2 "
            "(Debian/Ubuntu), brew install portaudio (macOS)"
        ) from None
    return sounddevice


def list_devices(kind: str = "input") -> list[dict[str, Any]]:
    """Input (or output) devices: index, name, channels, default sample rate."""
    sd = load_sounddevice()
    key = f"max_{kind}_channels"
    return [
        {"index": i, "name": d["name"], "channels": d[key], "rate": d["default_samplerate"]}
        for i, d in enumerate(sd.query_devices())
        if d[key] > 0
    ]


def resolve_device(spec: str, kind: str = "input") -> int:
    """A device by index or by (part of) its name; an exact name wins over a partial one."""
    devices = list_devices(kind)
    if spec.isdigit() and any(d["index"] == int(spec) for d in devices):
        return int(spec)
    matches = [d for d in devices if d["name"].lower() == spec.lower()] or [
        d for d in devices if spec.lower() in d["name"].lower()
    ]
    if len(matches) != 1:
        names = ", ".join(f"{d['index']}: {d['name']}" for d in devices) or "none"
        found = f"no {kind} device" if not matches else f"several {kind} devices"
        raise AudioError(f"{found} matches {spec!r}; {kind} devices: {names}")
    return int(matches[0]["index"])


async def from_device(spec: str) -> AsyncIterator[np.ndarray]:
    """Capture from an input device at 16 kHz mono."""
    sd = load_sounddevice()
    device = resolve_device(spec)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize=600)  # a minute of 100 ms blocks

    def put(block: np.ndarray) -> None:
        if not queue.full():  # if the loop is stalled for a minute, drop rather than grow
            queue.put_nowait(block)

    def callback(indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        loop.call_soon_threadsafe(put, indata[:, 0].copy())

    with sd.InputStream(device=device, channels=1, samplerate=SAMPLE_RATE, dtype="float32",
                        blocksize=int(SAMPLE_RATE * CHUNK_S), callback=callback):
        while True:
            yield await queue.get()


async def from_file(path: Path, *, realtime: bool = True) -> AsyncIterator[np.ndarray]:
    """Decode any file PyAV reads and yield it in 100 ms chunks, paced at real time if asked."""
    from faster_whisper.audio import decode_audio

    try:
        audio = await asyncio.to_thread(decode_audio, str(path))
    except Exception as exc:
        raise AudioError(f"cannot read {path} as audio: {exc}") from exc
    step = int(SAMPLE_RATE * CHUNK_S)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n, at in enumerate(range(0, len(audio), step)):
        yield audio[at : at + step]
        if realtime:
            await asyncio.sleep(max(0.0, start + (n + 1) * CHUNK_S - loop.time()))
