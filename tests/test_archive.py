"""The archive: tables in step with the log, exports parsed back, search, corrections, the report."""

from __future__ import annotations

import html
import io
import json
import sqlite3
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import srt
import webvtt
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import ADMIN, AppClient, Meeting, make_config, open_meeting
from sqlite_utils import Database

from assistant.archive import report
from assistant.archive import tables as archive
from assistant.archive.store import DB_NAME
from assistant.cli import main
from assistant.http.app import create_app
from assistant.http.appkeys import MEETINGS


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clocked(aiohttp_client: AppClient, tmp_path: Path) -> tuple[TestClient[web.Request, web.Application], Clock]:
    app = create_app(make_config(tmp_path / "data"))
    clock = Clock(1_000.0)
    app[MEETINGS].clock = clock
    return await aiohttp_client(app), clock


async def ok(resp: Any) -> Any:
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def say(m: Meeting, *lines: tuple[dict[str, Any] | None, float, str], item: int = 0) -> list[str]:
    """Transcript segments as the transcriber stores them: (speaker or None for the chair, start, text)."""
    meetings = m.client.app[MEETINGS]
    state = await meetings.state(m.id)
    segs = []
    for who, start, text in lines:
        pid = who["participant_id"] if who else state.chair_id()
        p = state.participants[pid or ""]
        segs.append({"start": start, "end": start + 4.0, "text": text, "speaker_id": pid, "speaker_name": p.name,
                     "affiliation": p.affiliation, "source": "hall", "language": "en", "item": item})
    return [e.fact.id for e in await meetings.record_segments(m.id, segs)]


async def test_report_numbers_of_a_scripted_meeting(clocked: tuple[TestClient[web.Request, web.Application], Clock]) -> None:
    client, clock = clocked
    m = await open_meeting(client)
    ana = await m.join("Ana", group="government", mode="onsite", affiliation="Chile")
    ben = await m.join("Ben", group="civil society", mode="remote")
    chen = await m.join("Chen", group="private sector", mode="remote")
    dara = await m.join("Dara", group="government", mode="onsite")

    async def at(t: float, token: str, **body: Any) -> None:
        clock.now = t
        await ok(await m.command(token, **body))

    def rid(name: str) -> str:
        state = m.client.app[MEETINGS]._states[m.id]
        return next(r.request_id for r in state.waiting() if state.participants[r.participant_id].name == name)

    chair = m.chair_token
    await at(1010, ana["token"], op="request_floor")
    await at(1020, ben["token"], op="request_floor")
    await at(1030, chair, op="give_floor", request_id=rid("Ana"))       # Ana waited 20 s, speaks 60 s
    await at(1090, chair, op="give_floor", request_id=rid("Ben"))       # Ben waited 70 s, speaks 90 s
    await at(1100, chen["token"], op="request_floor", text="Please note our support.")
    await at(1180, chair, op="end_turn")
    await at(1200, chair, op="give_floor", request_id=rid("Chen"))      # Chen waited 100 s, speaks 30 s
    await at(1230, chair, op="end_turn")
    await at(1240, dara["token"], op="request_floor")
    await at(1250, ben["token"], op="request_floor", text="A second point, in writing.")
    await at(1260, chair, op="next_item")                               # Dara and Ben's second are not reached
    await at(1300, ana["token"], op="file_statement", title="Chile's statement", text="Para one.\nPara two.")
    await at(1310, dara["token"], op="request_floor")
    await at(1320, chair, op="give_floor")                              # Dara waited 10 s, speaks 20 s
    await at(1340, chair, op="end_turn")
    await at(1400, chair, op="end_meeting")

    record = await m.client.app[MEETINGS].store.record(m.id)
    assert record is not None
    r = report.numbers(record, now=99_999)
    assert [(s.label, s.seconds, s.turns) for s in r.by_group] == [
        ("civil society", 90, 1), ("government", 80, 2), ("private sector", 30, 1)]
    assert [(s.label, s.seconds, s.turns) for s in r.by_mode] == [("remote", 120, 2), ("onsite", 80, 2)]
    assert r.total_seconds == 200
    waits = {w.mode: (w.given, w.mean_s, w.median_s, w.longest_s, w.not_reached, w.withdrawn) for w in r.waits}
    assert waits == {"onsite": (2, 15, 15, 20, 1, 0), "remote": (2, 85, 85, 100, 1, 0)}
    assert [(w.name, w.outcome, w.item) for w in r.written] == [("Chen", "answered", 0), ("Ben", "not reached", 0)]
    assert [(t.name, t.item, t.seconds) for t in r.turns] == [("Ana", 0, 60), ("Ben", 0, 90), ("Chen", 0, 30), ("Dara", 1, 20)]

    md = await (await m.client.get(f"/api/meetings/{m.id}/report.md")).text()
    # fairness at a glance: the figures the chair console shows, the chair not counted
    assert "| government | 50 % | 40 % | 2 |" in md and "| remote | 50 % | 60 % | 2 |" in md
    assert "Written interventions: 2 asked, 1 read out, 1 withdrawn or dropped unread, 0 still waiting." in md
    fair = report.equity_of(record, now=99_999)
    assert fair.sentence and f"**{fair.sentence}**" in md
    assert [w.participant_id for w in fair.longest_waits][:1] == [chen["participant_id"]]
    assert "| civil society | 1:30 | 45 % | 1 |" in md
    assert "| remote | 2 | 1:25 | 1:25 | 1:40 | 1 | 0 |" in md
    assert "**Chen** (answered at" in md and "**Ben** (not reached)" in md
    assert "### Chile's statement" in md and "Para two." in md
    page = await (await m.client.get(f"/api/meetings/{m.id}/report.html")).text()
    svgs = [page[i:page.index("</svg>", i) + 6] for i in range(len(page)) if page.startswith("<svg", i)]
    assert len(svgs) == 3
    chart = ET.fromstring(svgs[0])  # well-formed SVG, one bar per group
    assert len(chart.findall("{http://www.w3.org/2000/svg}rect")) == 3


