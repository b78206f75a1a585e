"""Hostile names, titles and texts in every export and in the chair's report, each parsed back by an
independent reader: no user text may open a heading, list, quote, code block, table cell, link,
image, HTML tag, caption cue, voice span or NOTE; every text comes back as text, in its block."""

from __future__ import annotations

import io
import json
import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
import srt
import webvtt
from markdown_it import MarkdownIt

from assistant.archive import exports, report
from assistant.archive.tables import Record

HOSTILE = [
    "Note\n\n# ADOPTED\n",
    "Ana ---> Ben",
    "a --> b -- > c ----> d",
    "00:00:01.000 --> 00:00:09.000",
    "1\n00:00:01,000 --> 00:00:02,000\nA fake cue",
    "NOTE a fake note\n\nWEBVTT",
    "<v Mallory>spoofed</v> <c.x>class</c> <00:00:01.000> <b>bold</b> <i>it</i>",
    "- a list",
    "+ a list",
    "* a list",
    "1. a list",
    "2) a list",
    "> a quote",
    "```python\ncode\n```",
    "~~~\ncode",
    "    indented code",
    "| a | b |\n|---|---|",
    "[link](http://evil.example) <http://evil.example>",
    "![image](http://evil.example/x.png)",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "&amp; &lt; &#35; &copy;",
    "**bold** __bold__ _em_ *em* `code` ~~gone~~",
    "---",
    "===",
    "***",
    "Title\n===",
    "Title\n---",
    "ends with a backslash\\",
    "hard break  \nnext",
    "#hash and # ADOPTED #",
    "\\# escaped already \\*",
    "Dr. <Evil> & co, 100%",
    "line\u2028separator\x85next\ttab",
    "[^1]: a footnote",
    "<!-- a comment -->",
    "2026. A year",
]

PEOPLE = {f"p{i}": h for i, h in enumerate(HOSTILE)}
T0 = 1_700_000_000.0


def hostile_record() -> Record:
    people = {
        pid: {"participant_id": pid, "name": h, "affiliation": h, "stakeholder_group": h, "mode": "remote",
              "language": "en", "role": "participant", "device": 1, "joined_at": T0}
        for pid, h in PEOPLE.items()
    }
    segments, turns, requests, statements = [], [], [], []
    for i, (pid, h) in enumerate(PEOPLE.items()):
        at = 100.0 * i + 10
        kind = "point_of_order" if i % 5 == 0 else "intervention"
        requests.append({"meeting_id": "m", "request_id": f"r{i}", "participant_id": pid, "kind": kind, "text": h,
                         "item": i % 2, "asked_at": T0 + at - 5, "state": "done", "given_at": T0 + at,
                         "ended_at": T0 + at + 60, "end_reason": ""})
        turns.append({"meeting_id": "m", "seq": 10 * i + 1, "participant_id": pid, "request_id": f"r{i}", "kind": kind,
                      "item": i % 2, "started_at": T0 + at, "ended_at": T0 + at + 60, "seconds": 60.0, "limit_s": 180})
        segments.append({"meeting_id": "m", "segment_id": f"g{i}", "seq": 10 * i + 2, "item": i % 2, "start": at + 30,
                         "end": at + 34, "speaker_id": pid, "speaker_name": h, "affiliation": h, "source": "hall",
                         "language": "en", "text": h, "original_text": h, "revisions": 0})
        statements.append({"meeting_id": "m", "statement_id": f"s{i}", "participant_id": pid, "title": h,
                           "text": f"{h}\n\n{h}", "item": i % 2, "filed_at": T0 + at + 50})
    # items alternate, so sort each list the way the archive reads it: by time
    return Record(
        meeting={"id": "m", "title": HOSTILE[0], "created_at": T0, "ended_at": T0 + 9000, "timezone": "UTC",
                 "invite_code": "x"},
        agenda=[HOSTILE[1], HOSTILE[13]],
        participants=people,
        segments=segments, turns=turns, requests=requests, statements=statements,
    )


def one_line(text: str) -> str:
    return " ".join(text.split())


def cue(text: str) -> str:
    return re.sub(r"-{2,}>", "->", one_line(text))


def label(h: str) -> str:
    return f"{one_line(h)} ({one_line(h)})"


RECORD = hostile_record()
LINES = exports.entries(RECORD)


def test_the_record_has_every_kind_of_line() -> None:
    assert {line["source"] for line in LINES} == {"hall", "written", "point_of_order"}
    orders = sum(1 for t in RECORD.turns if t["kind"] == "point_of_order")
    assert len(LINES) == 2 * len(HOSTILE) + orders  # said, written, and a line per point of order


def expected_cues() -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = []
    for _, segs in exports.by_item(LINES):
        for s in segs:
            if s["source"] == "point_of_order":
                out.append((None, cue(s["text"])))
            else:
                out.append((cue(exports.speaker_label(s)), cue(s["text"])))
    return out


def test_vtt_cues_voices_and_notes_hold() -> None:
    text = exports.to_webvtt(RECORD)
    for line in text.split("\n"):  # the arrow is only ever a timing line's
        assert "-->" not in line or re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", line), line
    notes = [line for line in text.split("\n") if line.startswith("NOTE")]
    assert notes == [f"NOTE {cue(exports.item_title(RECORD, i))}" for i, _ in exports.by_item(LINES)]
    cues = webvtt.from_buffer(io.StringIO(text))
    got = [(unescape(c.voice) if c.voice else None, unescape(c.text)) for c in cues]
    assert got == expected_cues()


