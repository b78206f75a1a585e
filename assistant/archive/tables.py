"""The archive tables: a projection of the event log that any SQLite tool can read.

The event log stays the record; these tables are derived from it in the same transaction that
stores the events (so they are always in step) and can be rebuilt from it at any time. They hold
agenda items, participants, requests, turns, segments (with an FTS5 index kept in step by
triggers), corrections (every revision of a segment, the original kept) and statements.
Everything here runs on the store's threads; nothing here awaits.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from ..core import events as ev

TABLES = ("agenda_items", "participants", "requests", "turns", "segments", "corrections", "statements")


class SearchError(ValueError):
    """A query the full-text index cannot run; the message says how to fix it."""


def create(db: Database) -> None:
    """Create the archive tables where missing."""
    m = ("meeting_id", "meetings", "id")
    db.table("agenda_items").create(
        {"meeting_id": str, "item": int, "title": str}, pk=("meeting_id", "item"), foreign_keys=[m], if_not_exists=True
    )
    db.table("participants").create(
        {"meeting_id": str, "participant_id": str, "name": str, "affiliation": str, "stakeholder_group": str,
         "mode": str, "language": str, "role": str, "device": int, "joined_at": float},
        pk=("meeting_id", "participant_id"), foreign_keys=[m], if_not_exists=True,
    )
    db.table("requests").create(
        {"meeting_id": str, "request_id": str, "participant_id": str, "kind": str, "text": str, "item": int,
         "asked_at": float, "state": str, "given_at": float, "ended_at": float, "end_reason": str},
        pk=("meeting_id", "request_id"), foreign_keys=[m], if_not_exists=True,
    )
    db.table("turns").create(
        {"meeting_id": str, "seq": int, "participant_id": str, "request_id": str, "kind": str, "item": int,
         "started_at": float, "ended_at": float, "seconds": float, "limit_s": int},
        pk=("meeting_id", "seq"), foreign_keys=[m], if_not_exists=True,
    )
    db.table("segments").create(
        {"meeting_id": str, "segment_id": str, "seq": int, "item": int, "start": float, "end": float,
         "speaker_id": str, "speaker_name": str, "affiliation": str, "source": str, "language": str,
         "text": str, "original_text": str, "revisions": int},
        pk=("meeting_id", "segment_id"), foreign_keys=[m], if_not_exists=True,
    )
    db.table("corrections").create(
        {"meeting_id": str, "segment_id": str, "revision": int, "previous_text": str, "text": str,
         "by_participant": str, "at": float, "seq": int},
        pk=("meeting_id", "segment_id", "revision"), foreign_keys=[m], if_not_exists=True,
    )
    db.table("statements").create(
        {"meeting_id": str, "statement_id": str, "participant_id": str, "title": str, "text": str, "item": int,
         "filed_at": float},
        pk=("meeting_id", "statement_id"), foreign_keys=[m], if_not_exists=True,
    )
    db.execute("create index if not exists segments_order on segments(meeting_id, seq)")
    db.execute("create index if not exists turns_open on turns(meeting_id, ended_at)")
    if "segments_fts" not in db.table_names():
        db.table("segments").enable_fts(["text", "speaker_name"], create_triggers=True, tokenize="unicode61 remove_diacritics 2")
    _fts(db, "requests", ("text",))  # written interventions; search reads the delivered ones
    _fts(db, "statements", ("title", "text"))


def _fts(db: Database, table: str, columns: tuple[str, ...]) -> None:
    """An FTS5 index of `table`'s `columns` kept in step by triggers (only a changed text re-indexes
    a row; a row replaced by an insert leaves through the delete trigger, as sqlite-utils turns
    recursive_triggers on); an index added to an archive that already has rows is filled from them."""
    name = f"{table}_fts"
    if name in db.table_names():
        return
    cols, new, old = ", ".join(columns), ", ".join(f"new.{c}" for c in columns), ", ".join(f"old.{c}" for c in columns)
    remove = f"insert into {name}({name}, rowid, {cols}) values ('delete', old.rowid, {old});"
    add = f"insert into {name}(rowid, {cols}) values (new.rowid, {new});"
    db.executescript(f"""
        create virtual table {name} using fts5({cols}, content='{table}', tokenize='unicode61 remove_diacritics 2');
        create trigger {name}_ai after insert on {table} begin {add} end;
        create trigger {name}_ad after delete on {table} begin {remove} end;
        create trigger {name}_au after update of {cols} on {table} begin {remove} {add} end;
        insert into {name}({name}) values ('rebuild');
    """)


def rebuild(db: Database) -> int:
    """Empty the archive tables and project the whole event log again (the FTS triggers follow);
    returns the events read."""
    with db.atomic():
        for name in TABLES:
            db.execute(f"delete from {name}")
        count, last = 0, ("", 0)
        while True:
            rows = list(db.query(
                "select * from events where (meeting_id, seq) > (?, ?) order by meeting_id, seq limit 5000", last
            ))
            if not rows:
                break
            batch = [ev.Event.from_row(r) for r in rows]
            project(db, batch)
            count += len(batch)
            last = (batch[-1].meeting_id, batch[-1].seq)
    return count


def project(db: Database, events: Iterable[ev.Event]) -> None:
    """Bring the archive tables up to date with `events` (called inside the storing transaction)."""
    for event in events:
        rule = _RULES.get(type(event.fact))
        if rule is not None:
            rule(db, event.meeting_id, event.fact, event)


def _meeting_created(db: Database, mid: str, f: ev.MeetingCreated, e: ev.Event) -> None:
    db.table("agenda_items").insert_all(
        ({"meeting_id": mid, "item": i, "title": t} for i, t in enumerate(f.agenda)), replace=True
    )


def _meeting_rescheduled(db: Database, mid: str, f: ev.MeetingRescheduled, e: ev.Event) -> None:
    db.execute(
        "update meetings set starts_at = ?, ends_at = ?, timezone = ? where id = ?",
        [f.starts_at, f.ends_at, f.timezone, mid],
    )


def _participant_joined(db: Database, mid: str, f: ev.ParticipantJoined, e: ev.Event) -> None:
    db.table("participants").insert({
        "meeting_id": mid, "participant_id": f.participant_id, "name": f.name, "affiliation": f.affiliation,
        "stakeholder_group": f.group, "mode": f.mode, "language": f.language, "role": f.role,
        "device": int(f.device), "joined_at": e.at,
    }, replace=True)


def _request_added(db: Database, mid: str, f: ev.RequestAdded, e: ev.Event) -> None:
    db.table("requests").insert({
        "meeting_id": mid, "request_id": f.request_id, "participant_id": f.participant_id, "kind": f.kind,
        "text": f.text, "item": f.item, "asked_at": e.at, "state": "waiting",
        "given_at": None, "ended_at": None, "end_reason": "",
    }, replace=True)


def _close_request(db: Database, mid: str, request_id: str, state: str, at: float, reason: str) -> None:
    db.execute(
        "update requests set state = ?, ended_at = ?, end_reason = ? where meeting_id = ? and request_id = ?",
        [state, at, reason, mid, request_id],
    )


def _request_withdrawn(db: Database, mid: str, f: ev.RequestWithdrawn, e: ev.Event) -> None:
    _close_request(db, mid, f.request_id, "withdrawn", e.at, "")


def _request_dropped(db: Database, mid: str, f: ev.RequestDropped, e: ev.Event) -> None:
    _close_request(db, mid, f.request_id, "dropped", e.at, f.reason)


def _open_turn(db: Database, mid: str) -> dict[str, Any] | None:
    rows = list(db.query("select * from turns where meeting_id = ? and ended_at is null", [mid]))
    return rows[0] if rows else None


def _time_limit_changed(db: Database, mid: str, f: ev.TimeLimitChanged, e: ev.Event) -> None:
    db.execute("update turns set limit_s = ? where meeting_id = ? and ended_at is null", [f.seconds, mid])


def _floor_changed(db: Database, mid: str, f: ev.FloorChanged, e: ev.Event) -> None:
    current = _open_turn(db, mid)
    if current is not None and (current["participant_id"], current["request_id"], current["started_at"]) == (
        f.participant_id, f.request_id, f.started_at
    ):  # archives before time_limit_changed: the same turn, a new limit
        db.execute("update turns set limit_s = ? where meeting_id = ? and seq = ?", [f.limit_s, mid, current["seq"]])
        return
    if current is not None:
        db.execute(
            "update turns set ended_at = ?, seconds = ? - started_at where meeting_id = ? and seq = ?",
            [e.at, e.at, mid, current["seq"]],
        )
        if current["request_id"]:
            db.execute(
                "update requests set state = 'done', ended_at = ? where meeting_id = ? and request_id = ? and state = 'speaking'",
                [e.at, mid, current["request_id"]],
            )
    if f.participant_id is None:
        return
    db.table("turns").insert({
        "meeting_id": mid, "seq": e.seq, "participant_id": f.participant_id, "request_id": f.request_id,
        "kind": f.kind, "item": f.item, "started_at": f.started_at, "ended_at": None, "seconds": None,
        "limit_s": f.limit_s,
    }, replace=True)
    if f.request_id:
        db.execute(  # a resumed turn keeps the time the floor was first given
            "update requests set state = 'speaking', ended_at = null, given_at = coalesce(given_at, ?) "
            "where meeting_id = ? and request_id = ?",
            [f.started_at, mid, f.request_id],
        )


def _segment(db: Database, mid: str, f: ev.Segment, e: ev.Event) -> None:
    db.table("segments").insert({
        "meeting_id": mid, "segment_id": f.id, "seq": e.seq, "item": f.item, "start": f.start,
        "end": f.end, "speaker_id": f.speaker_id, "speaker_name": f.speaker_name,
        "affiliation": f.affiliation, "source": f.source, "language": f.language,
        "text": f.text, "original_text": f.text, "revisions": 0,
    }, replace=True)


def _segment_corrected(db: Database, mid: str, f: ev.SegmentCorrected, e: ev.Event) -> None:
    row = db.execute(
        "select revisions from segments where meeting_id = ? and segment_id = ?", [mid, f.segment_id]
    ).fetchone()
    revision = int(row[0]) + 1
    db.table("corrections").insert({
        "meeting_id": mid, "segment_id": f.segment_id, "revision": revision, "previous_text": f.previous,
        "text": f.text, "by_participant": f.by, "at": e.at, "seq": e.seq,
    }, replace=True)
    db.execute(
        "update segments set text = ?, revisions = ? where meeting_id = ? and segment_id = ?",
        [f.text, revision, mid, f.segment_id],
    )


def _statement_filed(db: Database, mid: str, f: ev.StatementFiled, e: ev.Event) -> None:
    db.table("statements").insert({
        "meeting_id": mid, "statement_id": f.statement_id, "participant_id": f.participant_id,
        "title": f.title, "text": f.text, "item": f.item, "filed_at": e.at,
    }, replace=True)


def _meeting_ended(db: Database, mid: str, f: ev.MeetingEnded, e: ev.Event) -> None:
    db.execute("update meetings set ended_at = ? where id = ?", [e.at, mid])


_RULES: dict[type[ev.Fact], Callable[[Database, str, Any, ev.Event], None]] = {
    ev.MeetingCreated: _meeting_created,
    ev.MeetingRescheduled: _meeting_rescheduled,
    ev.ParticipantJoined: _participant_joined,
    ev.RequestAdded: _request_added,
    ev.RequestWithdrawn: _request_withdrawn,
    ev.RequestDropped: _request_dropped,
    ev.TimeLimitChanged: _time_limit_changed,
    ev.FloorChanged: _floor_changed,
    ev.Segment: _segment,
    ev.SegmentCorrected: _segment_corrected,
    ev.StatementFiled: _statement_filed,
    ev.MeetingEnded: _meeting_ended,
}


# -- reading -----------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """Everything the archive knows about one meeting, as rows."""

    meeting: dict[str, Any]
    agenda: list[str]
    participants: dict[str, dict[str, Any]]
    segments: list[dict[str, Any]]
    turns: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    statements: list[dict[str, Any]]
    corrections: list[dict[str, Any]] = field(default_factory=list)


def record(db: Database, meeting_id: str) -> Record | None:
    rows = list(db.query("select * from meetings where id = ?", [meeting_id]))
    if not rows:
        return None

    def q(sql: str) -> list[dict[str, Any]]:
        return list(db.query(sql, [meeting_id]))

    return Record(
        meeting=rows[0],
        agenda=[r["title"] for r in q("select title from agenda_items where meeting_id = ? order by item")],
        participants={r["participant_id"]: r for r in q("select * from participants where meeting_id = ?")},
        segments=q("select * from segments where meeting_id = ? order by seq"),
        turns=q("select * from turns where meeting_id = ? order by seq"),
        requests=q("select * from requests where meeting_id = ? order by asked_at, request_id"),
        statements=q("select * from statements where meeting_id = ? order by filed_at"),
        corrections=q("select * from corrections where meeting_id = ? order by seq"),
    )


def statement(db: Database, meeting_id: str, statement_id: str) -> dict[str, Any] | None:
    """One statement for the record, with its author's name; None if the meeting has no such statement."""
    rows = list(db.query(
        "select s.statement_id, s.participant_id, coalesce(p.name, '') as name, s.title, s.text, s.item, s.filed_at "
        "from statements s left join participants p on p.meeting_id = s.meeting_id and p.participant_id = s.participant_id "
        "where s.meeting_id = ? and s.statement_id = ?", [meeting_id, statement_id],
    ))
    return rows[0] if rows else None


