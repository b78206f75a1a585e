"""The chair's report: who spoke on each item, written interventions and whether they were answered,
statements for the record, and equity figures (speaking time and turns by stakeholder group and by
onsite/remote, time waited in the queue by mode), in Markdown and in HTML with SVG charts.

`numbers` is pure: it reads an `archive.Record` and the time "now" (for a meeting still running).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.equity import Asked, Equity, Person, Spoken, equity
from . import document
from .document import Chart, Em, Heading, Items, Para, Strong, Table
from .exports import dated, html_page, item_title, wall, who, zone
from .tables import Record


@dataclass(frozen=True)
class Share:
    label: str
    seconds: float
    turns: int


@dataclass(frozen=True)
class Wait:
    mode: str
    given: int  # requests that got the floor
    mean_s: float
    median_s: float
    longest_s: float
    not_reached: int  # dropped when the item or meeting closed, or still waiting
    withdrawn: int


@dataclass(frozen=True)
class SpokenTurn:
    item: int
    name: str
    affiliation: str
    group: str
    mode: str
    kind: str
    started_at: float
    seconds: float


@dataclass(frozen=True)
class Written:
    item: int
    name: str
    affiliation: str
    text: str
    outcome: str  # answered | being read | waiting | withdrawn | not reached
    answered_at: float | None


@dataclass(frozen=True)
class Report:
    turns: list[SpokenTurn]
    by_group: list[Share]
    by_mode: list[Share]
    waits: list[Wait]
    written: list[Written]
    statements: list[dict[str, Any]]
    total_seconds: float


def numbers(record: Record, now: float) -> Report:
    people = record.participants
    end = record.meeting.get("ended_at") or now
    turns = []
    for t in record.turns:
        person = people[t["participant_id"]]
        stop = t["ended_at"] if t["ended_at"] is not None else end
        turns.append(SpokenTurn(t["item"], person["name"], person["affiliation"], person["stakeholder_group"], person["mode"],
                                t["kind"], t["started_at"], max(0.0, stop - t["started_at"])))

    def shares(key: str) -> list[Share]:
        acc: dict[str, list[float]] = {}
        for t in turns:
            row = acc.setdefault(getattr(t, key), [0.0, 0])
            row[0] += t.seconds
            row[1] += 1
        return sorted((Share(k, v[0], int(v[1])) for k, v in acc.items()), key=lambda s: (-s.seconds, s.label))

    waits = []
    modes = sorted({p["mode"] for p in people.values()} | {"onsite", "remote"})
    for mode in modes:
        mine = [r for r in record.requests if people[r["participant_id"]]["mode"] == mode]
        waited = [r["given_at"] - r["asked_at"] for r in mine if r["given_at"] is not None]
        waits.append(Wait(
            mode=mode, given=len(waited),
            mean_s=statistics.fmean(waited) if waited else 0.0,
            median_s=statistics.median(waited) if waited else 0.0,
            longest_s=max(waited, default=0.0),
            not_reached=sum(1 for r in mine if r["state"] in ("dropped", "waiting")),
            withdrawn=sum(1 for r in mine if r["state"] == "withdrawn"),
        ))

    outcomes = {"done": "answered", "speaking": "being read", "waiting": "waiting", "withdrawn": "withdrawn",
                "dropped": "not reached"}
    written = [
        Written(r["item"], people[r["participant_id"]]["name"], people[r["participant_id"]]["affiliation"], r["text"],
                outcomes[r["state"]], r["given_at"])
        for r in record.requests
        if r["text"] and people[r["participant_id"]]["mode"] == "remote"
    ]
    return Report(turns, shares("group"), shares("mode"), waits, written, record.statements,
                  sum(t.seconds for t in turns))


def equity_of(record: Record, now: float) -> Equity:
    """The equity figures the chair console shows (core/equity.py), from the archive's rows: everyone
    who may ask for the floor is counted, the chair, moderators and observers are not."""
    people = [
        Person(p["participant_id"], p["stakeholder_group"], p["mode"])
        for p in record.participants.values()
        if p["role"] not in ("chair", "moderator", "observer")
    ]
    end = record.meeting.get("ended_at") or now
    spoken = [Spoken(t["participant_id"], t["started_at"], t["ended_at"], t["kind"] or "intervention", t["request_id"])
              for t in record.turns]
    asked = [Asked(r["request_id"], r["participant_id"], r["kind"], bool(r["text"]), r["state"], r["asked_at"],
                   r["ended_at"] if r["state"] in ("withdrawn", "dropped") else None)
             for r in record.requests]
    return equity(people, spoken, asked, now=end)


def duration(seconds: float) -> str:
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60}:{s % 60:02d}"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


def build(record: Record, now: float) -> document.Doc:
    """The report as one document, written out by `to_markdown` and `to_html`."""
    r = numbers(record, now)
    tz = zone(record)
    title = f"Chair's report: {record.meeting['title']}"
    doc = document.Doc(title)
    fair = equity_of(record, now)
    doc.add(Heading(1, title), Para([f"{dated(record)}."]), Heading(2, "Fairness at a glance"),
            Para([Strong(fair.sentence)]))
    for heading, shares in (("Stakeholder group", fair.by_group), ("Onsite / remote", fair.by_mode)):
        doc.add(Table(
            [heading, "share of participants", "share of speaking time", "turns"],
            [[s.name, _pct(s.participant_share, 1), _pct(s.time_share, 1), str(s.turns)] for s in shares],
        ))
    w = fair.written
    doc.add(Para([f"Written interventions: {w.asked} asked, {w.answered} read out, {w.closed} withdrawn or "
                  f"dropped unread, {w.waiting} still waiting."]))
    if fair.longest_waits:
        names = {pid: p["name"] for pid, p in record.participants.items()}
        doc.add(Table(
            ["Longest waits", "waited", "outcome"],
            [[names.get(x.participant_id, x.participant_id), duration(x.seconds), x.outcome]
             for x in fair.longest_waits],
        ))
    doc.add(Heading(2, "Speaking time and turns"),
            Para([f"Floor time in all: {duration(r.total_seconds)} in {len(r.turns)} turns."]))
    for heading, rows in (("Stakeholder group", r.by_group), ("Onsite / remote", r.by_mode)):
        doc.add(Table(
            [heading, "speaking time", "share", "turns"],
            [[s.label, duration(s.seconds), _pct(s.seconds, r.total_seconds), str(s.turns)] for s in rows],
            Chart(f"Speaking time by {heading.lower()}", [(s.label, s.seconds) for s in rows], duration),
        ))
    doc.add(Table(
        ["Waiting in the queue", "got the floor", "mean wait", "median wait", "longest", "not reached", "withdrawn"],
        [[w.mode, str(w.given), duration(w.mean_s), duration(w.median_s), duration(w.longest_s), str(w.not_reached),
          str(w.withdrawn)] for w in r.waits],
        Chart("Mean wait for the floor by mode", [(w.mode, w.mean_s) for w in r.waits], duration),
    ))
    for item in range(len(record.agenda)):
        doc.add(Heading(2, item_title(record, item)))
        turns = [t for t in r.turns if t.item == item]
        if not turns:
            doc.add(Para(["Nobody took the floor."]))
        else:
            doc.add(Items(True, [
                [Strong(who(t.name, t.affiliation)),
                 f": {t.group}, {t.mode}{'' if t.kind == 'intervention' else ', ' + t.kind.replace('_', ' ')}; "
                 f"{duration(t.seconds)} from {_hm(datetime.fromtimestamp(t.started_at, tz))}"]
                for t in turns
            ]))
        written = [w for w in r.written if w.item == item]
        if written:
            doc.add(Para(["Remote written interventions:"]), Items(False, [
                [Strong(who(w.name, w.affiliation)), f" ({w.outcome}{_at(record, w)}): ", w.text] for w in written
            ]))
    doc.add(Heading(2, "Annex: statements for the record"))
    if not r.statements:
        doc.add(Para(["None were filed."]))
    for st in r.statements:
        author = record.participants.get(st["participant_id"], {})
        doc.add(Heading(3, st["title"], id=f"statement-{st['statement_id']}"),
                Para([Em(f"{who(author.get('name', ''), author.get('affiliation', ''))}, on {item_title(record, st['item'])}")]))
        doc.add(*(Para([para]) for para in st["text"].split("\n") if para.strip()))
    return doc


def _hm(t: datetime) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"  # strftime("%H:%M") costs more than a report's other work per turn


def _at(record: Record, w: Written) -> str:
    if w.answered_at and w.outcome == "answered":
        return f" at {_hm(wall(record, w.answered_at))}"
    return ""


def to_markdown(record: Record, now: float) -> str:
    return document.to_markdown(build(record, now))


def to_html(record: Record, now: float) -> str:
    return html_page(build(record, now))
