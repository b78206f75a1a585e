"""The fair queue as it was before its projection was made faster (commit f7da08c), kept only as the
reference that `tests/test_fairqueue_reference.py` compares `assistant.core.fairqueue.project` with:
the same order and the same reasons, on many random queues. Not used by the package.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

KINDS = ("point_of_order", "reply", "intervention")
MODES = ("onsite", "remote")
POLICY_NAMES = ("balanced", "balanced_v1", "fifo")

PINNED = "placed here by the chair"


@dataclass(frozen=True)
class Policy:
    name: str = "balanced"  # "balanced" | "balanced_v1" | "fifo"
    alternate_after: int = 2
    max_overtakes: int = 3  # balanced_v1 only
    estimate_s: float = 180.0  # assumed length of a projected turn, for the group rule
    wait_factor: float = 2.0  # balanced: the waiting limit, per request waiting on asking
    min_wait: int = 4  # balanced: the waiting limit when few were waiting


@dataclass(slots=True)
class Waiting:
    """A request for the floor as the policy sees it; never changed once made (`dataclasses.replace`).

    Not frozen: one is made for every waiting request at every projection, and a frozen dataclass
    costs three times as much to make (600 waiting: 1.0 ms against 0.3 ms)."""

    request_id: str
    participant_id: str
    kind: str
    mode: str
    group: str
    arrival: int  # increasing within a meeting
    overtakes: int = 0  # balanced_v1: times the floor went to a later intervention
    waited: int = 0  # turns given (any kind) since it was asked
    ahead: int = 0  # requests waiting in the item when it was asked


@dataclass(frozen=True)
class ItemStats:
    """What has happened so far in the current agenda item, and in the meeting."""

    interventions: Mapping[str, int] = field(default_factory=dict)  # participant -> count on the item
    streak_mode: str | None = None  # mode of the latest turns
    streak_len: int = 0  # how many consecutive turns of that mode
    group_time: Mapping[str, float] = field(default_factory=dict)  # group -> seconds on the item
    meeting_interventions: Mapping[str, int] = field(default_factory=dict)  # participant -> count, all items

    def after_turn(self, kind: str, participant_id: str, mode: str) -> ItemStats:
        """The stats once a turn of this kind has started."""
        interventions = dict(self.interventions)
        meeting = dict(self.meeting_interventions)
        if kind == "intervention":
            interventions[participant_id] = interventions.get(participant_id, 0) + 1
            meeting[participant_id] = meeting.get(participant_id, 0) + 1
        streak = self.streak_len + 1 if mode == self.streak_mode else 1
        return dataclasses.replace(
            self, interventions=interventions, meeting_interventions=meeting, streak_mode=mode, streak_len=streak
        )

    def with_time(self, group: str, seconds: float) -> ItemStats:
        group_time = dict(self.group_time)
        group_time[group] = group_time.get(group, 0.0) + max(0.0, seconds)
        return dataclasses.replace(self, group_time=group_time)

    def next_item(self) -> ItemStats:
        """Fresh stats for a new agenda item; the meeting-wide counts carry over."""
        return ItemStats(meeting_interventions=self.meeting_interventions)

    def turns(self, participant_id: str) -> tuple[int, int]:
        """Interventions made by this participant: on the item, in the meeting."""
        item = self.interventions.get(participant_id, 0)
        return item, max(item, self.meeting_interventions.get(participant_id, 0))


@dataclass(frozen=True)
class Placed:
    request: Waiting
    reason: str


def wait_bound(w: Waiting, policy: Policy) -> int:
    """Turns an intervention may wait before it goes ahead of every later one (policy `balanced`)."""
    return max(policy.min_wait, math.ceil(policy.wait_factor * w.ahead))


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

    Points of order come first (except under `fifo`); pins then take their
    positions; the policy orders the rest, one projected turn at a time.
    """
    pins = pins or {}
    if policy.name == "fifo":
        first: list[Waiting] = []
        rest = list(waiting)
    else:
        first = sorted((w for w in waiting if w.kind == "point_of_order"), key=lambda w: w.arrival)
        rest = [w for w in waiting if w.kind != "point_of_order"]
    pinned = sorted((w for w in rest if w.request_id in pins), key=lambda w: (pins[w.request_id], w.arrival))
    order = _orderer(policy, [w for w in rest if w.request_id not in pins], stats)
    placed = [Placed(w, "point of order") for w in first]
    for w in first:
        order.observe(w, pinned=False)
    next_pin = 0
    while next_pin < len(pinned) or order.left:
        position = len(placed)
        if next_pin < len(pinned) and (pins[pinned[next_pin].request_id] <= position or not order.left):
            chosen, reason = pinned[next_pin], PINNED
            next_pin += 1
            order.observe(chosen, pinned=True)
        else:
            chosen, reason = order.next(position)
        placed.append(Placed(chosen, reason))
    return placed