async def test_archive_tables_follow_the_log_and_rebuild_the_same(meeting: Meeting, tmp_path: Path) -> None:
    ana = await meeting.join("Ana", affiliation="Brazil")
    await meeting.command(ana["token"], op="request_floor", text="Written <b>words</b>")
    await meeting.command(meeting.chair_token, op="give_floor")
    await say(meeting, (ana, 3.0, "We support the text."), (None, 8.0, "Thank you, Brazil."))
    await meeting.command(meeting.chair_token, op="end_turn")
    await meeting.command(ana["token"], op="file_statement", title="Brazil", text="For the record.")
    db_path = Path(meeting.client.app[MEETINGS].store.path)
    db = Database(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True))
    tables = ("participants", "requests", "turns", "segments", "statements", "agenda_items")
    before = {t: list(db.query(f"select * from {t} order by 1, 2")) for t in tables}
    assert [r["state"] for r in before["requests"]] == ["done"]
    assert before["turns"][0]["seconds"] >= 0 and before["turns"][0]["ended_at"] is not None
    assert [s["speaker_name"] for s in before["segments"]] == ["Ana", "Chair"]
    assert [p["name"] for p in before["participants"]][-1] == "Ana" and len(before["participants"]) == 2
    # the tables are a projection: dropping and replaying the log gives them back exactly
    rw = Database(sqlite3.connect(str(db_path)))
    assert archive.rebuild(rw) > 0
    rw.conn.commit()
    assert {t: list(db.query(f"select * from {t} order by 1, 2")) for t in tables} == before
    hits = list(db.query("select segment_id from segments_fts join segments on segments.rowid = segments_fts.rowid "
                         "where segments_fts match 'support'"))
    assert len(hits) == 1


HOSTILE_SEGMENTS = [
    "Good morning --> and welcome to <v Nobody>the session</v> & all.",
    "Line one\n\nline two, after a blank line.",
    "We need community networks in rural areas.",
]


async def spoken_meeting(meeting: Meeting) -> tuple[dict[str, Any], list[str]]:
    ana = await meeting.join("Ana <i>Costa</i>", affiliation="Brazil & Co")
    ids = await say(meeting, (None, 1.0, HOSTILE_SEGMENTS[0]), (ana, 6.0, HOSTILE_SEGMENTS[1]))
    await meeting.command(meeting.chair_token, op="next_item")
    ids += await say(meeting, (ana, 20.0, HOSTILE_SEGMENTS[2]), (ana, 25.0, "And connectivity for all."), item=1)
    return ana, ids


