"""Silero VAD, the model faster-whisper ships: the speech probabilities the gate (`gate.py`) reads,
and those the record (`record.py`) reads, as faster-whisper computes them over a whole recording."""

from __future__ import annotations

import numpy as np

from .gate import WINDOW

CONTEXT = 64  # samples of the window before that Silero hears with each window


class SileroProbabilities:
    """Silero VAD for the gate, keeping the last window as context across calls; and, as
    `recording`, the record's own (`SileroStream`): a channel asks its VAD for that one."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self.model = get_vad_model()
        self._last = np.zeros(WINDOW, dtype=np.float32)
        self.recording = SileroStream()

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        if len(audio) == 0:
            return np.zeros(0, dtype=np.float32)
        joined = np.concatenate([self._last, audio])
        self._last = audio[-WINDOW:].copy()
        out = self.model(joined, num_samples=WINDOW)
        return np.asarray(out, dtype=np.float32).reshape(-1)[1:]


class SileroStream:
    """Silero VAD over the channel's audio as it comes, its state carried from call to call: the
    probabilities faster-whisper's `get_speech_timestamps` computes over a whole recording at once,
    so that the record's windows hold offline's speech. (The model is recurrent; the gate's
    probabilities, its state reset at each call, differ by up to 0.9 for a quarter of the eval
    stream's windows. The gate keeps them: with these, the live passes made more errors, 177
    against 165 over the five English streams replayed.)"""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self.session = get_vad_model().session
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        """One probability a window of `audio` (a whole number of windows)."""
        if len(audio) == 0:
            return np.zeros(0, dtype=np.float32)
        windows = audio.astype(np.float32, copy=False).reshape(-1, WINDOW)
        context = np.concatenate([self._context[None, :], windows[:-1, -CONTEXT:]])
        self._context = windows[-1, -CONTEXT:].copy()
        out, self._h, self._c = self.session.run(
            None, {"input": np.concatenate([context, windows], axis=1), "h": self._h, "c": self._c})
        return np.asarray(out, dtype=np.float32).reshape(-1)
