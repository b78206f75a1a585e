"""The meeting core without a server: commands decided into events, events folded into state."""

from __future__ import annotations

from typing import Any

import pytest

from assistant import commands as cmd
from assistant import events as ev
from assistant.config import LimitsConfig
from assistant.meeting import MeetingState

GROUPS = ("government", "civil society", "other")


class Log:
    """A meeting driven through decide/apply with an in-memory event list."""

    def __init__(self, policy: str = "balanced") -> None:
        self.state = MeetingState("m1")
        self.events: list[ev.Event] = []
        self.now = 1000.0
        self.store(cmd.create(title="T", agenda=["One", "Two"], policy=policy, alternate_after=2,
                              max_overtakes=3, time_limit_s=120, timezone="UTC", now=self.now))
        self.chair = self.join("Chair", "other", "onsite", role="chair")

    def store(self, drafts: list[ev.Draft]) -> list[ev.Event]:
        stored = [ev.Event("m1", self.state.seq + i + 1, d.name, d.data, d.at) for i, d in enumerate(drafts)]
        for e in stored:
            self.state.apply(e)
        self.events += stored
        return stored

    def join(self, name: str, group: str, mode: str, role: str = "participant") -> cmd.Actor:
        drafts = cmd.join(self.state, name=name, affiliation="", group=group, mode=mode, language="en",
                          role=role, now=self.now)
        self.store(drafts)
        return cmd.Actor(drafts[0].data["participant_id"], role)

    def do(self, actor: cmd.Actor, op: str, **fields: Any) -> list[ev.Event]:
        self.now += 10
        command = cmd.parse({"op": op, **fields}, LimitsConfig(), GROUPS)
        return self.store(cmd.decide(self.state, actor, command, self.now))

    def queue_names(self) -> list[str]:
        return [e["name"] for e in self.state.queue]


def test_request_floor_publishes_queue_with_reasons() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    out = log.do(ana, "request_floor", kind="intervention")
    assert [e.name for e in out] == ["floor_requested", "queue_changed"]
    entry = out[-1].data["queue"][0]
    assert entry["name"] == "Ana" and entry["reason"] == "no turn yet in this meeting"
    assert {"request_id", "participant_id", "name", "group", "mode", "kind", "reason"} <= set(entry)


def test_give_floor_by_policy_and_end_turn() -> None:
    log = Log()
    ana, ben = log.join("Ana", "government", "onsite"), log.join("Ben", "civil society", "remote")
    log.do(ana, "request_floor")
    log.do(ben, "request_floor", kind="point_of_order")
    assert log.queue_names() == ["Ben", "Ana"]
    out = log.do(log.chair, "give_floor")
    floor = next(e for e in out if e.name == "floor_changed").data
    assert floor["participant_id"] == ben.participant_id and floor["limit_s"] == 120
    assert log.queue_names() == ["Ana"]
    log.do(log.chair, "end_turn")
    assert log.state.floor is None
    assert log.state.turns[0].ended_at == log.now


def test_fold_replays_to_the_same_state() -> None:
    log = Log()
    people = [log.join(n, g, m) for n, g, m in [("A", "government", "onsite"), ("B", "civil society", "remote"),
                                               ("C", "other", "onsite")]]
    for p in people:
        log.do(p, "request_floor", text=f"written by {p.participant_id}")
    log.do(log.chair, "give_floor")
    log.do(log.chair, "move", request_id=log.state.queue[-1]["request_id"], position=0)
    log.do(log.chair, "set_time_limit", seconds=60)
    log.do(log.chair, "next_item")
    replay = MeetingState("m1")
    for e in log.events:
        replay.apply(e)
    assert replay.snapshot() == log.state.snapshot()
    assert replay.current_item == 1
    assert all(r.state in ("done", "dropped") for r in replay.requests.values())


def test_roles_are_enforced() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    with pytest.raises(cmd.CommandError, match="only the chair or a moderator can give floor"):
        log.do(ana, "give_floor")
    obs = log.join("Olga", "other", "remote", role="observer")
    with pytest.raises(cmd.CommandError, match="observer"):
        log.do(obs, "request_floor")
    mod = log.join("Mo", "other", "onsite", role="moderator")
    with pytest.raises(cmd.CommandError, match="only the chair can end meeting"):
        log.do(mod, "end_meeting")


