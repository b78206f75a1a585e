"""Silero VAD, the speech probabilities the gate (`gate.py`) reads: the model faster-whisper ships."""

from __future__ import annotations

import numpy as np

from .gate import WINDOW


class SileroProbabilities:
    """Silero VAD (the model faster-whisper ships), keeping context across calls."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self.model = get_vad_model()
        self._last = np.zeros(WINDOW, dtype=np.float32)

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        if len(audio) == 0:
            return np.zeros(0, dtype=np.float32)
        joined = np.concatenate([self._last, audio])
        self._last = audio[-WINDOW:].copy()
        out = self.model(joined, num_samples=WINDOW)
        return np.asarray(out, dtype=np.float32).reshape(-1)[1:]