def pick(waiting: Sequence[Waiting], stats: ItemStats, policy: Policy) -> tuple[Waiting, str]:
    """The request that gets the floor next under `policy`, and why."""
    if not waiting:
        raise ValueError("nobody is waiting")
    head = project(waiting, stats, policy)[0]
    return head.request, head.reason


# -- the orderers: one per policy, fed one projected turn at a time -----------


class _Orderer(Protocol):
    left: int  # requests not yet placed

    def next(self, position: int) -> tuple[Waiting, str]:
        """The request placed at `position` (turns before it), and why."""

    def observe(self, w: Waiting, *, pinned: bool) -> None:
        """A request placed by a rule outside this orderer."""


def _orderer(policy: Policy, free: list[Waiting], stats: ItemStats) -> _Orderer:
    if policy.name == "fifo":
        return _Arrival(free)
    if policy.name == "balanced_v1":
        return _LegacyBalanced(free, stats, policy)
    if policy.name == "balanced":
        return _Balanced(free, stats, policy)
    raise ValueError(f"unknown queue policy {policy.name!r}; known: {', '.join(POLICY_NAMES)}")


class _Arrival:
    def __init__(self, free: list[Waiting]) -> None:
        self.queue = deque(sorted(free, key=lambda w: w.arrival))
        self.left = len(self.queue)
        self.latest_pin = -1  # latest arrival among pinned requests placed so far

    def next(self, position: int) -> tuple[Waiting, str]:
        w = self.queue.popleft()
        self.left -= 1
        if self.latest_pin > w.arrival:
            return w, "in order of arrival, after later requests moved up by the chair"
        return w, "in order of arrival"

    def observe(self, w: Waiting, *, pinned: bool) -> None:
        if pinned:
            self.latest_pin = max(self.latest_pin, w.arrival)


_MOVED_BY = {
    "pin": "the chair",
    "limit": "the waiting limit",
    "alternation": "onsite/remote alternation",
    "group": "group speaking time",
}