async def test_every_export_format_parses_back(meeting: Meeting) -> None:
    await spoken_meeting(meeting)

    async def get(fmt: str) -> str:
        resp = await meeting.client.get(f"/api/meetings/{meeting.id}/transcript.{fmt}")
        assert resp.status == 200, await resp.text()
        return await resp.text()

    cues = webvtt.from_buffer(io.StringIO(await get("vtt")))
    assert [html.unescape(c.voice) for c in cues] == ["Chair", "Ana <i>Costa</i> (Brazil & Co)", "Ana <i>Costa</i> (Brazil & Co)",
                                       "Ana <i>Costa</i> (Brazil & Co)"]
    assert html.unescape(cues[0].text) == "Good morning -> and welcome to <v Nobody>the session</v> & all."
    assert cues[2].text == HOSTILE_SEGMENTS[2]
    assert "NOTE 2. Main item" in await get("vtt")
    subs = list(srt.parse(await get("srt")))
    assert [s.start.total_seconds() for s in subs] == [1.0, 6.0, 20.0, 25.0]
    assert subs[1].content == "Ana <i>Costa</i> (Brazil & Co): Line one line two, after a blank line."
    doc = json.loads(await get("json"))
    assert [i["title"] for i in doc["items"]] == ["Opening", "Main item"]
    assert doc["items"][1]["segments"][0]["text"] == HOSTILE_SEGMENTS[2]

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []
            self.text = ""

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            self.tags.append(tag)

        def handle_data(self, data: str) -> None:
            self.text += data

    page = Text()
    page.feed(await get("html"))
    assert "v" not in page.tags and "i" not in page.tags  # user text never becomes markup
    assert "<v Nobody>the session</v>" in page.text and "Ana <i>Costa</i> (Brazil & Co):" in page.text
    assert page.tags.count("h2") == 2
    md = await get("md")
    assert "## 1\\. Opening" in md or "## 1. Opening" in md
    assert "Ana \\<i\\>Costa\\</i\\>" in md
    txt = await get("txt")
    assert ">> ANA <I>COSTA</I> (BRAZIL & CO): We need community networks in rural areas. And connectivity for all." in txt
    assert "2. MAIN ITEM" in txt
    resp = await meeting.client.get(f"/api/meetings/{meeting.id}/transcript.docx")
    assert resp.status == 404 and "formats: json, vtt, srt, md, html, txt" in (await resp.json())["error"]
    resp = await meeting.client.get(f"/api/meetings/{meeting.id}/transcript.vtt?download")
    assert resp.headers["Content-Disposition"] == f'attachment; filename="transcript-{meeting.id}.vtt"'


HOSTILE_QUERIES = ['"', "'", "*", "NEAR(", "a OR", "AND", ":", "text:foo", "nope:foo", "^", "(((", "-", "😀",
                   '"unbalanced', "NOT", "\x00", "a" * 600, "   ", "state-of-the-art", "don't", "C++", "%", "_",
                   "NEAR(a b, -1)", "community*", '"community networks"', "rural OR urban", "{text}: rural"]


