"""A remote participant speaks from the browser: Chromium's fake microphone plays real speech."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import AUDIO, JFK_WORDS, make_config, word_error_rate
from test_browser import CHROMIUM, Site, chromium, join_in_browser, new_page, running_site

from assistant.http.appkeys import TRANSCRIPTION

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None or shutil.which("sox") is None,
                       reason="needs Debian chromium and sox: run scripts/system-deps.sh (make test does)"),
    pytest.mark.skipif(not (AUDIO / "jfk.flac").exists(), reason="shared audio not present"),
]


@pytest.fixture
async def speaking_site(tmp_path: Path) -> AsyncIterator[Site]:
    async with running_site(make_config(tmp_path / "data", asr={"enabled": True})) as site:
        assert await site.server.app[TRANSCRIPTION].wait_loaded()
        yield site


@pytest.fixture
async def fake_mic_browser(tmp_path: Path) -> AsyncIterator[Any]:
    wav = tmp_path / "speech.wav"  # Chromium's fake capture reads WAV; the speech is read from ../shared, not copied
    subprocess.run(["sox", str(AUDIO / "jfk.flac"), "-r", "48000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    "-t", "wavpcm", str(wav), "pad", "0.5", "3"], check=True)  # Chromium reads 16-bit PCM only
    async with chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                        f"--use-file-for-fake-audio-capture={wav}%noloop") as browser:
        yield browser


async def test_remote_participant_speaks_and_is_transcribed_under_their_name(
    speaking_site: Site, fake_mic_browser: Any
) -> None:
    site = speaking_site
    page = await new_page(fake_mic_browser, permissions=["microphone"])
    await join_in_browser(page, site, "John Kennedy", "United States")
    await page.get_by_role("button", name="Ask for the floor").click()
    await page.locator("#news", has_text="You are on the list").wait_for()
    await site.command(site.chair_token, op="give_floor")
    await page.get_by_text("You are live").wait_for(timeout=10_000)
    assert await page.locator("#level").evaluate("(m) => new Promise((ok) => setTimeout(() => ok(m.value), 3000))") > 0
    said = ""
    for _ in range(400):  # the last words are committed at the pause after them, a few seconds in
        state = await site.meetings.state(site.id)
        said = " ".join(s["text"] for s in state.transcript)
        if word_error_rate(JFK_WORDS, said) <= 0.2:
            break
        await asyncio.sleep(0.1)
    # the first second goes through the browser's echo cancelling and gain control as they settle,
    # and tiny.en may mishear a word: the speech must be there, nearly all of it, under his name
    assert word_error_rate(JFK_WORDS, said) <= 0.2, said
    assert {(s["speaker_name"], s["source"]) for s in state.transcript} == {("John Kennedy", "remote")}
    lines = page.locator("#transcript .line")
    await lines.nth(len(state.transcript) - 1).wait_for()
    assert set(await lines.locator(".who").all_inner_texts()) == {"John Kennedy"}

    await site.command(site.chair_token, op="end_turn")
    await page.locator("#live").wait_for(state="hidden")
    # out of turn, the server refuses the participant's audio
    me = await (await site.http.get(f"{site.url}/api/meetings/{site.id}/me",
                                    headers={"Authorization": f"Bearer {await page_token(page, site)}"})).json()
    assert me["role"] == "participant"
    resp = await site.http.get(f"{site.url}/api/meetings/{site.id}/audio?token={await page_token(page, site)}")
    assert resp.status == 403 and "only while you hold the floor" in (await resp.json())["error"]
    assert page.errors == []


async def page_token(page: Any, site: Site) -> str:
    return str(await page.evaluate(f"JSON.parse(localStorage.getItem('assistant:participant:{site.id}')).token"))
