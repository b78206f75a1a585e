"""Client commands: parsed from JSON into typed values, then decided into events.

`parse` turns a websocket or HTTP message into a `Command` or raises
`CommandError` with a message that says what to fix. `decide` checks the
command against the meeting state and the actor's role and returns the
events it causes, followed by a `queue_changed` event when the published
queue would change. Both are pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from . import events as ev
from .fairqueue import KINDS, MODES
from .meeting import MANAGERS, MeetingState, floor_data


class Limits(Protocol):
    """The size limits a command is checked against (`[limits]` in config.toml)."""

    @property
    def max_name_chars(self) -> int: ...
    @property
    def max_text_chars(self) -> int: ...
    @property
    def max_statement_chars(self) -> int: ...
    @property
    def max_title_chars(self) -> int: ...


class CommandError(ValueError):
    """The command cannot be carried out; the message says why and what to do."""


@dataclass(frozen=True)
class Actor:
    participant_id: str | None
    role: str  # chair | moderator | participant | observer | feed | admin


@dataclass(frozen=True)
class RequestFloor:
    kind: str = "intervention"
    text: str = ""


@dataclass(frozen=True)
class Withdraw:
    request_id: str | None = None


@dataclass(frozen=True)
class FileStatement:
    title: str
    text: str


@dataclass(frozen=True)
class GiveFloor:
    request_id: str | None = None


@dataclass(frozen=True)
class EndTurn:
    pass


@dataclass(frozen=True)
class Move:
    request_id: str
    position: int


@dataclass(frozen=True)
class CloseList:
    pass


@dataclass(frozen=True)
class OpenList:
    pass


@dataclass(frozen=True)
class NextItem:
    pass


@dataclass(frozen=True)
class SetTimeLimit:
    seconds: int


@dataclass(frozen=True)
class AddSpeaker:
    name: str
    group: str
    mode: str
    kind: str = "intervention"
    affiliation: str = ""
    language: str = ""


@dataclass(frozen=True)
class EndMeeting:
    pass


@dataclass(frozen=True)
class CorrectSegment:
    segment_id: str
    text: str


Command = (
    RequestFloor
    | Withdraw
    | FileStatement
    | GiveFloor
    | EndTurn
    | Move
    | CloseList
    | OpenList
    | NextItem
    | SetTimeLimit
    | AddSpeaker
    | EndMeeting
    | CorrectSegment
)

OPS: dict[str, type[Any]] = {
    "request_floor": RequestFloor,
    "withdraw": Withdraw,
    "file_statement": FileStatement,
    "give_floor": GiveFloor,
    "end_turn": EndTurn,
    "move": Move,
    "close_list": CloseList,
    "open_list": OpenList,
    "next_item": NextItem,
    "set_time_limit": SetTimeLimit,
    "add_speaker": AddSpeaker,
    "end_meeting": EndMeeting,
    "correct_segment": CorrectSegment,
}
MANAGER_OPS = (GiveFloor, EndTurn, Move, CloseList, OpenList, NextItem, SetTimeLimit, AddSpeaker, CorrectSegment)
CHAIR_OPS = (EndMeeting,)


# -- parsing ---------------------------------------------------------------


class Fields:
    """Reads and checks the fields of one JSON object, naming any that are wrong."""

    def __init__(self, raw: Mapping[str, Any], what: str, limits: Limits) -> None:
        self.raw, self.what, self.limits = raw, what, limits

    def text(self, key: str, max_chars: int, *, required: bool = True, default: str = "") -> str:
        value = self.raw.get(key)
        if value is None:
            if required:
                raise CommandError(f'{self.what} needs "{key}" (a string)')
            return default
        if not isinstance(value, str):
            raise CommandError(f'{self.what}: "{key}" must be a string, not {type(value).__name__}')
        value = value.strip()
        if required and not value:
            raise CommandError(f'{self.what}: "{key}" must not be empty')
        if len(value) > max_chars:
            raise CommandError(
                f'{self.what}: "{key}" is {len(value)} characters; at most {max_chars} are allowed'
            )
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            raise CommandError(f'{self.what}: "{key}" contains control characters')
        return value

    def name(self, key: str, *, required: bool = True) -> str:
        value = self.text(key, self.limits.max_name_chars, required=required)
        if "\n" in value:
            raise CommandError(f'{self.what}: "{key}" must be a single line')
        return value

    def choice(self, key: str, allowed: tuple[str, ...], *, default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if value is None:
            raise CommandError(f'{self.what} needs "{key}", one of: {", ".join(allowed)}')
        if value not in allowed:
            raise CommandError(f'{self.what}: "{key}" is {value!r}; allowed values: {", ".join(allowed)}')
        return str(value)

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise CommandError(f'{self.what} needs "{key}", a whole number from {low} to {high}')
        if not low <= value <= high:
            raise CommandError(f'{self.what}: "{key}" is {value}; allowed: {low} to {high}')
        return value

    def optional_id(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value or len(value) > 64:
            raise CommandError(f'{self.what}: "{key}" must be an id string such as "r12"')
        return value


def parse(message: Any, limits: Limits, groups: tuple[str, ...]) -> Command:
    if not isinstance(message, Mapping):
        raise CommandError('a command must be a JSON object with an "op"')
    op = message.get("op")
    if op not in OPS:
        raise CommandError(
            f"unknown op {op!r}; known ops: {', '.join(OPS)}"
            if op is not None
            else f'the command has no "op"; known ops: {", ".join(OPS)}'
        )
    f = Fields(message, op, limits)
    if op == "request_floor":
        return RequestFloor(
            kind=f.choice("kind", KINDS, default="intervention"),
            text=f.text("text", limits.max_text_chars, required=False),
        )
    if op == "withdraw":
        return Withdraw(f.optional_id("request_id"))
    if op == "file_statement":
        return FileStatement(
            title=f.text("title", limits.max_title_chars),
            text=f.text("text", limits.max_statement_chars),
        )
    if op == "give_floor":
        return GiveFloor(f.optional_id("request_id"))
    if op == "move":
        rid = f.optional_id("request_id")
        if rid is None:
            raise CommandError('move needs "request_id"')
        return Move(rid, f.integer("position", 0, 100_000))
    if op == "set_time_limit":
        return SetTimeLimit(f.integer("seconds", 0, 24 * 3600))
    if op == "add_speaker":
        return AddSpeaker(
            name=f.name("name"),
            group=f.choice("group", groups),
            mode=f.choice("mode", MODES),
            kind=f.choice("kind", KINDS, default="intervention"),
            affiliation=f.name("affiliation", required=False),
            language=language_of(f),
        )
    if op == "correct_segment":
        sid = f.optional_id("segment_id")
        if sid is None:
            raise CommandError('correct_segment needs "segment_id", such as "g40"')
        return CorrectSegment(sid, f.text("text", limits.max_text_chars))
    return OPS[op]()  # type: ignore[no-any-return]


def language_of(f: Fields) -> str:
    lang = f.text("language", 16, required=False)
    if lang and not all(c.isalpha() or c == "-" for c in lang):
        raise CommandError(f'{f.what}: "language" must be a language code such as "en" or "fr"')
    return lang.lower()


# -- deciding --------------------------------------------------------------


def decide(state: MeetingState, actor: Actor, command: Command, now: float) -> list[ev.Draft]:
    """The events `command` causes, or CommandError; nothing changes here."""
    if state.ended_at is not None and not isinstance(command, CorrectSegment):
        raise CommandError("this meeting has ended; only corrections to its transcript can be made")
    _authorize(actor, command)
    facts = _facts(state, actor, command, now)
    return with_queue(state, facts)


def with_queue(state: MeetingState, facts: list[ev.Draft]) -> list[ev.Draft]:
    """Append a queue_changed event if `facts` change the published queue."""
    trial = state.clone()
    for i, draft in enumerate(facts):
        trial.apply(ev.Event(state.meeting_id, state.seq + i + 1, draft.name, draft.data, draft.at))
    queue = trial.queue_view()
    if queue != trial.queue:
        at = facts[-1].at if facts else 0.0
        facts = [*facts, ev.Draft(ev.QUEUE_CHANGED, {"queue": queue}, at)]
    return facts


def _authorize(actor: Actor, command: Command) -> None:
    if actor.role == "observer" or actor.role == "feed":
        raise CommandError("an observer's token can watch the meeting but not act in it")
    if isinstance(command, CHAIR_OPS) and actor.role != "chair":
        raise CommandError(f"only the chair can {_op_name(command)}")
    if isinstance(command, MANAGER_OPS) and actor.role not in MANAGERS:
        raise CommandError(f"only the chair or a moderator can {_op_name(command)}")
    if actor.participant_id is None and isinstance(command, RequestFloor | FileStatement | Withdraw):
        raise CommandError("join the meeting as a participant first")


def _op_name(command: Command) -> str:
    return next(op for op, cls in OPS.items() if isinstance(command, cls)).replace("_", " ")


def _new_id(state: MeetingState, prefix: str, offset: int = 1) -> str:
    """Ids are the seq of the event that creates the thing: unique and replayable."""
    return f"{prefix}{state.seq + offset}"


def _facts(state: MeetingState, actor: Actor, command: Command, now: float) -> list[ev.Draft]:
    def draft(event_name: str, /, **data: Any) -> ev.Draft:
        return ev.Draft(event_name, data, now)

    if isinstance(command, RequestFloor):
        pid = actor.participant_id
        assert pid is not None
        return [_request(state, pid, command.kind, command.text, now, offset=1)]

    if isinstance(command, Withdraw):
        req = _own_waiting(state, actor, command.request_id)
        return [draft(ev.REQUEST_WITHDRAWN, request_id=req.request_id, by=actor.participant_id)]

    if isinstance(command, FileStatement):
        return [
            draft(
                ev.STATEMENT_FILED,
                statement_id=_new_id(state, "s"),
                participant_id=actor.participant_id,
                title=command.title,
                text=command.text,
                item=state.current_item,
            )
        ]

    if isinstance(command, GiveFloor):
        waiting = {r.request_id: r for r in state.waiting()}
        if command.request_id is None:
            projected = state.projected()
            if not projected:
                raise CommandError("nobody is waiting for the floor on this agenda item")
            req = state.requests[projected[0].request.request_id]
        else:
            if command.request_id not in waiting:
                raise CommandError(_not_waiting(state, command.request_id))
            req = waiting[command.request_id]
        return [
            draft(
                ev.FLOOR_CHANGED,
                **floor_data(state, req.participant_id, req.request_id, req.kind, now, state.time_limit_s),
            )
        ]

    if isinstance(command, EndTurn):
        if state.floor is None:
            raise CommandError("nobody holds the floor")
        return [draft(ev.FLOOR_CHANGED, **floor_data(state, None, None, None, now, state.time_limit_s))]

    if isinstance(command, Move):
        if command.request_id not in {r.request_id for r in state.waiting()}:
            raise CommandError(_not_waiting(state, command.request_id))
        return [draft(ev.REQUEST_MOVED, request_id=command.request_id, position=command.position)]

    if isinstance(command, CloseList):
        if state.list_closed:
            raise CommandError("the list of speakers is already closed")
        return [draft(ev.LIST_CLOSED)]

    if isinstance(command, OpenList):
        if not state.list_closed:
            raise CommandError("the list of speakers is already open")
        return [draft(ev.LIST_OPENED)]

    if isinstance(command, SetTimeLimit):
        facts = [draft(ev.TIME_LIMIT_SET, seconds=command.seconds)]
        turn = state.floor
        if turn is not None:
            facts.append(
                draft(
                    ev.FLOOR_CHANGED,
                    **floor_data(
                        state,
                        turn.participant_id,
                        turn.request_id,
                        turn.kind,
                        turn.started_at,
                        command.seconds,
                    ),
                )
            )
        return facts

    if isinstance(command, NextItem):
        nxt = state.current_item + 1
        if nxt >= len(state.agenda):
            raise CommandError(f"this is the last agenda item ({len(state.agenda)} of {len(state.agenda)})")
        facts = []
        if state.floor is not None:
            facts.append(
                draft(ev.FLOOR_CHANGED, **floor_data(state, None, None, None, now, state.time_limit_s))
            )
        for req in state.waiting():
            facts.append(
                draft(
                    ev.REQUEST_DROPPED,
                    request_id=req.request_id,
                    reason=f"agenda item {state.current_item + 1} was closed before this request was reached",
                )
            )
        facts.append(draft(ev.ITEM_CHANGED, item=nxt, title=state.agenda[nxt]))
        return facts

    if isinstance(command, AddSpeaker):
        pid = _new_id(state, "p")
        joined = draft(
            ev.PARTICIPANT_JOINED,
            participant_id=pid,
            name=command.name,
            affiliation=command.affiliation,
            group=command.group,
            mode=command.mode,
            language=command.language,
            role="participant",
            device=False,
            added_by=actor.participant_id,
        )
        return [joined, _request(state, pid, command.kind, "", now, offset=2, check_closed=False)]

    if isinstance(command, CorrectSegment):
        current = state.segment(command.segment_id)
        if current is None:
            raise CommandError(f"there is no transcript segment {command.segment_id!r} in this meeting")
        if current["text"] == command.text:
            raise CommandError("the correction is the same as the current text")
        return [
            draft(
                ev.SEGMENT_CORRECTED,
                segment_id=command.segment_id,
                text=command.text,
                previous=current["text"],
                by=actor.participant_id,
            )
        ]

    if isinstance(command, EndMeeting):
        facts = []
        if state.floor is not None:
            facts.append(
                draft(ev.FLOOR_CHANGED, **floor_data(state, None, None, None, now, state.time_limit_s))
            )
        for req in state.waiting():
            facts.append(draft(ev.REQUEST_DROPPED, request_id=req.request_id, reason="the meeting ended"))
        facts.append(draft(ev.MEETING_ENDED))
        return facts

    raise CommandError(f"unsupported command {command!r}")  # pragma: no cover


def _request(
    state: MeetingState,
    pid: str,
    kind: str,
    text: str,
    now: float,
    *,
    offset: int,
    check_closed: bool = True,
) -> ev.Draft:
    if check_closed and state.list_closed and kind == "intervention":
        raise CommandError(
            "the list of speakers is closed for this item; points of order and replies are still possible"
        )
    if kind == "reply" and state.floor is None:
        raise CommandError(
            "nobody holds the floor, so there is no speaker to reply to; ask for an intervention"
        )
    for req in state.waiting():
        if req.participant_id == pid and req.kind == kind:
            raise CommandError(
                f"you are already waiting with a {kind.replace('_', ' ')} ({req.request_id}); "
                "withdraw it first to change it"
            )
    return ev.Draft(
        ev.FLOOR_REQUESTED,
        {
            "request_id": _new_id(state, "r", offset),
            "participant_id": pid,
            "kind": kind,
            "text": text,
            "item": state.current_item,
        },
        now,
    )


def _own_waiting(state: MeetingState, actor: Actor, request_id: str | None) -> Any:
    manager = actor.role in MANAGERS
    mine = [r for r in state.waiting() if r.participant_id == actor.participant_id]
    if request_id is None:
        if not mine:
            raise CommandError("you have no request waiting for the floor")
        return min(mine, key=lambda r: r.arrival)
    req = state.requests.get(request_id)
    if req is None or req.state != "waiting" or req.item != state.current_item:
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


def join(
    state: MeetingState,
    *,
    name: str,
    affiliation: str,
    group: str,
    mode: str,
    language: str,
    role: str,
    now: float,
    device: bool = True,
) -> list[ev.Draft]:
    """A participant joins; returns the participant_joined event (its id is `p` + its seq)."""
    if state.ended_at is not None:
        raise CommandError("this meeting has ended; it can no longer be joined")
    data = {
        "participant_id": _new_id(state, "p"),
        "name": name,
        "affiliation": affiliation,
        "group": group,
        "mode": mode,
        "language": language,
        "role": role,
        "device": device,
    }
    return [ev.Draft(ev.PARTICIPANT_JOINED, data, now)]


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
) -> list[ev.Draft]:
    """The first event of a meeting."""
    data = {
        "title": title,
        "agenda": agenda,
        "policy": policy,
        "alternate_after": alternate_after,
        "max_overtakes": max_overtakes,
        "time_limit_s": time_limit_s,
        "timezone": timezone,
    }
    return [ev.Draft(ev.MEETING_CREATED, data, now)]