class _Balanced:
    """Policy `balanced` for replies and interventions, in O(log n) per projected turn."""

    def __init__(self, free: list[Waiting], stats: ItemStats, policy: Policy) -> None:
        self.policy = policy
        self.stats = stats
        self.replies = deque(sorted((w for w in free if w.kind == "reply"), key=lambda w: w.arrival))
        interventions = sorted((w for w in free if w.kind != "reply"), key=lambda w: w.arrival)
        self.left = len(free)
        self.taken: set[str] = set()
        # rule a: by the position at which each reaches its limit
        self.bound: dict[str, int] = {}
        dues: list[tuple[int, int, Waiting]] = []
        # rules b-e: classes of equal turn counts, lowest first; per class, (mode, group) -> arrivals
        self.classes: dict[tuple[int, int], dict[tuple[str, str], deque[Waiting]]] = {}
        self.count: dict[tuple[int, int], int] = {}  # class -> requests left
        self.live: dict[tuple[tuple[int, int], str, str], int] = {}  # (class, mode, group) -> requests left
        self.cls: dict[str, tuple[int, int]] = {}  # request -> its class
        on_item, in_meeting = stats.interventions, stats.meeting_interventions
        for w in interventions:
            bound = self.bound[w.request_id] = max(policy.min_wait, math.ceil(policy.wait_factor * w.ahead))
            dues.append((bound - w.waited, w.arrival, w))
            item = on_item.get(w.participant_id, 0)
            c = self.cls[w.request_id] = (item, max(item, in_meeting.get(w.participant_id, 0)))
            lanes = self.classes.get(c)
            if lanes is None:
                lanes = self.classes[c] = {}
                self.count[c] = 0
            lane = lanes.get((w.mode, w.group))
            if lane is None:
                lane = lanes[w.mode, w.group] = deque()
                self.live[c, w.mode, w.group] = 0
            lane.append(w)
            self.count[c] += 1
            self.live[c, w.mode, w.group] += 1
        dues.sort(key=lambda d: (d[0], d[1]))
        # the position by which each must start so that those due after it still meet their limit
        self.latest: dict[str, int] = {}
        after: int | None = None
        for due, _, w in reversed(dues):
            after = self.latest[w.request_id] = due if after is None else min(due, after - 1)
        self.deadlines = deque(w for _, _, w in dues)
        self.order = sorted(self.classes)
        self.at = 0  # index in self.order of the lowest class with requests left
        self.streak_mode, self.streak_len = stats.streak_mode, stats.streak_len
        self.group_time = dict(stats.group_time)
        self.lowest_placed: tuple[int, int] | None = None  # lowest class among interventions placed
        self.moved: dict[str, int] = {}  # rule -> latest arrival it moved ahead (for the arrival reason)
        self.moved_class: tuple[int, int] | None = None  # class the alternation/group entries belong to

    def next(self, position: int) -> tuple[Waiting, str]:
        self.left -= 1
        if self.replies:
            w = self.replies.popleft()
            self._turn(w)
            return w, "reply to the current speaker"
        while self.deadlines and self.deadlines[0].request_id in self.taken:
            self.deadlines.popleft()
        head = self.deadlines[0] if self.deadlines else None
        if head is not None and self.latest[head.request_id] <= position:
            self._take(head, "limit")
            bound = self.bound[head.request_id]
            return head, f"waiting limit: {bound} turns ({head.ahead} waiting when asked)"
        return self._by_class()

    def observe(self, w: Waiting, *, pinned: bool) -> None:
        if pinned:
            self.moved["pin"] = max(self.moved.get("pin", -1), w.arrival)
        if w.kind == "intervention":
            self._note_class(self.stats.turns(w.participant_id))
        self._turn(w)

    def _by_class(self) -> tuple[Waiting, str]:
        while self.count[self.order[self.at]] == 0:
            self.at += 1
        c = self.order[self.at]
        alternate = self.streak_mode if self.streak_len >= self.policy.alternate_after else None
        group_time, taken = self.group_time, self.taken
        best: tuple[tuple[bool, float, int], Waiting] | None = None
        rival: tuple[bool, float, int] | None = None  # the next head's key
        for arrivals in self.classes[c].values():
            while arrivals and arrivals[0].request_id in taken:
                arrivals.popleft()
            if arrivals:
                head = arrivals[0]
                k = (head.mode == alternate, group_time.get(head.group, 0.0), head.arrival)
                if best is None or k < best[0]:
                    rival = best[0] if best is not None else None
                    best = (k, head)
                elif rival is None or k < rival:
                    rival = k
        assert best is not None
        key, w = best
        # the runner-up is the next head, or the next arrival of the same mode and group (same key but arrival)
        rule = "arrival"
        same_deque = self.live[c, w.mode, w.group] > 1
        rivals = rival is not None or same_deque
        if rival is not None and not same_deque:
            rule = "alternation" if rival[0] != key[0] else "group" if rival[1] != key[1] else "arrival"
        reason = self._class_label(c)
        if self.lowest_placed is not None and self.lowest_placed < c:
            reason += "; after those with fewer"
        if self.moved_class != c:
            self.moved_class = c
            self.moved.pop("alternation", None)
            self.moved.pop("group", None)
        if rule == "alternation":
            other = "onsite" if w.mode == "remote" else "remote"
            reason += f"; {w.mode}, after {self.streak_len} {other} turns"
        elif rule == "group":
            reason += f"; {w.group}: less speaking time on this item"
        else:
            later = [_MOVED_BY[r] for r in _MOVED_BY if self.moved.get(r, -1) > w.arrival]
            if rivals or later:
                reason += "; in order of arrival"
            if later:
                reason += ", after later requests moved up by " + " and ".join(later)
        self._take(w, rule)
        return w, reason

    def _take(self, w: Waiting, rule: str) -> None:
        c = self.cls[w.request_id]
        self.taken.add(w.request_id)
        self.count[c] -= 1
        self.live[c, w.mode, w.group] -= 1
        if rule != "arrival":
            self.moved[rule] = max(self.moved.get(rule, -1), w.arrival)
        self._note_class(c)
        self._turn(w)

    def _note_class(self, c: tuple[int, int]) -> None:
        if self.lowest_placed is None or c < self.lowest_placed:
            self.lowest_placed = c

    def _turn(self, w: Waiting) -> None:
        self.streak_len = self.streak_len + 1 if w.mode == self.streak_mode else 1
        self.streak_mode = w.mode
        if w.kind == "intervention":
            self.group_time[w.group] = self.group_time.get(w.group, 0.0) + self.policy.estimate_s

    @staticmethod
    def _class_label(c: tuple[int, int]) -> str:
        item, meeting = c
        if meeting == 0:
            return "no turn yet in this meeting"
        if item == 0:
            return f"no turn yet on this item, {_turns(meeting)} in this meeting"
        label = f"{_turns(item)} on this item"
        return label if meeting == item else f"{label}, {meeting} in this meeting"


