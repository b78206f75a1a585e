"""Timed text read back by independent parsers; `assistant transcribe` on real speech."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import srt
import webvtt
from conftest import AUDIO

from assistant.archive.subtitles import Line, to_json, to_srt, to_vtt
from assistant.cli import main

LINES = [
    Line(0.0, 2.5, "Good morning, everyone.", "Amina Diallo"),
    Line(2.5, 5.25, "<b>bold</b> --> & a\n\nblank line", "Dr. <Evil>"),
    Line(3661.5, 3662.0, "An hour later."),
]


def test_vtt_parses_back_with_voices() -> None:
    captions = webvtt.from_buffer(io.StringIO(to_vtt(LINES)))
    assert [c.start for c in captions] == ["00:00:00.000", "00:00:02.500", "01:01:01.500"]
    assert captions[0].voice == "Amina Diallo"
    assert captions[0].text == "Good morning, everyone."
    assert "<b>" not in captions[1].raw_text and "&lt;b&gt;" in captions[1].raw_text


def test_srt_parses_back() -> None:
    subs = list(srt.parse(to_srt(LINES)))
    assert [s.start.total_seconds() for s in subs] == [0.0, 2.5, 3661.5]
    assert subs[0].content == "Amina Diallo: Good morning, everyone."
    assert "\n" not in subs[1].content


def test_json_round_trip() -> None:
    assert [Line(**d) for d in json.loads(to_json(LINES))] == LINES


@pytest.mark.slow
@pytest.mark.skipif(not (AUDIO / "librispeech-6930-75918-0000.flac").exists(), reason="shared audio not present")
def test_transcribe_command_writes_srt(tmp_path: Path, capsys) -> None:
    out = tmp_path / "clip.srt"
    code = main(["transcribe", str(AUDIO / "librispeech-6930-75918-0000.flac"), "--format", "srt", "-o", str(out)])
    assert code == 0
    reference = (AUDIO / "ref" / "librispeech-6930-75918-0000.txt").read_text().lower().split()
    text = " ".join(s.content for s in srt.parse(out.read_text())).lower()
    assert sum(w in text for w in reference) >= 0.8 * len(reference), text
    assert "100.0%" in capsys.readouterr().err


def test_transcribe_command_refuses_missing_and_bad_files(tmp_path: Path, capsys) -> None:
    assert main(["transcribe", str(tmp_path / "nothing.wav")]) == 2
    assert "does not exist" in capsys.readouterr().err
    junk = tmp_path / "notes.wav"
    junk.write_text("not audio at all")
    assert main(["transcribe", str(junk)]) == 1
    assert "cannot read" in capsys.readouterr().err
