"""An archive written before facts-only events is read by today's code, and nothing in it is lost.

The fixture `fixtures/meetings-aaf2941.db` was written by the code of aaf2941 (the script beside it
says how): a meeting with joins, a written intervention, a time limit changed during a turn, a
correction, a withdrawal, a statement, a request dropped at the next item, and the end. Its log holds
the retired names `floor_requested`, `time_limit_set` and `queue_changed`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ADMIN, make_config

from assistant.archive import tables
from assistant.archive.store import Store
from assistant.core import commands as cmd
from assistant.core import events as ev
from assistant.core import views
from assistant.http.app import create_app
from assistant.http.appkeys import MEETINGS

FIXTURE = Path(__file__).parent / "fixtures" / "meetings-aaf2941.db"
MEETING = "NwlMt3jq"


def old_archive(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE, data / "meetings.db")
    return data


async def test_an_old_archive_folds_to_the_meeting_it_recorded(tmp_path: Path) -> None:
    store = Store(old_archive(tmp_path) / "meetings.db")
    await store.open()
    try:
        events = await store.events(MEETING)
        assert [e.seq for e in events] == list(range(1, 30))
        names = {e.name for e in events}
        assert {"request_added", "time_limit_changed", "queue_changed"} <= names
        assert "floor_requested" not in names and "time_limit_set" not in names
        from assistant.core.meeting import MeetingState

        state = MeetingState(MEETING)
        for event in events:
            state.apply(event)
        who = {p.name: p.participant_id for p in state.participants.values()}
        assert set(who) == {"Chair", "Ana Lima", "Ben Okoro", "Chen Wu"}
        assert [state.participants[t.participant_id].name for t in state.turns] == ["Ana Lima", "Ben Okoro"]
        assert state.turns[0].limit_s == 90  # set during her turn, by time_limit_set + floor_changed
        written = [r for r in state.requests.values() if r.text]
        assert written[0].text == "Remote written intervention, please read it." and written[0].state == "done"
        assert sorted(r.state for r in state.requests.values()) == ["done", "done", "dropped", "withdrawn"]
        assert state.transcript[0]["text"] == "We support the draft text."
        assert state.transcript[0]["original"] == "We support the draft."
        assert state.statements[0]["title"] == "Position of X"
        assert state.current_item == 1 and state.ended_at is not None
        assert views.queue_view(state, with_text=True) == []
        # new ids continue after the old seq-numbered ones
        ids = state.ids()
        assert int(ids.new("g")[1:]) > int(state.transcript[0]["id"][1:])
        assert ids.new("r") not in state.requests
    finally:
        await store.close()


async def test_an_old_archive_serves_replays_exports_and_takes_new_events(aiohttp_client, tmp_path: Path) -> None:
    config = make_config(old_archive(tmp_path))
    client = await aiohttp_client(create_app(config))
    resp = await client.get(f"/api/meetings/{MEETING}/events?since=0")
    replay = await resp.json()
    assert [e["seq"] for e in replay] == list(range(1, 30))
    added = [e for e in replay if e["name"] == "request_added"]
    assert len(added) == 4 and added[1]["data"]["text"].startswith("Remote written")
    assert all(e["data"] == {} for e in replay if e["name"] == "queue_changed")  # views are no longer sent
    snap = await (await client.get(f"/api/meetings/{MEETING}")).json()
    assert snap["seq"] == 29 and snap["queue"] == [] and snap["meeting"]["ended"] is not None
    vtt = await (await client.get(f"/api/meetings/{MEETING}/transcript.vtt")).text()
    assert "We support the draft text." in vtt
    report = await (await client.get(f"/api/meetings/{MEETING}/report.md")).text()
    assert "Position of X" in report and "Ben Okoro" in report
    # an ended meeting still takes corrections: the log goes on from seq 30
    meetings = client.app[MEETINGS]
    state = await meetings.state(MEETING)
    chair = next(p for p in state.participants.values() if p.role == "chair")
    seq = await meetings.execute(
        MEETING, cmd.Actor(chair.participant_id, "chair"), cmd.CorrectSegment(state.transcript[0]["id"], "Agreed.")
    )
    assert seq == 30
    resp = await client.get("/api/meetings", headers={"Authorization": f"Bearer {ADMIN}"})
    assert [m["title"] for m in await resp.json()] == ["Old plenary"]


async def test_the_archive_tables_rebuilt_from_an_old_log_match_what_it_wrote(tmp_path: Path) -> None:
    store = Store(old_archive(tmp_path) / "meetings.db")
    await store.open()
    try:
        before = await store.record(MEETING)
        await store._write(tables.rebuild)
        after = await store.record(MEETING)
        assert before == after
        assert before is not None and [t["participant_id"] for t in before.turns]
    finally:
        await store.close()


def test_every_stored_name_of_the_old_log_has_a_fact() -> None:
    import sqlite3

    with sqlite3.connect(FIXTURE) as db:
        rows = db.execute("select name, data from events").fetchall()
    facts = [ev.upcast(name, data) for name, data in rows]
    assert len(facts) == 29 and all(isinstance(f, ev.Fact) for f in facts)
