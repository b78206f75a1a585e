"""The remote participant's day (issue 20), in Debian's Chromium against a real server: where you
stand first, every change to your requests said once, mute, withdraw, alerts that reach you in
another tab, "while you were away", a projector readable from the back, accessibility."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_config
from test_browser import CHROMIUM, Site, browser, chromium, new_page, page_behind_proxy, running_site, site

__all__ = ["browser", "site"]  # fixtures, used by name

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is missing"),
]
PHONE = {"width": 390, "height": 844}
WRITTEN = "Fiji asks that the outcome name remote participation as a right.\nSecond paragraph."

# counts the system notifications and the short sounds a page makes
SPY = """
window.__notes = []; window.__beeps = 0;
if (window.Notification) {
  const Real = window.Notification;
  window.Notification = class extends Real { constructor(title, options) { super(title, options); window.__notes.push(title); } };
}
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__beeps += 1; return start.apply(this, args); };
"""


async def participant(browser: Any, site: Site, token: str, **options: Any) -> Any:
    page = await new_page(browser, **options)
    await page.goto(f"{site.url}/meeting/{site.id}#token={token}")
    await page.locator("#conn.live").wait_for()
    return page


async def queue_entry(site: Site, pid: str, kind: str | None = None) -> str:
    snap = await (
        await site.http.get(
            f"{site.url}/api/meetings/{site.id}", headers={"Authorization": f"Bearer {site.chair_token}"}
        )
    ).json()
    return str(
        next(
            e["request_id"] for e in snap["queue"] if e["participant_id"] == pid and kind in (None, e["kind"])
        )
    )


async def test_your_place_comes_first_stays_in_view_on_a_phone_and_every_change_is_said_once(
    site: Site, browser: Any
) -> None:
    ana = await site.join("Ana Costa", affiliation="Brazil", mode="remote")
    ben = await site.join("Ben Okafor", affiliation="Nigeria")
    await site.say(
        *[(ben["participant_id"], f"Line {n} of a long statement on the draft outcome.") for n in range(40)]
    )
    page = await participant(browser, site, ana["token"], viewport=PHONE)
    status = page.locator("#status")
    # before anything: the status is the first thing after the header, with the ask button
    assert (
        await page.evaluate(
            "document.querySelector('#status').compareDocumentPosition(document.querySelector('main')) & 4"
        )
        == 4
    )
    box = await status.bounding_box()
    assert (
        box is not None and box["y"] + box["height"] < 844 / 3
    )  # in the top third, under the meeting's title
    assert await page.locator("#mine").inner_text() == "You are not on the list."
    await site.command(ben["token"], op="request_floor")
    await page.get_by_role("button", name="Ask for the floor").click()
    await page.locator("#news", has_text="You are on the list with your intervention.").wait_for()
    await page.locator("#mine", has_text="You are number 2 on the list").wait_for()
    # scrolled to the bottom of the page, the status is still at the top of the screen
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    await page.wait_for_timeout(200)
    box = await status.bounding_box()
    assert (
        box is not None
        and abs(box["y"]) < 2
        and await page.get_by_role("button", name="Withdraw").is_visible()
    )

    # Ben gets the floor: Ana becomes next; the message about asking is stale and goes
    await site.command(site.chair_token, op="give_floor")
    await page.locator("#mine", has_text="You are next").wait_for()
    await page.locator("#alert", has_text="You are next.").wait_for()
    assert await page.locator("#news").inner_text() == ""
    # moved by the chair
    await site.command(ben["token"], op="request_floor", kind="intervention")
    await site.command(
        site.chair_token, op="move", request_id=await queue_entry(site, ana["participant_id"]), position=1
    )
    await page.locator("#news", has_text="The chair moved your intervention to number 2.").wait_for()
    await page.locator("#mine", has_text="You are number 2 on the list").wait_for()
    # given the floor: said once, and nothing says "on the list" any more
    await site.command(
        site.chair_token, op="give_floor", request_id=await queue_entry(site, ana["participant_id"])
    )
    await page.locator("#news", has_text="The chair gave you the floor").wait_for()
    await page.locator("#mine", has_text="You have the floor.").wait_for()
    assert "on the list" not in await status.inner_text()
    await site.command(site.chair_token, op="end_turn")
    await page.locator("#news", has_text="Your turn has ended.").wait_for()
    await page.locator("#mine", has_text="You are not on the list.").wait_for()
    # dropped when the meeting moves to the next item: said, with the reason, and the queue agrees
    await page.get_by_role("button", name="Ask for the floor").click()
    await page.locator("#mine", has_text="on the list").wait_for()
    await site.command(site.chair_token, op="next_item")
    await page.locator("#news", has_text="Your intervention was taken off the list").wait_for()
    await page.locator("#mine", has_text="You are not on the list.").wait_for()
    assert "You are on the list" not in await status.inner_text()
    # the list closed
    await site.command(site.chair_token, op="close_list")
    await page.locator("#news", has_text="closed the list").wait_for()
    await page.locator("#mine", has_text="The list of speakers is closed").wait_for()
    assert page.errors == []


@pytest.fixture
async def mic_browser() -> AsyncIterator[Any]:
    async with chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
    ) as b:
        yield b


async def test_mute_looks_and_reads_muted(site: Site, mic_browser: Any) -> None:
    ana = await site.join("Ana Costa", mode="remote")
    page = await participant(mic_browser, site, ana["token"], permissions=["microphone"])
    await page.get_by_role("button", name="Ask for the floor").click()
    await page.locator("#news", has_text="You are on the list").wait_for()
    await site.command(site.chair_token, op="give_floor")
    await page.get_by_text("You are live").wait_for(timeout=10_000)
    await page.get_by_role("button", name="Mute").click()
    await page.locator("#livestate", has_text="Muted: the hall does not hear you").wait_for()
    assert "You are live" not in await page.locator("#live").inner_text()
    assert await page.locator("#live.muted").count() == 1
    assert await page.get_by_role("button", name="Unmute").get_attribute("aria-pressed") == "true"
    await page.get_by_role("button", name="Unmute").click()
    await page.get_by_text("You are live").wait_for()
    assert page.errors == []


async def test_withdraw_keeps_the_written_text_and_asks_which_of_two_by_keyboard(
    site: Site, browser: Any
) -> None:
    ana = await site.join("Ana Costa", mode="remote")
    page = await participant(browser, site, ana["token"], viewport=PHONE)
    await page.get_by_label("Kind").select_option("point_of_order")
    await page.get_by_role("button", name="Ask for the floor").click()
    await page.locator("#mine", has_text="point of order").wait_for()
    await page.get_by_label("Kind").select_option("intervention")
    await page.get_by_label("Written intervention").fill(WRITTEN)
    await page.get_by_label("Written intervention").press("Tab")
    await page.get_by_role("button", name="Ask for the floor").click()
    await page.locator("#mine", has_text="Also waiting: your intervention").wait_for()
    assert await page.get_by_label("Written intervention").input_value() == ""
    await page.reload()  # the text is kept on this device, not only in this page's memory
    await page.locator("#mine", has_text="Also waiting: your intervention").wait_for()
    # by keyboard: Withdraw opens the choice, the focus lands on it, the intervention is chosen
    await page.get_by_role("button", name="Withdraw").focus()
    await page.keyboard.press("Enter")
    choice = page.get_by_role("group", name="Which request to withdraw")
    await choice.wait_for()
    assert (
        await page.evaluate("document.activeElement.textContent") == "Withdraw your point of order (number 1)"
    )
    await page.keyboard.press("Tab")
    assert (
        await page.evaluate("document.activeElement.textContent") == "Withdraw your intervention (number 2)"
    )
    await page.keyboard.press("Enter")
    await page.locator(
        "#news", has_text="Your intervention is withdrawn. Your written text is back in the box"
    ).wait_for()
    assert await page.get_by_label("Written intervention").input_value() == WRITTEN
    await page.locator("#mine", has_text="You are next (your point of order)").wait_for()
    await choice.wait_for(state="hidden")
    kinds = [r.kind for r in (await site.meetings.state(site.id)).waiting()]
    assert kinds == ["point_of_order"]
    assert page.errors == []


async def test_you_are_next_and_the_floor_reach_you_in_another_tab_unless_switched_off(
    site: Site, browser: Any
) -> None:
    ana = await site.join("Ana Costa", mode="onsite")
    ben = await site.join("Ben Okafor")
    context = await browser.new_context(permissions=["notifications"])
    await context.add_init_script(SPY)
    page = await context.new_page()
    await page.goto(f"{site.url}/meeting/{site.id}#token={ana['token']}")
    await page.locator("#conn.live").wait_for()
    await site.command(ben["token"], op="request_floor")
    await page.get_by_role("button", name="Ask for the floor").click()
    await page.locator("#mine", has_text="number 2").wait_for()
    await site.command(site.chair_token, op="give_floor")  # Ben speaks: Ana is next
    await page.wait_for_function("() => window.__notes.length === 1")
    assert await page.evaluate("window.__notes") == ["You are next"]
    assert await page.title() == "● You are next"
    assert await page.evaluate("window.__beeps") == 1
    await site.command(site.chair_token, op="give_floor")
    await page.wait_for_function("() => window.__notes.length === 2")
    assert (await page.evaluate("window.__notes"))[1:] == ["You have the floor"]
    assert await page.title() == "● You have the floor"
    await site.command(site.chair_token, op="end_turn")
    # switched off on this device: remembered after a reload; the title still says it, nothing else
    await page.get_by_label("Alert me").uncheck()
    await page.reload()
    await page.locator("#conn.live").wait_for()
    assert not await page.get_by_label("Alert me").is_checked()
    await site.command(ben["token"], op="request_floor")
    await page.get_by_role("button", name="Ask for the floor").click()
    await page.locator("#mine", has_text="number 2").wait_for()
    await site.command(site.chair_token, op="give_floor")
    await page.wait_for_function("() => document.title === '● You are next'")
    await page.wait_for_timeout(300)
    assert await page.evaluate("[window.__notes.length, window.__beeps]") == [0, 0]
    await context.close()


async def test_while_you_were_away_tells_who_spoke_on_what_and_links_to_the_transcript(
    site: Site, browser: Any
) -> None:
    ana = await site.join("Ana Costa", affiliation="Brazil", mode="remote")
    lee = await site.join("Lee Tui", affiliation="Fiji", group="civil society", mode="remote")
    ben = await site.join("Ben Okafor", affiliation="Nigeria")
    page = await participant(browser, site, ana["token"], viewport=PHONE)
    await page.get_by_role("button", name="Ask for the floor").click()
    await page.locator("#mine", has_text="You are next").wait_for()
    await page.evaluate("window.participantPage.awayAfterS = 0")
    # the tab goes to the background (the participant dozes off)
    await page.evaluate("""() => { window.__vis = 'hidden';
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => window.__vis});
        document.dispatchEvent(new Event('visibilitychange')); }""")
    await site.command(lee["token"], op="request_floor", text=WRITTEN)
    await site.command(ben["token"], op="request_floor")
    await site.command(
        site.chair_token, op="give_floor", request_id=await queue_entry(site, ben["participant_id"])
    )
    said = await site.say((ben["participant_id"], "Nigeria supports the draft."))
    await site.command(
        site.chair_token, op="give_floor", request_id=await queue_entry(site, lee["participant_id"])
    )
    read = await site.say((lee["participant_id"], WRITTEN.replace("\n", " ")))
    await site.command(
        ben["token"], op="file_statement", title="Statement of Nigeria", text="For the record."
    )
    await site.command(site.chair_token, op="next_item")
    after = await site.say((ben["participant_id"], "On the main item, we have three points."))
    # back: the digest, built from the log since the last event seen
    await page.evaluate(
        "() => { window.__vis = 'visible'; document.dispatchEvent(new Event('visibilitychange')); }"
    )
    digest = page.get_by_role("region", name="While you were away")
    await digest.wait_for()
    text = await digest.inner_text()
    assert "Now: item 2, Main item" in text
    assert "Ben Okafor (government, onsite)" in text and "Lee Tui (civil society, remote)" in text
    assert "Items taken up" in text and "2. Main item" in text
    assert "Written interventions" in text and "read at" in text
    assert "“Statement of Nigeria” by Ben Okafor" in text
    assert "Your intervention was taken off the list" in text
    # each point links to the transcript there
    links = digest.get_by_role("link", name="transcript")
    hrefs = await links.evaluate_all("(ns) => ns.map((n) => n.getAttribute('href'))")
    assert f"/archive/{site.id}#{said[0]}" in hrefs and f"/archive/{site.id}#{read[0]}" in hrefs
    assert f"/archive/{site.id}#{after[0]}" in hrefs
    await digest.locator(f'a[href$="#{said[0]}"]').first.click()
    await page.locator(f'#transcript [data-id="{said[0]}"].target').wait_for()
    await digest.get_by_role("button", name="Got it").click()
    await digest.wait_for(state="hidden")
    assert page.errors == []


async def test_the_digest_after_a_dropped_connection_reads_the_log_in_pages(site: Site, browser: Any) -> None:
    ana = await site.join("Ana Costa", mode="remote")
    ben = await site.join("Ben Okafor")
    async with page_behind_proxy(site, browser, ana["token"]) as (proxy, page):
        await page.evaluate("window.participantPage.awayAfterS = 0")
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url) if "/events?" in r.url else None)
        proxy.cut()
        await page.locator("#conn.down").wait_for(timeout=3000)
        await site.command(ben["token"], op="request_floor")
        await site.command(site.chair_token, op="give_floor")
        await site.say(
            *[(ben["participant_id"], f"Sentence {n}.") for n in range(1100)]
        )  # more than one page
        await site.command(site.chair_token, op="end_turn")
        proxy.up = True
        digest = page.get_by_role("region", name="While you were away")
        await digest.wait_for(timeout=15000)
        assert "Ben Okafor (government, onsite)" in await digest.inner_text()
        assert len(fetched) == 2 and "limit=1000" in fetched[0]
        assert page.errors == []


async def test_the_projector_is_readable_from_the_back_and_never_misattributes(
    site: Site, browser: Any
) -> None:
    karin = await site.join("Karin Berg", affiliation="Sweden")
    lee = await site.join("Lee Tui", affiliation="Fiji", group="civil society", mode="remote")
    await site.command(karin["token"], op="request_floor")
    await site.command(lee["token"], op="request_floor", text=WRITTEN)
    await site.command(
        site.chair_token, op="give_floor", request_id=await queue_entry(site, karin["participant_id"])
    )
    page = await new_page(browser, viewport={"width": 1920, "height": 1080})
    await page.goto(f"{site.url}/projector/{site.id}#token={await site.token('observer')}")
    await page.locator("#floor", has_text="Karin Berg").wait_for()
    # a written intervention still waiting is not shown
    await page.locator("#queue li", has_text="Lee Tui").wait_for()
    assert "remote participation as a right" not in await page.locator("body").inner_text()
    site.meetings.publish_live(
        site.id,
        {
            "type": "caption",
            "text": "",
            "committed": "Sweden can accept paragraph",
            "partial": "four",
            "speaker_id": karin["participant_id"],
            "speaker_name": "Karin Berg",
            "source": "hall",
            "final": False,
            "lag_s": 0.2,
        },
    )
    await page.locator("#caption", has_text="Sweden can accept").wait_for()
    # the floor changes: Karin's words go; a late caption of hers is not shown under Lee's name
    await site.command(
        site.chair_token, op="give_floor", request_id=await queue_entry(site, lee["participant_id"])
    )
    await page.locator("#floor .who", has_text="Lee Tui").wait_for()
    site.meetings.publish_live(
        site.id,
        {
            "type": "caption",
            "text": "",
            "committed": "and paragraph five",
            "partial": "",
            "speaker_id": karin["participant_id"],
            "speaker_name": "Karin Berg",
            "source": "hall",
            "final": False,
            "lag_s": 0.2,
        },
    )
    await page.wait_for_timeout(300)
    assert "Sweden" not in await page.locator("#caption").inner_text()
    assert "paragraph five" not in await page.locator("#caption").inner_text()
    # the written intervention being read is shown now, in full
    assert await page.locator("#floor .written").inner_text() == WRITTEN
    await site.command(site.chair_token, op="close_list")
    await page.locator("#closed", has_text="List closed").wait_for()
    sizes = await page.evaluate("""() => {
        const out = [];
        for (const n of document.querySelectorAll('body *')) {
          const text = [...n.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
          const r = n.getBoundingClientRect();
          if (!text || r.width <= 1 || r.height <= 1) continue;
          out.push([n.id || n.className || n.tagName, parseFloat(getComputedStyle(n).fontSize), n.textContent.slice(0, 30)]);
        }
        return out; }""")
    small = [s for s in sizes if s[1] < 32]
    assert small == [], small
    who = next(s[1] for s in sizes if s[0] == "who" and s[2] == "Lee Tui")
    written = next(s[1] for s in sizes if s[0] == "written")
    others = [s[1] for s in sizes if s[0] not in ("who", "written")]
    assert who > written > max(others), (who, written, max(others))
    # the page's own controls are hidden on the projected screen until the mouse moves
    assert (await page.locator("#knobs").bounding_box() or {"width": 0})["width"] <= 1
    await page.mouse.move(300, 300)
    await page.mouse.move(320, 320)
    await page.get_by_role("button", name="High contrast").wait_for()
    assert (await page.locator("#knobs").bounding_box() or {"width": 0})["width"] > 10
    assert page.errors == []


async def test_every_page_passes_axe_and_every_control_is_reachable_by_keyboard(
    tmp_path: Path, browser: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from axe_playwright_python.async_playwright import Axe

    async with running_site(make_config(tmp_path / "data")) as site:
        ana = await site.join("Ana Costa", affiliation="Brazil", mode="remote")
        ben = await site.join("Ben Okafor", affiliation="Nigeria")
        await site.command(ana["token"], op="request_floor", text=WRITTEN)
        await site.command(ben["token"], op="request_floor", kind="point_of_order")
        await site.command(site.chair_token, op="give_floor")
        await site.say(
            (ben["participant_id"], "A point of order, chair."), (ana["participant_id"], "Thank you.")
        )
        views = {
            "join": f"/join/{site.id}#code={site.code}",
            "participant": f"/meeting/{site.id}#token={ana['token']}",
            "chair": f"/chair/{site.id}#token={site.chair_token}",
            "projector": f"/projector/{site.id}#token={await site.token('observer')}",
            "archive": "/archive",
            "record": f"/archive/{site.id}",
        }
        axe, found, lesser = Axe(), {}, set()
        for name, path in views.items():
            for viewport in ({"width": 1280, "height": 800}, PHONE):
                page = await new_page(browser, viewport=viewport)
                await page.goto(site.url + path)
                await page.wait_for_load_state("networkidle")
                if name not in ("join", "archive", "record"):
                    await page.locator("#conn.live").wait_for()
                for contrast in (False, True):
                    if contrast:
                        await page.evaluate("document.querySelector('#contrast').click()")
                    results = await axe.run(page)
                    bad = [
                        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                        for v in results.response["violations"]
                        if v["impact"] in ("serious", "critical")
                    ]
                    found[f"{name} {viewport['width']}{' contrast' if contrast else ''}"] = bad
                    lesser |= {(name, v["id"], v["impact"]) for v in results.response["violations"]}
                    if name == "join":
                        break
                if viewport["width"] > 1000:
                    await check_keyboard(page, name)
                assert page.errors == [], (name, page.errors)
                await page.context.close()
        with capsys.disabled():
            print(
                "\naxe: serious or critical on",
                len(found),
                "page states:",
                sum(len(v) for v in found.values()),
                "; moderate or minor:",
                sorted(lesser) or "none",
            )
        assert {k: v for k, v in found.items() if v} == {}
        assert len(found) == 22


async def check_keyboard(page: Any, name: str) -> None:
    """Tab from the top reaches every visible control on the page, in order, and nothing is focusable
    only with the mouse (no tabindex=-1 on a control or a transcript line)."""
    assert (
        await page.locator("#transcript [tabindex='-1'], button[tabindex='-1'], a[tabindex='-1']").count()
        == 0
    )
    controls = await page.evaluate("""() => [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
        .filter((n) => !n.disabled && n.getClientRects().length && getComputedStyle(n).visibility !== 'hidden' && n.tabIndex >= 0
                && !n.closest('.knobs')).length""")
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    reached = set()
    for _ in range(controls + 40):
        await page.keyboard.press("Tab")
        key = await page.evaluate("""() => { const n = document.activeElement; if (!n || n === document.body) return null;
            if (!n.dataset.tabSeen) n.dataset.tabSeen = String(Math.random()); return n.dataset.tabSeen; }""")
        if key:
            reached.add(key)
        if len(reached) >= controls:
            break
    assert len(reached) >= controls, (name, len(reached), controls)


async def test_badges_and_states_have_at_least_4_5_to_1_contrast(site: Site, browser: Any) -> None:
    ana = await site.join("Ana Costa", mode="remote")
    await site.command(ana["token"], op="request_floor", kind="point_of_order")
    page = await participant(browser, site, ana["token"])
    ratios = await page.evaluate("""() => {
        const lum = (c) => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => { v /= 255;
          return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const bg = (n) => { for (; n; n = n.parentElement) { const c = getComputedStyle(n).backgroundColor;
          if (c && !c.endsWith(', 0)') && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
        return [...document.querySelectorAll('.badge, .state')].map((n) => { const a = lum(getComputedStyle(n).color), b = lum(bg(n));
          return [n.textContent, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; }); }""")
    assert ratios and all(r >= 4.5 for _, r in ratios), ratios
