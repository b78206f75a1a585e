"""The one audio format inside the server: 16 kHz mono float32; PCM s16le on the wire."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000


def pcm_to_float(pcm: bytes) -> np.ndarray:
    """PCM s16le mono to float32 in [-1, 1]."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
