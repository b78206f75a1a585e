"""The secretariat's API: meetings created with their times, listed with their state,
rescheduled and ended over HTTP, each change pushed to every open page."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import ADMIN, Meeting, open_meeting, receive_until

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

