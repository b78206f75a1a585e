"""The pages in a real browser: Debian's Chromium driven by Playwright against a real server."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from conftest import ADMIN, make_config
from netcut import Proxy

from assistant.config import Config
from assistant.http.app import create_app
from assistant.http.appkeys import MEETINGS

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,  # a real browser
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None, reason="Debian chromium is missing: run scripts/system-deps.sh (make test does)"
    ),
]
HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1"><b>bold</b>'


class Site:
    """A real server on a free port, and a meeting opened on it."""

    def __init__(self, server: TestServer, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http
        self.url = str(server.make_url("")).rstrip("/")
        self.meetings = server.app[MEETINGS]

    async def open_meeting(self) -> None:
        body = {"title": "Browser meeting", "agenda": ["Opening", "Main item"], "time_limit_s": 120}
        resp = await self.http.post(f"{self.url}/api/meetings", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
        created = await resp.json()
        self.id, self.chair_token, self.code = created["id"], created["chair_token"], created["invite_code"]

    async def token(self, role: str) -> str:
        resp = await self.http.post(
            f"{self.url}/api/meetings/{self.id}/tokens", json={"role": role},
            headers={"Authorization": f"Bearer {self.chair_token}"},
        )
        return str((await resp.json())["token"])

    async def join(self, name: str, **extra: str) -> dict[str, Any]:
        body = {"name": name, "group": "government", "mode": "onsite", "invite_code": self.code} | extra
        resp = await self.http.post(f"{self.url}/api/meetings/{self.id}/participants", json=body)
        return dict(await resp.json())

    async def command(self, token: str, **body: Any) -> None:
        resp = await self.http.post(
            f"{self.url}/api/meetings/{self.id}/commands", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status == 200, await resp.text()

    async def say(self, *lines: tuple[str, str]) -> list[str]:
        """Store transcript segments as the transcriber does: (speaker_id, text) each."""
        state = await self.meetings.state(self.id)
        segments = []
        for i, (pid, text) in enumerate(lines):
            who = state.participants[pid]
            start = float(len(state.transcript) + i) * 3
            segments.append({
                "start": start, "end": start + 2.5, "text": text, "speaker_id": pid, "speaker_name": who.name,
                "affiliation": who.affiliation, "source": "hall", "language": "en", "item": state.current_item,
            })
        stored = await self.meetings.record_segments(self.id, segments)
        return [e.fact.id for e in stored]


@contextlib.asynccontextmanager
async def running_site(config: Config) -> AsyncIterator[Site]:
    """A real server with `config` on a free port, a meeting open on it."""
    server = TestServer(create_app(config))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            s = Site(server, http)
            await s.open_meeting()
            yield s
    finally:
        await server.close()


@contextlib.asynccontextmanager
async def chromium(*extra_args: str) -> AsyncIterator[Any]:
    """Debian's Chromium, never a downloaded one, with the flags this machine needs."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu",
                  *extra_args],
        )
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with running_site(make_config(tmp_path / "data")) as s:
        yield s


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as b:
        yield b


@contextlib.asynccontextmanager
async def page_behind_proxy(site: Site, browser: Any, token: str) -> AsyncIterator[tuple[Proxy, Any]]:
    """A participant's page reached through a proxy whose connection the test can cut, once live."""
    proxy = Proxy(site.server.port or 0)
    base = await proxy.start()
    try:
        page = await new_page(browser)
        await page.goto(f"{base}/meeting/{site.id}#token={token}")
        await page.locator("#conn.live").wait_for()
        yield proxy, page
    finally:
        await proxy.close()


async def new_page(browser: Any, **options: Any) -> Any:
    context = await browser.new_context(**options)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # a resource or a style the Content-Security-Policy refused is an error too
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.errors = errors
    return page


async def join_in_browser(page: Any, site: Site, name: str, affiliation: str) -> None:
    await page.goto(f"{site.url}/join/{site.id}#code={site.code}")
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Country (government) or organisation").fill(affiliation)
    await page.get_by_label("Stakeholder group").select_option("civil society")
    await page.get_by_label("Where are you?").select_option("remote")
    await page.get_by_role("button", name="Join").click()
    await page.wait_for_url(f"**/meeting/{site.id}")
    await page.locator("#conn.live").wait_for()