def _turns(n: int) -> str:
    return f"{n} turn{'s' if n != 1 else ''}"


class _LegacyBalanced:
    """Policy `balanced_v1`: the whole list re-sorted at each projected turn."""

    def __init__(self, free: list[Waiting], stats: ItemStats, policy: Policy) -> None:
        self.remaining = {w.request_id: w for w in free}
        self.stats = stats
        self.policy = policy
        self.left = len(free)

    def next(self, position: int) -> tuple[Waiting, str]:
        chosen, reason = _pick_v1(list(self.remaining.values()), self.stats, self.policy)
        self.left -= 1
        del self.remaining[chosen.request_id]
        for rid in overtaken_by(chosen, self.remaining.values()):
            w = self.remaining[rid]
            self.remaining[rid] = dataclasses.replace(w, overtakes=w.overtakes + 1)
        self._turn(chosen)
        return chosen, reason

    def observe(self, w: Waiting, *, pinned: bool) -> None:
        self._turn(w)

    def _turn(self, w: Waiting) -> None:
        self.stats = self.stats.after_turn(w.kind, w.participant_id, w.mode)
        if w.kind == "intervention":
            self.stats = self.stats.with_time(w.group, self.policy.estimate_s)


def _pick_v1(waiting: Sequence[Waiting], stats: ItemStats, policy: Policy) -> tuple[Waiting, str]:
    for kind, label in (("point_of_order", "point of order"), ("reply", "reply to the current speaker")):
        of_kind = [w for w in waiting if w.kind == kind]
        if of_kind:
            return min(of_kind, key=lambda w: w.arrival), label
    return _pick_intervention_v1([w for w in waiting if w.kind == "intervention"], stats, policy)


def _pick_intervention_v1(waiting: Sequence[Waiting], stats: ItemStats, policy: Policy) -> tuple[Waiting, str]:
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
    turns = stats.interventions.get(best.participant_id, 0)
    first = "first time speaking on this item"
    if runner_up is not None:
        k, r = key(best), key(runner_up)
        if k[0] != r[0]:
            return best, first if turns == 0 else f"fewer turns on this item ({turns}) than others waiting"
        if k[1] != r[1]:
            other = "onsite" if best.mode == "remote" else "remote"
            return best, f"{best.mode}, after {stats.streak_len} {other} turns"
        if k[2] != r[2]:
            return best, f"{best.group}: less speaking time on this item"
    if turns == 0:
        return best, f"{first}, in order of arrival"
    return best, f"in order of arrival (spoke {turns} time{'s' if turns != 1 else ''} on this item)"
