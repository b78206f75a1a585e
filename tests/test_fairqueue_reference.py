"""The projection gives the same order and the same reasons as the reference (the code before it was
made faster, `fairqueue_reference.py`): on random queues, and along simulated meetings."""

from __future__ import annotations

import dataclasses
import random

import fairqueue_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.core import fairqueue as fq

GROUPS = ["government", "civil society", "private sector", "technical community", "other", "intergovernmental"]
KINDS = ["intervention"] * 6 + ["reply", "point_of_order"]


def same(queue: list[fq.Waiting], stats: fq.ItemStats, policy: fq.Policy, pins: dict[str, int]) -> None:
    got = [(p.request, p.reason) for p in fq.project(queue, stats, policy, pins)]
    want = [(p.request, p.reason) for p in ref.project(queue, stats, _ref_policy(policy), pins)]  # type: ignore[arg-type]
    assert got == want


def _ref_policy(policy: fq.Policy) -> ref.Policy:
    return ref.Policy(**dataclasses.asdict(policy))


def random_case(rng: random.Random, n: int) -> tuple[list[fq.Waiting], fq.ItemStats, fq.Policy, dict[str, int]]:
    people = max(1, rng.randint(n // 3, n + 2))
    groups = GROUPS[: rng.randint(1, len(GROUPS))]
    modes = [rng.choice(fq.MODES) for _ in range(people)]
    member = [rng.choice(groups) for _ in range(people)]
    queue = []
    arrival = 0
    for i in range(n):
        p = rng.randrange(people)
        arrival += rng.choice([0, 1, 1, 1, 2, 5])  # now and then two requests with the same arrival
        queue.append(fq.Waiting(f"r{i}", f"p{p}", rng.choice(KINDS), modes[p], member[p], arrival,
                                rng.randint(0, 3), rng.randint(0, 40), rng.randint(0, n)))
    rng.shuffle(queue)
    item = {f"p{p}": rng.randint(0, 3) for p in rng.sample(range(people), rng.randint(0, people))}
    meeting = {f"p{p}": rng.randint(0, 6) for p in rng.sample(range(people), rng.randint(0, people))}
    times = {g: rng.choice([0.0, 60.0, 120.0, 180.0, rng.uniform(0, 900)]) for g in groups if rng.random() < 0.7}
    stats = fq.ItemStats(interventions=item, meeting_interventions=meeting,
                         streak_mode=rng.choice([None, "onsite", "remote"]), streak_len=rng.randint(0, 4),
                         group_time=times)
    policy = fq.Policy(rng.choice(["balanced"] * 6 + ["balanced_v1", "fifo"]), alternate_after=rng.randint(1, 4),
                       max_overtakes=rng.randint(0, 5), estimate_s=rng.choice([60.0, 120.0, 180.0]),
                       wait_factor=rng.choice([0.5, 1.0, 1.5, 2.0, 3.0]), min_wait=rng.randint(1, 8))
    pins = {}
    if queue and rng.random() < 0.4:
        for w in rng.sample(queue, rng.randint(1, min(5, len(queue)))):
            pins[w.request_id] = rng.randint(0, n + 3)
    return queue, stats, policy, pins


def test_same_as_the_reference_on_random_queues() -> None:
    rng = random.Random(16)
    for _ in range(3000):
        queue, stats, policy, pins = random_case(rng, rng.choice([0, 1, 2, 3, 5, 8, 13, 30, 60, 150]))
        same(queue, stats, policy, pins)
    for _ in range(20):
        same(*random_case(rng, 600))


def test_same_as_the_reference_along_simulated_meetings() -> None:
    """The floor given to the head again and again, as the meeting fold does it, requests arriving meanwhile."""
    rng = random.Random(1616)
    for _ in range(60):
        queue, stats, policy, pins = random_case(rng, rng.choice([10, 40, 120]))
        waiting = {w.request_id: w for w in queue}
        arrival = max((w.arrival for w in queue), default=0)
        for turn in range(80):
            if rng.random() < 0.3:
                arrival += 1
                p = rng.randrange(30)
                waiting[f"n{turn}"] = fq.Waiting(f"n{turn}", f"p{p}", rng.choice(KINDS), fq.MODES[p % 2],
                                                 GROUPS[p % 4], arrival, ahead=len(waiting))
            if not waiting:
                break
            pins = {rid: at for rid, at in pins.items() if rid in waiting}
            same(list(waiting.values()), stats, policy, pins)
            chosen = fq.project(list(waiting.values()), stats, policy, pins)[0].request
            del waiting[chosen.request_id]
            pins.pop(chosen.request_id, None)
            waiting = {rid: dataclasses.replace(w, waited=w.waited + 1) for rid, w in waiting.items()}
            stats = stats.after_turn(chosen.kind, chosen.participant_id, chosen.mode)
            stats = stats.with_time(chosen.group, rng.choice([30.0, 90.0, 180.0, 240.0]))


@settings(max_examples=500)
@given(st.integers(0, 2**32 - 1), st.integers(0, 40))
def test_same_as_the_reference_hypothesis(seed: int, n: int) -> None:
    same(*random_case(random.Random(seed), n))
