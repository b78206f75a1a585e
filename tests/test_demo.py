"""The demo's show: played while someone watches, never into a meeting that is running."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import receive_until

from assistant import demo
from assistant.config import Config
from assistant.core import commands as cmd
from assistant.http.appkeys import MEETINGS

Client = TestClient[web.Request, web.Application]

SCRIPT = [  # demo/script.json, shortened
    {"name": "Amina Diallo", "affiliation": "Senegal", "group": "government", "mode": "onsite",
     "floor_at": 1.0, "end_at": 1.6},
    {"name": "Luis Romero", "affiliation": "Youth Coalition", "group": "civil society", "mode": "remote",
     "floor_at": 2.0, "end_at": 2.6},
]


async def started(client: Client, config: Config) -> tuple[str, demo.Show, Any]:
    app = client.server.app
    mid = await demo.open_demo(app, config, str(client.make_url("")).rstrip("/"))
    show = demo.Show(app, mid, SCRIPT, None)
    return mid, show, app[MEETINGS]


def turns_of(state: Any, show: demo.Show) -> list[str]:
    names = {pid: name for name, pid in show.speakers.items()}
    return [names.get(t.participant_id, t.participant_id) for t in state.turns]


async def test_the_show_waits_for_a_watcher_and_reuses_the_meeting(client: Client, config: Config) -> None:
    mid, show, meetings = await started(client, config)
    task = asyncio.create_task(show.run())
    try:
        await asyncio.sleep(1.5)
        state = await meetings.state(mid)
        assert state.turns == []  # nobody watching: nothing played yet
        chair_token = json.loads((config.server.data_dir / "demo.json").read_text())["chair_token"]
        ws = await client.ws_connect(f"/api/meetings/{mid}/ws?token={chair_token}")
        await receive_until(ws, lambda m: m.get("name") == "floor_changed" and m["data"]["participant_id"], 5)
        await asyncio.sleep(2.5)
        assert turns_of(state, show) == ["Amina Diallo", "Luis Romero"]
        assert state.floor is None
        await ws.close()
    finally:
        task.cancel()
    # the next start finds the same meeting and the same speakers
    again = await demo.open_demo(client.server.app, config, "http://x")
    assert again == mid


async def test_never_into_a_running_meeting_and_nobody_passed_over(client: Client, config: Config) -> None:
    mid, show, meetings = await started(client, config)
    state = await meetings.state(mid)
    await show._cast(state)
    # a show cut short by a stop left a turn and a request behind: tidied, not played into
    amina, luis = show.speakers["Amina Diallo"], show.speakers["Luis Romero"]
    chair = cmd.Actor(state.chair_id(), "chair")
    await meetings.execute(mid, cmd.Actor(amina, "participant"), cmd.RequestFloor())
    await meetings.execute(mid, chair, cmd.GiveFloor())
    await meetings.execute(mid, cmd.Actor(luis, "participant"), cmd.RequestFloor())
    # someone else waits: the meeting is running, the show waits
    human, _ = await meetings.add_participant(mid, cmd.Profile("Human", "", "other", "remote", "en"))
    await meetings.execute(mid, cmd.Actor(human, "participant"), cmd.RequestFloor())
    meetings.hub.subscribe(mid)  # a page is open
    task = asyncio.create_task(show.run())
    try:
        await asyncio.sleep(2.0)
        assert state.floor is None and [r.participant_id for r in state.waiting()] == [human]
        assert turns_of(state, show) == ["Amina Diallo"]  # only the turn of the run cut short
        # the chair deals with the human; once idle, the show plays
        await meetings.execute(mid, chair, cmd.GiveFloor())
        await meetings.execute(mid, chair, cmd.EndTurn())
        await asyncio.sleep(1.2)
        assert [r.participant_id for r in state.waiting()] == [amina] or state.floor.participant_id == amina
        # someone asks for the floor during the show: it stops, and they are not passed over
        await meetings.execute(mid, cmd.Actor(human, "participant"), cmd.RequestFloor())
        await asyncio.sleep(1.5)
        assert state.floor is None or state.floor.participant_id != amina
        assert [r.participant_id for r in state.waiting()] == [human]
    finally:
        task.cancel()
