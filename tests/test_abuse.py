"""Open-door safety (issue 17): what one invitee can do is bounded, and bad input never reaches a 500.

Each test is one row of the issue's table, tried as a hostile participant would; the fuzz tests
throw generated JSON at the HTTP API and at the websocket commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from conftest import ADMIN, Meeting, make_config, open_meeting, receive_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.audio.pcm import SAMPLE_RATE
from assistant.core.commands import OPS
from assistant.http.app import create_app
from assistant.http.appkeys import AUDIO_STREAMS, MEETINGS


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def app_client(aiohttp_client: Any, tmp_path: Any, **sections: dict[str, Any]) -> Any:
    return await aiohttp_client(create_app(make_config(tmp_path / "data", **sections)))


# -- the rows built with the pages and the exports ------------------------------------------------


async def test_the_chair_console_archive_and_report_cannot_be_framed_and_run_no_inline_script(
    meeting: Meeting,
) -> None:
    person = await meeting.join("Ana")
    await meeting.command(person["token"], op="file_statement", title="Note", text="For the record.")
    for path in (f"/chair/{meeting.id}", f"/archive/{meeting.id}", "/archive",
                 f"/api/meetings/{meeting.id}/report.html"):
        resp = await meeting.client.get(path)
        assert resp.status == 200, path
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"


async def test_a_statement_title_cannot_make_a_heading_in_report_md(meeting: Meeting) -> None:
    person = await meeting.join("Ana")
    resp = await meeting.command(person["token"], op="file_statement", title="Note\n\n# ADOPTED\n", text="x")
    assert resp.status == 200
    report = await (await meeting.client.get(f"/api/meetings/{meeting.id}/report.md")).text()
    assert not any(line.startswith("# ADOPTED") for line in report.splitlines())


async def test_a_name_with_an_arrow_never_puts_an_arrow_in_a_caption_cue(meeting: Meeting) -> None:
    await meeting.join("Ana --->")
    meetings = meeting.client.app[MEETINGS]
    state = await meetings.state(meeting.id)
    pid = next(p.participant_id for p in state.participants.values() if p.name == "Ana --->")
    await meetings.record_segments(meeting.id, [{"start": 1.0, "end": 2.0, "text": "Hello --> there", "speaker_id": pid,
                                                 "speaker_name": "Ana --->"}])
    srt = await (await meeting.client.get(f"/api/meetings/{meeting.id}/transcript.srt")).text()
    cues = srt.strip().split("\n\n")
    assert all("-->" not in line for cue in cues for line in cue.splitlines()[2:])


async def test_the_join_link_carries_the_invite_code_in_its_fragment(meeting: Meeting) -> None:
    url = meeting.created["join_url"]
    assert "?code=" not in url and url.endswith(f"#code={meeting.invite_code}")
    # the page a rejected token is sent to ask: /me answers 401, and the pages stop there
    # (tests/test_browser_pages.py drives that in Chromium)
    resp = await meeting.client.get(f"/api/meetings/{meeting.id}/me", headers=auth("revoked-or-wrong"))
    assert resp.status == 401 and "error" in await resp.json()


# -- limits per participant ---------------------------------------------------------------------


async def test_one_token_opens_a_few_sockets_not_a_hundred(meeting: Meeting) -> None:
    ana, ben = await meeting.join("Ana"), await meeting.join("Ben")
    mine = [await meeting.ws(ana["token"]) for _ in range(4)]  # a laptop and a phone, a tab or two
    for ws in mine:
        assert (await ws.receive_json())["type"] == "snapshot"
    refused = await meeting.client.get(f"/api/meetings/{meeting.id}/ws?token={ana['token']}",
                                       headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                                "Sec-WebSocket-Version": "13"})
    assert refused.status == 429
    body = await refused.json()
    assert body["limit"] == "sockets_per_token" and "close a tab" in body["error"]
    other = await meeting.ws(ben["token"])  # nobody else is affected
    assert (await other.receive_json())["type"] == "snapshot"
    await mine.pop().close()
    for _ in range(50):  # the count drops as soon as the server has seen the close
        again = await meeting.client.get(f"/api/meetings/{meeting.id}/me", headers=auth(ana["token"]))
        assert again.status == 200
        try:
            fifth = await meeting.ws(ana["token"])
            break
        except aiohttp.WSServerHandshakeError:
            await asyncio.sleep(0.05)
    assert (await fifth.receive_json())["type"] == "snapshot"
    for ws in [*mine, other, fifth]:
        await ws.close()


async def test_commands_are_limited_per_token_across_all_sockets_and_http(aiohttp_client, tmp_path) -> None:
    # a slow refill (2 a second, bursts of 4), so that a busy machine taking seconds over the burst
    # cannot refill the bucket before the HTTP commands arrive
    client = await app_client(aiohttp_client, tmp_path, limits={"commands_per_second": 2.0})
    meeting = await open_meeting(client)
    ana, ben = await meeting.join("Ana"), await meeting.join("Ben")
    sockets = [await meeting.ws(ana["token"]) for _ in range(3)]
    for ws in sockets:
        await ws.receive_json()
    start = time.monotonic()
    for i in range(120):
        await sockets[i % 3].send_json({"op": "withdraw", "id": i})
    http = await asyncio.gather(*(meeting.command(ana["token"], op="withdraw") for _ in range(30)))
    answers: list[dict[str, Any]] = []
    for i, ws in enumerate(sockets):
        last = 117 + i
        got = await receive_until(ws, lambda m, last=last: m.get("id") == last and m["type"] in ("ack", "error"))
        answers += [m for m in got if m["type"] in ("ack", "error")]
    elapsed = time.monotonic() - start
    limited = [m for m in answers if m.get("limit") == "commands_per_second"]
    limited_http = [r for r in http if r.status == 429]
    passed = 150 - len(limited) - len(limited_http)
    assert passed <= 4 + 2 * elapsed + 2, (passed, elapsed)  # one bucket for the token: burst 4, 2 a second
    assert limited_http and (await limited_http[0].json())["limit"] == "commands_per_second"
    assert "across all their connections" in limited[0]["error"]
    assert (await meeting.command(ben["token"], op="request_floor")).status == 200  # Ben is not slowed down
    for ws in sockets:
        assert not ws.closed  # refused commands do not close the socket
        await ws.close()


async def test_statements_per_participant_are_limited_in_count_and_bytes(aiohttp_client, tmp_path) -> None:
    client = await app_client(aiohttp_client, tmp_path, limits={
        "statements_per_participant": 3, "statement_bytes_per_participant": 250_000})
    meeting = await open_meeting(client)
    ana, ben = await meeting.join("Ana"), await meeting.join("Ben")
    text = "x" * 100_000
    for i in range(2):
        assert (await meeting.command(ana["token"], op="file_statement", title=f"S{i}", text=text)).status == 200
    too_big = await meeting.command(ana["token"], op="file_statement", title="S2", text=text)
    assert too_big.status == 429
    assert (await too_big.json())["limit"] == "statement_bytes_per_participant"
    assert (await meeting.command(ana["token"], op="file_statement", title="S2", text="short")).status == 200
    fourth = await meeting.command(ana["token"], op="file_statement", title="S3", text="short")
    assert fourth.status == 429 and (await fourth.json())["limit"] == "statements_per_participant"
    ws = await meeting.ws(ana["token"])
    await ws.receive_json()
    await ws.send_json({"op": "file_statement", "id": "s", "title": "again", "text": "short"})
    (error,) = [m for m in await receive_until(ws, lambda m: m.get("id") == "s") if m.get("id") == "s"]
    assert error["type"] == "error" and error["limit"] == "statements_per_participant"
    await ws.close()
    assert (await meeting.command(ben["token"], op="file_statement", title="B", text=text)).status == 200


async def test_joins_per_invite_code_per_client_address(aiohttp_client, tmp_path) -> None:
    client = await app_client(aiohttp_client, tmp_path, limits={"joins_per_minute": 5})
    meeting = await open_meeting(client)
    other = await open_meeting(client)
    for i in range(5):
        await meeting.join(f"P{i}")
    body = {"name": "P5", "group": "civil society", "mode": "remote", "invite_code": meeting.invite_code}
    refused = await client.post(f"/api/meetings/{meeting.id}/participants", json=body)
    assert refused.status == 429
    assert (await refused.json())["limit"] == "joins_per_minute"
    await other.join("Elsewhere")  # another invite code is counted apart


async def test_audio_is_accepted_no_faster_than_real_time(meeting: Meeting) -> None:
    rosa = await meeting.join("Rosa", mode="remote")
    await meeting.command(rosa["token"], op="request_floor")
    await meeting.command(meeting.chair_token, op="give_floor")
    ws = await meeting.client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={rosa['token']}&stream=rosa-mic-1")
    assert (await ws.receive_json())["type"] == "ready"
    frame = bytes(2 * SAMPLE_RATE // 10)  # 100 ms
    start = time.monotonic()
    try:  # 400 s in a burst: the server stops taking it
        for _ in range(4000):
            await ws.send_bytes(frame)
    except ConnectionError:
        pass
    while (error := await ws.receive_json(timeout=5))["type"] != "error":
        pass
    assert error["limit"] == "audio_burst_s" and "faster than real time" in error["error"]
    await ws.receive(timeout=5)
    assert ws.close_code == 4029
    elapsed = time.monotonic() - start
    taken = meeting.client.app[AUDIO_STREAMS][(meeting.id, rosa["participant_id"], "rosa-mic-1")]
    assert taken <= (5 + elapsed) * SAMPLE_RATE, (taken / SAMPLE_RATE, elapsed)
    assert taken < 100 * SAMPLE_RATE


async def test_a_hall_feed_back_from_a_cut_may_send_its_backlog_but_not_more(aiohttp_client, tmp_path) -> None:
    from test_transcription import ToneRecognizer, loud_windows

    config = make_config(tmp_path / "data", asr={"enabled": True})
    client = await aiohttp_client(create_app(config, recognizer=ToneRecognizer(), probabilities=loud_windows))
    meeting = await open_meeting(client)
    url = f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}&stream=hall-feed-1"
    ws = await client.ws_connect(url)
    assert (await ws.receive_json())["type"] == "ready"
    second = bytes(2 * SAMPLE_RATE)
    for _ in range(60):  # a minute of backlog at once, as `assistant feed` sends it after a cut: taken
        await ws.send_bytes(second)
    while (await ws.receive_json(timeout=5))["samples"] < 60 * SAMPLE_RATE:
        pass
    try:
        for _ in range(400):  # 400 s more in a burst: refused
            await ws.send_bytes(second)
    except ConnectionError:
        pass
    while (msg := await ws.receive_json(timeout=10))["type"] != "error":
        pass
    assert msg["limit"] == "audio_burst_s"
    await ws.receive(timeout=5)
    assert ws.close_code == 4029
    taken = client.app[AUDIO_STREAMS][(meeting.id, "hall", "hall-feed-1")]
    assert 60 * SAMPLE_RATE <= taken <= 320 * SAMPLE_RATE
    again = await client.ws_connect(url)  # it resumes from what the server has: no loop of refusals
    assert (await again.receive_json())["samples"] == taken
    await again.close()


# -- a private archive ---------------------------------------------------------------------------


async def test_a_private_archive_lists_nothing_to_strangers(aiohttp_client, tmp_path) -> None:
    client = await app_client(aiohttp_client, tmp_path, server={"public_archive": False})
    first, second = await open_meeting(client, title="Secret one"), await open_meeting(client, title="Secret two")
    resp = await client.get("/api/meetings")
    assert resp.status == 401 and "private" in (await resp.json())["error"]
    mine = await (await client.get("/api/meetings", headers=auth(first.chair_token))).json()
    assert [m["id"] for m in mine] == [first.id]
    everything = await (await client.get("/api/meetings", headers=auth(ADMIN))).json()
    assert {m["id"] for m in everything} == {first.id, second.id}


async def test_health_without_the_admin_token_says_only_that_the_server_is_up(meeting: Meeting) -> None:
    ana = await meeting.join("Ana")
    ws = await meeting.ws(ana["token"])
    await ws.receive_json()
    assert await (await meeting.client.get("/api/health")).json() == {"ok": True}
    assert await (await meeting.client.get("/api/health", headers=auth(ana["token"]))).json() == {"ok": True}
    full = await (await meeting.client.get("/api/health", headers=auth(ADMIN))).json()
    assert full["clients"] == 1 and "asr" in full
    await ws.close()


# -- an ended meeting ------------------------------------------------------------------------------


async def test_an_ended_meeting_closes_its_audio_sockets_and_stores_nothing_more(aiohttp_client, tmp_path) -> None:
    from test_transcription import ToneRecognizer, loud_windows, pcm, tone

    config = make_config(tmp_path / "data", asr={"enabled": True, "step_s": 0.5})
    client = await aiohttp_client(create_app(config, recognizer=ToneRecognizer(), probabilities=loud_windows))
    meeting = await open_meeting(client)
    hall = await client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}&stream=hall-uplink")
    assert (await hall.receive_json())["type"] == "ready"
    speech = tone("good morning everyone.")
    await hall.send_bytes(pcm(speech))  # still being transcribed when the meeting ends
    assert (await meeting.command(meeting.chair_token, op="end_meeting")).status == 200
    while (error := await hall.receive_json(timeout=5))["type"] != "error":
        pass
    assert "meeting has ended" in error["error"]
    await hall.receive(timeout=5)
    assert hall.close_code == 4010
    await asyncio.sleep(2)  # whatever the channel still held is not stored
    events = await (await client.get(f"/api/meetings/{meeting.id}/events", headers=auth(ADMIN))).json()
    names = [e["name"] for e in events]
    assert "segment" not in names[names.index("meeting_ended"):]
    again = await client.get(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    assert again.status == 409


# -- malformed input: always a 4xx with {"error"} -------------------------------------------------


async def test_deep_json_huge_integers_and_lone_surrogates_are_4xx(meeting: Meeting) -> None:
    client = meeting.client
    deep = "[" * 10_000 + "]" * 10_000
    for path, token in (("/api/meetings", ADMIN), (f"/api/meetings/{meeting.id}/participants", ""),
                        (f"/api/meetings/{meeting.id}/commands", meeting.chair_token)):
        resp = await client.post(path, data=deep, headers={**auth(token), "Content-Type": "application/json"})
        assert resp.status == 400 and "nests too deeply" in (await resp.json())["error"], path
    nested = json.dumps({"op": "request_floor", "x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})
    resp = await client.post(f"/api/meetings/{meeting.id}/commands", data=nested,
                             headers={**auth(meeting.chair_token), "Content-Type": "application/json"})
    assert resp.status == 400 and "max_json_depth" in (await resp.json())["error"]
    huge = await client.get(f"/api/meetings/{meeting.id}/events?since=99999999999999999999", headers=auth(ADMIN))
    assert huge.status == 400 and "error" in await huge.json()
    ws_huge = await client.get(f"/api/meetings/{meeting.id}/ws?token={meeting.chair_token}&since=99999999999999999999")
    assert ws_huge.status == 400
    surrogate = '{"name": "Ana \\ud800", "group": "civil society", "mode": "remote", "invite_code": "%s"}'
    resp = await client.post(f"/api/meetings/{meeting.id}/participants", data=surrogate % meeting.invite_code,
                             headers={"Content-Type": "application/json"})
    assert resp.status == 400 and "surrogate" in (await resp.json())["error"]
    search = await client.get("/api/search?q=%ED%A0%80")
    assert search.status < 500
    ws = await meeting.ws(meeting.chair_token)
    await ws.receive_json()
    for frame in (deep, '{"op": "withdraw", "id": "\\ud800"}', '{"op": "withdraw", "id": 1e400}',
                  '{"op": "withdraw", "id": 123456789012345678901234567890}',
                  '{"op": "add_speaker", "name": "\\udfff", "group": "other", "mode": "onsite"}'):
        await ws.send_str(frame)
        assert (await ws.receive_json(timeout=5))["type"] == "error", frame
    await ws.send_json({"op": "set_time_limit", "seconds": 60, "id": "alive"})
    got = await receive_until(ws, lambda m: m.get("id") == "alive")
    assert got[-1]["type"] == "ack"
    await ws.close()


# -- a participant's language ------------------------------------------------------------------------


class Multilingual:
    multilingual = True

    def transcribe(self, audio: Any, *, language: Any, prompt: str, hotwords: str) -> list[Any]:
        return []


class EnglishOnly(Multilingual):
    multilingual = False


async def test_a_language_is_checked_against_the_model_at_join(aiohttp_client, tmp_path) -> None:
    from assistant.speech.languages import LANGUAGES

    config = make_config(tmp_path / "data", asr={"enabled": True})
    client = await aiohttp_client(create_app(config, recognizer=Multilingual()))
    meeting = await open_meeting(client)
    body = {"name": "Ana", "group": "civil society", "mode": "remote", "invite_code": meeting.invite_code}
    resp = await client.post(f"/api/meetings/{meeting.id}/participants", json={**body, "language": "english"})
    error = (await resp.json())["error"]
    assert resp.status == 400 and '"en" is the code for english' in error and "yue" in error
    assert len([c for c in LANGUAGES if f" {c}," in error or error.endswith(f" {c}")]) == len(LANGUAGES)
    ok = await meeting.join("Ana", language="pt-BR")
    state = await client.app[MEETINGS].state(meeting.id)
    assert state.participants[ok["participant_id"]].language == "pt"
    added = await meeting.command(meeting.chair_token, op="add_speaker", name="Lea", group="other", mode="onsite",
                                  language="klingon")
    assert added.status == 400 and "Accepted codes" in (await added.json())["error"]

    english = await aiohttp_client(create_app(make_config(tmp_path / "en", asr={"enabled": True}),
                                              recognizer=EnglishOnly()))
    meeting = await open_meeting(english)
    body["invite_code"] = meeting.invite_code
    resp = await english.post(f"/api/meetings/{meeting.id}/participants", json={**body, "language": "fr"})
    assert resp.status == 400 and "English-only" in (await resp.json())["error"]
    await meeting.join("Ana", language="en")
    await meeting.join("Ben", language="")
    assert await (await english.get("/api/languages")).json() == {"multilingual": False,
                                                                  "languages": {"en": "english"}}
    assert len((await (await client.get("/api/languages")).json())["languages"]) == 100


# -- slow clients: memory bounded by bytes, stalled sockets dropped ------------------------------------


async def test_a_slow_clients_queue_is_bounded_by_bytes(aiohttp_client, tmp_path) -> None:
    client = await app_client(aiohttp_client, tmp_path, limits={"client_queue": 100_000,
                                                                "client_queue_bytes": 1024 * 1024})
    meeting = await open_meeting(client)
    hub = client.app[MEETINGS].hub
    sub = hub.subscribe(meeting.id)  # a subscriber whose socket never takes anything
    cut: list[bool] = []
    sub.on_overflow = lambda: cut.append(True)
    big = "x" * 100_000
    for i in range(20):  # 2 MB in 20 messages, far below the count limit
        hub.publish(meeting.id, big, i + 1)
    assert cut == [True] and sub.queued_bytes == 0
    fresh = hub.subscribe(meeting.id)
    for i in range(5):
        hub.publish(meeting.id, big, 21 + i)
    assert fresh.queued_bytes <= 1024 * 1024 and not fresh.overflowed


async def test_a_socket_that_does_not_read_is_closed_in_bounded_time(aiohttp_client, tmp_path) -> None:
    from test_ws import flood, stalled_socket

    client = await app_client(aiohttp_client, tmp_path, limits={"stalled_client_s": 1,
                                                                "client_queue_bytes": 64 * 1024 * 1024})
    hub = client.app[MEETINGS].hub
    meeting = await open_meeting(client)
    ana = await meeting.join("Ana")
    _, stalled = await stalled_socket(client, f"/api/meetings/{meeting.id}/ws?token={ana['token']}")
    await flood(meeting, ana["token"], 120)  # 12 MB: the socket buffers fill, the queue (64 MB) does not
    for _ in range(100):
        if hub.count(meeting.id) == 0:
            break
        await asyncio.sleep(0.1)
    assert hub.count(meeting.id) == 0
    stalled.close()
    with contextlib.suppress(ConnectionError):
        await stalled.wait_closed()


async def test_every_socket_is_sent_the_same_snapshot_bytes(meeting: Meeting) -> None:
    meetings = meeting.client.app[MEETINGS]
    state = await meetings.state(meeting.id)
    assert meetings.snapshot_bytes(state) is meetings.snapshot_bytes(state)
    assert isinstance(meetings.snapshot_bytes(state), bytes)


# -- fuzz: generated input at the HTTP API and the websocket commands ----------------------------------


class Server:
    """The app on a free port in a thread of its own, so hypothesis can drive it from plain functions."""

    def __init__(self, config: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.config = config
        self.url, self.session, self.meeting = "", None, None
        self.call(self._start())

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        self.runner = web.AppRunner(create_app(self.config))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self.session = aiohttp.ClientSession()
        resp = await self.session.post(f"{self.url}/api/meetings", json={"title": "Fuzz", "agenda": ["A"]},
                                       headers=auth(ADMIN))
        self.meeting = await resp.json()
        body = {"name": "Ana", "group": "other", "mode": "remote", "invite_code": self.meeting["invite_code"]}
        self.ana = await (await self.session.post(f"{self.url}/api/meetings/{self.meeting['id']}/participants",
                                                  json=body)).json()
        self.ws = await self.session.ws_connect(
            f"{self.url}/api/meetings/{self.meeting['id']}/ws?token={self.meeting['chair_token']}")
        await self.ws.receive_json()

    async def _stop(self) -> None:
        await self.ws.close()
        await self.session.close()  # type: ignore[union-attr]
        await self.runner.cleanup()

    def close(self) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    config = make_config(tmp_path_factory.mktemp("fuzz") / "data",
                         limits={"commands_per_second": 10_000, "joins_per_minute": 100_000,
                                 "statements_per_participant": 100_000})
    s = Server(config)
    yield s
    s.close()


any_text = st.text(st.characters(categories=["Cs", "L", "N", "P", "S", "Zs", "Cc"]), max_size=30)  # lone surrogates too
scalars = st.none() | st.booleans() | st.integers() | st.floats() | any_text | st.sampled_from(
    ["", "\ud800", "a" * 500, "government", "remote", "onsite", "chair", "moderator", "observer", "feed", "r1",
     "p1", "g1", "2026-12-01T14:00:00+01:00", "Europe/Geneva", "english", "en", -1, 2**64, 10**30, 1e308])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                              max_size=3), max_leaves=8)
KEYS = ["op", "id", "kind", "text", "title", "request_id", "position", "seconds", "name", "group", "mode",
        "affiliation", "language", "starts_at", "ends_at", "timezone", "segment_id", "invite_code", "role",
        "agenda", "policy", "time_limit_s", "chair_name"]
objects = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)
commands = st.builds(lambda op, rest, cid: {**rest, "op": op, "id": cid}, st.sampled_from([*OPS, "nope"]), objects,
                     scalars)
bodies = objects | values | st.binary(max_size=40).map(lambda b: b.decode("latin-1")) | st.just("[" * 5000)
ROUTES = ["/api/meetings", "/api/meetings/{id}/participants", "/api/meetings/{id}/tokens",
          "/api/meetings/{id}/commands"]
GETS = ["/api/meetings/{id}/events?since={q}", "/api/meetings/{id}/events?limit={q}", "/api/search?q={q}",
        "/api/meetings/{id}/ws?token={q}", "/api/meetings/{id}/ws?token={chair}&since={q}",
        "/api/meetings/{q}", "/api/meetings/{id}/transcript.{q}", "/api/search?q={q}&limit={q}"]


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(ROUTES), body=bodies, as_chair=st.booleans())
def test_fuzz_http_never_500(server: Server, route: str, body: Any, as_chair: bool) -> None:
    token = server.meeting["chair_token"] if as_chair else ADMIN  # type: ignore[index]
    data = body if isinstance(body, str) else json.dumps(body)

    async def go() -> tuple[int, Any]:
        url = server.url + route.format(id=server.meeting["id"])  # type: ignore[index]
        async with server.session.post(url, data=data.encode("utf-8", "surrogatepass"),  # type: ignore[union-attr]
                                       headers={**auth(token), "Content-Type": "application/json"}) as resp:
            return resp.status, await resp.json()

    status, answer = server.call(go())
    assert status < 500, (route, body, answer)
    if status >= 400:
        assert isinstance(answer.get("error"), str) and answer["error"]


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(GETS), q=st.text(max_size=30) | st.integers().map(str) | st.just("99999999999999999999"))
def test_fuzz_query_strings_never_500(server: Server, route: str, q: str) -> None:
    from urllib.parse import quote

    async def go() -> int:
        url = server.url + route.format(id=server.meeting["id"], chair=server.meeting["chair_token"],  # type: ignore[index]
                                        q=quote(q.encode("utf-8", "surrogatepass"), safe=""))
        async with server.session.get(url) as resp:  # type: ignore[union-attr]
            return resp.status

    assert server.call(go()) < 500


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(command=commands | values)
def test_fuzz_websocket_commands_are_answered_and_never_drop_the_socket(server: Server, command: Any) -> None:
    async def go() -> dict[str, Any]:
        ws = server.ws
        await ws.send_str(json.dumps(command))
        while True:  # one command at a time: the next answer is this one's
            msg = await ws.receive(timeout=10)
            assert msg.type == WSMsgType.TEXT, (command, msg)
            data = json.loads(msg.data)
            if data["type"] in ("ack", "error"):
                return dict(data)

    answer = server.call(go())
    assert answer["type"] == "ack" or answer["error"], (command, answer)


# -- the memory of sockets that never read, on a real server --------------------------------------------


@pytest.mark.slow
async def test_twenty_sockets_that_never_read_cost_little_memory(tmp_path) -> None:
    """200 statements of 100 kB by one participant, then 20 websockets of theirs that never read.

    Issue 17 saw +724 MiB (a 20 MB snapshot copied per socket). The snapshot no longer carries the
    bodies and is one shared bytes object; with the default limits 16 of the 20 are refused."""
    import os
    import re
    import subprocess
    import sys

    import psutil
    from test_ws import stalled_socket

    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nhost = "127.0.0.1"\nport = 0\nadmin_token = "{ADMIN}"\ndata_dir = "{tmp_path / "data"}"\n'
                      "[asr]\nenabled = false\n[limits]\ncommands_per_second = 1000.0\nstatements_per_participant = 1000\n"
                      "statement_bytes_per_participant = 100000000\nsockets_per_token = 20\n")
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ})
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if found := re.search(r"listening on http://([\d.]+):(\d+)", line):
                host, port = found.group(1), int(found.group(2))
                break
        url = f"http://{host}:{port}"
        server = psutil.Process(proc.pid)
        async with aiohttp.ClientSession() as http:
            created = await (await http.post(f"{url}/api/meetings", json={"title": "M", "agenda": ["A"]},
                                             headers=auth(ADMIN))).json()
            body = {"name": "Mallory", "group": "other", "mode": "remote", "invite_code": created["invite_code"]}
            token = (await (await http.post(f"{url}/api/meetings/{created['id']}/participants", json=body)).json())["token"]
            for i in range(200):
                resp = await http.post(f"{url}/api/meetings/{created['id']}/commands", headers=auth(token),
                                       json={"op": "file_statement", "title": f"S{i}", "text": "y" * 99_000})
                assert resp.status == 200
            await asyncio.sleep(1)
            before = server.memory_info().rss

            class Where:  # what stalled_socket needs of a test client
                pass

            where = Where()
            where.host, where.port = host, port  # type: ignore[attr-defined]
            writers = [(await stalled_socket(where, f"/api/meetings/{created['id']}/ws?token={token}"))[1]
                       for _ in range(20)]
            await asyncio.sleep(3)
            grown = (server.memory_info().rss - before) / 2**20
            print(f"RSS growth for 20 sockets that never read: {grown:.1f} MiB")
            assert grown < 16, grown
            for w in writers:
                w.close()
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
