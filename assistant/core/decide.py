"""Decisions: a command checked against the meeting and the actor, turned into the facts it causes.

`decide` is pure: it reads the state, never changes it, and returns `Draft`s for the service to
store and then apply. One small function per command (`_DECISIONS`). Nothing here copies the state
or looks at the meeting's history beyond what the command names, so a command costs the same on a
long list and after a long day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import commands as c
from . import events as ev
from .commands import CommandError
from .ids import Ids
from .meeting import MANAGERS, MeetingState, Request


@dataclass
class Context:
    """What one decision works with."""

    state: MeetingState
    actor: c.Actor
    now: float
    ids: Ids


def decide(state: MeetingState, actor: c.Actor, command: c.Command, now: float) -> list[ev.Draft]:
    """The facts `command` causes, or CommandError; nothing changes here."""
    if state.ended_at is not None and not isinstance(command, c.CorrectSegment):
        raise CommandError("this meeting has ended; only corrections to its transcript can be made")
    _authorize(actor, command)
    facts = _DECISIONS[type(command)](Context(state, actor, now, state.ids()), command)
    return [ev.Draft(fact, now) for fact in facts]


def _authorize(actor: c.Actor, command: c.Command) -> None:
    if actor.role in ("observer", "feed"):
        raise CommandError("an observer's token can watch the meeting but not act in it")
    if isinstance(command, c.CHAIR_OPS) and actor.role != "chair":
        raise CommandError(f"only the chair can {c.op_name(command)}")
    if isinstance(command, c.MANAGER_OPS) and actor.role not in MANAGERS:
        raise CommandError(f"only the chair or a moderator can {c.op_name(command)}")
    if actor.participant_id is None and isinstance(command, c.RequestFloor | c.FileStatement | c.Withdraw):
        raise CommandError("join the meeting as a participant first")


# -- one decision per command ---------------------------------------------------


def _request_floor(x: Context, command: c.RequestFloor) -> list[ev.Fact]:
    pid = x.actor.participant_id
    assert pid is not None
    return [request(x.state, x.ids, pid, command.kind, command.text)]


def _withdraw(x: Context, command: c.Withdraw) -> list[ev.Fact]:
    req = _own_waiting(x.state, x.actor, command.request_id)
    return [ev.RequestWithdrawn(request_id=req.request_id, by=x.actor.participant_id)]


def _file_statement(x: Context, command: c.FileStatement) -> list[ev.Fact]:
    return [
        ev.StatementFiled(
            statement_id=x.ids.new("s"),
            participant_id=x.actor.participant_id,
            title=command.title,
            text=command.text,
            chars=len(command.text),
            item=x.state.current_item,
        )
    ]


def _give_floor(x: Context, command: c.GiveFloor) -> list[ev.Fact]:
    state = x.state
    if command.request_id is None:
        projected = state.projected()
        if not projected:
            raise CommandError("nobody is waiting for the floor on this agenda item")
        req = state.requests[projected[0].request.request_id]
    else:
        waiting = state.queued.get(command.request_id)
        if waiting is None:
            raise CommandError(_not_waiting(state, command.request_id))
        req = waiting
    facts: list[ev.Fact] = [_floor(x, req.participant_id, req.request_id, req.kind, state.time_limit_s)]
    if req.kind == "intervention":
        facts += _stale_replies(state, req.participant_id)
    return facts


def _stale_replies(state: MeetingState, next_speaker: str) -> list[ev.Fact]:
    """Replies to a speaker who has finished, once the floor moves on to a new intervention."""
    dropped: list[ev.Fact] = []
    for req in state.queued.values():
        if req.kind == "reply" and req.reply_to not in (None, next_speaker):
            who = state.participants.get(req.reply_to or "")
            name = who.name if who else "the speaker"
            dropped.append(
                ev.RequestDropped(
                    request_id=req.request_id,
                    reason=f"{name} had finished and the floor moved on; ask for an intervention to speak on it",
                )
            )
    return dropped


def _resume(x: Context, command: c.Resume) -> list[ev.Fact]:
    state = x.state
    turn = state.interrupted
    if turn is None:
        raise CommandError("nobody is waiting to resume: no speaker was interrupted by a point of order")
    if state.floor is not None and state.floor.kind != "point_of_order":
        raise CommandError("someone else holds the floor; end their turn before the interrupted speaker resumes")
    return [_floor(x, turn.participant_id, turn.request_id, turn.kind, turn.limit_s, resumed=True)]


def _end_turn(x: Context, command: c.EndTurn) -> list[ev.Fact]:
    if x.state.floor is None:
        raise CommandError("nobody holds the floor")
    return [_nobody(x)]


def _nobody(x: Context) -> ev.FloorChanged:
    return _floor(x, None, None, None, x.state.time_limit_s)


def _floor(
    x: Context, pid: str | None, rid: str | None, kind: str | None, limit_s: int, *, resumed: bool = False
) -> ev.FloorChanged:
    """The floor to `pid` now (None: to nobody), on the current item."""
    return ev.FloorChanged(
        participant_id=pid, request_id=rid, kind=kind, item=x.state.current_item, started_at=x.now,
        limit_s=limit_s, resumed=resumed,
    )


def _move(x: Context, command: c.Move) -> list[ev.Fact]:
    if command.request_id not in x.state.queued:
        raise CommandError(_not_waiting(x.state, command.request_id))
    return [ev.RequestMoved(request_id=command.request_id, position=command.position)]


def _close_list(x: Context, command: c.CloseList) -> list[ev.Fact]:
    if x.state.list_closed:
        raise CommandError("the list of speakers is already closed")
    return [ev.ListClosed()]


def _open_list(x: Context, command: c.OpenList) -> list[ev.Fact]:
    if not x.state.list_closed:
        raise CommandError("the list of speakers is already open")
    return [ev.ListOpened()]


def _set_time_limit(x: Context, command: c.SetTimeLimit) -> list[ev.Fact]:
    return [ev.TimeLimitChanged(seconds=command.seconds)]


def _next_item(x: Context, command: c.NextItem) -> list[ev.Fact]:
    state = x.state
    nxt = state.current_item + 1
    if nxt >= len(state.agenda):
        raise CommandError(f"this is the last agenda item ({len(state.agenda)} of {len(state.agenda)})")
    reason = f"agenda item {state.current_item + 1} was closed before this request was reached"
    return [*_close_everything(x, reason), ev.ItemChanged(item=nxt)]


def _close_everything(x: Context, reason: str) -> list[ev.Fact]:
    facts: list[ev.Fact] = [_nobody(x)] if x.state.floor is not None else []
    facts += [ev.RequestDropped(request_id=rid, reason=reason) for rid in x.state.queued]
    return facts


def _add_speaker(x: Context, command: c.AddSpeaker) -> list[ev.Fact]:
    profile = c.Profile(command.name, command.affiliation, command.group, command.mode, command.language)
    joined = joined_fact(x.ids, profile, device=False, added_by=x.actor.participant_id)
    return [joined, request(x.state, x.ids, joined.participant_id, command.kind, "", check_closed=False)]


def _reschedule(x: Context, command: c.Reschedule) -> list[ev.Fact]:
    state = x.state
    return [
        ev.MeetingRescheduled(
            starts_at=command.starts_at or state.starts_at,
            ends_at=command.ends_at or state.ends_at,
            timezone=command.timezone or state.timezone,
            sequence=state.schedule_sequence + 1,
        )
    ]


def _correct_segment(x: Context, command: c.CorrectSegment) -> list[ev.Fact]:
    current = x.state.segment(command.segment_id)
    if current is None:
        raise CommandError(f"there is no transcript segment {command.segment_id!r} in this meeting")
    if current["text"] == command.text:
        raise CommandError("the correction is the same as the current text")
    return [
        ev.SegmentCorrected(
            segment_id=command.segment_id, text=command.text, previous=current["text"], by=x.actor.participant_id
        )
    ]


def _end_meeting(x: Context, command: c.EndMeeting) -> list[ev.Fact]:
    return [*_close_everything(x, "the meeting ended"), ev.MeetingEnded()]


_DECISIONS: dict[type[Any], Callable[[Context, Any], list[ev.Fact]]] = {
    c.RequestFloor: _request_floor,
    c.Withdraw: _withdraw,
    c.FileStatement: _file_statement,
    c.GiveFloor: _give_floor,
    c.Resume: _resume,
    c.EndTurn: _end_turn,
    c.Move: _move,
    c.CloseList: _close_list,
    c.OpenList: _open_list,
    c.SetTimeLimit: _set_time_limit,
    c.NextItem: _next_item,
    c.AddSpeaker: _add_speaker,
    c.Reschedule: _reschedule,
    c.CorrectSegment: _correct_segment,
    c.EndMeeting: _end_meeting,
}


# -- shared by several decisions --------------------------------------------------


def request(
    state: MeetingState, ids: Ids, pid: str, kind: str, text: str, *, check_closed: bool = True
) -> ev.RequestAdded:
    if check_closed and state.list_closed and kind == "intervention":
        raise CommandError(
            "the list of speakers is closed for this item; points of order and replies are still possible"
        )
    if kind == "reply" and state.floor is None:
        raise CommandError("nobody holds the floor, so there is no speaker to reply to; ask for an intervention")
    for req in state.queued.values():
        if req.participant_id == pid and req.kind == kind:
            raise CommandError(
                f"you are already waiting with a {kind.replace('_', ' ')} ({req.request_id}); "
                "withdraw it first to change it"
            )
    return ev.RequestAdded(
        request_id=ids.new("r"),
        participant_id=pid,
        kind=kind,
        text=text,
        item=state.current_item,
        reply_to=state.floor.participant_id if kind == "reply" and state.floor is not None else None,
    )


def _own_waiting(state: MeetingState, actor: c.Actor, request_id: str | None) -> Request:
    manager = actor.role in MANAGERS
    if request_id is None:
        mine = [r for r in state.queued.values() if r.participant_id == actor.participant_id]
        if not mine:
            raise CommandError("you have no request waiting for the floor")
        return min(mine, key=lambda r: r.arrival)
    req = state.queued.get(request_id)
    if req is None:
        raise CommandError(_not_waiting(state, request_id))
    if req.participant_id != actor.participant_id and not manager:
        raise CommandError("you can only withdraw your own request")
    return req


def _not_waiting(state: MeetingState, request_id: str) -> str:
    req = state.requests.get(request_id)
    if req is None:
        return f"there is no request {request_id!r} in this meeting"
    if req.item != state.current_item:
        return f"request {request_id} belongs to an earlier agenda item"
    return f"request {request_id} is not waiting (it is {req.state})"


def join(state: MeetingState, profile: c.Profile, now: float) -> list[ev.Draft]:
    """A participant joins with their own device; returns the participant_joined event."""
    if state.ended_at is not None:
        raise CommandError("this meeting has ended; it can no longer be joined")
    return [ev.Draft(joined_fact(state.ids(), profile), now)]


def joined_fact(ids: Ids, profile: c.Profile, *, device: bool = True, added_by: str | None = None) -> ev.ParticipantJoined:
    return ev.ParticipantJoined(
        participant_id=ids.new("p"), **dataclasses.asdict(profile), device=device, added_by=added_by
    )


def create(
    *,
    title: str,
    agenda: list[str],
    policy: str,
    alternate_after: int,
    max_overtakes: int,
    time_limit_s: int,
    timezone: str,
    now: float,
    starts_at: str | None = None,
    ends_at: str | None = None,
    wait_factor: float = 2.0,
    min_wait: int = 4,
) -> list[ev.Draft]:
    """The first event of a meeting."""
    fact = ev.MeetingCreated(
        title=title,
        agenda=agenda,
        policy=policy,
        alternate_after=alternate_after,
        max_overtakes=max_overtakes,
        time_limit_s=time_limit_s,
        timezone=timezone,
        starts_at=starts_at,
        ends_at=ends_at,
        wait_factor=wait_factor,
        min_wait=min_wait,
    )
    return [ev.Draft(fact, now)]
