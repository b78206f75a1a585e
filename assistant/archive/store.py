"""The SQLite archive: the append-only event log and the tables beside it.

One thread owns the write connection (all writes are sent to it); another
thread owns a read connection, so a long replay never waits for a write and
the event loop never waits for the disk. WAL mode lets the two run together.
A command is acknowledged only after `append` returns, that is after the
transaction holding its events has committed: by default with synchronous=FULL
(flushed to disk); `[server] synchronous = "normal"` trades the flush for
cheaper commits, still safe against a killed process (config.SYNCHRONOUS).
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
    def __init__(self, path: Path, *, synchronous: str = "full") -> None:
        self.path = path
        self.synchronous = synchronous  # config.SYNCHRONOUS, for the write connection
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="store-reader")
        self._local = threading.local()
        self._last_seq: dict[str, int] = {}  # writer thread only
        self._pending: list[_Append] = []  # appends waiting for the writer (taken by it as one batch)
        self._pending_lock = threading.Lock()

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
        def create(db: Database) -> None:
            _create_schema(db)
            db.execute(f"PRAGMA synchronous={'NORMAL' if self.synchronous == 'normal' else 'FULL'}")

        await self._write(create)

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
        """Store `drafts` after seq `expected_seq` and number them; returns once they are durable.

        Appends that arrive while the writer is busy are committed together, in one transaction
        and one fsync (a group commit): a busy meeting costs another meeting at most one commit.
        Each append is checked and written on its own (a savepoint): a seq conflict or a failed
        write fails that append alone.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[ev.Event]] = loop.create_future()
        item = _Append(meeting_id, list(drafts), expected_seq, list(grants), meeting, done, loop)
        with self._pending_lock:
            self._pending.append(item)
            first = len(self._pending) == 1
        if first:  # the writer takes this one and whatever joins it meanwhile
            loop.run_in_executor(self._writer, self._write_pending)
        return await done

    def _write_pending(self) -> None:
        """On the writer thread: every append waiting now, in one transaction."""
        with self._pending_lock:
            batch, self._pending = self._pending, []
        db = self._db()
        results: list[tuple[_Append, list[ev.Event] | BaseException]] = []
        last_seq = dict(self._last_seq)
        try:
            with db.atomic():
                for item in batch:  # each in a savepoint: one that fails leaves the others stored
                    db.execute("savepoint one_append")
                    try:
                        results.append((item, self._write_one(db, item, last_seq)))
                    except Exception as exc:
                        db.execute("rollback to one_append")
                        results.append((item, exc))
                    db.execute("release one_append")
        except Exception as exc:  # the transaction failed: nothing in it was stored
            results = [(item, exc) for item in batch]
        else:
            self._last_seq = last_seq
        for item, result in results:
            item.loop.call_soon_threadsafe(_settle, item.done, result)

    def _write_one(self, db: Database, item: _Append, last_seq: dict[str, int]) -> list[ev.Event]:
        last = last_seq.get(item.meeting_id)
        if last is None:
            last = _max_seq(db, item.meeting_id)
        if last != item.expected_seq:
            raise SeqConflict(f"meeting {item.meeting_id}: log is at seq {last}, caller expected {item.expected_seq}")
        stored = [ev.Event(item.meeting_id, last + i + 1, d.fact, d.at) for i, d in enumerate(item.drafts)]
        if item.meeting is not None:
            db.table("meetings").insert(item.meeting)
        db.conn.executemany(
            "insert into events (meeting_id, seq, name, data, at) values (?, ?, ?, ?, ?)",
            [(item.meeting_id, e.seq, e.name, e.stored_data(), e.at) for e in stored],
        )
        archive.project(db, stored)
        for g in item.grants:
            db.table("grants").insert(dataclasses.asdict(g))
        last_seq[item.meeting_id] = stored[-1].seq if stored else last
        return stored

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

    async def statement(self, meeting_id: str, statement_id: str) -> dict[str, Any] | None:
        """One statement's body, fetched on demand (the log's `statement_filed` is on the wire without it)."""
        return await self._read(lambda db: archive.statement(db, meeting_id, statement_id))

    async def search(
        self, text: str, meeting_ids: Sequence[str] | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        return await self._read(lambda db: archive.search(db, text, meeting_ids, limit))

    async def grants(self) -> list[Grant]:
        rows = await self._read(lambda db: list(db.query("select * from grants")))
        return [Grant(**r) for r in rows]


@dataclass
class _Append:
    meeting_id: str
    drafts: list[ev.Draft]
    expected_seq: int
    grants: list[Grant]
    meeting: dict[str, Any] | None
    done: asyncio.Future[list[ev.Event]]
    loop: asyncio.AbstractEventLoop


def _settle(done: asyncio.Future[list[ev.Event]], result: list[ev.Event] | BaseException) -> None:
    if done.done():
        return  # the caller went away (cancelled); what was stored stays stored
    if isinstance(result, BaseException):
        done.set_exception(result)
    else:
        done.set_result(result)


def _max_seq(db: Database, meeting_id: str) -> int:
    row = db.execute("select max(seq) from events where meeting_id = ?", [meeting_id]).fetchone()
    return int(row[0] or 0)


def _create_schema(db: Database) -> None:
    db.enable_wal()
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
