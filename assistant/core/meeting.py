"""Meeting state: a pure fold over the meeting's facts.

`MeetingState.apply` is the only way state changes, and it depends on
nothing but the event, so replaying the log after a restart gives the same
state the server had before it. No clock, no I/O. One rule per fact, in
`_RULES` at the bottom.

The cost of applying a fact does not grow with the meeting's history: the
requests waiting on the current item are kept apart from the closed ones,
and derived views (`views.py`) are computed once per change by the service,
not once per event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import events as ev
from .fairqueue import ItemStats, Placed, Policy, Waiting, project
from .ids import Ids

MANAGERS = ("chair", "moderator")  # roles that run the queue


@dataclass(frozen=True)
class Participant:
    participant_id: str
    name: str
    affiliation: str
    group: str
    mode: str  # onsite | remote
    language: str
    role: str
    device: bool  # False: put on the list by the chair (no device of their own)
    joined_at: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Request:
    request_id: str
    participant_id: str
    kind: str
    text: str  # a written intervention, or ""
    item: int
    arrival: int  # the seq of the request_added event
    asked_at: float
    reply_to: str | None = None
    turns_before: int = 0  # turns given in the meeting when it was asked
    ahead: int = 0  # requests waiting in its item when it was asked
    state: str = "waiting"  # waiting | speaking | done | withdrawn | dropped
    overtakes: int = 0
    ended_at: float | None = None
    end_reason: str = ""


@dataclass
class Turn:
    participant_id: str
    request_id: str | None
    kind: str | None
    item: int
    started_at: float
    limit_s: int
    ended_at: float | None = None
    resumed: bool = False

    def remaining_s(self, at: float) -> int:
        """Speaking time left at `at` (0 when the turn has no limit)."""
        if not self.limit_s:
            return 0
        return max(1, round(self.limit_s - (at - self.started_at)))


@dataclass
class MeetingState:
    meeting_id: str
    seq: int = 0
    title: str = ""
    agenda: list[str] = field(default_factory=list)
    current_item: int = 0
    policy: Policy = field(default_factory=Policy)
    time_limit_s: int = 0
    timezone: str = "UTC"
    starts_at: str | None = None
    ends_at: str | None = None
    schedule_sequence: int = 0  # raised on every reschedule (iCalendar SEQUENCE)
    created_at: float = 0.0
    ended_at: float | None = None
    list_closed: bool = False
    participants: dict[str, Participant] = field(default_factory=dict)
    chair: str | None = None  # the participant who opened the meeting as its chair
    requests: dict[str, Request] = field(default_factory=dict)  # every request, for lookups by id
    queued: dict[str, Request] = field(default_factory=dict)  # waiting on the current item, in arrival order
    pins: dict[str, int] = field(default_factory=dict)
    floor: Turn | None = None
    interrupted: Turn | None = None  # the speaker a point of order interrupted, who may resume
    turns: list[Turn] = field(default_factory=list)
    stats: ItemStats = field(default_factory=ItemStats)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    segment_index: dict[str, int] = field(default_factory=dict)  # segment id -> position in transcript
    statements: list[dict[str, Any]] = field(default_factory=list)  # titles and lengths; bodies stay in the log
    last_ids: dict[str, int] = field(default_factory=dict)  # id prefix -> highest number used
    queue_version: int = 0  # raised by every fact that can change the derived queue
    _projection: tuple[int, list[Placed]] = (-1, [])  # the projected order at a queue_version

    # -- the fold ---------------------------------------------------------

    def apply(self, event: ev.Event) -> None:
        if event.seq != self.seq + 1:
            raise ValueError(f"meeting {self.meeting_id}: event seq {event.seq} does not follow {self.seq}")
        rule = _RULES.get(type(event.fact))
        if rule is None:
            raise ValueError(f"meeting {self.meeting_id}: no rule for event {event.name!r}")
        rule(self, event.fact, event.at, event.seq)
        self.seq = event.seq

    def ids(self) -> Ids:
        """A fresh allocator of ids for the facts of one decision."""
        return Ids(self.last_ids)

    def _saw(self, ident: str | None) -> None:
        if ident:
            prefix, number = ident[:1], ident[1:]
            if number.isdigit() and int(number) > self.last_ids.get(prefix, 0):
                self.last_ids[prefix] = int(number)

    def _queue_changed(self) -> None:
        self.queue_version += 1

    # -- lookups ----------------------------------------------------------

    def segment(self, segment_id: str) -> dict[str, Any] | None:
        i = self.segment_index.get(segment_id)
        return None if i is None else self.transcript[i]

    def chair_id(self) -> str | None:
        return self.chair

    def holder_at(self, at: float) -> str | None:
        """Who held the floor at wall time `at`; None when nobody did."""
        for turn in reversed(self.turns):
            if turn.started_at <= at:
                return turn.participant_id if turn.ended_at is None or at < turn.ended_at else None
        return None

    def waiting(self) -> list[Request]:
        """Requests waiting on the current item, in arrival order."""
        return list(self.queued.values())

    def waiting_for(self, request: Request) -> Waiting:
        who = self.participants[request.participant_id]
        return Waiting(
            request_id=request.request_id,
            participant_id=request.participant_id,
            kind=request.kind,
            mode=who.mode,
            group=who.group,
            arrival=request.arrival,
            overtakes=request.overtakes,
            waited=len(self.turns) - request.turns_before,
            ahead=request.ahead,
        )

    def projected(self) -> list[Placed]:
        """The order in which the floor would be given if nothing changed, with reasons: worked out
        once per change of the queue, however often it is read (a decision, the views, the hotwords)."""
        version, placed = self._projection
        if version != self.queue_version:
            turns, people = len(self.turns), self.participants
            waiting = []
            for r in self.queued.values():  # waiting_for, inline: one per request at every change
                who = people[r.participant_id]
                waiting.append(Waiting(r.request_id, r.participant_id, r.kind, who.mode, who.group, r.arrival,
                                       r.overtakes, turns - r.turns_before, r.ahead))
            placed = project(waiting, self.stats, self.policy, self.pins)
            self._projection = (self.queue_version, placed)
        return placed

    def next_speakers(self, n: int) -> list[str]:
        """The participants of the first `n` entries of the queue, in order."""
        return [placed.request.participant_id for placed in self.projected()[:n]]


# -- one rule per fact ---------------------------------------------------------


def _meeting_created(s: MeetingState, f: ev.MeetingCreated, at: float, seq: int) -> None:
    s.title = f.title
    s.agenda = list(f.agenda)
    s.policy = Policy(
        name=f.policy,
        alternate_after=f.alternate_after,
        max_overtakes=f.max_overtakes,
        wait_factor=f.wait_factor,
        min_wait=f.min_wait,
        estimate_s=float(f.time_limit_s or 180),
    )
    s.time_limit_s = f.time_limit_s
    s.timezone = f.timezone
    s.starts_at, s.ends_at = f.starts_at, f.ends_at
    s.created_at = at


def _meeting_rescheduled(s: MeetingState, f: ev.MeetingRescheduled, at: float, seq: int) -> None:
    s.starts_at, s.ends_at, s.timezone, s.schedule_sequence = f.starts_at, f.ends_at, f.timezone, f.sequence


def _meeting_ended(s: MeetingState, f: ev.MeetingEnded, at: float, seq: int) -> None:
    s.ended_at = at
    s.interrupted = None


def _participant_joined(s: MeetingState, f: ev.ParticipantJoined, at: float, seq: int) -> None:
    s._saw(f.participant_id)
    fields = ev.as_dict(f)
    del fields["added_by"]
    s.participants[f.participant_id] = Participant(**fields, joined_at=at)
    if f.role == "chair" and s.chair is None:
        s.chair = f.participant_id


def _request_added(s: MeetingState, f: ev.RequestAdded, at: float, seq: int) -> None:
    s._saw(f.request_id)
    req = Request(
        request_id=f.request_id,
        participant_id=f.participant_id,
        kind=f.kind,
        text=f.text,
        item=f.item,
        arrival=seq,
        asked_at=at,
        reply_to=f.reply_to,
        turns_before=len(s.turns),
        ahead=len(s.queued) if f.item == s.current_item else 0,
    )
    s.requests[f.request_id] = req
    if f.item == s.current_item:
        s.queued[f.request_id] = req
        s._queue_changed()


def _close_request(s: MeetingState, request_id: str, state: str, at: float, reason: str) -> None:
    req = s.requests[request_id]
    req.state, req.ended_at, req.end_reason = state, at, reason
    s.queued.pop(request_id, None)
    s.pins.pop(request_id, None)
    s._queue_changed()


def _request_withdrawn(s: MeetingState, f: ev.RequestWithdrawn, at: float, seq: int) -> None:
    _close_request(s, f.request_id, "withdrawn", at, "withdrawn")


def _request_dropped(s: MeetingState, f: ev.RequestDropped, at: float, seq: int) -> None:
    _close_request(s, f.request_id, "dropped", at, f.reason)


def _request_moved(s: MeetingState, f: ev.RequestMoved, at: float, seq: int) -> None:
    s.pins[f.request_id] = f.position
    s._queue_changed()


def _list_closed(s: MeetingState, f: ev.ListClosed, at: float, seq: int) -> None:
    s.list_closed = True
    s._queue_changed()


def _list_opened(s: MeetingState, f: ev.ListOpened, at: float, seq: int) -> None:
    s.list_closed = False
    s._queue_changed()


def _time_limit_changed(s: MeetingState, f: ev.TimeLimitChanged, at: float, seq: int) -> None:
    s.time_limit_s = f.seconds
    s.policy = dataclasses.replace(s.policy, estimate_s=float(f.seconds or 180))
    if s.floor is not None:
        s.floor.limit_s = f.seconds
    s._queue_changed()


def _item_changed(s: MeetingState, f: ev.ItemChanged, at: float, seq: int) -> None:
    s.current_item = f.item
    s.stats = s.stats.next_item()
    s.pins.clear()
    s.list_closed = False
    s.interrupted = None
    # requests still waiting were dropped by facts of their own; any left belong to no item now
    s.queued = {rid: r for rid, r in s.requests.items() if r.state == "waiting" and r.item == f.item}
    s._queue_changed()


def _floor_changed(s: MeetingState, f: ev.FloorChanged, at: float, seq: int) -> None:
    current = s.floor
    if (
        current is not None
        and f.participant_id == current.participant_id
        and f.request_id == current.request_id
        and f.started_at == current.started_at
    ):
        current.limit_s = f.limit_s  # archives before time_limit_changed: the same turn, a new limit
        return
    # where the request given the floor stood in the queue as shown, before this turn changed it
    # (pins behind it move up one place)
    given_at = _position(s, f.request_id) if s.pins and not f.resumed else 0
    if current is not None:
        if f.kind == "point_of_order" and current.kind != "point_of_order" and not f.resumed:
            s.interrupted = dataclasses.replace(current, limit_s=current.remaining_s(at), ended_at=at)
        elif not f.resumed and f.participant_id is not None:
            s.interrupted = None
        _end_turn(s, current, at)
    s._queue_changed()  # the item's statistics moved: a projection from before is stale
    if f.participant_id is None:
        return
    if f.resumed:
        s.interrupted = None
    rid = f.request_id
    if rid is not None:
        req = s.requests[rid]
        if not f.resumed:
            _give(s, req, given_at)
        req.state, req.ended_at = "speaking", None
    speaker = s.participants[f.participant_id]
    if not f.resumed:
        s.stats = s.stats.after_turn(f.kind or "intervention", speaker.participant_id, speaker.mode)
    s.floor = Turn(
        participant_id=speaker.participant_id,
        request_id=rid,
        kind=f.kind,
        item=f.item,
        started_at=f.started_at,
        limit_s=f.limit_s,
        resumed=f.resumed,
    )
    s.turns.append(s.floor)
    s._queue_changed()


def _position(s: MeetingState, request_id: str | None) -> int:
    order = [placed.request.request_id for placed in s.projected()]
    return order.index(request_id) if request_id in order else 0


def _give(s: MeetingState, req: Request, index: int) -> None:
    """A waiting request gets the floor from place `index`: those it overtook count it, and pins
    behind it move up."""
    if req.request_id not in s.queued:
        return
    if req.kind == "intervention":  # overtaken_by, without a Waiting for each of hundreds waiting
        for other in s.queued.values():
            if other.kind == "intervention" and other.arrival < req.arrival and other is not req:
                other.overtakes += 1
    del s.queued[req.request_id]
    s.pins.pop(req.request_id, None)
    for pinned, position in list(s.pins.items()):
        if position > index:
            s.pins[pinned] = position - 1


def _end_turn(s: MeetingState, turn: Turn, at: float) -> None:
    turn.ended_at = at
    speaker = s.participants[turn.participant_id]
    if turn.item == s.current_item:
        s.stats = s.stats.with_time(speaker.group, at - turn.started_at)
    if turn.request_id is not None:
        req = s.requests[turn.request_id]
        if req.state == "speaking":
            req.state, req.ended_at = "done", at
    s.floor = None


def _segment(s: MeetingState, f: ev.Segment, at: float, seq: int) -> None:
    s._saw(f.id)
    s.segment_index[f.id] = len(s.transcript)
    s.transcript.append({**ev.as_dict(f), "seq": seq})


def _segment_corrected(s: MeetingState, f: ev.SegmentCorrected, at: float, seq: int) -> None:
    i = s.segment_index[f.segment_id]
    old = s.transcript[i]
    s.transcript[i] = {
        **old,
        "text": f.text,
        "original": old.get("original", old["text"]),
        "revisions": old.get("revisions", 0) + 1,
        "corrected_at": at,
        "corrected_by": f.by,
    }


def _statement_filed(s: MeetingState, f: ev.StatementFiled, at: float, seq: int) -> None:
    s._saw(f.statement_id)
    s.statements.append({**ev.as_dict(f.wire()), "filed_at": at})


def _queue_changed_retired(s: MeetingState, f: ev.QueueChanged, at: float, seq: int) -> None:
    """Archives before facts-only stored the queue as published: derived again, nothing to do."""


Rule = Callable[[MeetingState, Any, float, int], None]
_RULES: dict[type[ev.Fact], Rule] = {
    ev.MeetingCreated: _meeting_created,
    ev.MeetingRescheduled: _meeting_rescheduled,
    ev.MeetingEnded: _meeting_ended,
    ev.ParticipantJoined: _participant_joined,
    ev.RequestAdded: _request_added,
    ev.RequestWithdrawn: _request_withdrawn,
    ev.RequestDropped: _request_dropped,
    ev.RequestMoved: _request_moved,
    ev.ListClosed: _list_closed,
    ev.ListOpened: _list_opened,
    ev.TimeLimitChanged: _time_limit_changed,
    ev.ItemChanged: _item_changed,
    ev.FloorChanged: _floor_changed,
    ev.Segment: _segment,
    ev.SegmentCorrected: _segment_corrected,
    ev.StatementFiled: _statement_filed,
    ev.QueueChanged: _queue_changed_retired,
}
