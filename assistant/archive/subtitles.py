"""Timed text formats: WebVTT (with voice spans), SRT and JSON, from timed lines."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from .document import one_line


@dataclass(frozen=True)
class Line:
    start: float  # seconds
    end: float
    text: str
    speaker: str = ""


def _clock(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cue_text(text: str) -> str:
    """Cue text can't hold a blank line or the cue arrow: one line, and every run of dashes before
    a `>` (`-->`, `--->`, …) cut to one dash, so no arrow is left (`--->` once made `-->`)."""
    text = one_line(text)
    return _ARROW.sub("->", text) if "-->" in text else text


_ARROW = re.compile(r"-{2,}>")


def _vtt_escape(text: str) -> str:
    if "&" not in text and "<" not in text and ">" not in text:
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(lines: Sequence[Line], notes: Mapping[int, str] | None = None) -> str:
    """`notes` puts a NOTE block (a chapter heading, say) before the cue at that index."""
    out = ["WEBVTT", ""]
    n = 0
    voices: dict[str, str] = {}
    for i, line in enumerate(lines):
        if notes and i in notes:
            out += ["NOTE " + _cue_text(notes[i]), ""]
        text = _cue_text(line.text)
        if not text:
            continue  # an empty line would end the cue early
        n += 1
        end = max(line.end, line.start + 0.001)
        body = _vtt_escape(text)
        if line.speaker:
            voice = voices.get(line.speaker)
            if voice is None:
                voice = voices[line.speaker] = _vtt_escape(_cue_text(line.speaker))
            body = f"<v {voice}>{body}</v>"
        out += [str(n), f"{_clock(line.start, '.')} --> {_clock(end, '.')}", body, ""]
    return "\n".join(out)


def to_srt(lines: Sequence[Line]) -> str:
    out = []
    n = 0
    for line in lines:
        body = _cue_text(line.text)
        if not body:
            continue  # an empty line would end the cue early
        n += 1
        end = max(line.end, line.start + 0.001)
        if line.speaker:
            body = f"{_cue_text(line.speaker)}: {body}"
        out += [str(n), f"{_clock(line.start, ',')} --> {_clock(end, ',')}", body, ""]
    return "\n".join(out)


def to_json(lines: Sequence[Line]) -> str:
    return json.dumps([asdict(line) for line in lines], ensure_ascii=False, indent=2)


FORMATS = {"vtt": to_vtt, "srt": to_srt, "json": to_json}