def test_closed_list_refuses_interventions_but_not_points_of_order() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    log.do(log.chair, "close_list")
    with pytest.raises(cmd.CommandError, match="closed"):
        log.do(ana, "request_floor")
    log.do(ana, "request_floor", kind="point_of_order")
    log.do(log.chair, "open_list")
    log.do(ana, "request_floor")
    assert len(log.state.queue) == 2


def test_one_waiting_request_per_kind_and_withdraw() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    log.do(ana, "request_floor")
    with pytest.raises(cmd.CommandError, match="already waiting"):
        log.do(ana, "request_floor")
    log.do(ana, "withdraw")
    assert log.state.queue == []
    with pytest.raises(cmd.CommandError, match="no request waiting"):
        log.do(ana, "withdraw")


def test_add_speaker_without_device() -> None:
    log = Log()
    out = log.do(log.chair, "add_speaker", name="Delegate of Peru", group="government", mode="onsite",
                 affiliation="Peru")
    assert [e.name for e in out] == ["participant_joined", "floor_requested", "queue_changed"]
    assert log.state.queue[0]["affiliation"] == "Peru"
    assert out[0].data["device"] is False


def test_time_limit_change_keeps_the_turn() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    log.do(ana, "request_floor")
    log.do(log.chair, "give_floor")
    started = log.state.floor.started_at
    log.do(log.chair, "set_time_limit", seconds=30)
    assert log.state.floor.started_at == started and log.state.floor.limit_s == 30
    assert len(log.state.turns) == 1


def test_overtakes_are_counted_when_the_chair_gives_out_of_order() -> None:
    log = Log()
    a, b = log.join("A", "government", "onsite"), log.join("B", "government", "onsite")
    log.do(a, "request_floor")
    log.do(b, "request_floor")
    rid_b = log.state.queue[1]["request_id"]
    log.do(log.chair, "give_floor", request_id=rid_b)
    waiting = log.state.waiting()
    assert waiting[0].overtakes == 1


def test_fold_keeps_what_the_balanced_policy_needs() -> None:
    """Turns waited and requests ahead on asking, per request; turns per speaker across items."""
    log = Log()
    a, b, c = (log.join(n, "government", "onsite") for n in "ABC")
    log.do(a, "request_floor")
    log.do(b, "request_floor")
    log.do(log.chair, "give_floor")
    log.do(c, "request_floor")
    waited = {w.participant_id: (w.waited, w.ahead) for w in map(log.state._waiting, log.state.waiting())}
    assert waited == {b.participant_id: (1, 1), c.participant_id: (0, 1)}
    log.do(log.chair, "next_item")
    assert log.state.stats.turns(a.participant_id) == (0, 1)


def test_parse_errors_say_what_to_fix() -> None:
    limits = LimitsConfig(max_text_chars=10)
    with pytest.raises(cmd.CommandError, match="unknown op 'fly'; known ops: request_floor"):
        cmd.parse({"op": "fly"}, limits, GROUPS)
    with pytest.raises(cmd.CommandError, match="allowed values: point_of_order, reply, intervention"):
        cmd.parse({"op": "request_floor", "kind": "shout"}, limits, GROUPS)
    with pytest.raises(cmd.CommandError, match="at most 10 are allowed"):
        cmd.parse({"op": "request_floor", "text": "x" * 11}, limits, GROUPS)
    with pytest.raises(cmd.CommandError, match="from 0 to 86400"):
        cmd.parse({"op": "set_time_limit", "seconds": "ten"}, limits, GROUPS)
    with pytest.raises(cmd.CommandError, match="JSON object"):
        cmd.parse([1, 2], limits, GROUPS)


def test_reply_needs_a_current_speaker_and_ended_meeting_refuses_commands() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    with pytest.raises(cmd.CommandError, match="no speaker to reply to"):
        log.do(ana, "request_floor", kind="reply")
    log.do(log.chair, "end_meeting")
    with pytest.raises(cmd.CommandError, match="has ended"):
        log.do(ana, "request_floor")
