"""In-process cost of a busy queue: the pure core with N waiting, no server, no socket, no disk.

Builds a meeting as bench/scale.py does (N people, onsite or remote, three groups, each with a
written intervention of 1,000 characters) and times, best of many runs:

- `project`: the projected order with its reasons, from the waiting requests;
- the two live queue messages (for everyone and for the chair) from a projection already made;
- the chair's commands as scale.py sends them (move, time limit, give floor, end turn): decide,
  apply, project and encode both messages.

    .venv/bin/python bench/queue_cost.py
    .venv/bin/python bench/queue_cost.py --waiting 2000
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections.abc import Callable
from typing import Any

from assistant.config import LimitsConfig
from assistant.core import commands as cmd
from assistant.core import events as ev
from assistant.core import views
from assistant.core.decide import create, decide, join
from assistant.core.fairqueue import project
from assistant.core.meeting import MeetingState

GROUPS = ("government", "civil society", "private sector")


class Meeting:
    def __init__(self) -> None:
        self.state = MeetingState("m")
        self.now = 1000.0
        self.store(create(title="Main session", agenda=["Debate"], policy="balanced", alternate_after=2,
                          max_overtakes=3, time_limit_s=180, timezone="UTC", now=self.now))
        self.chair = self.join("Chair", GROUPS[0], "onsite", "chair")

    def store(self, drafts: list[ev.Draft]) -> None:
        for d in drafts:
            self.state.apply(ev.Event("m", self.state.seq + 1, d.fact, d.at))

    def join(self, name: str, group: str, mode: str, role: str = "participant") -> cmd.Actor:
        drafts = join(self.state, cmd.Profile(name, "", group, mode, "en", role), self.now)
        self.store(drafts)
        fact = drafts[0].fact
        assert isinstance(fact, ev.ParticipantJoined)
        return cmd.Actor(fact.participant_id, role)

    def do(self, actor: cmd.Actor, op: str, **fields: Any) -> None:
        self.now += 1
        self.store(decide(self.state, actor, cmd.parse({"op": op, **fields}, LimitsConfig(), GROUPS), self.now))


def best(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waiting", type=int, default=600)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    random.seed(1)
    m = Meeting()
    people = [m.join(f"Delegate {i}", random.choice(GROUPS), random.choice(["onsite", "remote"]))
              for i in range(args.waiting)]
    for p in people:
        m.do(p, "request_floor", text="".join(random.choices(string.ascii_letters + "     ", k=1000)))
    s = m.state
    waiting = [s.waiting_for(r) for r in s.queued.values()]
    print(f"{args.waiting} waiting, best of {args.runs}:")
    print(f"  project: {best(lambda: project(waiting, s.stats, s.policy, s.pins), args.runs):.2f} ms")
    messages = views.QueueMessages()
    messages.encode(s)
    print(f"  both queue messages from a projection made: {best(lambda: messages.encode(s), args.runs):.2f} ms")
    ids = [r.request_id for r in s.queued.values()]
    times: dict[str, list[float]] = {}
    for i in range(min(60, args.waiting // 2)):
        for op, fields in (("move", {"request_id": ids[-1 - i], "position": 3}), ("set_time_limit", {"seconds": 120 + i}),
                           ("give_floor", {}), ("end_turn", {})):
            start = time.perf_counter()
            m.do(m.chair, op, **fields)
            messages.encode(s)
            times.setdefault(op, []).append(time.perf_counter() - start)
    for op, t in times.items():
        t.sort()
        print(f"  {op}: decide, apply, project, both messages: best {t[0] * 1000:.2f} ms, "
              f"median {t[len(t) // 2] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
