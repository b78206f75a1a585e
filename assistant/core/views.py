"""Derived views: what clients are shown of a meeting, computed from the fold, never stored.

The queue order with its reasons is derived from the waiting requests, the item's statistics and
the chair's pins; it is in the snapshot and pushed live as `{"type": "queue", "seq", "queue"}`
after every change that can move it. Everyone sees the same order; the chair's and moderators'
view also carries each written intervention's text (everyone else is told that there is one, and
reads it when it is read out: `floor.text`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .equity import Asked, Equity, Person, Spoken, equity
from .events import encode
from .meeting import MANAGERS, MeetingState, Participant, Request, Turn

RECENT_LINES = 200  # transcript lines in a snapshot; older ones are fetched on demand


def queue_view(state: MeetingState, *, with_text: bool) -> list[dict[str, Any]]:
    """The queue as clients see it: the projected order, each entry with its reason (and, for the
    chair and moderators, each written text)."""
    if not with_text:
        return [entry for entry, _ in _entries(state)]
    return [{**entry, "text": text} for entry, text in _entries(state)]


def queue_views(state: MeetingState) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The queue for everyone, and for the chair and moderators, from one pass over one projection."""
    public, managers = [], []
    for entry, text in _entries(state):
        public.append(entry)
        managers.append({**entry, "text": text})
    return public, managers


def _entries(state: MeetingState) -> Iterator[tuple[dict[str, Any], str]]:
    for position, placed in enumerate(state.projected()):
        req = state.requests[placed.request.request_id]
        who = state.participants[req.participant_id]
        yield _entry(req, who, placed.reason, position, req.request_id in state.pins), req.text


def _entry(req: Request, who: Participant, reason: str, position: int, pinned: bool) -> dict[str, Any]:
    return {
        "request_id": req.request_id,
        "participant_id": who.participant_id,
        "name": who.name,
        "affiliation": who.affiliation,
        "group": who.group,
        "mode": who.mode,
        "kind": req.kind,
        "reason": reason,
        "position": position,
        "asked_at": req.asked_at,
        "pinned": pinned,
        "written": bool(req.text),
    }


class QueueMessages:
    """The live queue messages of one meeting, `{"type": "queue", "seq", "queue"}` for everyone and
    for the chair and moderators, encoded from JSON kept per entry.

    With hundreds waiting, most entries are the same from one change to the next but for their
    position: each entry's JSON is kept in two parts around its position, for the request with its
    reason and pin, and only entries new or changed are encoded again. What is kept is what the
    latest messages hold (the entries of the queue as it stands), so it does not grow with the
    meeting. The bytes are those `encode` gives for the dicts of `queue_views`."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str, bool], _Parts] = {}

    def encode(self, state: MeetingState) -> tuple[bytes, bytes]:
        kept, fresh = self._kept, {}
        head = b'{"type":"queue","seq":%d,"queue":[' % state.seq
        public, managers = [head], [head]
        comma = b""
        requests, participants, pins = state.requests, state.participants, state.pins
        for position, placed in enumerate(state.projected()):
            rid = placed.request.request_id
            req = requests[rid]
            who = participants[req.participant_id]
            key = (rid, placed.reason, rid in pins)
            parts = kept.get(key)
            if parts is None or parts.request is not req or parts.who is not who:
                parts = _Parts(req, who, placed.reason, key[2])
            fresh[key] = parts
            at = b"%d" % position
            public += (comma, parts.head, at, parts.public_tail)
            managers += (comma, parts.head, at, parts.managers_tail)
            comma = b","
        self._kept = fresh
        public.append(b"]}")
        managers.append(b"]}")
        return b"".join(public), b"".join(managers)


class _Parts:
    """An entry's JSON before its position (`..."position":`) and after it, in both versions."""

    __slots__ = ("head", "managers_tail", "public_tail", "request", "who")

    def __init__(self, req: Request, who: Participant, reason: str, pinned: bool) -> None:
        self.request, self.who = req, who
        entry = _entry(req, who, reason, 0, pinned)
        keys = list(entry)
        cut = keys.index("position")
        after = {k: entry[k] for k in keys[cut + 1:]}
        self.head = encode({k: entry[k] for k in keys[:cut]})[:-1] + b',"position":'
        self.public_tail = b"," + encode(after)[1:]
        self.managers_tail = b"," + encode({**after, "text": req.text})[1:]


