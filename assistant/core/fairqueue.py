"""The fair speaking queue: who gets the floor next, and why.

Pure functions over plain values; no clock, no I/O. The meeting state calls
`project` to publish the queue (the order in which the floor would be given
if nothing changed) and `overtaken_by` / `ItemStats.after_turn` when the
floor really changes hands.

Policy `balanced` (DESIGN section 3), among requests waiting in one item:
1. points of order, in arrival order, ahead of everything (pins included);
2. the chair's pins, each at its position;
3. replies to the current speaker, in arrival order;
4. interventions:
   a. an intervention at its waiting limit goes first: the limit is
      `wait_factor` times the number of requests waiting when it asked (at
      least `min_wait` turns), so it scales with the list; when several near
      their limits together, the earliest starts early enough for the rest;
   b. then fewer turns already taken on this item, then fewer in the meeting
      (a garrulous speaker waits behind everyone who has spoken less);
   c. then onsite/remote alternation: after `alternate_after` consecutive
      turns of one mode, a request of the other mode goes first;
   d. then the stakeholder group with less speaking time on this item;
   e. then arrival.
Every entry's reason names the rule that placed it there.

The projection costs O(n log n): interventions are sorted once into classes
of equal turn counts and, inside a class, one arrival-ordered lane per mode
and group; each step looks at the heads only (two modes, a few groups). It is
worked out at every change of a queue with hundreds waiting, so `_Balanced.next`
is written for speed; `tests/test_fairqueue_reference.py` holds it to the
plainer code it replaced (the same order, the same reasons).

Policy `balanced_v1` is the earlier rule set (fewer turns on the item,
alternation, group time, arrival; nobody overtaken more than `max_overtakes`
times), kept for comparison (`bench/equity.py`); it re-sorts the list at each
projected turn, O(n^2). Policy `fifo` is plain arrival order, points of order
included. The chair can pin a request to a position; pinned requests keep
that position whatever the policy says.
"""

from __future__ import annotations

import dataclasses
import math
import operator
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


@dataclass(slots=True)
class Placed:
    """A request at its place in the projected order; never changed once made (one per waiting request
    at every projection: not frozen, which would cost three times as much to make)."""

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
    for w in pinned:  # the policy places the rest up to each pin's position, then the pin goes in
        if order.left:
            order.run(placed, pins[w.request_id])
        placed.append(Placed(w, PINNED))
        order.observe(w, pinned=True)
    order.run(placed, len(placed) + order.left)
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

    def run(self, placed: list[Placed], until: int) -> None:
        """Place requests, with their reasons, after those in `placed` until it holds `until` entries
        or none is left."""

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


class _OneByOne:
    """An orderer that places one request at a time (`next`)."""

    left: int

    def next(self, position: int) -> tuple[Waiting, str]:
        raise NotImplementedError

    def run(self, placed: list[Placed], until: int) -> None:
        while self.left and len(placed) < until:
            placed.append(Placed(*self.next(len(placed))))


class _Arrival(_OneByOne):
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


_ARRIVAL = operator.attrgetter("arrival")
_MOVED_BY = {
    "pin": "the chair",
    "limit": "the waiting limit",
    "alternation": "onsite/remote alternation",
    "group": "group speaking time",
}


class _Lane:
    """The interventions of one class, mode and group not yet placed, in arrival order.

    Its head (`items[at]`) is never a request already placed: the waiting limit may take one from
    the middle of a lane, and the lane steps past it once it reaches it."""

    __slots__ = ("at", "cls", "group", "items", "live", "mode")

    def __init__(self, cls: tuple[int, int], mode: str, group: str, items: list[Waiting]) -> None:
        self.cls, self.mode, self.group = cls, mode, group
        self.items = items
        self.at = 0  # index of the head
        self.live = len(items)  # requests not yet placed


