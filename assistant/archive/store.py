"""The SQLite archive: the append-only event log and the tables beside it.

One thread owns the write connection (all writes are sent to it); another
thread owns a read connection, so a long replay never waits for a write and
the event loop never waits for the disk. WAL mode lets the two run together.
A command is acknowledged only after `append` returns, that is after the
transaction holding its events has committed with synchronous=FULL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from ..core import events as ev
from . import tables as archive

T = TypeVar("T")

DB_NAME = "meetings.db"  # in [server] data_dir
SCHEMA_VERSION = 2  # 2: the archive tables


class SeqConflict(RuntimeError):
    """The log holds events the caller did not know about: state and log disagree."""


@dataclass(frozen=True)
class Grant:
    """What a token allows: a role in one meeting, as one participant (or none)."""

    token_hash: str
    meeting_id: str
    participant_id: str | None
    role: str
    created_at: float


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="store-reader")
        self._local = threading.local()
        self._last_seq: dict[str, int] = {}  # writer thread only

    # -- plumbing ---------------------------------------------------------

    def _db(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(str(self.path), timeout=30)
            db = Database(conn)
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    async def _write(self, fn: Callable[[Database], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, lambda: fn(self._db()))

    async def _read(self, fn: Callable[[Database], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, lambda: fn(self._db()))

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self._write(_create_schema)

    async def close(self) -> None:
        def shut(db: Database) -> None:
            db.conn.close()
            self._local.db = None

        for pool in (self._writer, self._reader):
            try:
                await asyncio.get_running_loop().run_in_executor(pool, lambda: shut(self._db()))
            finally:
                pool.shutdown(wait=True)

    # -- writes -----------------------------------------------------------

    async def append(
        self,
        meeting_id: str,
        drafts: Sequence[ev.Draft],
        expected_seq: int,
        *,
        grants: Iterable[Grant] = (),
        meeting: dict[str, Any] | None = None,
    ) -> list[ev.Event]:
        """Store `drafts` after seq `expected_seq`, in one transaction, and number them."""
        grants = list(grants)

        def write(db: Database) -> list[ev.Event]:
            last = self._last_seq.get(meeting_id)
            if last is None:
                last = _max_seq(db, meeting_id)
            if last != expected_seq:
                raise SeqConflict(
                    f"meeting {meeting_id}: log is at seq {last}, caller expected {expected_seq}"
                )
            stored = [ev.Event(meeting_id, expected_seq + i + 1, d.fact, d.at) for i, d in enumerate(drafts)]
            with db.atomic():
                if meeting is not None:
                    db.table("meetings").insert(meeting)
                db.conn.executemany(
                    "insert into events (meeting_id, seq, name, data, at) values (?, ?, ?, ?, ?)",
                    [(meeting_id, e.seq, e.name, e.stored_data(), e.at) for e in stored],
                )
                archive.project(db, stored)
                for g in grants:
                    db.table("grants").insert(dataclasses.asdict(g))
            if stored:
                self._last_seq[meeting_id] = stored[-1].seq
            else:
                self._last_seq[meeting_id] = last
            return stored

        return await self._write(write)

    async def add_grant(self, grant: Grant) -> None:
        """A token that comes with no event (an observer's or a feed's)."""
        await self._write(lambda db: db.table("grants").insert(dataclasses.asdict(grant)))

    # -- reads ------------------------------------------------------------

    async def events(self, meeting_id: str, after: int = 0, limit: int | None = None) -> list[ev.Event]:
        def read(db: Database) -> list[ev.Event]:
            sql = "select * from events where meeting_id = ? and seq > ? order by seq"
            params: list[Any] = [meeting_id, after]
            if limit is not None:
                sql += " limit ?"
                params.append(limit)
            return [ev.Event.from_row(r) for r in db.query(sql, params)]

        return await self._read(read)

    async def meetings(self) -> list[dict[str, Any]]:
        return await self._read(
            lambda db: list(
                db.query(
                    "select id, title, created_at as started, ended_at as ended, timezone, starts_at, ends_at "
                    "from meetings order by created_at desc"
                )
            )
        )

    async def meeting(self, meeting_id: str) -> dict[str, Any] | None:
        rows = await self._read(
            lambda db: list(db.query("select * from meetings where id = ?", [meeting_id]))
        )
        return rows[0] if rows else None

    async def record(self, meeting_id: str) -> archive.Record | None:
        return await self._read(lambda db: archive.record(db, meeting_id))

    async def search(
        self, text: str, meeting_ids: Sequence[str] | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        return await self._read(lambda db: archive.search(db, text, meeting_ids, limit))

    async def grants(self) -> list[Grant]:
        rows = await self._read(lambda db: list(db.query("select * from grants")))
        return [Grant(**r) for r in rows]


def _max_seq(db: Database, meeting_id: str) -> int:
    row = db.execute("select max(seq) from events where meeting_id = ?", [meeting_id]).fetchone()
    return int(row[0] or 0)


def _create_schema(db: Database) -> None:
    db.enable_wal()
    db.execute("PRAGMA synchronous=FULL")
    db.table("meetings").create(
        {
            "id": str,
            "title": str,
            "created_at": float,
            "ended_at": float,
            "timezone": str,
            "invite_code": str,
            "starts_at": str,
            "ends_at": str,
        },
        pk="id",
        not_null=["title", "created_at", "invite_code"],
        if_not_exists=True,
    )
    db.table("events").create(
        {"meeting_id": str, "seq": int, "name": str, "data": str, "at": float},
        pk=("meeting_id", "seq"),
        not_null=["name", "data", "at"],
        foreign_keys=[("meeting_id", "meetings", "id")],
        if_not_exists=True,
    )
    db.table("grants").create(
        {"token_hash": str, "meeting_id": str, "participant_id": str, "role": str, "created_at": float},
        pk="token_hash",
        not_null=["meeting_id", "role", "created_at"],
        foreign_keys=[("meeting_id", "meetings", "id")],
        if_not_exists=True,
    )
    meetings = db.table("meetings")
    for column in ("starts_at", "ends_at"):  # archives before scheduled times
        if column not in meetings.columns_dict:
            meetings.add_column(column, str)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    archive.create(db)
    if version < 2:
        archive.rebuild(db)  # an archive from before the tables: derive them from its log
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
