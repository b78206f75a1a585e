"""The secretariat's API: meetings created with their times, listed with their state,
rescheduled and ended over HTTP, each change pushed to every open page."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import ADMIN, Meeting, make_config, open_meeting, receive_until

Client = TestClient[web.Request, web.Application]
AUTH = {"Authorization": f"Bearer {ADMIN}"}


async def test_created_with_times_and_a_named_zone(client: Client) -> None:
    m = await open_meeting(client, starts_at="2026-12-01T14:00:00+01:00", ends_at="2026-12-01T16:00+01:00",
                           timezone="Europe/Zurich")
    snap = await (await client.get(f"/api/meetings/{m.id}")).json()
    assert snap["meeting"]["starts_at"] == "2026-12-01T14:00:00+01:00"
    assert snap["meeting"]["ends_at"] == "2026-12-01T16:00:00+01:00"
    assert snap["meeting"]["timezone"] == "Europe/Zurich"
    assert snap["meeting"]["schedule_sequence"] == 0


async def test_times_need_an_offset_and_an_order(client: Client) -> None:
    for body, words in (
        ({"starts_at": "2026-12-01T14:00:00"}, "with its offset"),
        ({"starts_at": "tomorrow"}, "with its offset"),
        ({"starts_at": 1700000000}, "must be a string"),
        ({"starts_at": "2026-12-01T14:00+01:00", "ends_at": "2026-12-01T13:00+01:00"}, "must be after"),
        ({"timezone": "Mars/Olympus"}, "IANA name"),
    ):
        resp = await client.post("/api/meetings", json={"title": "T", **body}, headers=AUTH)
        assert resp.status == 400, body
        assert words in (await resp.json())["error"]


async def reschedule(client: Client, mid: str, token: str, **body: Any) -> Any:
    return await client.post(f"/api/meetings/{mid}/schedule", json=body, headers={"Authorization": f"Bearer {token}"})


async def test_reschedule_reaches_every_open_page(client: Client) -> None:
    m = await open_meeting(client, starts_at="2026-12-01T14:00:00+01:00", ends_at="2026-12-01T16:00:00+01:00",
                           timezone="Europe/Zurich")
    who = await m.join("Ana")
    ws = await m.ws(who["token"])
    await ws.receive_json()  # the snapshot
    resp = await reschedule(client, m.id, ADMIN, starts_at="2026-12-01T15:00:00+01:00")
    assert resp.status == 200, await resp.text()
    answer = await resp.json()
    assert answer["starts_at"] == "2026-12-01T15:00:00+01:00"
    assert answer["ends_at"] == "2026-12-01T16:00:00+01:00"  # kept
    assert answer["sequence"] == 1
    [event] = await receive_until(ws, lambda msg: msg.get("name") == "meeting_rescheduled")
    assert event["data"] == {"starts_at": "2026-12-01T15:00:00+01:00", "ends_at": "2026-12-01T16:00:00+01:00",
                             "timezone": "Europe/Zurich", "sequence": 1}
    # the chair's own token works too, and a participant's does not
    resp = await reschedule(client, m.id, m.chair_token, ends_at="2026-12-01T17:00:00+01:00", timezone="Asia/Tokyo")
    assert (await resp.json())["sequence"] == 2
    assert (await resp.json())["timezone"] == "Asia/Tokyo"
    resp = await reschedule(client, m.id, who["token"], starts_at="2026-12-01T15:00:00+01:00")
    assert resp.status == 403
    resp = await reschedule(client, m.id, "nonsense", starts_at="2026-12-01T15:00:00+01:00")
    assert resp.status == 401
    resp = await reschedule(client, m.id, ADMIN, starts_at="2026-12-01T15:00:00")
    assert resp.status == 400 and "offset" in (await resp.json())["error"]
    resp = await reschedule(client, "nosuch", ADMIN, starts_at="2026-12-01T15:00:00+01:00")
    assert resp.status == 404
    await ws.close()


async def test_end_from_the_admin_token(client: Client, meeting: Meeting) -> None:
    who = await meeting.join("Ana")
    ws = await meeting.ws(who["token"])
    await ws.receive_json()
    resp = await client.post(f"/api/meetings/{meeting.id}/end", headers=AUTH)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["ended"] is not None
    await receive_until(ws, lambda msg: msg.get("name") == "meeting_ended")
    again = await client.post(f"/api/meetings/{meeting.id}/end", headers=AUTH)
    assert again.status == 409
    refused = await meeting.command(who["token"], op="request_floor")
    assert refused.status == 400 and "ended" in (await refused.json())["error"]
    listed = await (await client.get("/api/admin/meetings", headers=AUTH)).json()
    assert [row["state"] for row in listed["meetings"]] == ["ended"]
    await ws.close()


async def test_listed_with_state_and_links_for_the_admin_only(client: Client) -> None:
    later = await open_meeting(client, title="Later", starts_at="2099-01-01T10:00:00+00:00")
    now = await open_meeting(client, title="Now")
    assert (await client.get("/api/admin/meetings")).status == 401
    assert (await client.get("/api/admin/meetings", headers={"Authorization": f"Bearer {now.chair_token}"})).status == 401
    listed = await (await client.get("/api/admin/meetings", headers=AUTH)).json()
    rows = {row["id"]: row for row in listed["meetings"]}
    assert rows[later.id]["state"] == "scheduled"
    assert rows[now.id]["state"] == "live"
    assert rows[later.id]["join_url"] == later.created["join_url"]
    assert rows[later.id]["starts_at"] == "2099-01-01T10:00:00+00:00"
    assert rows[later.id]["calendar_url"].endswith(f"/api/meetings/{later.id}/calendar.ics")


async def test_a_new_chair_link_works_and_needs_the_admin_token(client: Client, meeting: Meeting) -> None:
    refused = await client.post(f"/api/meetings/{meeting.id}/chair_link",
                                headers={"Authorization": f"Bearer {meeting.chair_token}"})
    assert refused.status == 401
    resp = await client.post(f"/api/meetings/{meeting.id}/chair_link", headers=AUTH)
    assert resp.status == 201
    link = await resp.json()
    assert link["chair_url"].endswith(f"/chair/{meeting.id}#token={link['chair_token']}")
    ok = await meeting.command(link["chair_token"], op="set_time_limit", seconds=90)
    assert ok.status == 200, await ok.text()



async def test_admin_page_is_served(client: Client) -> None:
    resp = await client.get("/admin")
    assert resp.status == 200
    text = await resp.text()
    assert "/static/admin.js" in text and "<script>" not in text and " style=" not in text


# -- the page, in Debian's Chromium ------------------------------------------------------------

SHOTS = os.environ.get("ASSISTANT_SCREENSHOTS")  # a folder: the admin page is photographed into it


@pytest.mark.slow
async def test_admin_page_creates_reschedules_and_ends(tmp_path: Path) -> None:
    from test_browser import CHROMIUM, chromium, new_page, running_site

    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian chromium is missing: run scripts/system-deps.sh")
    async with running_site(make_config(tmp_path / "data")) as site, chromium() as browser:
        page = await new_page(browser, timezone_id="America/New_York", viewport={"width": 1280, "height": 900})
        await page.goto(f"{site.url}/admin")
        await page.get_by_label("Admin token").fill(ADMIN)
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("heading", name="New meeting").wait_for()
        assert ADMIN not in page.url
        assert await page.evaluate("sessionStorage.getItem('assistant:admin')") == ADMIN
        await page.reload()  # kept for the tab: no second prompt
        await page.get_by_role("heading", name="New meeting").wait_for()
        await page.locator("#meetings tr").first.wait_for()

        form = page.locator("#create")
        await form.get_by_label("Title").fill("Open consultation <b>day 2</b>")
        await form.get_by_label("Agenda, one item a line").fill("Opening\nAccess, rights and safety\nClosing")
        await form.get_by_label("Date").fill("2031-12-01")
        await form.get_by_label("Starts").fill("14:00")
        await form.get_by_label("Ends").fill("16:00")
        await form.get_by_label("Time zone").fill("Europe/Zurich")
        await form.get_by_label("Speaking queue").select_option("fifo")
        await form.get_by_label("Time limit per turn").select_option("120")
        preview = await page.locator("#create-when").text_content()
        assert "Europe/Zurich" in preview and "your time" in preview and "08:00" in preview  # New York, 6 h behind
        await page.get_by_role("button", name="Create the meeting").click()
        created = page.locator("#created")
        await created.get_by_text("Created: Open consultation <b>day 2</b>").wait_for()
        chair_url = await created.get_by_label("Chair console").input_value()
        join_url = await created.get_by_label("Invite link").input_value()
        assert "/chair/" in chair_url and "token=" in chair_url and "/join/" in join_url
        assert await form.get_by_label("Title").input_value() == ""  # the form is cleared for the next one
        mid = chair_url.split("/chair/")[1].split("#")[0]
        snap = await (await site.http.get(f"{site.url}/api/meetings/{mid}")).json()
        meeting = snap["meeting"]
        assert meeting["starts_at"] == "2031-12-01T14:00:00+01:00" and meeting["ends_at"] == "2031-12-01T16:00:00+01:00"
        assert meeting["timezone"] == "Europe/Zurich" and meeting["policy"] == "fifo" and meeting["time_limit_s"] == 120
        assert meeting["agenda"] == ["Opening", "Access, rights and safety", "Closing"]
        row = page.locator(f"tr[data-id='{mid}']")
        await row.locator(".badge.scheduled").wait_for()
        assert "08:00" in await row.locator("td").nth(3).text_content()  # the viewer's own time
        if SHOTS:
            await page.screenshot(path=str(Path(SHOTS) / "admin-desktop.png"), full_page=True)

        # reschedule: every open page is told
        chair_token = chair_url.split("#token=")[1]
        ws = await site.http.ws_connect(f"{site.url}/api/meetings/{mid}/ws?token={chair_token}")
        await ws.receive_json()
        await row.get_by_role("button", name="Reschedule…").click()
        dialog = page.locator("#reschedule")
        assert await dialog.get_by_label("Starts").input_value() == "14:00"  # filled in the meeting's zone
        await dialog.get_by_label("Starts").fill("15:00")
        await dialog.get_by_label("Ends").fill("17:30")
        await dialog.get_by_role("button", name="Move the meeting").click()
        await page.get_by_text("everyone with a page open was told").wait_for()
        event = await receive_until(ws, lambda m: m.get("name") == "meeting_rescheduled")
        assert event[-1]["data"]["starts_at"] == "2031-12-01T15:00:00+01:00"
        assert event[-1]["data"]["ends_at"] == "2031-12-01T17:30:00+01:00"
        assert "09:00" in await row.locator("td").nth(3).text_content()

        # copy the invite link; a new chair link
        await row.get_by_role("button", name="Copy invite link").click()
        assert await page.get_by_label(re.compile("Invite link: Open")).input_value() == join_url
        await row.get_by_role("button", name="New chair link").click()
        new_chair = await page.get_by_label(re.compile("New chair link")).input_value()
        assert new_chair != chair_url and f"/chair/{mid}#token=" in new_chair

        # end, after a confirmation
        asked: list[str] = []

        async def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            await (dialog.dismiss() if len(asked) == 1 else dialog.accept())

        page.on("dialog", answer)
        await row.get_by_role("button", name="End…").click()  # dismissed: nothing happens
        await row.get_by_role("button", name="End…").click()
        await row.locator(".badge.ended").wait_for()
        assert len(asked) == 2 and "cannot be undone" in asked[0]
        await receive_until(ws, lambda m: m.get("name") == "meeting_ended")
        await ws.close()
        assert page.errors == []

        if SHOTS:
            phone = await new_page(browser, timezone_id="America/New_York", viewport={"width": 390, "height": 844})
            await phone.goto(f"{site.url}/admin")
            await phone.get_by_label("Admin token").fill(ADMIN)
            await phone.get_by_role("button", name="Continue").click()
            await phone.locator("#meetings tr").first.wait_for()
            await phone.screenshot(path=str(Path(SHOTS) / "admin-phone.png"), full_page=True)


@pytest.mark.slow
async def test_a_refused_token_asks_again(tmp_path: Path) -> None:
    from test_browser import CHROMIUM, chromium, new_page, running_site

    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian chromium is missing: run scripts/system-deps.sh")
    async with running_site(make_config(tmp_path / "data")) as site, chromium() as browser:
        page = await new_page(browser)
        await page.goto(f"{site.url}/admin")
        await page.get_by_label("Admin token").fill("wrong")
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_text("That admin token was refused").wait_for()
        assert await page.evaluate("sessionStorage.getItem('assistant:admin')") is None
        assert not await page.locator("#work").is_visible()
