"""The fair queue policy, as plain functions: examples, then properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.core.fairqueue import ItemStats, Policy, Waiting, overtaken_by, pick, project

BALANCED = Policy("balanced", alternate_after=2, max_overtakes=3)
PATIENT = Policy("balanced", alternate_after=2, max_overtakes=10_000)


def w(rid: str, arrival: int, kind: str = "intervention", mode: str = "onsite", group: str = "government",
      pid: str | None = None, overtakes: int = 0) -> Waiting:
    return Waiting(rid, pid or f"p-{rid}", kind, mode, group, arrival, overtakes)


def ids(placed: list) -> list[str]:
    return [p.request.request_id for p in placed]


def test_points_of_order_then_replies_then_interventions() -> None:
    queue = [w("a", 1), w("b", 2, "reply"), w("c", 3, "point_of_order"), w("d", 4, "point_of_order"), w("e", 5, "reply")]
    placed = project(queue, ItemStats(), BALANCED)
    assert ids(placed) == ["c", "d", "b", "e", "a"]
    assert placed[0].reason == "point of order"
    assert placed[2].reason == "reply to the current speaker"


def test_first_time_speakers_before_repeat_speakers() -> None:
    stats = ItemStats(interventions={"p-a": 1})
    placed = project([w("a", 1), w("b", 2)], stats, BALANCED)
    assert ids(placed) == ["b", "a"]
    assert placed[0].reason == "first time speaking on this item"


def test_remote_goes_first_after_two_onsite_turns() -> None:
    stats = ItemStats(streak_mode="onsite", streak_len=2)
    placed = project([w("a", 1, mode="onsite"), w("b", 2, mode="remote")], stats, BALANCED)
    assert ids(placed) == ["b", "a"]
    assert placed[0].reason == "remote, after two onsite speakers"


def test_group_with_less_speaking_time_first() -> None:
    stats = ItemStats(group_time={"government": 300.0})
    placed = project([w("a", 1, group="government"), w("b", 2, group="civil society")], stats, BALANCED)
    assert ids(placed) == ["b", "a"]
    assert placed[0].reason == "civil society: less speaking time on this item"


def test_projection_alternates_modes() -> None:
    queue = [w(f"on{i}", i, mode="onsite") for i in range(4)] + [w(f"re{i}", 10 + i, mode="remote") for i in range(2)]
    placed = project(queue, ItemStats(), PATIENT)
    modes = [p.request.mode for p in placed]
    assert modes == ["onsite", "onsite", "remote", "onsite", "onsite", "remote"]


def test_nobody_overtaken_more_than_max() -> None:
    policy = Policy("balanced", alternate_after=5, max_overtakes=1)
    # a government request waiting while civil society, with less time, keeps being preferred
    stats = ItemStats(group_time={"government": 1000.0})
    queue = [w("old", 1), w("r1", 2, group="civil society"), w("r2", 3, group="civil society")]
    placed = project(queue, stats, policy)
    assert ids(placed)[:2] == ["r1", "old"]
    assert placed[1].reason.startswith("passed over 1 times")


def test_fifo_is_arrival_order() -> None:
    queue = [w("a", 3), w("b", 1, "point_of_order"), w("c", 2, mode="remote")]
    assert ids(project(queue, ItemStats(interventions={"p-b": 5}), Policy("fifo"))) == ["b", "c", "a"]


def test_pins_keep_their_position() -> None:
    queue = [w("a", 1), w("b", 2), w("c", 3)]
    placed = project(queue, ItemStats(), PATIENT, pins={"c": 0})
    assert ids(placed) == ["c", "a", "b"]
    assert placed[0].reason == "placed here by the chair"
    assert ids(project(queue, ItemStats(), PATIENT, pins={"a": 99})) == ["b", "c", "a"]


def test_overtaken_by_counts_only_earlier_interventions() -> None:
    waiting = [w("a", 1), w("b", 2), w("c", 3, "point_of_order")]
    assert overtaken_by(w("d", 4), waiting) == ["a", "b"]
    assert overtaken_by(w("c", 3, "point_of_order"), waiting) == []


# -- properties -------------------------------------------------------------

requests = st.lists(
    st.tuples(
        st.sampled_from(["intervention", "intervention", "intervention", "reply", "point_of_order"]),
        st.integers(0, 7),  # participant index: several requests may share a speaker
    ),
    max_size=25,
)
GROUPS = ["government", "civil society", "private sector"]


def build(raw: list[tuple[str, int]]) -> list[Waiting]:
    out, used = [], set()
    for i, (kind, p) in enumerate(raw):
        if (p, kind) in used:  # one waiting request per speaker and kind
            continue
        used.add((p, kind))
        out.append(Waiting(f"r{i}", f"p{p}", kind, ["onsite", "remote"][p % 2], GROUPS[p % 3], i))
    return out


stats_strategy = st.builds(
    ItemStats,
    interventions=st.dictionaries(st.sampled_from([f"p{i}" for i in range(8)]), st.integers(0, 3)),
    streak_mode=st.sampled_from([None, "onsite", "remote"]),
    streak_len=st.integers(0, 4),
    group_time=st.dictionaries(st.sampled_from(["government", "civil society", "private sector"]),
                               st.floats(0, 1000)),
)
policies = st.builds(
    Policy,
    name=st.just("balanced"),
    alternate_after=st.integers(1, 4),
    max_overtakes=st.integers(0, 5),
)


@given(requests, stats_strategy, policies)
def test_no_request_lost_or_duplicated(raw, stats, policy) -> None:
    queue = build(raw)
    placed = project(queue, stats, policy)
    assert sorted(ids(placed)) == sorted(q.request_id for q in queue)


@given(requests, stats_strategy, policies)
def test_points_of_order_first_then_replies_in_arrival_order(raw, stats, policy) -> None:
    placed = project(build(raw), stats, policy)
    kinds = [p.request.kind for p in placed]
    rank = {"point_of_order": 0, "reply": 1, "intervention": 2}
    assert kinds == sorted(kinds, key=rank.__getitem__)
    for kind in ("point_of_order", "reply"):
        arrivals = [p.request.arrival for p in placed if p.request.kind == kind]
        assert arrivals == sorted(arrivals)


@given(requests, stats_strategy)
def test_first_time_speakers_precede_repeat_speakers(raw, stats) -> None:
    placed = project(build(raw), stats, PATIENT)
    turns = [stats.interventions.get(p.request.participant_id, 0) for p in placed if p.request.kind == "intervention"]
    first_timers_done = False
    for t in turns:
        if t > 0:
            first_timers_done = True
        else:
            assert not first_timers_done, "a first-time speaker was placed after a repeat speaker"


@given(st.lists(st.sampled_from(["onsite", "remote"]), max_size=20), st.integers(1, 4))
def test_alternation_holds(modes, alternate_after) -> None:
    # all first-time speakers of one group: only alternation and arrival decide
    queue = [Waiting(f"r{i}", f"p{i}", "intervention", m, "government", i) for i, m in enumerate(modes)]
    policy = Policy("balanced", alternate_after=alternate_after, max_overtakes=10_000)
    order = [p.request.mode for p in project(queue, ItemStats(), policy)]
    for i in range(alternate_after, len(order)):
        run = order[i - alternate_after:i]
        if len(set(run)) == 1 and order[i] == run[0]:
            # the same mode again after a full run only when no one of the other mode is left
            assert all(m == run[0] for m in order[i:]), order


@settings(max_examples=200)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("ask"), st.sampled_from(["intervention", "intervention", "reply", "point_of_order"]),
                      st.sampled_from(["onsite", "remote"]), st.sampled_from(["government", "civil society"])),
            st.tuples(st.just("give"), st.floats(1, 600)),
        ),
        max_size=60,
    ),
    policies,
)
def test_live_meeting_never_overtakes_anyone_more_than_max(script, policy) -> None:
    """Requests arrive and the floor is given by policy, over and over."""
    waiting: dict[str, Waiting] = {}
    stats = ItemStats()
    arrival = 0
    for step in script:
        if step[0] == "ask":
            arrival += 1
            _, kind, mode, group = step
            waiting[f"r{arrival}"] = Waiting(f"r{arrival}", f"p{arrival}", kind, mode, group, arrival)
            continue
        if not waiting:
            continue
        chosen, _ = pick(list(waiting.values()), stats, policy)
        assert chosen.request_id == project(list(waiting.values()), stats, policy)[0].request.request_id
        del waiting[chosen.request_id]
        for rid in overtaken_by(chosen, waiting.values()):
            waiting[rid] = Waiting(**{**waiting[rid].__dict__, "overtakes": waiting[rid].overtakes + 1})
        assert all(x.overtakes <= policy.max_overtakes for x in waiting.values())
        stats = stats.after_turn(chosen.kind, chosen.participant_id, chosen.mode).with_time(chosen.group, step[1])


@given(requests, stats_strategy)
def test_fifo_policy_is_arrival_order(raw, stats) -> None:
    queue = build(raw)
    placed = project(queue, stats, Policy("fifo"))
    assert [p.request.arrival for p in placed] == sorted(q.arrival for q in queue)
