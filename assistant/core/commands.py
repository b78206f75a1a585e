"""Client commands: parsed from JSON into typed values (`decide.py` turns them into facts).

`parse` turns a websocket or HTTP message into a `Command` or raises
`CommandError` with a message that says what to fix. Each command reads its
own fields (`from_fields`). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from .fairqueue import KINDS, MODES


class CommandError(ValueError):
    """The command cannot be carried out; the message says why and what to do."""


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


@dataclass(frozen=True)
class Profile:
    """Who someone is in a meeting, as they join or are added to the list."""

    name: str
    affiliation: str  # country for a government, organisation otherwise
    group: str  # stakeholder group
    mode: str  # onsite | remote
    language: str = ""  # declared spoken language
    role: str = "participant"  # chair | moderator | participant | observer

    @classmethod
    def from_fields(
        cls, f: Fields, *, language: str, role: str = "participant", group: str | None = None, mode: str | None = None
    ) -> Profile:
        """Name, affiliation, group and mode read from `f` (group and mode with defaults where given)."""
        return cls(
            name=f.name("name"),
            affiliation=f.name("affiliation", required=False),
            group=f.choice("group", f.groups, default=group),
            mode=f.choice("mode", MODES, default=mode),
            language=language,
            role=role,
        )


@dataclass(frozen=True)
class Actor:
    participant_id: str | None
    role: str  # chair | moderator | participant | observer | feed | admin


class Fields:
    """Reads and checks the fields of one JSON object, naming any that are wrong."""

    def __init__(
        self, raw: Mapping[str, Any], what: str, limits: Limits, groups: tuple[str, ...] = ()
    ) -> None:
        self.raw, self.what, self.limits, self.groups = raw, what, limits, groups

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
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise CommandError(
                f'{self.what}: "{key}" contains a broken character (a lone UTF-16 surrogate); '
                "send the text as valid Unicode"
            ) from None
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

    def required_id(self, key: str, example: str) -> str:
        value = self.optional_id(key)
        if value is None:
            raise CommandError(f'{self.what} needs "{key}", such as "{example}"')
        return value

    def language(self) -> str:
        lang = self.text("language", 16, required=False)
        if lang and not all(c.isalpha() or c == "-" for c in lang):
            raise CommandError(f'{self.what}: "language" must be a language code such as "en" or "fr"')
        return lang.lower()

    def moment(self, key: str) -> str | None:
        """An ISO 8601 date and time with its UTC offset, such as 2026-12-01T14:00:00+01:00."""
        value = self.text(key, 64, required=False)
        if not value:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.utcoffset() is None:
            raise CommandError(
                f'{self.what}: "{key}" is {value!r}; give a date and time with its offset, '
                "such as 2026-12-01T14:00:00+01:00"
            )
        return parsed.isoformat()


# -- the commands -------------------------------------------------------------
# Each reads its fields; `decide.py` has one decision per command.


class NoFields:
    """A command that is only its op."""

    @classmethod
    def from_fields(cls, f: Fields) -> Any:
        return cls()


@dataclass(frozen=True)
class RequestFloor:
    OP: ClassVar[str] = "request_floor"
    kind: str = "intervention"
    text: str = ""

    @classmethod
    def from_fields(cls, f: Fields) -> RequestFloor:
        return cls(
            kind=f.choice("kind", KINDS, default="intervention"),
            text=f.text("text", f.limits.max_text_chars, required=False),
        )


@dataclass(frozen=True)
class Withdraw:
    OP: ClassVar[str] = "withdraw"
    request_id: str | None = None

    @classmethod
    def from_fields(cls, f: Fields) -> Withdraw:
        return cls(f.optional_id("request_id"))


@dataclass(frozen=True)
class FileStatement:
    OP: ClassVar[str] = "file_statement"
    title: str
    text: str

    @classmethod
    def from_fields(cls, f: Fields) -> FileStatement:
        return cls(
            title=f.text("title", f.limits.max_title_chars),
            text=f.text("text", f.limits.max_statement_chars),
        )


@dataclass(frozen=True)
class GiveFloor:
    OP: ClassVar[str] = "give_floor"
    request_id: str | None = None

    @classmethod
    def from_fields(cls, f: Fields) -> GiveFloor:
        return cls(f.optional_id("request_id"))


@dataclass(frozen=True)
class Resume(NoFields):
    """The speaker a point of order interrupted takes the floor back, with the time they had left."""

    OP: ClassVar[str] = "resume"


@dataclass(frozen=True)
class EndTurn(NoFields):
    OP: ClassVar[str] = "end_turn"


@dataclass(frozen=True)
class Move:
    OP: ClassVar[str] = "move"
    request_id: str
    position: int

    @classmethod
    def from_fields(cls, f: Fields) -> Move:
        return cls(f.required_id("request_id", "r12"), f.integer("position", 0, 100_000))


@dataclass(frozen=True)
class CloseList(NoFields):
    OP: ClassVar[str] = "close_list"


@dataclass(frozen=True)
class OpenList(NoFields):
    OP: ClassVar[str] = "open_list"


@dataclass(frozen=True)
class NextItem(NoFields):
    OP: ClassVar[str] = "next_item"


@dataclass(frozen=True)
class SetTimeLimit:
    OP: ClassVar[str] = "set_time_limit"
    seconds: int

    @classmethod
    def from_fields(cls, f: Fields) -> SetTimeLimit:
        return cls(f.integer("seconds", 0, 24 * 3600))


@dataclass(frozen=True)
class AddSpeaker:
    OP: ClassVar[str] = "add_speaker"
    name: str
    group: str
    mode: str
    kind: str = "intervention"
    affiliation: str = ""
    language: str = ""

    @classmethod
    def from_fields(cls, f: Fields) -> AddSpeaker:
        return cls(
            name=f.name("name"),
            group=f.choice("group", f.groups),
            mode=f.choice("mode", MODES),
            kind=f.choice("kind", KINDS, default="intervention"),
            affiliation=f.name("affiliation", required=False),
            language=f.language(),
        )


@dataclass(frozen=True)
class Reschedule:
    """New start and end times (and time zone) for the meeting: every invitation follows."""

    OP: ClassVar[str] = "reschedule"
    starts_at: str | None
    ends_at: str | None
    timezone: str | None = None

    @classmethod
    def from_fields(cls, f: Fields) -> Reschedule:
        starts, ends = f.moment("starts_at"), f.moment("ends_at")
        if starts is None and ends is None:
            raise CommandError('reschedule needs "starts_at" and/or "ends_at" (ISO 8601 with offset)')
        if starts and ends and datetime.fromisoformat(ends) <= datetime.fromisoformat(starts):
            raise CommandError('reschedule: "ends_at" must be after "starts_at"')
        return cls(starts, ends, f.text("timezone", 64, required=False) or None)


@dataclass(frozen=True)
class EndMeeting(NoFields):
    OP: ClassVar[str] = "end_meeting"


@dataclass(frozen=True)
class CorrectSegment:
    OP: ClassVar[str] = "correct_segment"
    segment_id: str
    text: str

    @classmethod
    def from_fields(cls, f: Fields) -> CorrectSegment:
        return cls(f.required_id("segment_id", "g40"), f.text("text", f.limits.max_text_chars))


Command = (
    RequestFloor
    | Withdraw
    | FileStatement
    | GiveFloor
    | Resume
    | EndTurn
    | Move
    | CloseList
    | OpenList
    | NextItem
    | SetTimeLimit
    | AddSpeaker
    | Reschedule
    | EndMeeting
    | CorrectSegment
)

OPS: dict[str, Any] = {
    cls.OP: cls
    for cls in (
        RequestFloor,
        Withdraw,
        FileStatement,
        GiveFloor,
        Resume,
        EndTurn,
        Move,
        CloseList,
        OpenList,
        NextItem,
        SetTimeLimit,
        AddSpeaker,
        Reschedule,
        EndMeeting,
        CorrectSegment,
    )
}
MANAGER_OPS = (GiveFloor, Resume, EndTurn, Move, CloseList, OpenList, NextItem, SetTimeLimit, AddSpeaker, CorrectSegment)
CHAIR_OPS = (EndMeeting, Reschedule)


def parse(message: Any, limits: Limits, groups: tuple[str, ...]) -> Command:
    if not isinstance(message, Mapping):
        raise CommandError('a command must be a JSON object with an "op"')
    op = message.get("op")
    if not isinstance(op, str) or op not in OPS:
        raise CommandError(
            f"unknown op {op!r}; known ops: {', '.join(OPS)}"
            if op is not None
            else f'the command has no "op"; known ops: {", ".join(OPS)}'
        )
    command: Command = OPS[op].from_fields(Fields(message, op, limits, groups))
    return command


def op_name(command: Command) -> str:
    return command.OP.replace("_", " ")
