"""A meeting's transcript in the formats people publish: WebVTT, SRT, JSON, Markdown, HTML, text.

Every format is grouped by agenda item and names the speaker of each line. Pure: it reads an
`archive.Record` and returns text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import charts, document
from .document import one_line
from .subtitles import Line, to_srt, to_vtt
from .tables import Record

CONTENT_TYPES = {
    "json": "application/json",
    "vtt": "text/vtt",
    "srt": "application/x-subrip",
    "md": "text/markdown",
    "html": "text/html",
    "txt": "text/plain",
}


def zone(record: Record) -> ZoneInfo:
    try:
        return ZoneInfo(record.meeting.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def wall(record: Record, unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC).astimezone(zone(record))


def clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def who(name: str, affiliation: str) -> str:
    name, affiliation = name.strip(), affiliation.strip()
    return f"{name} ({affiliation})" if affiliation else name


def speaker_label(seg: dict[str, Any]) -> str:
    """The name a line is said under; a written intervention says so, a point of order has none."""
    if seg.get("source") == POINT_OF_ORDER:
        return ""
    label = who(seg.get("speaker_name") or "Unattributed", seg.get("affiliation") or "")
    return f"{label}, in writing" if seg.get("source") == WRITTEN else label


def item_title(record: Record, item: int) -> str:
    title = record.agenda[item] if 0 <= item < len(record.agenda) else "Unlisted item"
    return f"{item + 1}. {title}"


WRITTEN = "written"  # the text of a request, delivered when it was given the floor
POINT_OF_ORDER = "point_of_order"  # a line at the time a point of order took the floor


def entries(record: Record) -> list[dict[str, Any]]:
    """The transcript as published: the segments, with the delivered written interventions and the
    points of order put in at their times. Each entry has a segment row's keys."""
    start = record.meeting["created_at"]
    people = record.participants
    extra: list[dict[str, Any]] = []

    def line(pid: str, at: float, seconds: float, item: int, source: str, text: str, anchor: str) -> None:
        person = people.get(pid, {})
        extra.append({
            "meeting_id": record.meeting["id"], "segment_id": anchor, "seq": None, "item": item, "start": at - start,
            "end": at - start + seconds, "speaker_id": pid, "speaker_name": person.get("name", ""),
            "affiliation": person.get("affiliation", ""), "source": source, "language": person.get("language", ""),
            "text": text, "original_text": text, "revisions": 0,
        })

    for r in record.requests:
        if r["text"] and r["given_at"] is not None:
            seconds = min(30.0, max(2.0, len(r["text"].split()) / 3))  # read at about 180 words a minute
            if r["ended_at"] is not None:
                seconds = min(seconds, max(1.0, r["ended_at"] - r["given_at"]))
            line(r["participant_id"], r["given_at"], seconds, r["item"], WRITTEN, r["text"], f"written-{r['request_id']}")
    for t in record.turns:
        if t["kind"] == "point_of_order":
            person = people.get(t["participant_id"], {})
            name = who(person.get("name", ""), person.get("affiliation", ""))
            line(t["participant_id"], t["started_at"], 2.0, t["item"], POINT_OF_ORDER, f"Point of order: {name}",
                 f"order-{t['seq']}")
    if not extra:
        return record.segments
    extra.sort(key=lambda x: x["start"])
    out: list[dict[str, Any]] = []
    i = 0
    for seg in record.segments:  # a merge that keeps the segments in the order they were stored
        while i < len(extra) and extra[i]["start"] <= seg["start"]:
            out.append(extra[i])
            i += 1
        out.append(seg)
    return out + extra[i:]


@dataclass(frozen=True)
class Paragraph:
    """Consecutive segments by one speaker on one item, read as one paragraph."""

    item: int
    speaker: str
    start: float
    end: float
    text: str
    segment_ids: tuple[str, ...]
    source: str = ""


