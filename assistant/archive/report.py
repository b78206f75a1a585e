"""The chair's report: who spoke on each item, written interventions and whether they were answered,
statements for the record, and equity figures (speaking time and turns by stakeholder group and by
onsite/remote, time waited in the queue by mode), in Markdown and in HTML with SVG charts.

`numbers` is pure: it reads an `archive.Record` and the time "now" (for a meeting still running).
"""

from __future__ import annotations

import html
import statistics
from dataclasses import dataclass
from typing import Any

from . import charts
from .exports import dated, html_page, item_title, md_escape, wall, who
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


def duration(seconds: float) -> str:
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60}:{s % 60:02d}"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


# -- Markdown -----------------------------------------------------------------


def to_markdown(record: Record, now: float) -> str:
    r = numbers(record, now)
    md = md_escape
    out = [f"# Chair's report: {md(record.meeting['title'])}", "", f"{dated(record)}.", ""]
    out += ["## Speaking time and turns", "", f"Floor time in all: {duration(r.total_seconds)} in {len(r.turns)} turns.", ""]
    for heading, rows in (("Stakeholder group", r.by_group), ("Onsite / remote", r.by_mode)):
        out += [f"| {heading} | speaking time | share | turns | |", "|---|---:|---:|---:|---|"]
        for s in rows:
            bar = "█" * round(20 * s.seconds / r.total_seconds) if r.total_seconds else ""
            out.append(f"| {md(s.label)} | {duration(s.seconds)} | {_pct(s.seconds, r.total_seconds)} | {s.turns} | {bar} |")
        out.append("")
    out += ["| Waiting in the queue | got the floor | mean wait | median wait | longest | not reached | withdrawn |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for w in r.waits:
        out.append(f"| {w.mode} | {w.given} | {duration(w.mean_s)} | {duration(w.median_s)} | {duration(w.longest_s)} "
                   f"| {w.not_reached} | {w.withdrawn} |")
    out.append("")
    for item in range(len(record.agenda)):
        turns = [t for t in r.turns if t.item == item]
        written = [w for w in r.written if w.item == item]
        out += [f"## {md(item_title(record, item))}", ""]
        if not turns:
            out += ["Nobody took the floor.", ""]
        for n, t in enumerate(turns, 1):
            kind = "" if t.kind == "intervention" else f", {t.kind.replace('_', ' ')}"
            out.append(f"{n}. **{md(who(t.name, t.affiliation))}**: {md(t.group)}, {t.mode}{kind}; "
                       f"{duration(t.seconds)} from {wall(record, t.started_at).strftime('%H:%M')}")
        out.append("")
        if written:
            out += ["Remote written interventions:", ""]
            for wr in written:
                when = f" at {wall(record, wr.answered_at).strftime('%H:%M')}" if wr.answered_at and wr.outcome == "answered" else ""
                out.append(f"- **{md(who(wr.name, wr.affiliation))}** ({wr.outcome}{when}): {md(' '.join(wr.text.split()))}")
            out.append("")
    out += ["## Annex: statements for the record", ""]
    if not r.statements:
        out += ["None were filed.", ""]
    for st in r.statements:
        author = record.participants.get(st["participant_id"], {})
        out += [f"### {md(st['title'])}", "",
                f"*{md(who(author.get('name', ''), author.get('affiliation', '')))}, on {md(item_title(record, st['item']))}*", ""]
        out += [md(para) for para in st["text"].split("\n") if para.strip()] + [""]
    return "\n".join(out)


# -- HTML ---------------------------------------------------------------------


def to_html(record: Record, now: float) -> str:
    r = numbers(record, now)
    e = html.escape
    body = [f"<h1>Chair's report: {e(record.meeting['title'])}</h1>", f"<p>{e(dated(record))}.</p>",
            "<h2>Speaking time and turns</h2>",
            f"<p>Floor time in all: {duration(r.total_seconds)} in {len(r.turns)} turns.</p>"]
    for heading, rows in (("Stakeholder group", r.by_group), ("Onsite / remote", r.by_mode)):
        table = [f"<table><tr><th>{heading}</th><th>speaking time</th><th>share</th><th>turns</th></tr>"]
        table += [f"<tr><td>{e(s.label)}</td><td>{duration(s.seconds)}</td><td>{_pct(s.seconds, r.total_seconds)}</td>"
                  f"<td>{s.turns}</td></tr>" for s in rows]
        table.append("</table>")
        chart = charts.bars(f"Speaking time by {heading.lower()}", [(s.label, s.seconds) for s in rows], duration)
        body.append(f'<div class="chart">{"".join(table)}{chart}</div>')
    table = ["<table><tr><th>Waiting in the queue</th><th>got the floor</th><th>mean wait</th><th>median</th>"
             "<th>longest</th><th>not reached</th><th>withdrawn</th></tr>"]
    table += [f"<tr><td>{e(w.mode)}</td><td>{w.given}</td><td>{duration(w.mean_s)}</td><td>{duration(w.median_s)}</td>"
              f"<td>{duration(w.longest_s)}</td><td>{w.not_reached}</td><td>{w.withdrawn}</td></tr>" for w in r.waits]
    table.append("</table>")
    chart = charts.bars("Mean wait for the floor by mode", [(w.mode, w.mean_s) for w in r.waits], duration)
    body.append(f'<div class="chart">{"".join(table)}{chart}</div>')
    for item in range(len(record.agenda)):
        turns = [t for t in r.turns if t.item == item]
        body.append(f"<h2>{e(item_title(record, item))}</h2>")
        if not turns:
            body.append("<p>Nobody took the floor.</p>")
        else:
            body.append("<ol>" + "".join(
                f"<li><strong>{e(who(t.name, t.affiliation))}</strong>: {e(t.group)}, {e(t.mode)}"
                f"{'' if t.kind == 'intervention' else ', ' + e(t.kind.replace('_', ' '))}; {duration(t.seconds)} from "
                f"{wall(record, t.started_at).strftime('%H:%M')}</li>" for t in turns) + "</ol>")
        written = [w for w in r.written if w.item == item]
        if written:
            body.append("<p>Remote written interventions:</p><ul>" + "".join(
                f"<li><strong>{e(who(w.name, w.affiliation))}</strong> ({e(w.outcome)}): "
                f'<span style="white-space:pre-wrap">{e(w.text)}</span></li>' for w in written) + "</ul>")
    body.append("<h2>Annex: statements for the record</h2>")
    if not r.statements:
        body.append("<p>None were filed.</p>")
    for st in r.statements:
        author = record.participants.get(st["participant_id"], {})
        body.append(f"<h3>{e(st['title'])}</h3><p><em>{e(who(author.get('name', ''), author.get('affiliation', '')))}, on "
                    f"{e(item_title(record, st['item']))}</em></p>"
                    f'<p style="white-space:pre-wrap">{e(st["text"])}</p>')
    return html_page(f"Chair's report: {record.meeting['title']}", "\n".join(body))
