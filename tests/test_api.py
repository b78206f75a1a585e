"""The HTTP API against a real aiohttp server and a real SQLite file."""

from __future__ import annotations

from conftest import ADMIN, Meeting, open_meeting


async def test_create_meeting_returns_contract_fields(client) -> None:
    resp = await client.post("/api/meetings", json={"title": "IGF 2026 main session", "agenda": ["Opening"]},
                             headers={"Authorization": f"Bearer {ADMIN}"})
    assert resp.status == 201
    body = await resp.json()
    assert {"id", "chair_token", "invite_code", "chair_url", "join_url"} <= set(body)
    assert body["join_url"].endswith(f"/join/{body['id']}#code={body['invite_code']}")
    listed = await (await client.get("/api/meetings")).json()
    assert [m["id"] for m in listed] == [body["id"]]
    assert {"id", "title", "started", "ended"} <= set(listed[0])


async def test_create_meeting_needs_admin_token(client) -> None:
    resp = await client.post("/api/meetings", json={"title": "x"}, headers={"Authorization": "Bearer nope"})
    assert resp.status == 401
    assert "admin token" in (await resp.json())["error"]


async def test_create_meeting_bad_input(client) -> None:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    cases = [
        ({"agenda": []}, "needs \"title\""),
        ({"title": "x", "policy": "random"}, "allowed values: balanced, fifo"),
        ({"title": "x", "agenda": "Opening"}, "list of strings"),
        ({"title": "x", "timezone": "Mars/Olympus"}, "IANA"),
        ({"title": "x" * 301}, "at most 300"),
    ]
    for body, message in cases:
        resp = await client.post("/api/meetings", json=body, headers=auth)
        assert resp.status == 400, body
        assert message in (await resp.json())["error"], body
    resp = await client.post("/api/meetings", data="{not json", headers={**auth, "Content-Type": "application/json"})
    assert resp.status == 400
    assert "not valid JSON" in (await resp.json())["error"]


async def test_join_with_invite_code(client, meeting: Meeting) -> None:
    joined = await meeting.join("Amina Diallo", affiliation="Senegal", group="government")
    assert joined["participant_id"].startswith("p") and len(joined["token"]) >= 32
    snap = await (await client.get(f"/api/meetings/{meeting.id}")).json()
    assert snap["type"] == "snapshot"
    names = {p["name"]: p for p in snap["participants"]}
    assert names["Amina Diallo"]["affiliation"] == "Senegal"
    assert "token" not in str(snap)


async def test_join_refuses_bad_input(client, meeting: Meeting) -> None:
    url = f"/api/meetings/{meeting.id}/participants"
    base = {"name": "X", "group": "government", "mode": "remote", "invite_code": meeting.invite_code}
    cases = [
        ({**base, "invite_code": "guess"}, 403, "invite code is wrong"),
        ({**base, "group": "aliens"}, 400, "allowed values: government, civil society"),
        ({**base, "mode": "hybrid"}, 400, "allowed values: onsite, remote"),
        ({**base, "name": "y" * 500}, 400, "at most 120"),
        ({**base, "name": ""}, 400, "must not be empty"),
        ({**base, "role": "chair"}, 400, "allowed values: participant, observer"),
    ]
    for body, status, message in cases:
        resp = await client.post(url, json=body)
        assert resp.status == status, body
        assert message in (await resp.json())["error"], body
    resp = await client.post("/api/meetings/nope/participants", json=base)
    assert resp.status == 404


async def test_commands_over_http_and_roles(client, meeting: Meeting) -> None:
    ana = await meeting.join("Ana")
    resp = await meeting.command(ana["token"], op="request_floor", kind="intervention")
    assert resp.status == 200
    resp = await meeting.command(ana["token"], op="give_floor")
    assert resp.status == 400
    assert "only the chair or a moderator" in (await resp.json())["error"]
    resp = await meeting.command("forged-token", op="end_turn")
    assert resp.status == 401
    resp = await meeting.command(meeting.chair_token, op="give_floor")
    assert resp.status == 200
    snap = await (await client.get(f"/api/meetings/{meeting.id}")).json()
    assert snap["floor"]["name"] == "Ana"


