"""The meeting core without a server: commands decided into events, events folded into state."""

from __future__ import annotations

import random
from typing import Any

import pytest

from assistant.config import LimitsConfig
from assistant.core import commands as cmd
from assistant.core import events as ev
from assistant.core import views
from assistant.core.decide import create, decide, join
from assistant.core.meeting import MeetingState

GROUPS = ("government", "civil society", "other")


class Log:
    """A meeting driven through decide/apply with an in-memory event list."""

    def __init__(self, policy: str = "balanced") -> None:
        self.state = MeetingState("m1")
        self.events: list[ev.Event] = []
        self.now = 1000.0
        self.store(create(title="T", agenda=["One", "Two"], policy=policy, alternate_after=2,
                          max_overtakes=3, time_limit_s=120, timezone="UTC", now=self.now))
        self.chair = self.join("Chair", "other", "onsite", role="chair")

    def store(self, drafts: list[ev.Draft]) -> list[ev.Event]:
        stored = [ev.Event("m1", self.state.seq + i + 1, d.fact, d.at) for i, d in enumerate(drafts)]
        for e in stored:
            self.state.apply(e)
        self.events += stored
        return stored

    def join(self, name: str, group: str, mode: str, role: str = "participant") -> cmd.Actor:
        drafts = join(self.state, cmd.Profile(name, "", group, mode, "en", role), self.now)
        self.store(drafts)
        joined = drafts[0].fact
        assert isinstance(joined, ev.ParticipantJoined)
        return cmd.Actor(joined.participant_id, role)

    def do(self, actor: cmd.Actor, op: str, **fields: Any) -> list[ev.Event]:
        self.now += 10
        command = cmd.parse({"op": op, **fields}, LimitsConfig(), GROUPS)
        return self.store(decide(self.state, actor, command, self.now))

    @property
    def queue(self) -> list[dict[str, Any]]:
        return views.queue_view(self.state, with_text=True)

    def queue_names(self) -> list[str]:
        return [e["name"] for e in self.queue]


def test_request_floor_publishes_queue_with_reasons() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    out = log.do(ana, "request_floor", kind="intervention")
    assert [e.name for e in out] == ["request_added"]  # the queue order is derived, not stored
    entry = log.queue[0]
    assert entry["name"] == "Ana" and entry["reason"] == "no turn yet in this meeting"
    assert {"request_id", "participant_id", "name", "group", "mode", "kind", "reason"} <= set(entry)


def test_give_floor_by_policy_and_end_turn() -> None:
    log = Log()
    ana, ben = log.join("Ana", "government", "onsite"), log.join("Ben", "civil society", "remote")
    log.do(ana, "request_floor")
    log.do(ben, "request_floor", kind="point_of_order")
    assert log.queue_names() == ["Ben", "Ana"]
    out = log.do(log.chair, "give_floor")
    floor = next(e.fact for e in out if isinstance(e.fact, ev.FloorChanged))
    assert floor.participant_id == ben.participant_id and floor.limit_s == 120
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
    log.do(log.chair, "move", request_id=log.queue[-1]["request_id"], position=0)
    log.do(log.chair, "set_time_limit", seconds=60)
    log.do(log.chair, "next_item")
    replay = MeetingState("m1")
    for e in log.events:
        replay.apply(e)
    assert views.snapshot(replay, GROUPS, with_text=True) == views.snapshot(log.state, GROUPS, with_text=True)
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
    assert len(log.queue) == 2


def test_one_waiting_request_per_kind_and_withdraw() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    log.do(ana, "request_floor")
    with pytest.raises(cmd.CommandError, match="already waiting"):
        log.do(ana, "request_floor")
    log.do(ana, "withdraw")
    assert log.queue == []
    with pytest.raises(cmd.CommandError, match="no request waiting"):
        log.do(ana, "withdraw")


def test_add_speaker_without_device() -> None:
    log = Log()
    out = log.do(log.chair, "add_speaker", name="Delegate of Peru", group="government", mode="onsite",
                 affiliation="Peru")
    assert [e.name for e in out] == ["participant_joined", "request_added"]
    assert log.queue[0]["affiliation"] == "Peru"
    joined = out[0].fact
    assert isinstance(joined, ev.ParticipantJoined) and joined.device is False


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
    rid_b = log.queue[1]["request_id"]
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
    waited = {w.participant_id: (w.waited, w.ahead) for w in map(log.state.waiting_for, log.state.waiting())}
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


