"""The hall loudspeaker: the floor holder's remote voice played on an output device.

One owner of the output device. Audio from the audio websocket of the remote speaker who holds
the floor goes through a jitter buffer to a `sounddevice` output stream (10 ms blocks, low
latency). For every chunk it records when it arrived and when PortAudio says its first sample
reaches the converter, so the delay the server adds is measured in the product itself, not
guessed (`stats()`, in `/api/health`).
"""

from __future__ import annotations

import logging
import statistics
import threading
from collections import deque
from typing import Any

import numpy as np

from ..config import AudioConfig
from .jitter import JitterBuffer
from .pcm import SAMPLE_RATE
from .sources import AudioError, load_sounddevice, resolve_device

log = logging.getLogger(__name__)
BLOCK_S = 0.01


class HallPlayback:
    def __init__(self, config: AudioConfig) -> None:
        self.config = config
        self.rate = SAMPLE_RATE
        self.buffer = self._new_buffer()
        self.stream: Any = None
        self.speaker: str | None = None
        self.error: str | None = None
        self._arrivals: deque[tuple[int, float]] = deque(maxlen=2000)  # (sample number, stream time)
        self._lock = threading.Lock()
        self.delays: deque[float] = deque(maxlen=5000)  # seconds from arrival to the converter

    def _new_buffer(self) -> JitterBuffer:
        """Sized in samples at the rate the device plays."""
        return JitterBuffer(int(self.rate * self.config.jitter_ms / 1000), int(self.rate * self.config.max_delay_ms / 1000))

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def start(self) -> None:
        """Open the output device named in [audio] output_device; log and carry on if it cannot be."""
        if not self.config.output_device:
            return
        try:
            sd = load_sounddevice()
            device = resolve_device(self.config.output_device, "output")
            try:
                self.stream = self._open(sd, device, SAMPLE_RATE)
            except sd.PortAudioError:  # the device cannot run at 16 kHz: play at its own rate
                rate = int(sd.query_devices(device)["default_samplerate"])
                self.stream = self._open(sd, device, rate)
            self.stream.start()
            log.info("remote speakers are played on %s at %d Hz", sd.query_devices(device)["name"], self.rate)
        except (AudioError, OSError, ValueError) as exc:
            self.error = f"hall playback is off: {exc}"
            log.error("%s", self.error)
            self.stream = None

    def _open(self, sd: Any, device: int, rate: int) -> Any:
        self.rate = rate
        self.buffer = self._new_buffer()
        return sd.OutputStream(device=device, samplerate=rate, channels=1, dtype="float32",
                               blocksize=int(rate * BLOCK_S), latency="low", callback=self._callback)

    def feed(self, speaker: str, samples: np.ndarray) -> None:
        """Audio of the floor holder, 16 kHz mono float32, as it arrives."""
        if self.stream is None or len(samples) == 0:
            return
        if speaker != self.speaker:
            self.buffer.clear()
            self.speaker = speaker
        if self.rate != SAMPLE_RATE:
            n = round(len(samples) * self.rate / SAMPLE_RATE)
            samples = np.interp(np.arange(n) * SAMPLE_RATE / self.rate, np.arange(len(samples)), samples)
        arrived = self.stream.time
        first = self.buffer.push(samples.astype(np.float32))
        with self._lock:
            self._arrivals.append((first, arrived))

    def end(self, speaker: str) -> None:
        """Their turn ended: stop at once, drop what is still buffered."""
        if speaker == self.speaker:
            self.buffer.clear()
            self.speaker = None

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        block, first = self.buffer.pull(frames)
        outdata[:, 0] = block
        if first < 0:
            return
        dac = time_info.outputBufferDacTime or (self.stream.time + self.stream.latency)
        with self._lock:
            while self._arrivals and self._arrivals[0][0] < first + frames:
                number, arrived = self._arrivals.popleft()
                if number >= first:  # not dropped or cleared before it was played
                    self.delays.append(dac + (number - first) / self.rate - arrived)

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"device": self.config.output_device or None, "playing": self.enabled}
        if self.error:
            out["error"] = self.error
        if self.delays:
            ds = sorted(self.delays)
            out["added_delay_ms"] = {"p50": round(1000 * statistics.median(ds)),
                                     "p95": round(1000 * ds[int(0.95 * (len(ds) - 1))]), "count": len(ds)}
        s = self.buffer.stats
        out.update(underruns=s.underruns, dropped_s=round(s.dropped / self.rate, 2), skipped_quiet_s=round(s.skipped / self.rate, 2),
                   depth_ms=round(1000 * self.buffer.depth / self.rate))
        return out

    def close(self) -> None:
        if self.stream is not None:
            self.stream.stop()
            self.stream.close()
            self.stream = None
