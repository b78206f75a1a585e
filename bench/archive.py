"""Archive benchmark: a synthetic 6-hour meeting, then export, report and search times and the size.

Plays the meeting through the real service and SQLite store (the same path a live meeting takes:
decide, store with the archive projection in the same transaction, apply): 80 participants,
4 agenda items, 300 turns and about 5,000 transcript segments of 6 to 30 words, a statement per
item, a few corrections. Then prints, from a fresh read connection: the database size, the time to
load the record and render each export format and the chair's report, and search times.

    .venv/bin/python bench/archive.py
    .venv/bin/python bench/archive.py --segments 5000 --turns 300
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from sqlite_utils import Database

from assistant.archive import report
from assistant.archive import tables as archive
from assistant.archive.exports import WRITERS
from assistant.archive.store import DB_NAME, Store
from assistant.config import parse
from assistant.core.commands import (
    Actor,
    CorrectSegment,
    EndTurn,
    FileStatement,
    GiveFloor,
    NextItem,
    Profile,
    RequestFloor,
)
from assistant.service.hub import Hub
from assistant.service.meetings import Meetings

WORDS = ["access", "connectivity", "community", "networks", "rural", "women", "youth", "capacity", "building", "infrastructure", "spectrum", "policy", "regulation", "data", "protection", "privacy", "cybersecurity", "trust", "multistakeholder", "governance", "internet", "development", "affordability", "digital", "divide", "inclusion", "languages", "content", "platform", "accountability", "human", "rights", "the", "of", "and", "to", "in", "for", "a", "we", "our", "this", "that", "with", "on", "is", "are", "be", "as", "support", "welcome", "note"]
GROUPS = ("government", "civil society", "private sector", "technical community", "intergovernmental organisation")


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 30))]
    return " ".join(words).capitalize() + "."


async def build(data_dir: Path, segments: int, turns: int, seed: int) -> tuple[str, float]:
    rng = random.Random(seed)
    config = parse({"server": {"data_dir": str(data_dir), "admin_token": "bench-admin-0123456789"},
                    "asr": {"enabled": False}})
    store = Store(data_dir / DB_NAME)
    await store.open()
    now = [time.time() - 6 * 3600]
    meetings = Meetings(config, store, Hub(64), clock=lambda: now[0])
    await meetings.start()
    created = await meetings.create(title="Synthetic six-hour session", time_limit_s=180,
                                    agenda=["Opening", "Access", "Human rights online", "Closing"])
    mid, chair = created.meeting_id, Actor(created.chair_id, "chair")
    people = []
    for i in range(80):
        profile = Profile(f"Delegate {i}", f"Country {i}", GROUPS[i % len(GROUPS)],
                          "remote" if i % 3 == 0 else "onsite", "en")
        pid, _ = await meetings.add_participant(mid, profile)
        people.append(pid)
    seg_per_turn = segments / turns
    written = 0
    started = time.perf_counter()
    stored_ids: list[str] = []
    for t in range(turns):
        if t and t % (turns // 4) == 0 and t // (turns // 4) < 4:
            await meetings.execute(mid, Actor(people[t % 80], "participant"),
                                   FileStatement(f"Statement {t}", " ".join(sentence(rng) for _ in range(20))))
            await meetings.execute(mid, chair, NextItem())
        speaker = people[rng.randrange(80)]
        text = sentence(rng) if t % 10 == 0 else ""
        written += bool(text)
        now[0] += rng.uniform(5, 60)
        await meetings.execute(mid, Actor(speaker, "participant"), RequestFloor("intervention", text))
        now[0] += rng.uniform(5, 30)
        await meetings.execute(mid, chair, GiveFloor())
        state = await meetings.state(mid)
        who = state.participants[speaker]
        n = int(seg_per_turn * (t + 1)) - int(seg_per_turn * t)
        clock_s = now[0] - state.created_at
        batch = []
        for _ in range(n):
            dur = rng.uniform(2, 9)
            batch.append({"start": clock_s, "end": clock_s + dur, "text": sentence(rng), "speaker_id": speaker,
                          "speaker_name": who.name, "affiliation": who.affiliation, "source": "hall",
                          "language": "en", "item": state.current_item})
            clock_s += dur + rng.uniform(0.2, 1.5)
        # a live channel commits a segment every few seconds; store them one by one as it does
        for seg in batch:
            stored_ids += [e.fact.id for e in await meetings.record_segments(mid, [seg])]
        now[0] = state.created_at + clock_s
        await meetings.execute(mid, chair, EndTurn())
    for sid in rng.sample(stored_ids, 10):
        await meetings.execute(mid, chair, CorrectSegment(sid, "Corrected: " + sentence(rng)))
    elapsed = time.perf_counter() - started
    await store.close()
    print(f"built: {len(stored_ids)} segments, {turns} turns, {written} written interventions "
          f"in {elapsed:.1f} s ({len(stored_ids) / elapsed:.0f} segments/s stored one by one with the projection)")
    return mid, elapsed


def timed(fn: object, repeat: int = 5) -> tuple[float, object]:
    assert callable(fn)
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=5000)
    ap.add_argument("--turns", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        mid, _ = asyncio.run(build(data_dir, args.segments, args.turns, args.seed))
        path = data_dir / DB_NAME
        db = Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
        db.execute("PRAGMA wal_checkpoint")  # count the data, not a WAL waiting to be folded in
        size = path.stat().st_size + (path.with_name(DB_NAME + "-wal").stat().st_size
                                      if path.with_name(DB_NAME + "-wal").exists() else 0)
        events = db.execute("select count(*) from events").fetchone()[0]
        print(f"database: {size / 1e6:.1f} MB ({events} events); "
              f"events table {db.execute('select sum(length(data)) from events').fetchone()[0] / 1e6:.1f} MB of JSON")
        ms, rec = timed(lambda: archive.record(db, mid))
        assert isinstance(rec, archive.Record)
        print(f"load the record (segments, turns, requests…): {ms:.0f} ms")
        for fmt, writer in WRITERS.items():
            ms, text = timed(lambda w=writer: w(rec))  # type: ignore[misc]
            assert isinstance(text, str)
            print(f"export {fmt:>4}: {ms:6.1f} ms, {len(text.encode()) / 1e6:.2f} MB")
        for name, render in (("md", report.to_markdown), ("html", report.to_html)):
            ms, text = timed(lambda r=render: r(rec, time.time()))  # type: ignore[misc]
            assert isinstance(text, str)
            print(f"report {name:>4}: {ms:6.1f} ms, {len(text.encode()) / 1e3:.0f} KB")
        for q in ("community networks", "privacy", '"digital divide"', "rural OR women", "spectr*", "nothingmatches"):
            ms, hits = timed(lambda q=q: archive.search(db, q, None, 20), repeat=20)  # type: ignore[misc]
            assert isinstance(hits, list)
            total = db.execute("select count(*) from segments_fts where segments_fts match ?",
                               [archive.fts_query(q)]).fetchone()[0]
            print(f"search {q!r:>22}: {ms:6.2f} ms for the best 20 of {total} matches")


if __name__ == "__main__":
    main()
