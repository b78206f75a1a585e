"""The pages under their Content-Security-Policy, the invite code in the fragment, the configured
groups, and a refused link: in Debian's Chromium against a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from conftest import make_config
from test_browser import CHROMIUM, Site, browser, join_in_browser, new_page, running_site, site

__all__ = ["browser", "site"]  # fixtures, used by name

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is missing"),
]


async def test_every_page_runs_under_its_policy_with_nothing_refused(site: Site, browser: Any) -> None:
    person = await site.join("Ana Costa")
    await site.command(person["token"], op="request_floor", text="A written line\nand another")
    await site.command(site.chair_token, op="give_floor")
    views = {
        "participant": f"/meeting/{site.id}#token={person['token']}",
        "chair": f"/chair/{site.id}#token={site.chair_token}",
        "projector": f"/projector/{site.id}#token={await site.token('observer')}",
    }
    for path in views.values():
        page = await new_page(browser)
        resp = await page.goto(site.url + path)
        assert "unsafe-inline" not in (await resp.all_headers())["content-security-policy"]
        await page.locator("#conn.live").wait_for()  # the websocket is allowed by connect-src 'self'
        await page.locator("#floor", has_text="Ana Costa").wait_for()
        assert page.errors == [], path
        await page.context.close()
    for path in ("/archive", f"/archive/{site.id}", f"/join/{site.id}#code={site.code}"):
        page = await new_page(browser)
        await page.goto(site.url + path)
        await page.wait_for_load_state("networkidle")
        assert page.errors == [], path
        await page.context.close()


async def test_the_report_keeps_its_own_styles_when_served_and_runs_no_script(
    site: Site, browser: Any
) -> None:
    person = await site.join("Ana Costa", mode="remote")
    await site.command(person["token"], op="request_floor", text="First line\n\nSecond line")
    await site.command(site.chair_token, op="give_floor")
    await site.command(site.chair_token, op="end_turn")
    page = await new_page(browser)
    resp = await page.goto(f"{site.url}/api/meetings/{site.id}/report.html")
    # the inline stylesheet applies (allowed by its hash), and nothing was refused
    assert "Georgia" in await page.evaluate("getComputedStyle(document.body).fontFamily")
    assert await page.evaluate("getComputedStyle(document.body).maxWidth") != "none"
    await page.get_by_text("Second line").first.wait_for()
    assert page.errors == []
    # a script slipped into an export would not run: no script-src, default-src 'none'
    csp = (await resp.all_headers())["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp


async def test_an_old_join_link_with_the_code_in_the_query_moves_it_to_the_fragment(
    site: Site, browser: Any
) -> None:
    page = await new_page(browser)
    await page.goto(f"{site.url}/join/{site.id}?code={site.code}")
    await page.wait_for_function(f"() => location.hash === '#code={site.code}' && location.search === ''")
    await page.get_by_role("heading", name="Join: Browser meeting").wait_for()
    await page.get_by_label("Your name").fill("Ana Costa")
    await page.get_by_role("button", name="Join").click()
    await page.wait_for_url(f"**/meeting/{site.id}")
    await page.locator("#conn.live").wait_for()
    assert page.errors == []


async def test_join_and_chair_pages_offer_the_configured_groups(tmp_path: Path, browser: Any) -> None:
    groups = ["member state", "observer state", "stakeholder"]
    async with running_site(make_config(tmp_path / "data", meeting={"groups": groups})) as s:
        resp = await s.http.get(f"{s.url}/api/meetings/{s.id}/invitation")
        invitation = await resp.json()
        assert invitation["groups"] == groups and invitation["title"] == "Browser meeting"
        assert s.code not in await resp.text() and "token" not in invitation
        page = await new_page(browser)
        await page.goto(f"{s.url}/join/{s.id}#code={s.code}")
        select = page.get_by_label("Stakeholder group")
        await select.locator("option", has_text="observer state").wait_for(state="attached")
        assert await select.locator("option").all_inner_texts() == groups
        await page.get_by_label("Your name").fill("Ana Costa")
        await select.select_option("observer state")
        await page.get_by_role("button", name="Join").click()
        await page.wait_for_url(f"**/meeting/{s.id}")
        chair = await new_page(browser)
        await chair.goto(f"{s.url}/chair/{s.id}#token={s.chair_token}")
        chair_select = chair.locator("#add select[name=group]")
        await chair_select.locator("option", has_text="stakeholder").wait_for(state="attached")
        assert await chair_select.locator("option").all_inner_texts() == groups
        assert page.errors == [] and chair.errors == []


async def test_a_refused_link_stops_reconnecting_and_says_what_to_do(site: Site, browser: Any) -> None:
    sockets: list[Any] = []
    page = await new_page(browser)
    page.on("websocket", lambda ws: sockets.append(ws))
    await join_in_browser(page, site, "Ana Costa", "Brazil")
    # the organisers' record of this person is gone (a wrong or replaced token looks the same)
    await page.evaluate(f"""() => {{ const k = 'assistant:participant:{site.id}';
        const v = JSON.parse(localStorage.getItem(k)); v.token = 'no-longer-valid'; localStorage.setItem(k, JSON.stringify(v)); }}""")
    await page.reload()
    banner = page.get_by_role("alert").filter(has_text="This link is no longer valid")
    await banner.wait_for(timeout=5000)
    assert "disconnected" in await page.locator("#conn").inner_text()
    tries = len(sockets)
    await asyncio.sleep(2.5)  # a reconnecting page would have tried again by now
    assert len(sockets) == tries
    await banner.get_by_role("button", name="Join again").click()
    await page.wait_for_url(f"**/join/{site.id}#code={site.code}")
    await page.get_by_label("Your name").fill("Ana Costa")
    await page.get_by_role("button", name="Join").click()
    await page.locator("#conn.live").wait_for()

    for path, says in (
        (f"/chair/{site.id}#token=wrong", "new chair link"),
        (f"/projector/{site.id}#token=wrong", "from the chair console"),
    ):
        other = await new_page(browser)
        await other.goto(site.url + path)
        await other.get_by_role("alert").filter(has_text=says).wait_for(timeout=5000)
        assert other.errors == []