async def test_remote_participant_gets_the_floor_from_the_console_within_a_second(site: Site, browser: Any) -> None:
    amara = await new_page(browser)
    await join_in_browser(amara, site, "Amara Diallo", "Senegal")
    # a reload rejoins as the same person, not a new one
    await amara.reload()
    await amara.locator("#conn.live").wait_for()
    await amara.get_by_role("button", name="Ask for the floor").click()
    await amara.locator("#news", has_text="You are on the list").wait_for()
    await amara.locator("#mine", has_text="You are next").wait_for()
    assert len((await site.meetings.state(site.id)).participants) == 2  # the chair and Amara, once

    chair = await new_page(browser)
    await chair.goto(f"{site.url}/chair/{site.id}#token={site.chair_token}")
    entry = chair.locator("#queue li", has_text="Amara Diallo")
    await entry.wait_for()
    assert "remote" in await entry.inner_text()
    projector = await new_page(browser, viewport={"width": 1920, "height": 1080})
    await projector.goto(f"{site.url}/projector/{site.id}#token={await site.token('observer')}")
    await projector.locator("#queue li", has_text="Amara Diallo").wait_for()

    await chair.keyboard.press("n")  # the console's shortcut: give the floor to the next by policy
    # every view follows (how fast is measured by bench/fanout.py, not by a timed test)
    await asyncio.gather(
        amara.locator("#alert", has_text="You have the floor").wait_for(),
        projector.locator("#floor", has_text="Amara Diallo").wait_for(),
        chair.locator("#floor", has_text="Amara Diallo").wait_for(),
    )
    assert "Senegal" in await projector.locator("#floor").inner_text()
    await projector.locator("#floor .countdown", has_text="1:5").wait_for(timeout=5000)  # 2:00 counting down
    assert await amara.title() == "● You have the floor"

    await chair.get_by_role("button", name="End turn").click()
    await amara.locator("#alert").wait_for(state="hidden")
    # the console counts the remote speaker's floor time on this item
    assert "0:0" in await chair.locator('#stats tr[data-key="mode:remote"]').inner_text()
    for page in (amara, chair, projector):
        assert page.errors == []


async def test_written_intervention_reaches_the_projector_as_text(site: Site, browser: Any) -> None:
    writer = await new_page(browser)
    await join_in_browser(writer, site, "<i>Lee</i>", "Fiji")
    written = f"Fiji supports the draft.\n{HOSTILE}\nPlease record our reservation on paragraph 4."
    await writer.get_by_label("Written intervention").fill(written)
    await writer.get_by_role("button", name="Ask for the floor").click()
    await writer.locator("#news", has_text="You are on the list").wait_for()

    chair = await new_page(browser)
    await chair.goto(f"{site.url}/chair/{site.id}#token={site.chair_token}")
    waiting = chair.locator("#written li", has_text="waiting")
    await waiting.wait_for()
    assert await waiting.locator(".written").inner_text() == written
    projector = await new_page(browser)
    await projector.goto(f"{site.url}/projector/{site.id}#token={await site.token('observer')}")
    await projector.locator("#conn.live").wait_for()

    await chair.locator("#queue li", has_text="<i>Lee</i>").get_by_role("button", name="Give floor").click()
    shown = projector.locator("#floor .written")
    await shown.wait_for(timeout=1000)
    assert await shown.inner_text() == written
    assert await projector.locator("#floor .who").inner_text() == "<i>Lee</i>"
    # user-typed markup is text everywhere: no element was made from it, no handler ran
    for page in (writer, chair, projector):
        assert await page.locator("#floor img, #floor b, #floor i, #queue i, #written img").count() == 0
        assert await page.evaluate("document.body.dataset.pwned") is None
    await chair.locator("#written li.reading").wait_for()
    await chair.keyboard.press("e")
    await chair.get_by_text("1 answered on this item.").wait_for()


async def test_dropped_connection_catches_up_without_duplicates_or_gaps(site: Site, browser: Any) -> None:
    ana = await site.join("Ana Costa", affiliation="Brazil")
    ben = await site.join("Ben Okafor", affiliation="Nigeria")
    async with page_behind_proxy(site, browser, ana["token"]) as (proxy, page):
        before = await site.say((ana["participant_id"], "Good morning, colleagues."),
                                (ben["participant_id"], "Thank you, chair."))
        await page.locator(f'#transcript [data-id="{before[-1]}"]').wait_for()

        proxy.cut()
        await page.locator("#conn.down").wait_for(timeout=3000)
        assert await page.locator("#conn").inner_text() == "reconnecting…"
        # the meeting goes on while the participant is away
        during = await site.say(*[(ben["participant_id"], f"Point number {n} of our statement.") for n in range(1, 6)])
        await site.command(ben["token"], op="request_floor")
        await site.command(ana["token"], op="request_floor")
        await asyncio.sleep(1.5)
        proxy.up = True
        await page.locator("#conn.live").wait_for(timeout=15000)
        after = await site.say((ana["participant_id"], "I agree with Nigeria."))
        await page.locator(f'#transcript [data-id="{after[-1]}"]').wait_for()

        ids = await page.locator("#transcript [data-id]").evaluate_all("(nodes) => nodes.map((n) => n.dataset.id)")
        assert ids == before + during + after
        assert await page.locator("#queue li", has_text="Ben Okafor").count() == 1
        # opened from a link with only a token, the page still knows which entry is its own
        assert "Ana Costa" in await page.locator("#queue li.mine").inner_text()
        assert "Point number 5 of our statement." in await page.locator("#transcript").inner_text()
        assert page.errors == []