_MARK_ON, _MARK_OFF = "\x02", "\x03"
_TERMS = re.compile(r'"([^"]*)"|(\S+)')
_OPERATORS = ("OR", "AND", "NOT")
PLAIN_HELP = ('type words to find them anywhere, "a phrase" in double quotes, OR between alternatives, '
              "NOT before a word to leave it out, word* for words that start so")


def _searchable(term: str) -> bool:
    """Whether the index's tokenizer (unicode61) finds a word in `term`: a letter or a digit."""
    return any(c.isalnum() or unicodedata.category(c) == "Co" for c in term)


def fts_query(text: str) -> str:
    """The user's search as an FTS5 query that always parses: every word and "phrase" is quoted, so
    any typed text just works; `OR`, `AND` and `NOT` (in capitals, between words) and a trailing `*`
    (a prefix) keep their meaning; anything else is a word. A search with no word in it is refused."""
    text = " ".join(text.split())
    if not text:
        raise SearchError(f"the search is empty; {PLAIN_HELP}")
    if len(text) > 500:
        raise SearchError(f"the search is {len(text)} characters; at most 500 are allowed")
    out: list[str] = []  # quoted terms, an operator only ever between two of them
    pending = ""
    for m in _TERMS.finditer(text):
        phrase, word = m.group(1), m.group(2)
        if word in _OPERATORS:
            pending = word if out else ""
            continue
        term = phrase if phrase is not None else word
        prefix = phrase is None and term.endswith("*")
        term = term.rstrip("*") if prefix else term
        if not _searchable(term):
            continue
        if pending:
            out.append(pending)
            pending = ""
        out.append('"' + term.replace('"', '""') + '"' + ("*" if prefix else ""))
    if not out:  # "NOT" or "OR" alone: the word itself
        out = [f'"{w}"' for w in text.split() if w in _OPERATORS]
    if not out:
        raise SearchError(f"there is no word to search for in {text[:40]!r}; {PLAIN_HELP}")
    return " ".join(out)


