"""GET /api/meetings/{id}/invitation: what a join page shows before it has a token."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import AppClient, Meeting, make_config, open_meeting

from assistant.http.app import create_app

Client = TestClient[web.Request, web.Application]


async def test_the_invitation_says_what_to_join_and_never_the_code_or_a_token(
    client: Client, meeting: Meeting
) -> None:
    await meeting.join("Ana Costa")
    resp = await client.get(f"/api/meetings/{meeting.id}/invitation")
    assert resp.status == 200
    body = await resp.json()
    assert body["id"] == meeting.id and body["title"] == "Test meeting" and body["agenda"][0] == "Opening"
    assert body["groups"][0] == "government" and body["timezone"] and body["ended"] is False
    text = await resp.text()
    assert meeting.invite_code not in text and meeting.chair_token not in text and "Ana Costa" not in text
    assert "token" not in body and "invite_code" not in body
    assert (await client.get("/api/meetings/nope/invitation")).status == 404


async def test_the_invitation_lists_the_configured_groups_and_the_meeting_times(
    aiohttp_client: AppClient, tmp_path: Path
) -> None:
    groups = ["member state", "observer", "stakeholder"]
    client = await aiohttp_client(create_app(make_config(tmp_path / "data", meeting={"groups": groups})))
    meeting = await open_meeting(client)
    assert "starts_at" not in await (await client.get(f"/api/meetings/{meeting.id}/invitation")).json()
    resp = await meeting.command(
        meeting.chair_token,
        op="reschedule",
        starts_at="2026-12-01T14:00:00+01:00",
        ends_at="2026-12-01T16:00:00+01:00",
    )
    assert resp.status == 200, await resp.text()
    body = await (await client.get(f"/api/meetings/{meeting.id}/invitation")).json()
    assert body["groups"] == groups and body["timezone"] == "UTC"
    assert body["starts_at"].startswith("2026-12-01T14:00") and body["ends_at"].startswith("2026-12-01T16:00")
