"""The fair speaking queue: who gets the floor next, and why.

Pure functions over plain values; no clock, no I/O. The meeting state calls
`project` to publish the queue (the order in which the floor would be given
if nothing changed) and `overtaken_by` / `ItemStats.after_turn` when the
floor really changes hands.

Policy `balanced` (DESIGN section 3), among requests waiting in one item:
1. points of order, in arrival order;
2. replies to the current speaker, in arrival order;
3. interventions, by
   a. fewer interventions already made in this item,
   b. onsite/remote alternation: after `alternate_after` consecutive turns of
      one mode, a request of the other mode goes first,
   c. the stakeholder group with less speaking time in this item,
   d. arrival;
   and no intervention is overtaken (the floor given to a later arrival
   while it waits) more than `max_overtakes` times.
Points of order and replies overtake nobody: they are priority by rule.
Policy `fifo` is plain arrival order. The chair can pin a request to a
position; pinned requests keep that position whatever the policy says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

KINDS = ("point_of_order", "reply", "intervention")
MODES = ("onsite", "remote")

_ORDINAL = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


@dataclass(frozen=True)
class Policy:
    name: str = "balanced"  # "balanced" | "fifo"
    alternate_after: int = 2
    max_overtakes: int = 3
    estimate_s: float = 180.0  # assumed length of a projected turn, for criterion c


@dataclass(frozen=True)
class Waiting:
    """A request for the floor as the policy sees it."""

    request_id: str
    participant_id: str
    kind: str
    mode: str
    group: str
    arrival: int  # increasing within a meeting
    overtakes: int = 0


@dataclass(frozen=True)
class ItemStats:
    """What has happened so far in the current agenda item."""

    interventions: Mapping[str, int] = field(default_factory=dict)  # participant -> count
    streak_mode: str | None = None  # mode of the latest turns
    streak_len: int = 0  # how many consecutive turns of that mode
    group_time: Mapping[str, float] = field(default_factory=dict)  # group -> seconds

    def after_turn(self, kind: str, participant_id: str, mode: str) -> ItemStats:
        """The stats once a turn of this kind has started."""
        interventions = dict(self.interventions)
        if kind == "intervention":
            interventions[participant_id] = interventions.get(participant_id, 0) + 1
        streak = self.streak_len + 1 if mode == self.streak_mode else 1
        return dataclasses.replace(self, interventions=interventions, streak_mode=mode, streak_len=streak)

    def with_time(self, group: str, seconds: float) -> ItemStats:
        group_time = dict(self.group_time)
        group_time[group] = group_time.get(group, 0.0) + max(0.0, seconds)
        return dataclasses.replace(self, group_time=group_time)


@dataclass(frozen=True)
class Placed:
    request: Waiting
    reason: str


def overtaken_by(given: Waiting, waiting: Iterable[Waiting]) -> list[str]:
    """Requests overtaken when `given` gets the floor: earlier interventions still waiting."""
    if given.kind != "intervention":
        return []
    return [
        w.request_id
        for w in waiting
        if w.kind == "intervention" and w.arrival < given.arrival and w.request_id != given.request_id
    ]


def project(
    waiting: Sequence[Waiting],
    stats: ItemStats,
    policy: Policy,
    pins: Mapping[str, int] | None = None,
) -> list[Placed]:
    """The order in which the floor would be given if nothing changed, with reasons.

    Simulates giving the floor one request at a time, updating the item's
    stats and the overtake counts as a real turn would.
    """
    pins = pins or {}
    remaining = {w.request_id: w for w in waiting}
    placed: list[Placed] = []
    while remaining:
        position = len(placed)
        due = [remaining[r] for r, p in pins.items() if r in remaining and p <= position]
        free = [w for w in remaining.values() if w.request_id not in pins]
        if due:
            chosen = min(due, key=lambda w: (pins[w.request_id], w.arrival))
            reason = "placed here by the chair"
        elif free:
            chosen, reason = pick(free, stats, policy)
        else:  # only pins further down than the queue is long: close the gap
            chosen = min(remaining.values(), key=lambda w: (pins[w.request_id], w.arrival))
            reason = "placed here by the chair"
        placed.append(Placed(chosen, reason))
        del remaining[chosen.request_id]
        passed = set(overtaken_by(chosen, remaining.values()))
        for rid in passed:
            w = remaining[rid]
            remaining[rid] = dataclasses.replace(w, overtakes=w.overtakes + 1)
        stats = stats.after_turn(chosen.kind, chosen.participant_id, chosen.mode)
        if chosen.kind == "intervention":
            stats = stats.with_time(chosen.group, policy.estimate_s)
    return placed


def pick(waiting: Sequence[Waiting], stats: ItemStats, policy: Policy) -> tuple[Waiting, str]:
    """The request that gets the floor next under `policy`, and why."""
    if not waiting:
        raise ValueError("nobody is waiting")
    if policy.name == "fifo":
        return min(waiting, key=lambda w: w.arrival), "in order of arrival"
    for kind, label in (("point_of_order", "point of order"), ("reply", "reply to the current speaker")):
        of_kind = [w for w in waiting if w.kind == kind]
        if of_kind:
            return min(of_kind, key=lambda w: w.arrival), label
    return _pick_intervention([w for w in waiting if w.kind == "intervention"], stats, policy)


def _pick_intervention(waiting: Sequence[Waiting], stats: ItemStats, policy: Policy) -> tuple[Waiting, str]:
    def key(w: Waiting) -> tuple[int, int, float, int]:
        alternate = int(stats.streak_len >= policy.alternate_after and w.mode == stats.streak_mode)
        return (
            stats.interventions.get(w.participant_id, 0),
            alternate,
            stats.group_time.get(w.group, 0.0),
            w.arrival,
        )

    saturated = [w for w in waiting if w.overtakes >= policy.max_overtakes]
    if saturated:
        # Nobody may pass a request that has been overtaken max_overtakes times.
        oldest = min(w.arrival for w in saturated)
        allowed = [w for w in waiting if w.arrival <= oldest]
    else:
        allowed = list(waiting)
    ranked = sorted(allowed, key=key)
    best = ranked[0]
    if len(allowed) < len(waiting) and min(waiting, key=key) is not best:
        return best, f"passed over {best.overtakes} times: no later request may go first"
    runner_up = ranked[1] if len(ranked) > 1 else None
    return best, _reason(best, runner_up, key, stats)


def _reason(best: Waiting, runner_up: Waiting | None, key: object, stats: ItemStats) -> str:
    turns = stats.interventions.get(best.participant_id, 0)
    first = "first time speaking on this item"
    if runner_up is not None:
        k = key(best), key(runner_up)  # type: ignore[operator]
        if k[0][0] != k[1][0]:
            return first if turns == 0 else f"fewer turns on this item ({turns}) than others waiting"
        if k[0][1] != k[1][1]:
            other = "onsite" if best.mode == "remote" else "remote"
            count = _ORDINAL.get(stats.streak_len, str(stats.streak_len))
            plural = "speaker" if stats.streak_len == 1 else "speakers"
            return f"{best.mode}, after {count} {other} {plural}"
        if k[0][2] != k[1][2]:
            return f"{best.group}: less speaking time on this item"
    if turns == 0:
        return f"{first}, in order of arrival"
    return f"in order of arrival (spoke {turns} time{'s' if turns != 1 else ''} on this item)"
