"""Audio sources: files replayed as if live, and the device list."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import AUDIO

from assistant.audio.sources import AudioError, from_file
from assistant.cli import main


@pytest.mark.skipif(not (AUDIO / "librispeech-7902-96591-0000.flac").exists(), reason="shared audio not present")
async def test_file_source_yields_100ms_chunks() -> None:
    chunks = [c async for c in from_file(AUDIO / "librispeech-7902-96591-0000.flac", realtime=False)]
    assert all(len(c) == 1600 for c in chunks[:-1])
    assert 2.0 < sum(len(c) for c in chunks) / 16000 < 2.3


async def test_file_source_refuses_what_is_not_audio(tmp_path: Path) -> None:
    junk = tmp_path / "agenda.mp3"
    junk.write_text("no sound here")
    with pytest.raises(AudioError, match="cannot read"):
        [c async for c in from_file(junk)]


def test_devices_command_lists_or_says_what_to_install(capsys) -> None:
    code = main(["devices"])
    out = capsys.readouterr()
    assert (code == 0 and out.out) or (code == 1 and "PortAudio" in out.err)
