"""The chair console in Debian's Chromium: confirmations, a cleared form, what "next item" drops,
statements, the correction editor, resuming after a point of order, a reschedule pushed live, the end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, make_config
from test_browser import CHROMIUM, Site, chromium, new_page, running_site

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium is missing: run scripts/system-deps.sh"),
]


async def post(site: Site, path: str, body: dict[str, Any] | None, token: str) -> Any:
    resp = await site.http.post(f"{site.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"})
    assert resp.status < 300, await resp.text()
    return await resp.json()


async def test_the_console_says_what_it_did(tmp_path: Path) -> None:
    async with running_site(make_config(tmp_path / "data")) as site, chromium() as browser:
        await post(site, f"/api/meetings/{site.id}/schedule", {"starts_at": "2031-12-01T14:00:00+01:00",
                   "ends_at": "2031-12-01T16:00:00+01:00", "timezone": "Europe/Zurich"}, ADMIN)
        page = await new_page(browser, timezone_id="Asia/Tokyo", locale="en-GB", viewport={"width": 1280, "height": 1000})
        asked: list[str] = []

        async def accept(dialog: Any) -> None:
            asked.append(dialog.message)
            await dialog.accept()

        page.on("dialog", accept)
        await page.goto(f"{site.url}/chair/{site.id}#token={site.chair_token}")
        await page.locator("#conn.live").wait_for()
        schedule = await page.locator("#schedule").text_content()
        assert "14:00" in schedule and "Europe/Zurich" in schedule and "22:00" in schedule  # Tokyo: 8 h ahead

        # add a speaker without a device: said where they are, and the form is empty for the next one
        form = page.locator("#add")
        await page.locator("#add select[name=group] option").nth(1).wait_for(state="attached")
        await form.get_by_label("Name").fill("Aïcha Traoré")
        await form.get_by_label("Country or organisation").fill("Mali")
        await form.get_by_label("Stakeholder group").select_option("civil society")
        await form.get_by_label("Where").select_option("remote")
        await form.get_by_role("button", name="Add to the list").click()
        await page.get_by_text("Added Aïcha Traoré to the list: #1").wait_for()
        assert await form.get_by_label("Name").input_value() == ""
        assert await form.get_by_label("Country or organisation").input_value() == ""
        assert await form.get_by_label("Stakeholder group").input_value() != "civil society"

        # the time limit
        await page.get_by_label("Time limit per turn").fill("90")
        await page.get_by_label("Time limit per turn").press("Enter")
        await page.get_by_text("Time limit: 90 s per turn").wait_for()

        # a reschedule reaches the open console at once
        await post(site, f"/api/meetings/{site.id}/schedule", {"starts_at": "2031-12-01T15:00:00+01:00",
                   "ends_at": "2031-12-01T17:00:00+01:00"}, ADMIN)
        await page.get_by_text("The meeting was moved to 23:00 your time").wait_for()
        assert "23:00" in await page.locator("#schedule").text_content()

        # a point of order interrupts a speaker, who resumes with the time they had left
        ana = await site.join("Ana Silva")
        ben = await site.join("Ben Okafor")
        await site.command(ana["token"], op="request_floor")
        await page.get_by_role("button", name="Give floor to next").click()  # Aïcha, first on the list
        await page.locator("#floor").get_by_text("Aïcha Traoré").wait_for()
        await page.get_by_role("button", name="End turn").click()
        # the fairness figures of the chair's report, for the meeting so far (the chair not counted)
        await page.locator("#fair-sentence", has_text="of speaking time").wait_for()
        figures = await (await site.http.get(f"{site.url}/api/meetings/{site.id}/equity")).json()
        assert await page.locator("#fair-sentence").text_content() == figures["sentence"]
        assert await page.locator('#fair tr[data-key="fair:onsite"]').count() + await page.locator(
            '#fair tr[data-key="fair:remote"]').count() >= 1
        await page.get_by_role("button", name="Give floor to next").click()
        await page.locator("#floor").get_by_text("Ana Silva").wait_for()
        await site.command(ben["token"], op="request_floor", kind="point_of_order")
        await page.get_by_role("button", name="Give floor to next").click()
        resume = page.get_by_role("button", name="Resume Ana Silva")
        await resume.wait_for()
        assert "s left" in await resume.text_content()
        await resume.click()
        await page.get_by_text("has the floor again").wait_for()
        await resume.wait_for(state="hidden")
        assert "Ana Silva" in await page.locator("#floor").text_content()

        # a statement filed: its title listed, its body fetched when asked for
        body = "We support the text.\nParagraph 4 should stay as it is."
        await site.command(ben["token"], op="file_statement", title="Position of Nigeria", text=body)
        await page.locator("#statements").get_by_text("Position of Nigeria").wait_for()
        routes = {r.resource.canonical for r in site.server.app.router.routes() if r.resource is not None}
        if "/api/meetings/{id}/statements/{statement_id}" not in routes:  # the archive's endpoint, from its branch
            await page.route("**/statements/*", lambda route: route.fulfill(
                content_type="application/json", body=json.dumps({"statement_id": "s1", "title": "Position of Nigeria",
                                                                  "text": body})))
        await page.locator("#statements").get_by_role("button", name="Read").click()
        assert await page.locator("#statements .written").inner_text() == body

        # a correction in a multi-line editor
        [gid] = await site.say((ana["participant_id"], "We suport the txt."))
        line = page.locator(f"#transcript [data-id='{gid}']")
        await line.click()
        editor = page.locator("#correct")
        await editor.get_by_label("Text").fill("We support the text.\nAnd paragraph four.")
        await editor.get_by_label("Text").press("Control+Enter")
        await page.get_by_text("Correction saved").wait_for()
        await line.get_by_text("paragraph four").wait_for()
        assert not await editor.is_visible()

        # next item says what it drops
        carla = await site.join("Carla Mendes")
        await site.command(carla["token"], op="request_floor")
        await page.locator("#queue").get_by_text("Carla Mendes").wait_for()
        await page.get_by_role("button", name="Next agenda item").click()
        await page.get_by_text("Now on item 2: Main item. 1 waiting request dropped.").wait_for()
        assert "1 waiting request will be dropped: Carla Mendes" in asked[-1]
        assert "Ana Silva's turn ends" in asked[-1]

        # the end, after a confirmation
        await page.get_by_role("button", name="End meeting…").click()
        await page.locator("#msg", has_text="The meeting has ended").wait_for()
        assert "cannot be undone" in asked[-1]
        assert await page.get_by_role("button", name="Give floor to next").is_disabled()
        assert page.errors == []