async def test_search_ranks_highlights_and_never_fails_on_hostile_queries(meeting: Meeting) -> None:
    _, ids = await spoken_meeting(meeting)
    body = await ok(await meeting.client.get("/api/search", params={"q": "community networks"}))
    (hit,) = body["hits"]
    assert hit["segment_id"] == ids[2] and hit["meeting_id"] == meeting.id
    assert hit["url"] == f"/archive/{meeting.id}#{ids[2]}"
    assert ["community", True] in hit["highlights"] and ["networks", True] in hit["highlights"]
    assert "".join(t for t, _ in hit["highlights"]) == hit["snippet"]
    phrase = await ok(await meeting.client.get("/api/search", params={"q": '"community networks" OR connectivity'}))
    assert {h["segment_id"] for h in phrase["hits"]} == {ids[2], ids[3]}
    for q in HOSTILE_QUERIES:
        resp = await meeting.client.get("/api/search", params={"q": q})
        assert resp.status in (200, 400), (q, resp.status)
        data = await resp.json()
        if resp.status == 400:  # plain language, never the parser's words
            assert "double quotes" in data["error"] or "at most 500" in data["error"], q
            assert "fts5" not in data["error"] and "syntax" not in data["error"], q
        else:
            assert isinstance(data["hits"], list), q
    # typed words always just work, FTS5 syntax or not; a search with no word in it says what to type
    for q in ("state-of-the-art", "don't", "C++", "NEAR(", "a OR", "AND", "NOT", "text:foo", '"unbalanced',
              "NEAR(a b, -1)", "{text}: rural", "rural)", "OR rural", "rural NOT", '"rural'):
        assert (await meeting.client.get("/api/search", params={"q": q})).status == 200, q
    for q in ("😀", "(((", "*", "-", "^", "   ", '"', "'", '""'):
        resp = await meeting.client.get("/api/search", params={"q": q})
        assert resp.status == 400 and 'words' in (await resp.json())["error"], q
    for q, found in (("rural)", {ids[2]}), ('"rural', {ids[2]}), ("rural NOT connectivity", {ids[2]}),
                     ("commun*", {ids[2]}), ("OR rural", {ids[2]}), ("NEAR(rural", set()), ("text:rural", set())):
        hits = (await ok(await meeting.client.get("/api/search", params={"q": q})))["hits"]
        assert {h["segment_id"] for h in hits} == found, q
    resp = await meeting.client.get("/api/search", params={"q": "rural", "limit": "0"})
    assert resp.status == 400


async def test_corrections_keep_the_original_and_every_revision(meeting: Meeting) -> None:
    ana, ids = await spoken_meeting(meeting)
    fixed = "We need community networks in remote areas."
    await ok(await meeting.command(meeting.chair_token, op="correct_segment", segment_id=ids[2], text=fixed))
    resp = await meeting.command(ana["token"], op="correct_segment", segment_id=ids[2], text="mine")
    assert resp.status == 400 and "chair or a moderator" in (await resp.json())["error"]
    resp = await meeting.command(meeting.chair_token, op="correct_segment", segment_id="g999", text="x")
    assert resp.status == 400 and "g999" in (await resp.json())["error"]
    await ok(await meeting.command(meeting.chair_token, op="end_meeting"))
    # after the meeting, the record can still be corrected
    final = "We need community networks in remote and rural areas."
    await ok(await meeting.command(meeting.chair_token, op="correct_segment", segment_id=ids[2], text=final))
    doc = json.loads(await (await meeting.client.get(f"/api/meetings/{meeting.id}/transcript.json")).text())
    seg = doc["items"][1]["segments"][0]
    assert (seg["text"], seg["original_text"], seg["revisions"]) == (final, HOSTILE_SEGMENTS[2], 2)
    record = await meeting.client.app[MEETINGS].store.record(meeting.id)
    assert record is not None
    assert [(c["revision"], c["previous_text"], c["text"]) for c in record.corrections] == [
        (1, HOSTILE_SEGMENTS[2], fixed), (2, fixed, final)]
    found = await ok(await meeting.client.get("/api/search", params={"q": "remote"}))
    assert [h["segment_id"] for h in found["hits"]] == [ids[2]]
    # the live state has the corrected line too
    snap = await ok(await meeting.client.get(f"/api/meetings/{meeting.id}"))
    assert snap["transcript"][2]["text"] == final and snap["transcript"][2]["original"] == HOSTILE_SEGMENTS[2]