def test_ids_are_counted_per_kind_not_taken_from_positions() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    ben = log.join("Ben", "civil society", "remote")
    assert (log.chair.participant_id, ana.participant_id, ben.participant_id) == ("p1", "p2", "p3")
    out = log.do(log.chair, "add_speaker", name="Peru", group="government", mode="onsite")
    joined, added = (e.fact for e in out)
    assert isinstance(joined, ev.ParticipantJoined) and isinstance(added, ev.RequestAdded)
    assert (joined.participant_id, added.request_id) == ("p4", "r1")
    log.do(ana, "request_floor")
    assert log.queue[-1]["request_id"] == "r2"


def test_ids_go_on_after_an_archive_numbered_by_seq() -> None:
    """Archives before this version numbered ids by seq (r12, g40): new ids never clash with them."""
    state = MeetingState("m1")
    facts: list[ev.Fact] = [
        ev.MeetingCreated(title="T", agenda=["One"], policy="balanced", alternate_after=2, max_overtakes=3,
                          time_limit_s=0, timezone="UTC"),
        ev.ParticipantJoined(participant_id="p2", name="Chair", affiliation="", group="other", mode="onsite",
                             language="", role="chair"),
        ev.RequestAdded(request_id="r3", participant_id="p2", kind="intervention", item=0),
    ]
    for i, fact in enumerate(facts):
        state.apply(ev.Event("m1", i + 1, fact, 0.0))
    ids = state.ids()
    assert (ids.new("p"), ids.new("r"), ids.new("r")) == ("p3", "r4", "r5")


def test_a_point_of_order_interrupts_and_the_speaker_resumes_with_the_time_left() -> None:
    log = Log()
    ana, ben = log.join("Ana", "government", "onsite"), log.join("Ben", "civil society", "remote")
    log.do(ana, "request_floor")
    log.do(log.chair, "give_floor")  # Ana speaks, 120 s
    log.do(ben, "request_floor", kind="point_of_order")  # each step is 10 s
    assert log.queue[0]["kind"] == "point_of_order"
    log.do(log.chair, "give_floor")  # 20 s into Ana's turn
    assert log.state.interrupted is not None and log.state.interrupted.limit_s == 100
    assert views.meeting_view(log.state, GROUPS)["interrupted"]["participant_id"] == ana.participant_id
    log.do(log.chair, "end_turn")
    out = log.do(log.chair, "resume")
    floor = out[0].fact
    assert isinstance(floor, ev.FloorChanged) and floor.resumed and floor.limit_s == 100
    assert log.state.floor is not None and log.state.floor.participant_id == ana.participant_id
    assert log.state.interrupted is None
    assert log.state.requests[floor.request_id or ""].state == "speaking"
    assert log.state.stats.turns(ana.participant_id)[0] == 1  # resuming is not a second turn
    with pytest.raises(cmd.CommandError, match="nobody is waiting to resume"):
        log.do(log.chair, "resume")


def test_a_reply_to_a_speaker_who_finished_is_dropped_with_a_reason() -> None:
    log = Log()
    ana, ben, cy = (log.join(n, "government", "onsite") for n in ("Ana", "Ben", "Cy"))
    log.do(ana, "request_floor")
    log.do(cy, "request_floor")
    log.do(log.chair, "give_floor")  # Ana
    log.do(ben, "request_floor", kind="reply")
    log.do(log.chair, "end_turn")
    assert log.queue_names()[0] == "Ben"  # a reply right after Ana finished is still a reply to her
    out = log.do(log.chair, "give_floor", request_id=log.queue[1]["request_id"])  # Cy instead
    dropped = [e.fact for e in out if isinstance(e.fact, ev.RequestDropped)]
    assert len(dropped) == 1 and "Ana had finished" in dropped[0].reason
    assert log.queue_names() == []