def test_srt_cues_hold() -> None:
    subs = list(srt.parse(exports.to_subrip(RECORD)))
    assert [s.content for s in subs] == [f"{v}: {t}" if v else t for v, t in expected_cues()]
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    assert all("-->" not in s.content for s in subs)


def test_json_keeps_every_text_exactly() -> None:
    doc = json.loads(exports.to_json(RECORD))
    assert doc["meeting"]["title"] == HOSTILE[0] and doc["agenda"] == RECORD.agenda
    got = [(s["speaker"], s["affiliation"], s["text"]) for item in doc["items"] for s in item["segments"]]
    want = [(s["speaker_name"], s["affiliation"], s["text"]) for _, segs in exports.by_item(LINES) for s in segs]
    assert got == want


class Blocks(HTMLParser):
    """The text of each block element, and every tag seen."""

    BLOCKS = ("title", "h1", "h2", "h3", "p", "li", "td", "th")

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.blocks: list[tuple[str, str]] = []
        self.open: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag in self.BLOCKS:
            self.blocks.append((tag, ""))
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS and self.open and self.open[-1] == tag:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open:
            tag, text = self.blocks[-1]
            self.blocks[-1] = (tag, text + data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def texts(self, tag: str) -> list[str]:
        return [one_line(t) for g, t in self.blocks if g == tag]


EXPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "span", "strong", "em",
               "ol", "ul", "li", "table", "tr", "th", "td", "div", "svg", "text", "rect"}
MARKDOWN_TAGS = {"h1", "h2", "h3", "p", "strong", "em", "code", "ol", "ul", "li", "table", "thead", "tbody", "tr",
                 "th", "td"}


def read_markdown(text: str) -> Blocks:
    """Markdown as CommonMark with GFM tables and strikethrough reads it, as HTML blocks."""
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    page = Blocks()
    page.feed(rendered)
    return page


def check_transcript(page: Blocks, tags: set[str]) -> None:
    assert set(page.tags) <= tags, set(page.tags) - tags
    assert not page.comments
    assert page.texts("h1") == [one_line(HOSTILE[0])]
    assert page.texts("h2") == [one_line(exports.item_title(RECORD, i)) for i, _ in exports.by_item(LINES)]
    paras = page.texts("p")
    lines = [s for _, segs in exports.by_item(LINES) for s in segs]
    said = [p for p in paras if re.match(r"\d\d:\d\d:\d\d ?", p)]
    assert len(said) == len(lines)
    for p, line in zip(said, lines, strict=True):  # every line in its own paragraph, as text
        lead = one_line(line["text"]) if line["source"] == "point_of_order" else f"{one_line(exports.speaker_label(line))}: {one_line(line['text'])}"
        assert re.sub(r"^\d\d:\d\d:\d\d ?", "", p) == lead, (p, lead)


def test_html_transcript_is_text_in_its_paragraphs() -> None:
    page = Blocks()
    page.feed(exports.to_html(RECORD))
    check_transcript(page, EXPORT_TAGS)


def test_markdown_transcript_is_text_in_its_paragraphs() -> None:
    check_transcript(read_markdown(exports.to_markdown(RECORD)), MARKDOWN_TAGS)


def test_text_transcript_starts_no_line_of_its_own() -> None:
    out = exports.to_text(RECORD).split("\n")
    lines = [s for _, segs in exports.by_item(LINES) for s in segs]
    spoken = [line for line in out if line.startswith(">> ")]
    notices = [line for line in out if line.startswith("[Point of order: ")]
    assert len(spoken) + len(notices) == len(lines)
    groups = len(list(exports.by_item(LINES)))
    assert len(out) == 3 + 2 * groups + 2 * len(lines)  # title, date, blank; item headings; a line and a blank each


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_report_is_text_in_its_blocks(fmt: str) -> None:
    if fmt == "md":
        page = read_markdown(report.to_markdown(RECORD, T0 + 9000))
        tags = MARKDOWN_TAGS
    else:
        page = Blocks()
        page.feed(report.to_html(RECORD, T0 + 9000))
        tags = EXPORT_TAGS | {"title"}
    assert set(page.tags) <= tags, set(page.tags) - tags
    assert page.texts("h1") == [f"Chair's report: {one_line(HOSTILE[0])}"]
    assert page.texts("h2") == ["Fairness at a glance", "Speaking time and turns", *(one_line(exports.item_title(RECORD, i)) for i in (0, 1)),
                                "Annex: statements for the record"]
    assert page.texts("h3") == [one_line(h) for h in HOSTILE]  # "Note\n\n# ADOPTED" is a title, not a heading
    cells = page.texts("td")
    for h in HOSTILE:
        assert one_line(h) in cells  # the group's name is one cell
    items = page.texts("li")
    turns = [i for i in items if i.count(":") >= 1 and " from " in i]
    assert len(turns) == len(HOSTILE)
    written = [i for i in items if "(answered at " in i]
    assert sorted(written) == sorted(f"{label(h)} (answered at {exports.wall(RECORD, T0 + 100.0 * n + 10).strftime('%H:%M')}): {one_line(h)}"
                                     for n, h in enumerate(HOSTILE))
    paras = page.texts("p")
    for h in HOSTILE:  # a statement's body: each of its lines is one paragraph, as text
        for line in h.split("\n"):
            assert not line.strip() or paras.count(one_line(line)) >= 2, (h, line)
