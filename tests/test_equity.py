"""Equity figures for a meeting, from plain inputs."""

from __future__ import annotations

import pytest

from assistant.core.equity import Asked, Person, Spoken, equity

PEOPLE = [
    Person("g1", "government", "onsite"),
    Person("g2", "government", "onsite"),
    Person("g3", "government", "remote"),
    Person("c1", "civil society", "remote"),
]


def test_speaking_time_by_group_and_mode_against_the_room() -> None:
    turns = [
        Spoken("g1", 0, 300, "intervention", "r1"),
        Spoken("g2", 300, 600, "intervention", "r2"),
        Spoken("c1", 600, 700, "intervention", "r3"),
        Spoken("chair", 700, 900, "intervention"),  # not among the people counted
        Spoken("g3", 900, None, "reply"),  # still speaking: counted up to now
    ]
    result = equity(PEOPLE, turns, [], now=1000)
    gov, civil = result.by_group
    assert (gov.name, gov.participants, gov.participant_share, gov.turns, gov.seconds) == ("government", 3, 0.75, 3, 700)
    assert civil.time_share == pytest.approx(100 / 800) and civil.participant_share == 0.25
    modes = {s.name: s for s in result.by_mode}
    assert modes["remote"].seconds == 200 and modes["onsite"].time_share == pytest.approx(600 / 800)
    assert result.sentence == (
        "Civil society made up 25 % of participants and held 12 % of speaking time; "
        "remote participants, 50 % of participants, held 25 %."
    )


def test_longest_waits_and_written_interventions() -> None:
    requests = [
        Asked("r1", "g1", "intervention", False, "done", asked_at=0),
        Asked("r2", "c1", "intervention", True, "done", asked_at=10),
        Asked("r3", "g3", "intervention", True, "dropped", asked_at=20, closed_at=500),
        Asked("r4", "g2", "intervention", True, "waiting", asked_at=900),
        Asked("r5", "c1", "reply", False, "withdrawn", asked_at=100, closed_at=130),
    ]
    turns = [Spoken("g1", 50, 100, "intervention", "r1"), Spoken("c1", 400, 460, "intervention", "r2")]
    result = equity(PEOPLE, turns, requests, now=1000, longest=3)
    assert [(w.request_id, w.seconds, w.outcome) for w in result.longest_waits] == [
        ("r3", 480, "dropped"), ("r2", 390, "answered"), ("r4", 100, "waiting"),
    ]
    assert (result.written.asked, result.written.answered, result.written.closed, result.written.waiting) == (3, 1, 1, 1)
    assert result.sentence.endswith("; 1 of 3 written interventions were read out.")
    assert result.to_dict()["written"] == {"asked": 3, "answered": 1, "closed": 1, "waiting": 1}


def test_before_anyone_speaks() -> None:
    result = equity(PEOPLE, [], [Asked("r1", "g1", "intervention", False, "waiting", asked_at=0)], now=60)
    assert result.sentence == "Nobody has held the floor yet."
    assert all(s.time_share == 0 for s in result.by_group)
    assert result.longest_waits[0].seconds == 60
