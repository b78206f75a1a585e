"""Equity benchmark: who gets the floor under each queue policy, in seeded simulated sessions.

Each scenario is a room of participants who ask for the floor now and then (some at once after
each turn of theirs); the chair gives the floor at a steady pace, one turn at a time, to the head
of the queue. The simulation drives the real pure core: `fairqueue.pick` on the waiting list,
with the item's stats, turns waited, requests ahead on asking and overtakes kept as the meeting
fold (`assistant/meeting.py`) keeps them. Each scenario runs under `fifo`, `balanced_v1` (the
earlier rules) and `balanced`, on the same seeds, and prints one table:

- share of turns and of speaking time held by the top 20 % of the room and by the garrulous;
- mean and worst wait (in turns given while waiting) by mode and by group;
- distinct speakers; requests that waited past the waiting limit of `balanced`
  (`fairqueue.wait_bound`), counted under every policy, and those past it by more than the
  points of order and replies given the floor while they waited.

    .venv/bin/python bench/equity.py
    .venv/bin/python bench/equity.py --seeds 50 --scenario garrulous
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.core.fairqueue import ItemStats, Policy, Waiting, overtaken_by, pick, wait_bound

POLICIES = (Policy("fifo"), Policy("balanced_v1"), Policy("balanced"))
LABELS = {"fifo": "arrival", "balanced_v1": "balanced_v1", "balanced": "balanced"}


@dataclass(frozen=True)
class Person:
    pid: str
    group: str
    mode: str
    rate: float  # chance of asking during any one turn, when not waiting
    garrulous: bool = False  # asks again as soon as a turn of theirs ends
    talk: tuple[float, float] = (60.0, 180.0)  # seconds per turn, uniform
    prior: int = 0  # interventions earlier in the meeting (other items)


@dataclass(frozen=True)
class Scenario:
    name: str
    about: str
    room: Callable[[random.Random], list[Person]]
    turns: int
    all_ask_first: bool = False  # everyone is on the list when the item opens


@dataclass
class Served:
    person: Person
    kind: str
    waited: int
    bound: int
    seconds: float
    priority: int  # points of order and replies given the floor while it waited


@dataclass
class Run:
    served: list[Served] = field(default_factory=list)
    left: list[tuple[Person, int, int]] = field(default_factory=list)  # still waiting: person, waited, bound


# -- the rooms ---------------------------------------------------------------

GROUPS = ("government", "civil society", "private sector", "technical community")


def _people(n: int, prefix: str, mode: str, rate: float, rng: random.Random, groups: tuple[str, ...] = GROUPS,
            **kw: object) -> list[Person]:
    return [Person(f"{prefix}{i}", groups[i % len(groups)], mode, rate, **kw) for i in range(n)]  # type: ignore[arg-type]


def garrulous(rng: random.Random) -> list[Person]:
    return (
        _people(4, "g", "onsite", 1.0, rng, ("government",), garrulous=True, talk=(120.0, 240.0))
        + _people(14, "on", "onsite", 0.08, rng)  # 0.08: arrival order then gives the four 22-25 % of turns,
        + _people(12, "re", "remote", 0.08, rng)  # as in the session issue 19 describes
    )


def late_night(rng: random.Random) -> list[Person]:
    return (
        _people(2, "g", "onsite", 1.0, rng, ("government",), garrulous=True, talk=(120.0, 240.0))
        + _people(20, "on", "onsite", 0.07, rng)
        + _people(6, "night", "remote", 0.015, rng, ("civil society", "technical community"))
    )


def outnumbered(rng: random.Random) -> list[Person]:
    return (
        _people(18, "gov", "onsite", 0.06, rng, ("government",))
        + _people(4, "cs", "remote", 0.06, rng, ("civil society",))
        + _people(3, "ps", "onsite", 0.06, rng, ("private sector",))
        + _people(3, "tc", "remote", 0.06, rng, ("technical community",))
    )


def end_of_day(rng: random.Random) -> list[Person]:
    room = (
        _people(3, "g", "onsite", 1.0, rng, ("government",), garrulous=True, talk=(120.0, 240.0))
        + _people(27, "on", "onsite", 0.03, rng)
        + _people(20, "re", "remote", 0.03, rng)
    )
    # earlier items: the garrulous spoke often, most others once or not at all
    return [dataclasses.replace(p, prior=rng.randint(5, 9) if p.garrulous else rng.choice((0, 0, 1, 1, 2)))
            for p in room]


SCENARIOS = (
    Scenario("garrulous", "90 turns; 4 onsite delegates ask again at once, 14 onsite and 12 remote ask now and then",
             garrulous, 90),
    Scenario("late_night", "90 turns; 6 remote in a late-night time zone ask rarely, 20 onsite and 2 garrulous",
             late_night, 90),
    Scenario("outnumbered", "90 turns; 18 government, 4 civil society, 3 private sector, 3 technical community",
             outnumbered, 90),
    Scenario("end_of_day", "60 turns, last item; 50 on the list at once, 3 garrulous with 5-9 turns earlier today",
             end_of_day, 60, all_ask_first=True),
)


# -- the simulation: what the meeting fold does, one turn at a time ----------


def simulate(scenario: Scenario, policy: Policy, seed: int) -> Run:
    rng = random.Random(seed)
    room = scenario.room(rng)
    people = {p.pid: p for p in room}
    stats = ItemStats(meeting_interventions={p.pid: p.prior for p in room if p.prior}).next_item()
    waiting: dict[str, Waiting] = {}
    clock_s = 0.0
    arrival = 0
    priority_turns = 0  # points of order and replies given the floor so far
    asked_priority: dict[str, int] = {}
    run = Run()

    def ask(p: Person, kind: str) -> None:
        nonlocal arrival
        arrival += 1
        rid = f"r{arrival}"
        waiting[rid] = Waiting(rid, p.pid, kind, p.mode, p.group, arrival, ahead=len(waiting))
        asked_priority[rid] = priority_turns

    if scenario.all_ask_first:
        for p in rng.sample(room, len(room)):
            ask(p, "intervention")
    just_spoke: str | None = None
    given = 0
    for _ in range(scenario.turns * 20):  # idle moments included; stops after `turns` turns
        if given == scenario.turns:
            break
        asking = {w.participant_id for w in waiting.values()}
        for p in rng.sample(room, len(room)):
            if p.pid in asking:
                continue
            if p.garrulous or rng.random() < p.rate:
                roll = rng.random()
                kind = "point_of_order" if roll < 0.01 else "reply" if roll < 0.05 and just_spoke else "intervention"
                ask(p, kind)
        if not waiting:
            clock_s += 30.0  # nobody on the list: a pause
            continue
        chosen, _ = pick(list(waiting.values()), stats, policy)
        del waiting[chosen.request_id]
        for rid in overtaken_by(chosen, waiting.values()):
            waiting[rid] = dataclasses.replace(waiting[rid], overtakes=waiting[rid].overtakes + 1)
        speaker = people[chosen.participant_id]
        low, high = (20.0, 60.0) if chosen.kind != "intervention" else speaker.talk
        seconds = rng.uniform(low, high)
        bound = wait_bound(chosen, Policy("balanced"))
        run.served.append(Served(speaker, chosen.kind, chosen.waited, bound, seconds,
                                 priority_turns - asked_priority[chosen.request_id]))
        priority_turns += chosen.kind != "intervention"
        stats = stats.after_turn(chosen.kind, speaker.pid, speaker.mode).with_time(speaker.group, seconds)
        waiting = {rid: dataclasses.replace(w, waited=w.waited + 1) for rid, w in waiting.items()}
        clock_s += seconds
        just_spoke = speaker.pid
        given += 1
    run.left = [(people[w.participant_id], w.waited, wait_bound(w, Policy("balanced"))) for w in waiting.values()]
    return run


# -- the figures --------------------------------------------------------------


def figures(room: list[Person], run: Run) -> dict[str, float]:
    turns: dict[str, int] = {p.pid: 0 for p in room}
    seconds: dict[str, float] = {p.pid: 0.0 for p in room}
    for s in run.served:
        turns[s.person.pid] += 1
        seconds[s.person.pid] += s.seconds
    top = max(1, round(len(room) / 5))
    total_turns, total_s = sum(turns.values()) or 1, sum(seconds.values()) or 1.0
    out = {
        "top 20 %: share of turns": sum(sorted(turns.values(), reverse=True)[:top]) / total_turns,
        "top 20 %: share of time": sum(sorted(seconds.values(), reverse=True)[:top]) / total_s,
    }
    if any(p.garrulous for p in room):
        g = [p.pid for p in room if p.garrulous]
        out[f"garrulous ({len(g)} of {len(room)}): share of turns"] = sum(turns[x] for x in g) / total_turns
        out[f"garrulous ({len(g)} of {len(room)}): share of time"] = sum(seconds[x] for x in g) / total_s
    interventions = [s for s in run.served if s.kind == "intervention"]
    by: tuple[tuple[str, Callable[[Person], str]], ...] = (("mode", lambda p: p.mode), ("group", lambda p: p.group))
    for label, of in by:
        for value in sorted({of(p) for p in room}):
            waits = [s.waited for s in interventions if of(s.person) == value]
            if waits:
                out[f"mean wait, {value}"] = statistics.fmean(waits)
        if label == "mode":
            on = [s.waited for s in interventions if s.person.mode == "onsite"]
            re = [s.waited for s in interventions if s.person.mode == "remote"]
            if on and re:
                out["mean wait remote / onsite"] = statistics.fmean(re) / (statistics.fmean(on) or 1.0)
            if any(p.garrulous for p in room):
                others = [s.waited for s in interventions if s.person.mode == "onsite" and not s.person.garrulous]
                out["mean wait, onsite not garrulous"] = statistics.fmean(others) if others else 0.0
    all_waits = [s.waited for s in interventions] + [w for _, w, _ in run.left]
    out["worst wait (turns, incl. still waiting)"] = max(all_waits, default=0)
    out["distinct speakers"] = len({s.person.pid for s in run.served})
    past = sum(1 for s in interventions if s.waited > s.bound) + sum(1 for _, w, b in run.left if w > b)
    out["waited past the limit (per run)"] = past
    out["waited past the limit + priority turns"] = sum(1 for s in interventions if s.waited > s.bound + s.priority)
    out["still waiting at the end"] = len(run.left)
    return out


def table(scenario: Scenario, seeds: int) -> list[str]:
    per_policy: dict[str, list[dict[str, float]]] = {}
    for policy in POLICIES:
        for seed in range(seeds):
            room = scenario.room(random.Random(seed))
            per_policy.setdefault(policy.name, []).append(figures(room, simulate(scenario, policy, seed)))
    rows: list[str] = sorted({k for runs in per_policy.values() for f in runs for k in f}, key=_row_order)
    width = max(len(r) for r in rows)
    lines = [f"## {scenario.name}: {scenario.about} ({seeds} seeds, mean; worst wait: mean and max)",
             " " * width + "".join(f"{LABELS[p.name]:>14}" for p in POLICIES)]
    for row in rows:
        cells = []
        for p in POLICIES:
            values = [f[row] for f in per_policy[p.name] if row in f]
            cells.append(_cell(row, values))
        lines.append(f"{row:<{width}}" + "".join(f"{c:>14}" for c in cells))
    return lines


def _row_order(row: str) -> tuple[int, str]:
    prefixes = ("top", "garrulous", "mean wait remote", "mean wait", "worst", "distinct", "waited", "still")
    return next(i for i, p in enumerate(prefixes) if row.startswith(p)), row


def _cell(row: str, values: list[float]) -> str:
    if not values:
        return "-"
    mean = statistics.fmean(values)
    if "share" in row:
        return f"{100 * mean:.1f} %"
    if row.startswith("worst"):
        return f"{mean:.1f} / {max(values):.0f}"
    if "remote / onsite" in row:
        return f"{mean:.2f}"
    return f"{mean:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="runs per scenario and policy")
    parser.add_argument("--scenario", choices=[s.name for s in SCENARIOS], action="append",
                        help="only these scenarios (repeatable)")
    args = parser.parse_args()
    for scenario in SCENARIOS:
        if args.scenario and scenario.name not in args.scenario:
            continue
        print("\n".join(table(scenario, args.seeds)))
        print()


if __name__ == "__main__":
    main()
