"""`assistant transcribe FILE`: a recording brought in after the meeting, to VTT, SRT or JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from ..archive.subtitles import FORMATS, Line
from ..audio.pcm import SAMPLE_RATE
from ..config import Config, decoding_language
from .whisper import load


def transcribe(config: Config, source: Path, out: Path | None, fmt: str, progress: TextIO = sys.stderr) -> Path:
    from faster_whisper.audio import decode_audio

    try:
        audio = decode_audio(str(source))
    except Exception as exc:  # PyAV raises many kinds; all mean the same to the user
        raise ValueError(f"cannot read {source} as audio: {exc}") from exc
    duration = len(audio) / SAMPLE_RATE
    recognizer = load(config.asr, config.server.data_dir / "models", live=False)
    segments, _ = recognizer.transcribe_file(audio, language=decoding_language(config.asr.language))
    lines: list[Line] = []
    for seg in segments:
        lines.append(Line(round(seg.start, 3), round(seg.end, 3), seg.text.strip()))
        done = min(1.0, seg.end / duration) if duration else 1.0
        bar = "#" * int(done * 30)
        progress.write(f"\r[{bar:<30}] {100 * done:5.1f}%  {seg.end:7.1f}/{duration:.1f} s")
        progress.flush()
    progress.write(f"\r[{'#' * 30}] 100.0%  {duration:7.1f}/{duration:.1f} s\n")
    target = out or source.with_suffix(f".{fmt}")
    target.write_text(FORMATS[fmt](lines), encoding="utf-8")
    return target