async def test_page_weight_of_each_view_on_first_load(site: Site, browser: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Bytes transferred on first load (headers and bodies, empty cache); printed, and under 200 KB."""
    person = await site.join("Ana Costa")
    views = {
        "join": f"/join/{site.id}#code={site.code}",
        "participant": f"/meeting/{site.id}#token={person['token']}",
        "chair": f"/chair/{site.id}#token={site.chair_token}",
        "projector": f"/projector/{site.id}#token={await site.token('observer')}",
    }
    weights = {}
    for name, path in views.items():
        page = await new_page(browser)
        requests: list[Any] = []
        page.on("requestfinished", lambda r, seen=requests: seen.append(r))
        await page.goto(site.url + path)
        await page.wait_for_load_state("networkidle")
        sizes = [await r.sizes() for r in requests if not r.url.startswith("ws")]
        weights[name] = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
        await page.context.close()
    with capsys.disabled():
        print("\npage weight on first load: " + ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in weights.items()))
    assert all(0 < v < 200_000 for v in weights.values()), weights


async def test_archive_pages_search_filter_and_link_to_the_moment(site: Site, browser: Any) -> None:
    ana = await site.join("Ana Costa", affiliation="Brazil", group="civil society")
    ben = await site.join("Ben <b>Okafor</b>", affiliation="Nigeria")
    ids = await site.say((ana["participant_id"], "Community networks connect rural areas."),
                         (ben["participant_id"], f"We agree. {HOSTILE}"),
                         (ana["participant_id"], "Thank you."))
    page = await new_page(browser)
    await page.goto(f"{site.url}/archive")
    await page.get_by_role("link", name="Browser meeting").wait_for()
    await page.get_by_label("Words or a phrase").fill("rural networks")
    await page.get_by_role("button", name="Search").click()
    hit = page.locator("#hits li").first
    await hit.wait_for()
    assert await hit.locator("mark").all_inner_texts() == ["networks", "rural"]
    await hit.get_by_role("link").click()
    await page.wait_for_url(f"**/archive/{site.id}#{ids[0]}")
    await page.locator(f"#{ids[0]}.target").wait_for()
    assert await page.locator("#lines .line").count() == 3
    await page.get_by_label("Speaker").select_option(label="Ben <b>Okafor</b>")
    await page.get_by_text("1 line shown.").wait_for()
    line = page.locator("#lines .line")
    assert HOSTILE in await line.inner_text()
    assert await page.locator("#lines img, #lines b").count() == 0
    await page.get_by_label("Group").select_option("civil society")
    await page.get_by_text("0 lines shown.").wait_for()
    report = page.get_by_role("link", name="Chair's report")
    assert await report.get_attribute("href") == f"/api/meetings/{site.id}/report.html"
    assert page.errors == []


async def test_chair_corrects_a_line_and_every_page_shows_the_correction(site: Site, browser: Any) -> None:
    ana = await site.join("Ana Costa", affiliation="Brazil")
    (sid,) = await site.say((ana["participant_id"], "We need community net works."))
    reader = await new_page(browser)
    await reader.goto(f"{site.url}/meeting/{site.id}#token={ana['token']}")
    await reader.locator(f'[data-id="{sid}"]').wait_for()
    chair = await new_page(browser)
    await chair.goto(f"{site.url}/chair/{site.id}#token={site.chair_token}")
    await chair.locator(f'#transcript [data-id="{sid}"]').click()
    await chair.locator("#correct").get_by_label("Text").fill("We need community networks.")  # the console's editor
    await chair.get_by_role("button", name="Save correction").click()
    await reader.locator(f'[data-id="{sid}"]', has_text="community networks.").wait_for(timeout=2000)
    record = await site.meetings.store.record(site.id)
    assert record is not None and record.segments[0]["original_text"] == "We need community net works."
    assert reader.errors == [] and chair.errors == []


async def test_listening_to_the_hall_is_off_until_asked(site: Site, browser: Any) -> None:
    import numpy as np

    from assistant.http.appkeys import RELAY

    ana = await site.join("Ana Costa", mode="remote")
    page = await new_page(browser)
    await page.goto(f"{site.url}/meeting/{site.id}#token={ana['token']}")
    await page.locator("#conn.live").wait_for()
    relay = site.server.app[RELAY]
    assert not relay.listeners.get(site.id)  # nothing is sent to a page that did not ask
    await page.get_by_role("button", name="Listen to the hall").click()
    await page.get_by_role("button", name="Listening: stop").wait_for()
    tone = (0.2 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    for _ in range(5):
        relay.publish(site.id, tone)
        await asyncio.sleep(0.1)
    await page.wait_for_function("() => window.hallListener.frames >= 5")  # a function: a string would be eval, which the CSP refuses
    await page.get_by_role("button", name="Listening: stop").click()
    await page.get_by_role("button", name="Listen to the hall").wait_for()
    assert page.errors == []