def floor_view(state: MeetingState) -> dict[str, Any] | None:
    turn = state.floor
    if turn is None:
        return None
    who = state.participants[turn.participant_id]
    return {
        **turn_view(turn),
        "limit_s": turn.limit_s,
        "text": _text_of(state, turn),
        "name": who.name,
        "affiliation": who.affiliation,
        "group": who.group,
        "mode": who.mode,
        "language": who.language,
    }


def turn_view(turn: Turn) -> dict[str, Any]:
    """A turn as clients see it: enough to count speaking time and to find the written text."""
    return {
        "participant_id": turn.participant_id,
        "request_id": turn.request_id,
        "kind": turn.kind,
        "item": turn.item,
        "started_at": turn.started_at,
        "ended_at": turn.ended_at,
        "resumed": turn.resumed,
    }


def _text_of(state: MeetingState, turn: Turn) -> str:
    req = state.requests.get(turn.request_id or "")
    return req.text if req else ""


def meeting_view(state: MeetingState, groups: Sequence[str]) -> dict[str, Any]:
    interrupted = state.interrupted
    return {
        "id": state.meeting_id,
        "title": state.title,
        "agenda": state.agenda,
        "current_item": state.current_item,
        "policy": state.policy.name,
        "alternate_after": state.policy.alternate_after,
        "max_overtakes": state.policy.max_overtakes,
        "time_limit_s": state.time_limit_s,
        "timezone": state.timezone,
        "starts_at": state.starts_at,
        "ends_at": state.ends_at,
        "schedule_sequence": state.schedule_sequence,
        "list_closed": state.list_closed,
        "started": state.created_at,
        "ended": state.ended_at,
        "groups": list(groups),
        "interrupted": None
        if interrupted is None
        else {
            "participant_id": interrupted.participant_id,
            "request_id": interrupted.request_id,
            "remaining_s": interrupted.limit_s,
        },
    }


def snapshot(state: MeetingState, groups: Sequence[str], *, with_text: bool) -> dict[str, Any]:
    """What a new client is sent first: a size that does not grow with the transcript."""
    recent = state.transcript[-RECENT_LINES:]
    return {
        "type": "snapshot",
        "seq": state.seq,
        "meeting": meeting_view(state, groups),
        "floor": floor_view(state),
        "queue": queue_view(state, with_text=with_text),
        "participants": [p.to_dict() for p in state.participants.values()],
        "transcript": recent,
        "transcript_from": recent[0]["seq"] if len(recent) < len(state.transcript) else 0,
        "statements": state.statements,
        "turns": [{**turn_view(t), "written": bool(_text_of(state, t))} for t in state.turns],
    }


def equity_of(state: MeetingState, now: float) -> Equity:
    """The meeting's equity figures (the chair console's; the report reads the same function):
    everyone who may ask for the floor is counted, the chair and moderators are not."""
    people = [
        Person(p.participant_id, p.group, p.mode)
        for p in state.participants.values()
        if p.role not in (*MANAGERS, "observer")
    ]
    turns = [Spoken(t.participant_id, t.started_at, t.ended_at, t.kind or "intervention", t.request_id)
             for t in state.turns]
    asked = [
        Asked(r.request_id, r.participant_id, r.kind, bool(r.text), r.state, r.asked_at,
              r.ended_at if r.state in ("withdrawn", "dropped") else None)
        for r in state.requests.values()
    ]
    return equity(people, turns, asked, now=now)