async def test_cli_export_report_and_search_read_the_archive(meeting: Meeting, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    _, ids = await spoken_meeting(meeting)
    data_dir = Path(meeting.client.app[MEETINGS].store.path).parent
    assert (data_dir / DB_NAME).is_file()
    conf = tmp_path / "config.toml"
    conf.write_text(f'[server]\ndata_dir = "{data_dir}"\n')
    out = tmp_path / "t.srt"
    assert main(["export", meeting.id, "--format", "srt", "-o", str(out), "--config", str(conf)]) == 0
    assert len(list(srt.parse(out.read_text()))) == 4
    assert main(["report", meeting.id, "--format", "md", "--config", str(conf)]) == 0
    assert "# Chair's report: Test meeting" in capsys.readouterr().out
    assert main(["search", "rural", "--config", str(conf)]) == 0
    printed = capsys.readouterr().out
    assert "[rural]" in printed and f"/archive/{meeting.id}#{ids[2]}" in printed
    assert main(["search", "(((", "--config", str(conf)]) == 2
    assert "double quotes" in capsys.readouterr().err
    assert main(["export", "nosuch", "--config", str(conf)]) == 2
    assert "no meeting 'nosuch'" in capsys.readouterr().err


async def test_written_interventions_and_points_of_order_are_in_the_transcripts_and_search(
        clocked: tuple[TestClient[web.Request, web.Application], Clock]) -> None:
    client, clock = clocked
    m = await open_meeting(client)
    ana = await m.join("Ana", group="government", mode="onsite", affiliation="Chile")
    ben = await m.join("Ben", group="civil society", mode="remote", affiliation="ISOC")
    chair = m.chair_token

    async def at(t: float, token: str, **body: Any) -> None:
        clock.now = t
        await ok(await m.command(token, **body))

    await at(1010, ben["token"], op="request_floor", text="Please adopt the connectivity resolution.")
    await at(1020, chair, op="give_floor")                                  # Ben's text is read at 0:20
    await say(m, (None, 21.0, "Reading the intervention from Ben."))
    await at(1030, ana["token"], op="request_floor", kind="point_of_order")
    await at(1040, chair, op="give_floor")                                  # a point of order at 0:40
    await say(m, (ana, 41.0, "The quorum is not met."))
    await at(1050, chair, op="end_turn")
    await at(1060, ben["token"], op="request_floor", text="An unread secret draft.")  # never given the floor
    await at(1070, ana["token"], op="file_statement", title="Budget note", text="The budget must cover spectrum fees.")

    async def get(fmt: str) -> str:
        resp = await client.get(f"/api/meetings/{m.id}/transcript.{fmt}")
        assert resp.status == 200, await resp.text()
        return await resp.text()

    doc = json.loads(await get("json"))
    lines = [(s["source"], s["speaker"], s["text"], s["start"]) for s in doc["items"][0]["segments"]]
    assert lines == [
        ("written", "Ben", "Please adopt the connectivity resolution.", 20.0),
        ("hall", "Chair", "Reading the intervention from Ben.", 21.0),
        ("point_of_order", "Ana", "Point of order: Ana (Chile)", 40.0),
        ("hall", "Ana", "The quorum is not met.", 41.0),
    ]
    written_id = doc["items"][0]["segments"][0]["id"]
    assert written_id.startswith("written-")
    cues = webvtt.from_buffer(io.StringIO(await get("vtt")))
    assert [(c.voice, c.text) for c in cues][:3] == [
        ("Ben (ISOC), in writing", "Please adopt the connectivity resolution."),
        ("Chair", "Reading the intervention from Ben."), (None, "Point of order: Ana (Chile)")]
    subs = list(srt.parse(await get("srt")))
    assert [s.content for s in subs][::2] == ["Ben (ISOC), in writing: Please adopt the connectivity resolution.",
                                              "Point of order: Ana (Chile)"]
    md, txt, page = await get("md"), await get("txt"), await get("html")
    assert "**Ben (ISOC), in writing:** Please adopt the connectivity resolution." in md
    assert "*`00:00:40` Point of order: Ana (Chile)*" in md
    assert ">> BEN (ISOC), IN WRITING: Please adopt the connectivity resolution." in txt
    assert "[Point of order: Ana (Chile)]" in txt
    assert f'id="{written_id}"' in page and "Point of order: Ana (Chile)" in page
    assert all("secret" not in text for text in (md, txt, page, json.dumps(doc)))

    async def search(q: str) -> list[dict[str, Any]]:
        return list((await ok(await client.get("/api/search", params={"q": q})))["hits"])

    (hit,) = await search("connectivity resolution")
    assert (hit["kind"], hit["speaker_name"], hit["segment_id"], hit["start"]) == ("written", "Ben", written_id, 20.0)
    assert hit["url"] == f"/archive/{m.id}#{written_id}"
    assert await search("secret") == []  # what was never read out stays with the chair
    (hit,) = await search("spectrum fees")
    sid = hit["segment_id"].removeprefix("statement-")
    assert (hit["kind"], hit["title"], hit["speaker_name"]) == ("statement", "Budget note", "Ana")
    assert hit["url"] == f"/api/meetings/{m.id}/report.html#statement-{sid}"
    assert [h["kind"] for h in await search("budget")] == ["statement"]  # titles are searched too
    report_page = await (await client.get(f"/api/meetings/{m.id}/report.html")).text()
    assert f'id="statement-{sid}"' in report_page

    # the statement's body, fetched on demand
    body = await ok(await client.get(f"/api/meetings/{m.id}/statements/{sid}"))
    assert body == {"statement_id": sid, "participant_id": ana["participant_id"], "name": "Ana", "title": "Budget note",
                    "text": "The budget must cover spectrum fees.", "item": 0, "filed_at": 1070.0}
    resp = await client.get(f"/api/meetings/{m.id}/statements/s999")
    assert resp.status == 404 and "no statement 's999'" in (await resp.json())["error"]
    resp = await client.get("/api/meetings/nosuch/statements/s1")
    assert resp.status == 404 and "error" in await resp.json()

    # the new indexes are rebuilt with the other tables
    db_path = Path(client.app[MEETINGS].store.path)
    rw = Database(sqlite3.connect(str(db_path)))
    assert archive.rebuild(rw) > 0
    rw.conn.commit()
    assert sorted(h["kind"] for h in archive.search(rw, "spectrum OR resolution OR quorum")) == [
        "segment", "statement", "written"]


async def test_statements_of_a_private_archive_need_a_token(aiohttp_client: AppClient, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(make_config(tmp_path / "data", server={"public_archive": False})))
    m = await open_meeting(client)
    ana = await m.join("Ana")
    await ok(await m.command(ana["token"], op="file_statement", title="T", text="Body"))
    events = await client.app[MEETINGS].store.events(m.id)
    sid = next(e.fact.statement_id for e in events if e.name == "statement_filed")
    url = f"/api/meetings/{m.id}/statements/{sid}"
    assert (await client.get(url)).status == 401
    assert (await client.get(url, headers={"Authorization": "Bearer not-a-token"})).status in (401, 403)
    other = await open_meeting(client)  # a token of another meeting reads nothing here
    resp = await client.get(url, headers={"Authorization": f"Bearer {other.chair_token}"})
    assert resp.status == 401 and "this meeting's token" in (await resp.json())["error"]  # as every archive read
    for token in (ana["token"], m.chair_token, ADMIN):
        body = await ok(await client.get(url, headers={"Authorization": f"Bearer {token}"}))
        assert body["text"] == "Body"


async def test_the_new_indexes_fill_on_an_older_archive_and_stay_in_step(meeting: Meeting) -> None:
    ana = await meeting.join("Ana")
    await ok(await meeting.command(ana["token"], op="request_floor", text="Spectrum for community networks."))
    await ok(await meeting.command(meeting.chair_token, op="give_floor"))
    await ok(await meeting.command(ana["token"], op="file_statement", title="Fees", text="Lower spectrum fees."))
    db = Database(sqlite3.connect(str(Path(meeting.client.app[MEETINGS].store.path))))
    for name in ("requests_fts", "statements_fts"):  # as an archive from before them
        for trigger in ("ai", "ad", "au"):
            db.execute(f"drop trigger {name}_{trigger}")
        db.execute(f"drop table {name}")
    archive.create(db)
    for name in ("requests_fts", "statements_fts"):
        db.execute(f"insert into {name}({name}) values ('integrity-check')")
    assert sorted(h["kind"] for h in archive.search(db, "spectrum")) == ["statement", "written"]
    # a row replaced by an insert (replace=True; sqlite-utils turns recursive_triggers on) leaves no stale entry
    row = next(db.query("select * from requests where text != ''"))
    db.table("requests").insert({**row, "text": "Rewritten words."}, replace=True)
    db.table("statements").insert({**next(db.query("select * from statements")), "title": "Other"}, replace=True)
    for name in ("requests_fts", "statements_fts"):
        db.execute(f"insert into {name}({name}) values ('integrity-check')")
    assert [h["kind"] for h in archive.search(db, "spectrum")] == ["statement"]
    assert [h["kind"] for h in archive.search(db, "rewritten")] == ["written"]
    db.conn.close()
