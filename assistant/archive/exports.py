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
    return f"{name} ({affiliation})" if affiliation else name


def speaker_label(seg: dict[str, Any]) -> str:
    return who(seg.get("speaker_name") or "Unattributed", seg.get("affiliation") or "")


def item_title(record: Record, item: int) -> str:
    title = record.agenda[item] if 0 <= item < len(record.agenda) else "Unlisted item"
    return f"{item + 1}. {title}"


@dataclass(frozen=True)
class Paragraph:
    """Consecutive segments by one speaker on one item, read as one paragraph."""

    item: int
    speaker: str
    start: float
    end: float
    text: str
    segment_ids: tuple[str, ...]


def by_item(record: Record) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Segments grouped by agenda item, in the order they were said."""
    group: list[dict[str, Any]] = []
    for seg in record.segments:
        if group and seg["item"] != group[0]["item"]:
            yield group[0]["item"], group
            group = []
        group.append(seg)
    if group:
        yield group[0]["item"], group


def paragraphs(segments: list[dict[str, Any]]) -> list[Paragraph]:
    out: list[Paragraph] = []
    for seg in segments:
        label = speaker_label(seg)
        if out and out[-1].speaker == label and out[-1].item == seg["item"]:
            last = out[-1]
            out[-1] = Paragraph(last.item, label, last.start, seg["end"], f"{last.text} {seg['text']}",
                                (*last.segment_ids, seg["segment_id"]))
        else:
            out.append(Paragraph(seg["item"], label, seg["start"], seg["end"], seg["text"], (seg["segment_id"],)))
    return out


def _lines(record: Record) -> tuple[list[Line], dict[int, str]]:
    lines: list[Line] = []
    notes: dict[int, str] = {}
    for item, segs in by_item(record):
        notes[len(lines)] = item_title(record, item)
        lines += [Line(s["start"], s["end"], s["text"], speaker_label(s)) for s in segs]
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
    for item, segs in by_item(record):
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


def md_escape(text: str) -> str:
    out = text
    for ch in "\\`*_[]<>#|":
        out = out.replace(ch, "\\" + ch)
    return out


def to_markdown(record: Record) -> str:
    out = [f"# {md_escape(record.meeting['title'])}", "", f"Transcript, {dated(record)}. Times are from the start of the meeting.", ""]
    for item, segs in by_item(record):
        out += [f"## {md_escape(item_title(record, item))}", ""]
        for p in paragraphs(segs):
            out += [f"**[{clock(p.start)}] {md_escape(p.speaker)}:** {md_escape(p.text)}", ""]
    if not record.segments:
        out += ["*Nothing was transcribed.*", ""]
    return "\n".join(out)


PRINT_CSS = (
    "body{font:16px/1.5 Georgia,serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#111}"
    "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #999}"
    ".t{color:#555;font:.8rem monospace;margin-right:.4rem}.who{font-weight:bold}p{margin:.5rem 0}"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2rem .5rem;text-align:left}"
    ".chart{display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start}"
    "@media print{body{margin:0;max-width:none}h2{break-after:avoid}p{break-inside:avoid}}"
)


def html_page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>'
        f"<style>{PRINT_CSS}</style></head><body>{body}</body></html>\n"
    )


def to_html(record: Record) -> str:
    e = html.escape
    body = [f"<h1>{e(record.meeting['title'])}</h1>", f"<p>Transcript, {e(dated(record))}.</p>"]
    for item, segs in by_item(record):
        body.append(f"<h2>{e(item_title(record, item))}</h2>")
        for p in paragraphs(segs):
            body.append(
                f'<p id="{e(p.segment_ids[0])}"><span class="t">{clock(p.start)}</span>'
                f'<span class="who">{e(p.speaker)}:</span> {e(p.text)}</p>'
            )
    if not record.segments:
        body.append("<p><em>Nothing was transcribed.</em></p>")
    return html_page(record.meeting["title"], "\n".join(body))


def to_text(record: Record) -> str:
    """The captioners' style: `>> NAME:` when the speaker changes."""
    out = [record.meeting["title"], dated(record), ""]
    for item, segs in by_item(record):
        out += [item_title(record, item).upper(), ""]
        for p in paragraphs(segs):
            out += [f">> {p.speaker.upper()}: {p.text}", ""]
    return "\n".join(out)


WRITERS: dict[str, Callable[[Record], str]] = {
    "json": to_json, "vtt": to_webvtt, "srt": to_subrip, "md": to_markdown, "html": to_html, "txt": to_text,
}
