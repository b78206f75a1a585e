"""One document, two renderings: the transcript and the chair's report are built once as blocks
(headings, paragraphs, lists, tables with a chart) and written out as Markdown or as HTML.

Every string in a block is text, never markup: each renderer escapes it for its format, in one
place, so no name, title or statement can open a heading, a list, a quote, a code block, a table
cell, a link or an HTML tag. Pure: blocks in, text out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Em:
    text: str


@dataclass(frozen=True)
class Time:
    """A clock reading written beside a line (`00:12:05`)."""

    text: str


Inline = str | Strong | Em | Time


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    id: str = ""


@dataclass(frozen=True)
class Para:
    parts: Sequence[Inline]
    id: str = ""
    note: bool = False  # a notice, not speech (a point of order): italic


@dataclass(frozen=True)
class Items:
    ordered: bool
    items: Sequence[Sequence[Inline]]


@dataclass(frozen=True)
class Chart:
    title: str
    bars: Sequence[tuple[str, float]]
    fmt: Callable[[float], str]


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    chart: Chart | None = None  # HTML draws it beside the table; Markdown adds a column of text bars


Block = Heading | Para | Items | Table


@dataclass
class Doc:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)


# -- Markdown -----------------------------------------------------------------

# Everything CommonMark (and GFM: tables, strikethrough, autolinks) reads as markup inside a line.
_MD_INLINE = re.compile(r"[\\`*_\[\]<>#|~]|&(?=#?\w+;)")
# What opens a block at the start of a line, once the characters above are escaped.
_MD_LINE_START = re.compile(r"^(?:[-+=]|\d{1,9}(?=[.)]))")
_MD_SPECIAL = re.compile(r"[\\`*_\[\]<>#|~&]")  # a quick look before the slower work
_BARE_LINK = re.compile(r"(?i)\b(https?|ftp)(:)(?=//)|\b(www)(\.)")


def one_line(text: str) -> str:
    """`text` with every run of white space (line breaks included) made one space, and trimmed."""
    if text.isprintable() and "  " not in text:  # the common case, a plain sentence
        return text.strip(" ") if text[:1] == " " or text[-1:] == " " else text
    return " ".join(text.split())


def md_text(text: str) -> str:
    """`text` as Markdown that renders as exactly this text, on one line and inside its block."""
    text = one_line(text)
    if _MD_SPECIAL.search(text) is not None:
        text = _MD_INLINE.sub(r"\\\g<0>", text)
    if "://" in text or "www." in text:  # GFM's extended autolinks: an escaped `:` or `.` stops them
        text = _BARE_LINK.sub(lambda m: (m.group(1) or m.group(3)) + "\\" + (m.group(2) or m.group(4)), text)
    return text


def _md_line(text: str) -> str:
    """Escaped inline text that starts a line: it must not read as a list, break or heading marker."""
    m = _MD_LINE_START.match(text)
    if m is None:
        return text
    return text[: m.end()] + "\\" + text[m.end():] if m.group(0)[0].isdigit() else "\\" + text


def _md_inlines(parts: Sequence[Inline]) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):  # the spaces around a piece join it to the next: keep one
            out.append((" " if p[:1].isspace() else "") + md_text(p) + (" " if p[-1:].isspace() else ""))
        elif isinstance(p, Strong):
            t = md_text(p.text)
            out.append(f"**{t}**" if t else "")
        elif isinstance(p, Em):
            t = md_text(p.text)
            out.append(f"*{t}*" if t else "")
        else:
            out.append(f"`{p.text.replace('`', '')}` ")
    return _md_line("".join(out))


def _md_bar(value: float, high: float) -> str:
    return "█" * round(20 * value / high) if high > 0 else ""


def to_markdown(doc: Doc) -> str:
    out: list[str] = []
    for b in doc.blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + md_text(b.text), ""]
        elif isinstance(b, Para):
            line = _md_inlines(b.parts)
            out += [f"*{line}*" if b.note and line else line, ""]
        elif isinstance(b, Items):
            out += [f"{n}. " + _md_inlines(it) if b.ordered else "- " + _md_inlines(it)
                    for n, it in enumerate(b.items, 1)]
            out.append("")
        else:
            header = [md_text(h) for h in b.header]
            align = ["---"] + ["---:"] * (len(header) - 1)
            bars = b.chart.bars if b.chart else ()
            high = max((v for _, v in bars), default=0.0)
            if b.chart:
                header.append(" ")
                align.append("---")
            out += ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
            for i, row in enumerate(b.rows):
                cells = [md_text(c) for c in row]
                if b.chart:
                    cells.append(_md_bar(bars[i][1], high) if i < len(bars) else "")
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
    return "\n".join(out)


# -- HTML ---------------------------------------------------------------------


def _html_inlines(parts: Sequence[Inline]) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(html.escape(p))
        elif isinstance(p, Strong):
            out.append(f"<strong>{html.escape(p.text)}</strong>")
        elif isinstance(p, Em):
            out.append(f"<em>{html.escape(p.text)}</em>")
        else:
            out.append(f'<span class="t">{html.escape(p.text)}</span>')
    return "".join(out)


def _id(block_id: str) -> str:
    return f' id="{html.escape(block_id)}"' if block_id else ""


def to_html_body(doc: Doc, chart: Callable[[Chart], str]) -> str:
    """The blocks as HTML elements; `chart` draws a table's chart (SVG)."""
    e = html.escape
    out = []
    for b in doc.blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}{_id(b.id)}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            cls = ' class="note"' if b.note else ""
            out.append(f"<p{_id(b.id)}{cls}>{_html_inlines(b.parts)}</p>")
        elif isinstance(b, Items):
            tag = "ol" if b.ordered else "ul"
            out.append(f"<{tag}>" + "".join(f"<li>{_html_inlines(it)}</li>" for it in b.items) + f"</{tag}>")
        else:
            rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in b.rows)
            table = "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in b.header) + f"</tr>{rows}</table>"
            out.append(f'<div class="chart">{table}{chart(b.chart)}</div>' if b.chart else table)
    return "\n".join(out)
