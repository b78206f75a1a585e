"""Lines heard live and not yet stored, in Debian's Chromium against a real server: a closed line
stays in the transcript panes (participant, chair) as heard live until its segments are stored
(20-40 s later), the segments then take its place in order, a `stored: true` caption removes it,
the chair cannot correct it, and the projector falls back to it before the last stored line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_browser import CHROMIUM, Site, browser, new_page, page_behind_proxy, site

__all__ = ["browser", "site"]  # fixtures, used by name

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is missing"),
]
TITLE = "as heard live; the record replaces it within about a minute"
# the contrast of each heard line's text and badge against what is behind it
CONTRAST = """() => {
  const lum = (c) => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = (n) => { for (; n; n = n.parentElement) { const c = getComputedStyle(n).backgroundColor;
    if (c && !c.endsWith(', 0)') && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
  return [...document.querySelectorAll('#transcript .heard, #transcript .heard *')].map((n) => {
    const a = lum(getComputedStyle(n).color), b = lum(bg(n));
    return [n.className, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; }); }"""


def caption(site: Site, who: dict[str, Any], uid: str, committed: str, partial: str = "", **extra: Any) -> None:
    site.meetings.publish_live(site.id, {
        "type": "caption", "text": f"{committed} {partial}".strip(), "committed": committed, "partial": partial,
        "speaker_id": who["participant_id"], "speaker_name": who["name"], "source": "hall", "language": "en",
        "utterance_id": uid, "final": False, "lag_s": 0.2} | extra)


async def store(site: Site, who: dict[str, Any], uid: str, *texts: str) -> list[str]:
    """The segments of one closed line, stored together as the transcriber does."""
    state = await site.meetings.state(site.id)
    start = len(state.transcript) * 3.0
    segments = [{"start": start + i, "end": start + i + 0.9, "text": t, "speaker_id": who["participant_id"],
                 "speaker_name": who["name"], "affiliation": who["affiliation"], "source": "hall", "language": "en",
                 "item": state.current_item, "utterance_id": uid} for i, t in enumerate(texts)]
    return [e.fact.id for e in await site.meetings.record_segments(site.id, segments)]


async def lines(page: Any) -> list[list[str]]:
    """The transcript pane, top to bottom: [stored segment id or "heard:" + utterance id, text]."""
    return await page.locator("#transcript > p").evaluate_all(
        """(ns) => ns.map((n) => [n.dataset.id || `heard:${n.dataset.utterance}`, n.querySelector('.said').textContent])""")


async def at_bottom(page: Any) -> bool:
    return await page.evaluate("(() => { const t = document.querySelector('#transcript'); "
                               "return t.scrollHeight - t.scrollTop - t.clientHeight < 40; })()")


async def test_a_closed_line_stays_in_view_as_heard_until_its_segments_replace_it(site: Site, browser: Any) -> None:
    from axe_playwright_python.async_playwright import Axe

    ana = await site.join("Ana Costa", affiliation="Brazil", mode="remote")
    ben = {**await site.join("Ben Okafor", affiliation="Nigeria"), "name": "Ben Okafor", "affiliation": "Nigeria"}
    lee = await site.join("Lee Tui", affiliation="Fiji")
    older = await site.say(*[(ben["participant_id"], f"Earlier line {n}.") for n in range(30)])  # a pane that scrolls
    await site.command(ben["token"], op="request_floor")
    await site.command(site.chair_token, op="give_floor")
    reader = await new_page(browser, viewport={"width": 1280, "height": 800})
    await reader.goto(f"{site.url}/meeting/{site.id}#token={ana['token']}")
    chair = await new_page(browser, viewport={"width": 1280, "height": 800})
    await chair.goto(f"{site.url}/chair/{site.id}#token={site.chair_token}")
    projector = await new_page(browser, viewport={"width": 1920, "height": 1080})
    await projector.goto(f"{site.url}/projector/{site.id}#token={await site.token('observer')}")
    pages = (reader, chair)
    for page in (*pages, projector):
        await page.locator("#conn.live").wait_for()
    for page in pages:
        await page.locator(f'#transcript [data-id="{older[-1]}"]').wait_for()

    # X closes: its final caption puts it in the pane as heard live, after the stored lines, muted and labelled
    caption(site, ben, "u-x", "Nigeria can accept paragraph four", final=True)
    for page in pages:
        heard = page.locator('#transcript .heard[data-utterance="u-x"]')
        await heard.wait_for()
        assert await heard.get_attribute("title") == TITLE
        assert await heard.locator(".badge").inner_text() == "live"
        assert "Ben Okafor (Nigeria)" in await heard.inner_text()
        assert await heard.get_attribute("tabindex") is None and await heard.get_attribute("data-id") is None
        assert (await lines(page))[-2:] == [[older[-1], "Earlier line 29."], ["heard:u-x", "Nigeria can accept paragraph four"]]
        assert await at_bottom(page)  # the reader at the bottom stays there
    # Y starts: the caption area follows Y, X stays in the pane
    caption(site, ben, "u-y", "with one", partial="reserv")
    for page in pages:
        await page.locator("#caption .partial", has_text="reserv").wait_for()
        assert (await lines(page))[-1] == ["heard:u-x", "Nigeria can accept paragraph four"]
    caption(site, ben, "u-y", "with one reservation", final=True)
    caption(site, ben, "u-y", "with one reservation on paragraph five", final=True)  # a later final one updates it
    for page in pages:
        await page.locator('#transcript .heard[data-utterance="u-y"]', has_text="paragraph five").wait_for()
        assert [x[0] for x in (await lines(page))[-2:]] == ["heard:u-x", "heard:u-y"]
        assert await page.locator("#transcript .heard").count() == 2
        assert await at_bottom(page)

    # the muted style keeps 4.5:1 in both modes, and axe finds nothing on a pane with heard lines
    for contrast in (False, True):
        if contrast:
            await reader.evaluate("document.querySelector('#contrast').click()")
        ratios = await reader.evaluate(CONTRAST)
        assert ratios and all(r >= 4.5 for _, r in ratios), (contrast, ratios)
        violations = (await Axe().run(reader)).response["violations"]
        assert [v["id"] for v in violations if v["impact"] in ("serious", "critical")] == [], contrast

    # the chair cannot correct a line heard live: a click opens no editor
    await chair.locator('#transcript .heard[data-utterance="u-x"]').click()
    await chair.wait_for_timeout(200)
    assert not await chair.locator("#correct").is_visible()

    # X is stored (two sentences, one batch): its segments take its place, before Y's heard line
    stored = await store(site, ben, "u-x", "Nigeria can accept paragraph 4.", "We thank the facilitators.")
    for page in pages:
        await page.locator(f'#transcript [data-id="{stored[-1]}"]').wait_for()
        assert (await lines(page))[-4:] == [
            [older[-1], "Earlier line 29."], [stored[0], "Nigeria can accept paragraph 4."],
            [stored[1], "We thank the facilitators."], ["heard:u-y", "with one reservation on paragraph five"]]
        assert await page.locator('#transcript .heard[data-utterance="u-x"]').count() == 0
        assert await at_bottom(page)
    # the chair's editor opens on the stored line
    await chair.locator(f'#transcript [data-id="{stored[0]}"]').click()
    await chair.locator("#correct").get_by_label("Text").wait_for()
    await chair.get_by_role("button", name="Cancel").click()

    # Y yields nothing to store: its heard line goes, and the caption area falls back to the record
    caption(site, ben, "u-y", "", final=True, stored=True)
    for page in pages:
        await page.locator("#transcript .heard").wait_for(state="detached")
        await page.locator("#caption", has_text="We thank the facilitators.").wait_for()
        assert (await lines(page))[-1] == [stored[1], "We thank the facilitators."]

    # the projector: with no current caption, the line heard last comes before the last stored line
    caption(site, ben, "u-z", "Thank you, chair", final=True)
    await projector.locator("#caption", has_text="Thank you, chair").wait_for()
    await site.command(site.chair_token, op="end_turn")  # a new floor clears the caption
    await projector.locator("#floor", has_text="Nobody has the floor").wait_for()
    assert await projector.locator("#caption").inner_text() == "Ben Okafor: Thank you, chair"
    await site.command(lee["token"], op="request_floor")
    await site.command(site.chair_token, op="give_floor")
    await projector.locator("#floor .who", has_text="Lee Tui").wait_for()
    assert "Ben" not in await projector.locator("#caption").inner_text()  # never under the new speaker's name
    await reader.locator('#transcript .heard[data-utterance="u-z"]').wait_for()  # the pane keeps it

    # a full snapshot (a reload) carries stored lines only: an unstored line is seen again once stored
    await reader.reload()
    await reader.locator("#conn.live").wait_for()
    await reader.locator(f'#transcript [data-id="{stored[-1]}"]').wait_for()
    assert await reader.locator("#transcript .heard").count() == 0
    (z,) = await store(site, ben, "u-z", "Thank you, chair.")
    await reader.locator(f'#transcript [data-id="{z}"]').wait_for()
    for page in (*pages, projector):
        assert page.errors == []


async def test_a_page_that_resumes_with_since_keeps_its_heard_lines(site: Site, browser: Any) -> None:
    ana = await site.join("Ana Costa", affiliation="Brazil")
    ben = {**await site.join("Ben Okafor", affiliation="Nigeria"), "name": "Ben Okafor", "affiliation": "Nigeria"}
    async with page_behind_proxy(site, browser, ana["token"]) as (proxy, page):
        caption(site, ben, "u-x", "We support the draft", final=True)
        await page.locator('#transcript .heard[data-utterance="u-x"]').wait_for()
        proxy.cut()
        await page.locator("#conn.down").wait_for(timeout=3000)
        (x,) = await store(site, ben, "u-x", "We support the draft.")  # stored while the page is away
        proxy.up = True
        await page.locator("#conn.live").wait_for(timeout=15000)
        await page.locator(f'#transcript [data-id="{x}"]').wait_for()
        assert await lines(page) == [[x, "We support the draft."]]
        caption(site, ben, "u-y", "and thank the chair", final=True)
        await page.locator('#transcript .heard[data-utterance="u-y"]').wait_for()
        proxy.cut()
        await page.locator("#conn.down").wait_for(timeout=3000)
        proxy.up = True
        await page.locator("#conn.live").wait_for(timeout=15000)
        assert await lines(page) == [[x, "We support the draft."], ["heard:u-y", "and thank the chair"]]
        (y,) = await store(site, ben, "u-y", "And thank the chair.")
        await page.locator(f'#transcript [data-id="{y}"]').wait_for()
        assert await lines(page) == [[x, "We support the draft."], [y, "And thank the chair."]]
        assert page.errors == []