# What search reads, one query per kind: transcript lines, delivered written interventions, statements
# (index, the column its snippet is cut from: -1 is the best matching one, title or text; the query).
_SOURCES = (
    ("segments_fts", 0,
     "select 'segment' as kind, s.meeting_id, s.segment_id as anchor, s.start, s.end, s.speaker_id, s.speaker_name, s.affiliation, "
     "s.item, s.text, '' as title, {snippet} as snip, segments_fts.rank as rank "
     "from segments_fts join segments s on s.rowid = segments_fts.rowid where segments_fts match ?"),
    ("requests_fts", 0,
     "select 'written' as kind, s.meeting_id, 'written-' || s.request_id as anchor, s.given_at - m.created_at as start, "
     "s.given_at - m.created_at as end, s.participant_id as speaker_id, coalesce(p.name, '') as speaker_name, "
     "coalesce(p.affiliation, '') as affiliation, s.item, s.text, '' as title, {snippet} as snip, "
     "requests_fts.rank as rank "
     "from requests_fts join requests s on s.rowid = requests_fts.rowid join meetings m on m.id = s.meeting_id "
     "left join participants p on p.meeting_id = s.meeting_id and p.participant_id = s.participant_id "
     "where requests_fts match ? and s.given_at is not null"),
    ("statements_fts", -1,
     "select 'statement' as kind, s.meeting_id, 'statement-' || s.statement_id as anchor, s.filed_at - m.created_at as start, "
     "s.filed_at - m.created_at as end, s.participant_id as speaker_id, coalesce(p.name, '') as speaker_name, "
     "coalesce(p.affiliation, '') as affiliation, s.item, s.text, s.title, {snippet} as snip, "
     "statements_fts.rank as rank "
     "from statements_fts join statements s on s.rowid = statements_fts.rowid join meetings m on m.id = s.meeting_id "
     "left join participants p on p.meeting_id = s.meeting_id and p.participant_id = s.participant_id "
     "where statements_fts match ?"),
)