class _Balanced:
    """Policy `balanced` for replies and interventions, in O(log n) per projected turn.

    Each projected turn looks at the heads of the lanes of the lowest class left (a few: two modes
    times the groups); a lane leaves its class once it is empty."""

    def __init__(self, free: list[Waiting], stats: ItemStats, policy: Policy) -> None:
        self.policy = policy
        self.stats = stats
        by_arrival = sorted(free, key=_ARRIVAL)
        self.replies = deque(w for w in by_arrival if w.kind == "reply")
        interventions = [w for w in by_arrival if w.kind != "reply"]
        self.left = len(free)
        self.taken: set[str] = set()
        # rule a: each in the order it reaches its limit, (turns left, arrival), with the position by
        # which it must start so that those due after it still meet theirs
        min_wait, wait_factor, ceil = policy.min_wait, policy.wait_factor, math.ceil
        dues = [(max(min_wait, ceil(wait_factor * w.ahead)) - w.waited, w.arrival, i)
                for i, w in enumerate(interventions)]
        dues.sort()
        latest: list[tuple[int, Waiting]] = []
        after = None
        for due, _, i in reversed(dues):
            after = due if after is None or due < after - 1 else after - 1
            latest.append((after, interventions[i]))
        latest.reverse()
        self.deadlines = latest
        self.due_at = 0  # index in self.deadlines of the first not placed
        # rules b-e: classes of equal turn counts, lowest first; per class its lanes with requests left,
        # in the order their first request arrived
        on_item, in_meeting = stats.interventions, stats.meeting_interventions
        by_key: dict[tuple[tuple[int, int], str, str], list[Waiting]] = {}
        for w in interventions:
            item = on_item.get(w.participant_id, 0)
            key = ((item, max(item, in_meeting.get(w.participant_id, 0))), w.mode, w.group)
            arrivals = by_key.get(key)
            if arrivals is None:
                by_key[key] = [w]
            else:
                arrivals.append(w)
        self.lanes: dict[tuple[int, int], list[_Lane]] = {}
        self.lane_of: dict[tuple[tuple[int, int], str, str], _Lane] = {}  # (class, mode, group) -> lane
        for key, items in by_key.items():
            self.lane_of[key] = _Lane(key[0], key[1], key[2], items)
            self.lanes.setdefault(key[0], []).append(self.lane_of[key])
        self.order = sorted(self.lanes)
        self.at = 0  # index in self.order of the lowest class with requests left
        self.streak_mode, self.streak_len = stats.streak_mode, stats.streak_len
        self.group_time = dict(stats.group_time)
        self.lowest_placed: tuple[int, int] | None = None  # lowest class among interventions placed
        self.moved: dict[str, int] = {}  # rule -> latest arrival it moved ahead (for the arrival reason)
        self.moved_class: tuple[int, int] | None = None  # class the alternation/group entries belong to
        self.labels: dict[tuple[int, int], str] = {}

    def run(self, placed: list[Placed], until: int) -> None:
        # one projected turn for each request waiting: written for speed, with the rules inline and
        # the state in local variables, stored back at the end
        left, taken, deadlines, due_at = self.left, self.taken, self.deadlines, self.due_at
        replies, order, at, lanes_of, labels = self.replies, self.order, self.at, self.lanes, self.labels
        streak_mode, streak_len, group_time, moved = self.streak_mode, self.streak_len, self.group_time, self.moved
        lowest, moved_class = self.lowest_placed, self.moved_class
        alternate_after, estimate_s = self.policy.alternate_after, self.policy.estimate_s
        position = len(placed)
        while left and position < until:
            left -= 1
            if replies:
                w = replies.popleft()
                reason = "reply to the current speaker"
            else:
                while due_at < len(deadlines) and deadlines[due_at][1].request_id in taken:
                    due_at += 1
                if due_at < len(deadlines) and deadlines[due_at][0] <= position:  # rule a
                    w = deadlines[due_at][1]
                    self.streak_mode, self.streak_len, self.lowest_placed = streak_mode, streak_len, lowest
                    self._take(w, "limit")
                    streak_mode, streak_len, lowest = self.streak_mode, self.streak_len, self.lowest_placed
                    placed.append(Placed(w, f"waiting limit: {wait_bound(w, self.policy)} turns "
                                            f"({w.ahead} waiting when asked)"))
                    position += 1
                    continue
                # rules b-e: the best head among the lanes of the lowest class left
                c = order[at]
                lanes = lanes_of[c]
                while not lanes:
                    at += 1
                    c = order[at]
                    lanes = lanes_of[c]
                alternate = streak_mode if streak_len >= alternate_after else None
                chosen = lanes[0]
                best = (chosen.mode == alternate, group_time.get(chosen.group, 0.0), chosen.items[chosen.at].arrival)
                rival: tuple[bool, float, int] | None = None  # the next head's key
                for lane in lanes[1:]:
                    k = (lane.mode == alternate, group_time.get(lane.group, 0.0), lane.items[lane.at].arrival)
                    if k < best:
                        rival, best, chosen = best, k, lane
                    elif rival is None or k < rival:
                        rival = k
                w = chosen.items[chosen.at]
                # the runner-up is the next head, or the next arrival of the same mode and group (same
                # key but arrival)
                rule = "arrival"
                same_lane = chosen.live > 1
                if rival is not None and not same_lane:
                    rule = "alternation" if rival[0] != best[0] else "group" if rival[1] != best[1] else "arrival"
                reason = labels.get(c) or labels.setdefault(c, self._class_label(c))
                if lowest is not None and lowest < c:
                    reason += "; after those with fewer"
                if moved_class != c:
                    moved_class = c
                    moved.pop("alternation", None)
                    moved.pop("group", None)
                arrival = w.arrival
                if rule == "alternation":
                    reason += f"; {w.mode}, after {streak_len} {'onsite' if w.mode == 'remote' else 'remote'} turns"
                elif rule == "group":
                    reason += f"; {w.group}: less speaking time on this item"
                else:
                    later = [by for r, by in _MOVED_BY.items() if moved.get(r, -1) > arrival] if moved else None
                    if later:
                        reason += "; in order of arrival, after later requests moved up by " + " and ".join(later)
                    elif rival is not None or same_lane:
                        reason += "; in order of arrival"
                # placed: its lane steps on, the rules' records move
                taken.add(w.request_id)
                chosen.live -= 1
                if chosen.live:
                    items, head = chosen.items, chosen.at + 1
                    while items[head].request_id in taken:
                        head += 1
                    chosen.at = head
                else:
                    lanes.remove(chosen)
                if rule != "arrival" and moved.get(rule, -1) < arrival:
                    moved[rule] = arrival
                if lowest is None or c < lowest:
                    lowest = c
                if w.kind == "intervention":
                    group_time[w.group] = group_time.get(w.group, 0.0) + estimate_s
            if w.mode == streak_mode:
                streak_len += 1
            else:
                streak_mode, streak_len = w.mode, 1
            placed.append(Placed(w, reason))
            position += 1
        self.left, self.due_at, self.at = left, due_at, at
        self.streak_mode, self.streak_len, self.lowest_placed, self.moved_class = (
            streak_mode, streak_len, lowest, moved_class)

    def observe(self, w: Waiting, *, pinned: bool) -> None:
        if pinned:
            self.moved["pin"] = max(self.moved.get("pin", -1), w.arrival)
        if w.kind == "intervention":
            self._note_class(self.stats.turns(w.participant_id))
        self._turn(w)

    def _take(self, w: Waiting, rule: str) -> None:
        taken = self.taken
        taken.add(w.request_id)
        item, meeting = self.stats.turns(w.participant_id)
        lane = self.lane_of[(item, meeting), w.mode, w.group]
        lane.live -= 1
        if lane.live == 0:
            self.lanes[lane.cls].remove(lane)
        else:
            items, at = lane.items, lane.at
            while items[at].request_id in taken:
                at += 1
            lane.at = at
        if rule != "arrival":
            self.moved[rule] = max(self.moved.get(rule, -1), w.arrival)
        c = lane.cls
        if self.lowest_placed is None or c < self.lowest_placed:
            self.lowest_placed = c
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


class _LegacyBalanced(_OneByOne):
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