def by_item(lines: list[dict[str, Any]]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Lines grouped by agenda item, in the order they were said."""
    group: list[dict[str, Any]] = []
    for seg in lines:
        if group and seg["item"] != group[0]["item"]:
            yield group[0]["item"], group
            group = []
        group.append(seg)
    if group:
        yield group[0]["item"], group


def paragraphs(segments: list[dict[str, Any]]) -> list[Paragraph]:
    out: list[Paragraph] = []
    run: list[dict[str, Any]] = []  # consecutive segments of one speaker (a written one stands alone)
    label = ""

    def close() -> None:
        if run:
            out.append(Paragraph(run[0]["item"], label, run[0]["start"], run[-1]["end"],
                                 " ".join(s["text"] for s in run), tuple(s["segment_id"] for s in run), run[0]["source"]))
            run.clear()

    key: tuple[Any, ...] = ()
    for seg in segments:
        source = seg["source"]
        this = (seg["speaker_name"], seg["affiliation"], source in (WRITTEN, POINT_OF_ORDER) and source, seg["item"])
        if run and (this != key or source in (WRITTEN, POINT_OF_ORDER)):
            close()
        if this != key:
            key, label = this, speaker_label(seg)
        run.append(seg)
    close()
    return out


def _lines(record: Record) -> tuple[list[Line], dict[int, str]]:
    lines: list[Line] = []
    notes: dict[int, str] = {}
    labels: dict[tuple[Any, ...], str] = {}
    for item, segs in by_item(entries(record)):
        notes[len(lines)] = item_title(record, item)
        for s in segs:
            key = (s["speaker_name"], s["affiliation"], s["source"])
            label = labels.get(key)
            if label is None:
                label = labels[key] = speaker_label(s)
            lines.append(Line(s["start"], s["end"], s["text"], label))
    return lines, notes


def to_webvtt(record: Record) -> str:
    lines, notes = _lines(record)
    return to_vtt(lines, notes)


def to_subrip(record: Record) -> str:
    return to_srt(_lines(record)[0])


def to_json(record: Record) -> str:
    m = record.meeting
    people = record.participants
    items = []
    for item, segs in by_item(entries(record)):
        items.append({
            "item": item,
            "title": record.agenda[item] if item < len(record.agenda) else "",
            "segments": [
                {
                    "id": s["segment_id"], "start": s["start"], "end": s["end"],
                    "time": wall(record, m["created_at"] + s["start"]).isoformat(timespec="seconds"),
                    "speaker_id": s["speaker_id"], "speaker": s["speaker_name"], "affiliation": s["affiliation"],
                    "group": people.get(s["speaker_id"] or "", {}).get("stakeholder_group", ""),
                    "mode": people.get(s["speaker_id"] or "", {}).get("mode", ""),
                    "source": s["source"], "language": s["language"], "text": s["text"],
                    **({"original_text": s["original_text"], "revisions": s["revisions"]} if s["revisions"] else {}),
                }
                for s in segs
            ],
        })
    doc = {
        "meeting": {"id": m["id"], "title": m["title"], "timezone": m["timezone"],
                    "started": wall(record, m["created_at"]).isoformat(timespec="seconds"),
                    "ended": wall(record, m["ended_at"]).isoformat(timespec="seconds") if m.get("ended_at") else None},
        "agenda": record.agenda,
        "items": items,
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


def dated(record: Record) -> str:
    m = record.meeting
    start = wall(record, m["created_at"])
    when = start.strftime("%Y-%m-%d %H:%M")
    if m.get("ended_at"):
        when += "–" + wall(record, m["ended_at"]).strftime("%H:%M")
    return f"{when} ({m['timezone']})"


def transcript(record: Record) -> document.Doc:
    """The transcript as a document: a heading per item, a paragraph per speaker's turn."""
    doc = document.Doc(record.meeting["title"])
    doc.add(document.Heading(1, record.meeting["title"]),
            document.Para([f"Transcript, {dated(record)}. Times are from the start of the meeting."]))
    lines = entries(record)
    for item, segs in by_item(lines):
        doc.add(document.Heading(2, item_title(record, item)))
        for p in paragraphs(segs):
            if p.source == POINT_OF_ORDER:
                doc.add(document.Para([document.Time(clock(p.start)), p.text], id=p.segment_ids[0], note=True))
            else:
                doc.add(document.Para([document.Time(clock(p.start)), document.Strong(p.speaker + ":"), " " + p.text],
                                      id=p.segment_ids[0]))
    if not lines:
        doc.add(document.Para([document.Em("Nothing was transcribed.")]))
    return doc


def to_markdown(record: Record) -> str:
    return document.to_markdown(transcript(record))


# Inline styles only: a downloaded page runs no script and loads nothing.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
PRINT_CSS = (
    "body{font:16px/1.5 Georgia,serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#111}"
    "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #999}"
    ".t{color:#555;font:.8rem monospace;margin-right:.4rem}strong{font-weight:bold}p{margin:.5rem 0}"
    ".note{font-style:italic;color:#444}"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2rem .5rem;text-align:left}"
    ".chart{display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start}"
    "@media print{body{margin:0;max-width:none}h2{break-after:avoid}p{break-inside:avoid}}"
)


def html_page(doc: document.Doc) -> str:
    body = document.to_html_body(doc, lambda c: charts.bars(c.title, c.bars, c.fmt))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}"><meta name="viewport" '
        f'content="width=device-width,initial-scale=1"><title>{html.escape(doc.title)}</title>'
        f"<style>{PRINT_CSS}</style></head><body>{body}</body></html>\n"
    )


def to_html(record: Record) -> str:
    return html_page(transcript(record))


def to_text(record: Record) -> str:
    """The captioners' style: `>> NAME:` when the speaker changes, `[…]` for what was not said. Each
    paragraph is one line, so no text can start a line of its own."""
    out = [one_line(record.meeting["title"]), dated(record), ""]
    for item, segs in by_item(entries(record)):
        out += [one_line(item_title(record, item)).upper(), ""]
        for p in paragraphs(segs):
            if p.source == POINT_OF_ORDER:
                out += [f"[{one_line(p.text)}]", ""]
            else:
                out += [f">> {one_line(p.speaker).upper()}: {one_line(p.text)}", ""]
    return "\n".join(out)


WRITERS: dict[str, Callable[[Record], str]] = {
    "json": to_json, "vtt": to_webvtt, "srt": to_subrip, "md": to_markdown, "html": to_html, "txt": to_text,
}
