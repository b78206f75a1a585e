"""`assistant export`, `assistant report` and `assistant search`: the archive from the command line.

They read the SQLite file directly, read-only, so they are safe beside a running server."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

from sqlite_utils import Database

from ..config import Config
from . import report
from . import tables as archive
from .exports import WRITERS, clock
from .store import DB_NAME


class ArchiveMissing(RuntimeError):
    pass


def open_archive(config: Config) -> Database:
    path = Path(config.server.data_dir) / DB_NAME
    if not path.is_file():
        raise ArchiveMissing(f"no archive at {path}; set [server] data_dir in config.toml or pass --config")
    db = Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    if not {"segments_fts", "requests_fts", "statements_fts"} <= set(db.table_names()):
        raise ArchiveMissing(f"{path} was made by an older version; start `assistant serve` once to build its archive tables")
    return db


def _record(db: Database, meeting_id: str) -> archive.Record:
    found = archive.record(db, meeting_id)
    if found is None:
        known = ", ".join(r["id"] for r in db.query("select id from meetings order by created_at desc limit 10"))
        raise ArchiveMissing(f"no meeting {meeting_id!r} in the archive; recent meetings: {known or 'none'}")
    return found


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)


def export(config: Config, meeting_id: str, fmt: str, output: Path | None) -> None:
    _write(WRITERS[fmt](_record(open_archive(config), meeting_id)), output)


def chair_report(config: Config, meeting_id: str, fmt: str, output: Path | None) -> None:
    record = _record(open_archive(config), meeting_id)
    render = report.to_markdown if fmt == "md" else report.to_html
    _write(render(record, time.time()), output)


def search(config: Config, query: str, meeting_id: str | None, limit: int) -> int:
    hits = archive.search(open_archive(config), query, [meeting_id] if meeting_id else None, limit)
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("[", "]")
    for h in hits:
        snippet = "".join(f"{bold}{text}{plain}" if hit else text for text, hit in h["highlights"])
        what = f"{h['kind']} " if h["kind"] != "segment" else ""
        print(f"{h['meeting_id']} {clock(h['start'])} {h['meeting_title']} | {what}{h['speaker_name'] or '?'}: {snippet}")
        print(f"    {h['url']}")
    if not hits:
        print("nothing found", file=sys.stderr)
    return 0 if hits else 1