async def test_tokens_from_another_meeting_are_refused(client, meeting: Meeting) -> None:
    other = await open_meeting(client, title="Other")
    resp = await meeting.command(other.chair_token, op="close_list")
    assert resp.status == 401
    resp = await client.get(f"/api/meetings/{meeting.id}/ws?token={other.chair_token}")
    assert resp.status == 403


async def test_moderator_and_observer_tokens(client, meeting: Meeting) -> None:
    auth = {"Authorization": f"Bearer {meeting.chair_token}"}
    url = f"/api/meetings/{meeting.id}/tokens"
    mod = await (await client.post(url, json={"role": "moderator", "name": "Secretariat"}, headers=auth)).json()
    obs = await (await client.post(url, json={"role": "observer"}, headers=auth)).json()
    ana = await meeting.join("Ana")
    await meeting.command(ana["token"], op="request_floor")
    assert (await meeting.command(mod["token"], op="give_floor")).status == 200
    resp = await meeting.command(obs["token"], op="request_floor")
    assert resp.status == 403
    resp = await client.post(url, json={"role": "observer"}, headers={"Authorization": f"Bearer {ana['token']}"})
    assert resp.status == 403


async def test_events_endpoint_pages(client, meeting: Meeting) -> None:
    for i in range(3):
        await meeting.join(f"P{i}")
    events = await (await client.get(f"/api/meetings/{meeting.id}/events?since=1&limit=2")).json()
    assert [e["seq"] for e in events] == [2, 3]
    resp = await client.get(f"/api/meetings/{meeting.id}/events?since=-4")
    assert resp.status == 400


async def test_unknown_meeting_and_route(client) -> None:
    resp = await client.get("/api/meetings/none")
    assert resp.status == 404
    assert "no meeting" in (await resp.json())["error"]
    resp = await client.get("/api/nothing-here")
    assert resp.status == 404
    assert "error" in await resp.json()


async def test_private_archive_needs_a_token(aiohttp_client, tmp_path) -> None:
    from conftest import make_config

    from assistant.http.app import create_app

    client = await aiohttp_client(create_app(make_config(tmp_path / "data", server={"public_archive": False})))
    meeting = await open_meeting(client)
    for path in (f"/api/meetings/{meeting.id}", f"/api/meetings/{meeting.id}/events"):
        assert (await client.get(path)).status == 401
        ok = await client.get(path, headers={"Authorization": f"Bearer {meeting.chair_token}"})
        assert ok.status == 200
        assert (await client.get(path, headers={"Authorization": f"Bearer {ADMIN}"})).status == 200


async def test_me_names_the_participant_a_token_speaks_for(meeting: Meeting) -> None:
    ana = await meeting.join("Ana")
    url = f"/api/meetings/{meeting.id}/me"
    resp = await meeting.client.get(url, headers={"Authorization": f"Bearer {ana['token']}"})
    assert await resp.json() == {"participant_id": ana["participant_id"], "role": "participant"}
    resp = await meeting.client.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert resp.status == 401 and "Bearer" in await resp.text()
    # the snapshot carries the turns that speaking-time counters are built from
    await meeting.command(ana["token"], op="request_floor", text="Read this, please.")
    await meeting.command(meeting.chair_token, op="give_floor")
    await meeting.command(meeting.chair_token, op="end_turn")
    snap = await (await meeting.client.get(f"/api/meetings/{meeting.id}")).json()
    (turn,) = snap["turns"]
    assert turn["participant_id"] == ana["participant_id"] and turn["written"] is True
    assert turn["ended_at"] >= turn["started_at"]


async def test_equity_figures_of_the_meeting_as_it_stands(meeting: Meeting) -> None:
    ana = await meeting.join("Ana", group="government", mode="onsite")
    ben = await meeting.join("Ben", group="civil society", mode="remote")
    await meeting.command(ben["token"], op="request_floor", text="Please read this out.")
    await meeting.command(ana["token"], op="request_floor")
    await meeting.command(meeting.chair_token, op="give_floor")
    await meeting.command(meeting.chair_token, op="end_turn")
    figures = await (await meeting.client.get(f"/api/meetings/{meeting.id}/equity")).json()
    assert {s["name"]: s["participants"] for s in figures["by_mode"]} == {"onsite": 1, "remote": 1}
    assert sum(s["turns"] for s in figures["by_group"]) == 1  # the chair is not counted
    assert figures["written"]["asked"] == 1
    assert figures["sentence"]
