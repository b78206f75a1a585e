"""Equity figures for a real meeting: who held the floor, who waited, what became of written requests.

A pure function over plain values (no clock, no I/O) for the chair's report and console:
`equity(people, turns, requests, now=...)`. The caller chooses the people counted (usually
everyone who may ask for the floor, without the chair); turns by anyone else are left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Person:
    participant_id: str
    group: str  # stakeholder group
    mode: str  # onsite | remote


@dataclass(frozen=True)
class Spoken:
    """A turn at the floor."""

    participant_id: str
    start: float  # seconds, any clock shared with the requests
    end: float | None  # None: still speaking (counted up to `now`)
    kind: str  # point_of_order | reply | intervention
    request_id: str | None = None  # the request it answered, if any


@dataclass(frozen=True)
class Asked:
    """A request for the floor."""

    request_id: str
    participant_id: str
    kind: str
    written: bool  # a written intervention (text to read out)
    state: str  # waiting | speaking | done | withdrawn | dropped
    asked_at: float
    closed_at: float | None = None  # when it was withdrawn or dropped


@dataclass(frozen=True)
class Share:
    """One group or mode: its part of the room against its part of the speaking time."""

    name: str
    participants: int
    participant_share: float  # 0..1
    turns: int
    seconds: float
    time_share: float  # 0..1


@dataclass(frozen=True)
class Wait:
    request_id: str
    participant_id: str
    seconds: float  # until the floor, the close, or `now` when still waiting
    outcome: str  # answered | withdrawn | dropped | waiting


@dataclass(frozen=True)
class Written:
    asked: int
    answered: int  # given the floor (read out)
    closed: int  # withdrawn or dropped without being read out
    waiting: int


@dataclass(frozen=True)
class Equity:
    by_group: tuple[Share, ...]
    by_mode: tuple[Share, ...]
    longest_waits: tuple[Wait, ...]  # longest first
    written: Written
    sentence: str  # one line a reader can quote

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def equity(
    people: Iterable[Person],
    turns: Iterable[Spoken],
    requests: Iterable[Asked],
    *,
    now: float,
    longest: int = 5,
) -> Equity:
    """The equity figures of a meeting so far."""
    room = {p.participant_id: p for p in people}
    spoken = [t for t in turns if t.participant_id in room]
    asked = [r for r in requests if r.participant_id in room]
    seconds = {pid: 0.0 for pid in room}
    counts = {pid: 0 for pid in room}
    for t in spoken:
        seconds[t.participant_id] += max(0.0, (now if t.end is None else t.end) - t.start)
        counts[t.participant_id] += 1
    by_group = _shares(room.values(), seconds, counts, lambda p: p.group)
    by_mode = _shares(room.values(), seconds, counts, lambda p: p.mode)
    given: dict[str, float] = {}
    for t in sorted(spoken, key=lambda t: t.start):
        if t.request_id is not None:
            given.setdefault(t.request_id, t.start)
    waits = sorted((_wait(r, given.get(r.request_id), now) for r in asked), key=lambda w: -w.seconds)
    written = [r for r in asked if r.written]
    figures = Written(
        asked=len(written),
        answered=sum(1 for r in written if r.request_id in given),
        closed=sum(1 for r in written if r.request_id not in given and r.state in ("withdrawn", "dropped")),
        waiting=sum(1 for r in written if r.request_id not in given and r.state == "waiting"),
    )
    return Equity(by_group, by_mode, tuple(waits[:longest]), figures, _sentence(by_group, by_mode, figures))


def _shares(
    people: Iterable[Person], seconds: dict[str, float], counts: dict[str, int], of: Callable[[Person], str]
) -> tuple[Share, ...]:
    members: dict[str, list[str]] = {}
    for p in people:
        members.setdefault(of(p), []).append(p.participant_id)
    total_people = sum(len(m) for m in members.values()) or 1
    total_s = sum(seconds.values())
    shares = [
        Share(
            name=name,
            participants=len(ids),
            participant_share=len(ids) / total_people,
            turns=sum(counts[i] for i in ids),
            seconds=sum(seconds[i] for i in ids),
            time_share=sum(seconds[i] for i in ids) / total_s if total_s else 0.0,
        )
        for name, ids in members.items()
    ]
    return tuple(sorted(shares, key=lambda s: (-s.participants, s.name)))


def _wait(r: Asked, given_at: float | None, now: float) -> Wait:
    if given_at is not None:
        return Wait(r.request_id, r.participant_id, max(0.0, given_at - r.asked_at), "answered")
    if r.state in ("withdrawn", "dropped"):
        end = r.closed_at if r.closed_at is not None else now
        return Wait(r.request_id, r.participant_id, max(0.0, end - r.asked_at), r.state)
    return Wait(r.request_id, r.participant_id, max(0.0, now - r.asked_at), "waiting")


def _sentence(by_group: Sequence[Share], by_mode: Sequence[Share], written: Written) -> str:
    if not any(s.seconds for s in by_group):
        return "Nobody has held the floor yet."
    parts = []
    if len(by_group) > 1:
        low = min(by_group, key=lambda s: (s.time_share - s.participant_share, s.name))
        parts.append(f"{low.name.capitalize()} made up {_pct(low.participant_share)} of participants "
                     f"and held {_pct(low.time_share)} of speaking time")
    remote = next((s for s in by_mode if s.name == "remote"), None)
    if remote is not None and len(by_mode) > 1:
        parts.append(f"remote participants, {_pct(remote.participant_share)} of participants, "
                     f"held {_pct(remote.time_share)}")
    if written.asked:
        parts.append(f"{written.answered} of {written.asked} written interventions were read out")
    if not parts:
        return "Everyone here is in one group and one mode; no comparison to make."
    return "; ".join(parts) + "."


def _pct(share: float) -> str:
    return f"{round(100 * share)} %"