def hit_url(meeting_id: str, kind: str, anchor: str) -> str:
    """Where a hit is read: its line on the meeting's page, or a statement in the chair's report."""
    if kind == "statement":
        return f"/api/meetings/{meeting_id}/report.html#{anchor}"
    return f"/archive/{meeting_id}#{anchor}"


def search(db: Database, text: str, meeting_ids: Sequence[str] | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Transcript lines, delivered written interventions and statements matching `text`, best first
    (BM25), each with its `kind`, a highlighted snippet and the `url` to read it at."""
    query = fts_query(text)
    only = f" and s.meeting_id in ({', '.join('?' for _ in meeting_ids)})" if meeting_ids is not None else ""
    ranked = " union all ".join(  # the best `limit` of each kind, then the best of those
        "select * from (" + select.format(snippet=f"snippet({table}, {column}, char({ord(_MARK_ON)}), "
                                                  f"char({ord(_MARK_OFF)}), '…', 16)") + f"{only} order by rank limit ?)"
        for table, column, select in _SOURCES
    )
    sql = (f"select h.*, m.title as meeting_title, m.created_at as meeting_started from ({ranked}) h "
           "join meetings m on m.id = h.meeting_id order by h.rank limit ?")
    params = [query, *(meeting_ids or ()), limit] * len(_SOURCES) + [limit]
    try:
        rows = list(db.query(sql, params))
    except sqlite3.OperationalError as exc:  # not expected: every term is quoted
        raise SearchError(f"the search could not be run; {PLAIN_HELP}") from exc
    for row in rows:
        del row["rank"]
        snip = row.pop("snip") or row["text"]
        row["segment_id"] = row.pop("anchor")  # the line's id in the transcript exports and the page
        row["snippet"] = snip.replace(_MARK_ON, "").replace(_MARK_OFF, "")
        row["highlights"] = _spans(snip)
        row["url"] = hit_url(row["meeting_id"], row["kind"], row["segment_id"])
    return rows

def _spans(snip: str) -> list[list[Any]]:
    """The snippet as [text, highlighted] pieces, so a page can mark them without parsing HTML."""
    out: list[list[Any]] = []
    for i, part in enumerate(re.split(f"[{_MARK_ON}{_MARK_OFF}]", snip)):
        if part:
            out.append([part, i % 2 == 1])
    return out
