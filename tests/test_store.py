"""The event log's writer: appends that arrive together are committed together, each checked alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from assistant.archive.store import SeqConflict, Store
from assistant.core import events as ev


def created(title: str) -> ev.Draft:
    return ev.Draft(ev.MeetingCreated(title=title, agenda=["A"], policy="fifo", alternate_after=2, max_overtakes=3,
                                      time_limit_s=0, timezone="UTC"), 1.0)


def row(meeting_id: str) -> dict[str, object]:
    return {"id": meeting_id, "title": meeting_id, "created_at": 1.0, "ended_at": None, "timezone": "UTC",
            "invite_code": "x"}


async def test_appends_of_many_meetings_share_commits_and_a_conflict_fails_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "meetings.db")
    await store.open()
    try:
        commits = 0
        original = store._write_pending

        def counting() -> None:
            nonlocal commits
            commits += 1
            original()

        store._write_pending = counting  # type: ignore[method-assign]
        results = await asyncio.gather(
            *(store.append(f"m{i}", [created(f"m{i}")], 0, meeting=row(f"m{i}")) for i in range(20)),
            store.append("m0", [created("again")], 0),  # m0 is at seq 1 by then: refused, alone
            return_exceptions=True,
        )
        stored, conflict = results[:20], results[20]
        assert all(isinstance(r, list) and r[0].seq == 1 for r in stored)
        assert isinstance(conflict, SeqConflict)
        assert commits < 21  # the writer took appends in batches, not one commit each
        for i in range(20):
            events = await store.events(f"m{i}")
            assert [e.fact for e in events] == [created(f"m{i}").fact]
        more = await store.append("m3", [created("x")], 1)
        assert more[0].seq == 2
    finally:
        await store.close()


async def test_a_failed_append_stores_nothing_and_its_batch_goes_on(tmp_path: Path) -> None:
    store = Store(tmp_path / "meetings.db")
    await store.open()
    try:
        await store.append("m1", [created("m1")], 0, meeting=row("m1"))
        bad, good = await asyncio.gather(
            store.append("m2", [created("m2")], 0, meeting=row("m1")),  # the meeting row exists
            store.append("m3", [created("m3")], 0, meeting=row("m3")),
            return_exceptions=True,
        )
        assert isinstance(bad, Exception) and "UNIQUE" in str(bad)
        assert isinstance(good, list) and good[0].seq == 1
        assert await store.events("m2") == []
        with pytest.raises(SeqConflict):  # m2 did not move on: its next append still starts at 0
            await store.append("m2", [created("m2")], 1)
        assert [e.seq for e in await store.append("m1", [created("m1")], 1)] == [2]
    finally:
        await store.close()


@pytest.mark.parametrize(("synchronous", "pragma"), [("full", 2), ("normal", 1)])
async def test_commits_are_flushed_to_disk_unless_configured_otherwise(
    tmp_path: Path, synchronous: str, pragma: int
) -> None:
    store = Store(tmp_path / "meetings.db", synchronous=synchronous)
    await store.open()
    try:
        await store.append("m1", [created("m1")], 0, meeting=row("m1"))
        assert await store._write(lambda db: db.execute("PRAGMA synchronous").fetchone()[0]) == pragma
        assert await store._write(lambda db: db.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"
    finally:
        await store.close()