def test_time_limit_changed_applies_to_the_turn_under_way_once() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    log.do(ana, "request_floor")
    log.do(log.chair, "give_floor")
    out = log.do(log.chair, "set_time_limit", seconds=45)
    assert [e.name for e in out] == ["time_limit_changed"]
    assert log.state.floor is not None and log.state.floor.limit_s == 45 and log.state.time_limit_s == 45


def test_reschedule_raises_the_sequence_and_checks_times() -> None:
    log = Log()
    out = log.do(log.chair, "reschedule", starts_at="2026-12-01T15:00:00+01:00", ends_at="2026-12-01T17:00:00+01:00")
    fact = out[0].fact
    assert isinstance(fact, ev.MeetingRescheduled) and fact.sequence == 1
    assert log.state.starts_at == "2026-12-01T15:00:00+01:00"
    with pytest.raises(cmd.CommandError, match="with its offset"):
        log.do(log.chair, "reschedule", starts_at="2026-12-01 15:00")
    with pytest.raises(cmd.CommandError, match="after"):
        log.do(log.chair, "reschedule", starts_at="2026-12-01T15:00:00+00:00", ends_at="2026-12-01T14:00:00+00:00")


def test_old_event_names_are_read_as_todays_facts() -> None:
    added = ev.upcast("floor_requested", '{"request_id":"r5","participant_id":"p2","kind":"reply","text":"","item":0}')
    assert isinstance(added, ev.RequestAdded) and added.request_id == "r5"
    limit = ev.upcast("time_limit_set", '{"seconds":60}')
    assert isinstance(limit, ev.TimeLimitChanged) and limit.seconds == 60
    assert isinstance(ev.upcast("queue_changed", '{"queue":[{"request_id":"r5"}]}'), ev.QueueChanged)
    with pytest.raises(ev.UnknownEvent):
        ev.upcast("teleported", "{}")


def test_statement_bodies_stay_in_the_log_and_off_the_wire() -> None:
    log = Log()
    ana = log.join("Ana", "government", "onsite")
    out = log.do(ana, "file_statement", title="Position", text="x" * 5000)
    wire = out[0].to_wire()
    assert wire["data"] == {"statement_id": "s1", "participant_id": ana.participant_id, "title": "Position",
                            "text": "", "chars": 5000, "item": 0}
    assert len(out[0].stored_data()) > 5000
    assert log.state.statements[0]["chars"] == 5000 and log.state.statements[0]["text"] == ""


def test_queue_messages_are_the_bytes_of_the_views_along_a_busy_meeting() -> None:
    """`QueueMessages` keeps each entry's JSON between changes: what it sends is byte for byte the
    encoding of `queue_views`, whatever moved (positions, reasons, pins, the floor, the item)."""
    rng = random.Random(7)
    log = Log()
    people = [log.join(name, rng.choice(GROUPS), rng.choice(["onsite", "remote"]))
              for name in ("Ana", "Bé \"quoted\"", "Chen 陳", "Dara\\", "Eve", "Fay", "Gus", "Hal", "Ida")]
    messages = views.QueueMessages()
    for step in range(300):
        queue = log.queue
        roll = rng.random()
        try:
            if roll < 0.4:
                text = rng.choice(["", "a line\nand another", "«quoted» \"text\" \u2028", "x" * 50])
                log.do(rng.choice(people), "request_floor", kind=rng.choice(["intervention", "reply"]), text=text)
            elif roll < 0.55 and queue:
                log.do(log.chair, "move", request_id=rng.choice(queue)["request_id"], position=rng.randint(0, 5))
            elif roll < 0.7:
                log.do(log.chair, "give_floor")
            elif roll < 0.8:
                log.do(log.chair, "end_turn")
            elif roll < 0.9:
                log.do(log.chair, "set_time_limit", seconds=rng.choice([60, 90, 120, 180]))
            elif roll < 0.95:
                log.do(rng.choice(people), "withdraw")
            elif step > 200:
                log.do(log.chair, "next_item")
        except cmd.CommandError:
            pass
        public, managers = views.queue_views(log.state)
        seq = log.state.seq
        assert messages.encode(log.state) == (
            ev.encode({"type": "queue", "seq": seq, "queue": public}),
            ev.encode({"type": "queue", "seq": seq, "queue": managers}),
        ), step
