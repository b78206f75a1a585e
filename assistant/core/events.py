"""Events: the facts a meeting is made of, and the wire messages built on them.

A meeting is the fold of its events. Each stored event has a per-meeting,
gap-free `seq`; a `Draft` is an event the core has decided on but the store
has not yet numbered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

# Names of stored events. The first block is part of the public contract.
PARTICIPANT_JOINED: Final = "participant_joined"
QUEUE_CHANGED: Final = "queue_changed"
FLOOR_CHANGED: Final = "floor_changed"
SEGMENT: Final = "segment"
SEGMENT_CORRECTED: Final = "segment_corrected"
ITEM_CHANGED: Final = "item_changed"
STATEMENT_FILED: Final = "statement_filed"

MEETING_CREATED: Final = "meeting_created"
MEETING_ENDED: Final = "meeting_ended"
FLOOR_REQUESTED: Final = "floor_requested"
REQUEST_WITHDRAWN: Final = "request_withdrawn"
REQUEST_DROPPED: Final = "request_dropped"
REQUEST_MOVED: Final = "request_moved"
LIST_CLOSED: Final = "list_closed"
LIST_OPENED: Final = "list_opened"
TIME_LIMIT_SET: Final = "time_limit_set"

NAMES: Final = frozenset(
    {
        PARTICIPANT_JOINED,
        QUEUE_CHANGED,
        FLOOR_CHANGED,
        SEGMENT,
        SEGMENT_CORRECTED,
        ITEM_CHANGED,
        STATEMENT_FILED,
        MEETING_CREATED,
        MEETING_ENDED,
        FLOOR_REQUESTED,
        REQUEST_WITHDRAWN,
        REQUEST_DROPPED,
        REQUEST_MOVED,
        LIST_CLOSED,
        LIST_OPENED,
        TIME_LIMIT_SET,
    }
)


@dataclass(frozen=True)
class Draft:
    """An event decided on but not yet stored."""

    name: str
    data: dict[str, Any]
    at: float  # wall-clock seconds since the epoch


@dataclass(frozen=True)
class Event:
    """A stored event: `seq` is its place in the meeting's log, from 1 without gaps."""

    meeting_id: str
    seq: int
    name: str
    data: dict[str, Any]
    at: float

    def to_wire(self) -> dict[str, Any]:
        return {"type": "event", "seq": self.seq, "name": self.name, "data": self.data, "at": self.at}

    def to_json(self) -> str:
        return dumps(self.to_wire())

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        return cls(
            meeting_id=row["meeting_id"],
            seq=int(row["seq"]),
            name=row["name"],
            data=json.loads(row["data"]),
            at=float(row["at"]),
        )


def dumps(message: Any) -> str:
    """Compact JSON, the one encoding used on the wire and in the store."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
