"""Meeting state: a pure fold over the meeting's events.

`MeetingState.apply` is the only way state changes, and it depends on
nothing but the event, so replaying the log after a restart gives the same
state the server had before it. No clock, no I/O.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from . import events as ev
from .fairqueue import ItemStats, Placed, Policy, Waiting, overtaken_by, project

ROLES = ("chair", "moderator", "participant", "observer")
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
    arrival: int  # the seq of the floor_requested event
    asked_at: float
    state: str = "waiting"  # waiting | speaking | done | withdrawn | dropped
    overtakes: int = 0
    turns_before: int = 0  # turns given in the meeting when it was asked
    ahead: int = 0  # requests waiting in its item when it was asked
    ended_at: float | None = None
    end_reason: str = ""


@dataclass
class Turn:
    participant_id: str
    request_id: str | None
    kind: str
    item: int
    started_at: float
    limit_s: int
    ended_at: float | None = None


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
    created_at: float = 0.0
    ended_at: float | None = None
    list_closed: bool = False
    participants: dict[str, Participant] = field(default_factory=dict)
    requests: dict[str, Request] = field(default_factory=dict)
    pins: dict[str, int] = field(default_factory=dict)
    floor: Turn | None = None
    turns: list[Turn] = field(default_factory=list)
    stats: ItemStats = field(default_factory=ItemStats)
    queue: list[dict[str, Any]] = field(default_factory=list)  # as last published
    transcript: list[dict[str, Any]] = field(default_factory=list)
    segment_index: dict[str, int] = field(default_factory=dict)  # segment id -> position in transcript
    statements: list[dict[str, Any]] = field(default_factory=list)

    # -- the fold ---------------------------------------------------------

    def apply(self, event: ev.Event) -> None:
        if event.seq != self.seq + 1:
            raise ValueError(f"meeting {self.meeting_id}: event seq {event.seq} does not follow {self.seq}")
        handler = getattr(self, "_on_" + event.name, None)
        if handler is None:
            raise ValueError(f"meeting {self.meeting_id}: unknown event {event.name!r}")
        handler(event.data, event.at, event.seq)
        self.seq = event.seq

    def _on_meeting_created(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.title = d["title"]
        self.agenda = list(d["agenda"])
        self.policy = Policy(
            name=d["policy"],
            alternate_after=d["alternate_after"],
            max_overtakes=d["max_overtakes"],
            estimate_s=float(d["time_limit_s"] or 180),
        )
        self.time_limit_s = d["time_limit_s"]
        self.timezone = d["timezone"]
        self.created_at = at

    def _on_meeting_ended(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.ended_at = at

    def _on_participant_joined(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.participants[d["participant_id"]] = Participant(
            participant_id=d["participant_id"],
            name=d["name"],
            affiliation=d["affiliation"],
            group=d["group"],
            mode=d["mode"],
            language=d["language"],
            role=d["role"],
            device=d["device"],
            joined_at=at,
        )

    def _on_floor_requested(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.requests[d["request_id"]] = Request(
            request_id=d["request_id"],
            participant_id=d["participant_id"],
            kind=d["kind"],
            text=d["text"],
            item=d["item"],
            arrival=seq,
            asked_at=at,
            turns_before=len(self.turns),
            ahead=sum(1 for r in self.requests.values() if r.state == "waiting" and r.item == d["item"]),
        )

    def _on_request_withdrawn(self, d: dict[str, Any], at: float, seq: int) -> None:
        self._close_request(d["request_id"], "withdrawn", at, "withdrawn")

    def _on_request_dropped(self, d: dict[str, Any], at: float, seq: int) -> None:
        self._close_request(d["request_id"], "dropped", at, d["reason"])

    def _close_request(self, request_id: str, state: str, at: float, reason: str) -> None:
        req = self.requests[request_id]
        req.state, req.ended_at, req.end_reason = state, at, reason
        self.pins.pop(request_id, None)

    def _on_request_moved(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.pins[d["request_id"]] = d["position"]

    def _on_list_closed(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.list_closed = True

    def _on_list_opened(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.list_closed = False

    def _on_time_limit_set(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.time_limit_s = d["seconds"]
        self.policy = dataclasses.replace(self.policy, estimate_s=float(d["seconds"] or 180))

    def _on_item_changed(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.current_item = d["item"]
        self.stats = self.stats.next_item()
        self.pins.clear()
        self.list_closed = False

    def _on_floor_changed(self, d: dict[str, Any], at: float, seq: int) -> None:
        current = self.floor
        if (
            current is not None
            and d["participant_id"] == current.participant_id
            and d["request_id"] == current.request_id
            and d["started_at"] == current.started_at
        ):
            current.limit_s = d["limit_s"]  # same turn, new time limit
            return
        if current is not None:
            self._end_turn(current, at)
        if d["participant_id"] is None:
            self.floor = None
            return
        rid = d["request_id"]
        kind = d["kind"]
        if rid is not None:
            req = self.requests[rid]
            given = self._waiting(req)
            index = next((i for i, e in enumerate(self.queue) if e["request_id"] == rid), 0)
            for other in overtaken_by(given, [self._waiting(r) for r in self.waiting()]):
                self.requests[other].overtakes += 1
            req.state = "speaking"
            self.pins.pop(rid, None)
            for pinned, position in list(self.pins.items()):
                if position > index:
                    self.pins[pinned] = position - 1
        speaker = self.participants[d["participant_id"]]
        self.stats = self.stats.after_turn(kind, speaker.participant_id, speaker.mode)
        self.floor = Turn(
            participant_id=speaker.participant_id,
            request_id=rid,
            kind=kind,
            item=self.current_item,
            started_at=d["started_at"],
            limit_s=d["limit_s"],
        )
        self.turns.append(self.floor)

    def _end_turn(self, turn: Turn, at: float) -> None:
        turn.ended_at = at
        speaker = self.participants[turn.participant_id]
        if turn.item == self.current_item:
            self.stats = self.stats.with_time(speaker.group, at - turn.started_at)
        if turn.request_id is not None:
            req = self.requests[turn.request_id]
            if req.state == "speaking":
                req.state, req.ended_at = "done", at
        self.floor = None

    def _on_queue_changed(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.queue = list(d["queue"])

    def _on_segment(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.segment_index[d["id"]] = len(self.transcript)
        self.transcript.append(d)

    def _on_segment_corrected(self, d: dict[str, Any], at: float, seq: int) -> None:
        # replaced, never changed in place: clones share the segment dicts
        i = self.segment_index[d["segment_id"]]
        old = self.transcript[i]
        self.transcript[i] = {
            **old, "text": d["text"], "original": old.get("original", old["text"]),
            "revisions": old.get("revisions", 0) + 1, "corrected_at": at, "corrected_by": d["by"],
        }

    def _on_statement_filed(self, d: dict[str, Any], at: float, seq: int) -> None:
        self.statements.append(d)

    # -- derived views ----------------------------------------------------

    def clone(self) -> MeetingState:
        """A copy to try events on; the transcript is shared (segments never change)."""
        transcript, self.transcript = self.transcript, []
        try:
            twin = copy.deepcopy(self)
        finally:
            self.transcript = transcript
        twin.transcript = list(transcript)
        return twin

    def segment(self, segment_id: str) -> dict[str, Any] | None:
        i = self.segment_index.get(segment_id)
        return None if i is None else self.transcript[i]

    def chair_id(self) -> str | None:
        return next((p.participant_id for p in self.participants.values() if p.role == "chair"), None)

    def holder_at(self, at: float) -> str | None:
        """Who held the floor at wall time `at`; None when nobody did."""
        for turn in reversed(self.turns):
            if turn.started_at <= at:
                return turn.participant_id if turn.ended_at is None or at < turn.ended_at else None
        return None

    def waiting(self) -> list[Request]:
        return [r for r in self.requests.values() if r.state == "waiting" and r.item == self.current_item]

    def _waiting(self, req: Request) -> Waiting:
        who = self.participants[req.participant_id]
        return Waiting(
            request_id=req.request_id,
            participant_id=req.participant_id,
            kind=req.kind,
            mode=who.mode,
            group=who.group,
            arrival=req.arrival,
            overtakes=req.overtakes,
            waited=len(self.turns) - req.turns_before,
            ahead=req.ahead,
        )

    def projected(self) -> list[Placed]:
        return project([self._waiting(r) for r in self.waiting()], self.stats, self.policy, self.pins)

    def queue_view(self) -> list[dict[str, Any]]:
        """The queue as clients see it: the projected order, each entry with its reason."""
        entries = []
        for position, placed in enumerate(self.projected()):
            req = self.requests[placed.request.request_id]
            who = self.participants[req.participant_id]
            entries.append(
                {
                    "request_id": req.request_id,
                    "participant_id": who.participant_id,
                    "name": who.name,
                    "affiliation": who.affiliation,
                    "group": who.group,
                    "mode": who.mode,
                    "kind": req.kind,
                    "text": req.text,
                    "reason": placed.reason,
                    "position": position,
                    "asked_at": req.asked_at,
                    "pinned": req.request_id in self.pins,
                }
            )
        return entries

    def floor_view(self) -> dict[str, Any] | None:
        turn = self.floor
        if turn is None:
            return None
        return floor_data(
            self, turn.participant_id, turn.request_id, turn.kind, turn.started_at, turn.limit_s
        )

    def meeting_view(self) -> dict[str, Any]:
        return {
            "id": self.meeting_id,
            "title": self.title,
            "agenda": self.agenda,
            "current_item": self.current_item,
            "policy": self.policy.name,
            "alternate_after": self.policy.alternate_after,
            "max_overtakes": self.policy.max_overtakes,
            "time_limit_s": self.time_limit_s,
            "timezone": self.timezone,
            "list_closed": self.list_closed,
            "started": self.created_at,
            "ended": self.ended_at,
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "type": "snapshot",
            "seq": self.seq,
            "meeting": self.meeting_view(),
            "floor": self.floor_view(),
            "queue": self.queue,
            "participants": [p.to_dict() for p in self.participants.values()],
            "transcript": self.transcript,
            "statements": self.statements,
            "turns": [self.turn_view(t) for t in self.turns],
        }

    def turn_view(self, turn: Turn) -> dict[str, Any]:
        """A turn as clients see it: enough to count speaking time and answered written requests."""
        req = self.requests.get(turn.request_id or "")
        return {
            "participant_id": turn.participant_id,
            "request_id": turn.request_id,
            "kind": turn.kind,
            "item": turn.item,
            "started_at": turn.started_at,
            "ended_at": turn.ended_at,
            "text": req.text if req else "",
        }


def floor_data(
    state: MeetingState,
    participant_id: str | None,
    request_id: str | None,
    kind: str | None,
    started_at: float,
    limit_s: int,
) -> dict[str, Any]:
    """The data of a floor_changed event (and the snapshot's `floor`)."""
    data: dict[str, Any] = {
        "participant_id": participant_id,
        "request_id": request_id,
        "kind": kind,
        "started_at": started_at,
        "limit_s": limit_s,
        "item": state.current_item,
    }
    if participant_id is not None:
        who = state.participants[participant_id]
        req = state.requests.get(request_id or "")
        data.update(
            name=who.name,
            affiliation=who.affiliation,
            group=who.group,
            mode=who.mode,
            language=who.language,
            text=req.text if req else "",
        )
    return data
