"""The meeting websocket: snapshot, live events, commands, resume, slow and hostile clients."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import aiohttp
from aiohttp import WSMsgType
from conftest import Meeting, make_config, open_meeting, receive_until

from assistant.http.app import create_app
from assistant.http.appkeys import MEETINGS


async def test_snapshot_then_live_events_to_every_client(meeting: Meeting) -> None:
    ana = await meeting.join("Ana", group="government", mode="onsite")
    chair_ws = await meeting.ws(meeting.chair_token)
    ana_ws = await meeting.ws(ana["token"])
    for ws in (chair_ws, ana_ws):
        snap = await ws.receive_json()
        assert snap["type"] == "snapshot"
        assert {"seq", "meeting", "floor", "queue", "participants", "transcript"} <= set(snap)
        assert snap["meeting"]["agenda"] == ["Opening", "Main item", "Closing"]
    await ana_ws.send_json({"op": "request_floor", "kind": "intervention", "id": "c1"})
    got = await receive_until(ana_ws, lambda m: m["type"] == "ack")
    if got[-2]["type"] != "queue":  # the queue it led to comes after the event, next to the ack
        got += await receive_until(ana_ws, lambda m: m["type"] == "queue")
    assert got[0]["type"] == "event" and got[0]["name"] == "request_added"
    assert sorted(m["type"] for m in got[1:]) == ["ack", "queue"]
    ack = next(m for m in got if m["type"] == "ack")
    view = next(m for m in got if m["type"] == "queue")
    assert ack == {"type": "ack", "id": "c1", "seq": got[0]["seq"]}
    assert view["seq"] == got[0]["seq"]  # the view the event led to
    queue = view["queue"]
    assert queue[0]["name"] == "Ana" and queue[0]["reason"] and "text" not in queue[0]
    # the chair sees the same event and the same order, with written texts, then gives the floor
    seen = await receive_until(chair_ws, lambda m: m["type"] == "queue")
    assert seen[-1]["seq"] == view["seq"]
    assert [e["request_id"] for e in seen[-1]["queue"]] == [e["request_id"] for e in queue]
    assert seen[-1]["queue"][0]["text"] == ""
    await chair_ws.send_json({"op": "give_floor", "id": 7})
    floor = await receive_until(ana_ws, lambda m: m.get("name") == "floor_changed")
    data = floor[-1]["data"]
    assert data["participant_id"] == ana["participant_id"] and data["limit_s"] == 180 and data["started_at"] > 0
    await chair_ws.close()
    await ana_ws.close()


async def test_resume_with_since_gets_exactly_the_missed_events(meeting: Meeting) -> None:
    ana = await meeting.join("Ana")
    ws = await meeting.ws(ana["token"])
    snap = await ws.receive_json()
    seen_seq = snap["seq"]
    await ws.close()
    # things happen while Ana is away
    for name in ("Ben", "Chen", "Dara"):
        p = await meeting.join(name)
        await meeting.command(p["token"], op="request_floor")
    await meeting.command(meeting.chair_token, op="give_floor")
    latest = (await (await meeting.client.get(f"/api/meetings/{meeting.id}")).json())["seq"]
    ws = await meeting.ws(ana["token"], since=seen_seq)
    # a live event after reconnecting follows the replay with no gap
    await meeting.command(meeting.chair_token, op="end_turn")
    got = await receive_until(ws, lambda m: m["type"] == "event" and m["seq"] == latest + 1)
    if not any(m["type"] == "queue" for m in got):  # the live event came during the replay: its view follows it
        got += await receive_until(ws, lambda m: m["type"] == "queue")
    seqs = [m["seq"] for m in got if m["type"] == "event"]
    assert seqs == list(range(seen_seq + 1, latest + 2))
    # after the missed events, the queue as it stands (a view: pushed, not stored), never ahead of them
    kinds = [m["type"] for m in got]
    first_view = kinds.index("queue")
    view_seq = got[first_view]["seq"]
    assert view_seq in (latest, latest + 1) and kinds[:first_view] == ["event"] * (view_seq - seen_seq)
    assert [e["name"] for e in got[first_view]["queue"]] == ["Chen", "Dara"]
    await ws.close()


async def test_resume_ahead_of_the_log_is_refused(client, meeting: Meeting) -> None:
    resp = await client.get(f"/api/meetings/{meeting.id}/ws?token={meeting.chair_token}&since=9999")
    assert resp.status == 400
    assert "ahead" in (await resp.json())["error"]
    resp = await client.get(f"/api/meetings/{meeting.id}/ws?token={meeting.chair_token}&since=abc")
    assert resp.status == 400
    resp = await client.get(f"/api/meetings/{meeting.id}/ws?token=forged")
    assert resp.status == 401


async def test_bad_messages_get_errors_and_the_connection_survives(meeting: Meeting) -> None:
    ana = await meeting.join("Ana")
    ws = await meeting.ws(ana["token"])
    await ws.receive_json()
    await ws.send_str("{this is not json")
    assert "not valid JSON" in (await ws.receive_json())["error"]
    await ws.send_json({"op": "launch_rockets", "id": "x"})
    err = await ws.receive_json()
    assert err["type"] == "error" and err["id"] == "x" and "known ops" in err["error"]
    await ws.send_json({"op": "give_floor", "id": "y"})
    assert "only the chair or a moderator" in (await ws.receive_json())["error"]
    await ws.send_json({"op": "request_floor", "kind": "filibuster", "id": "z"})
    assert "allowed values" in (await ws.receive_json())["error"]
    await ws.send_json({"op": "request_floor", "text": "x" * 5000, "id": "t"})
    assert "at most 4000" in (await ws.receive_json())["error"]
    await ws.send_bytes(b"\x00\x01")
    assert "JSON text frames" in (await ws.receive_json())["error"]
    await ws.send_json({"op": "request_floor", "id": {"nested": True}})
    assert "\"id\" must be" in (await ws.receive_json())["error"]
    await ws.send_json({"op": "request_floor", "id": "ok"})
    got = await receive_until(ws, lambda m: m["type"] == "ack")
    assert got[-1]["id"] == "ok"
    await ws.close()


async def test_oversized_frame_closes_only_that_socket(meeting: Meeting) -> None:
    ana = await meeting.join("Ana")
    ws = await meeting.ws(ana["token"])
    await ws.receive_json()
    await ws.send_str(json.dumps({"op": "request_floor", "text": "x" * 300_000}))
    msg = await ws.receive(timeout=5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    again = await meeting.ws(ana["token"])
    assert (await again.receive_json())["type"] == "snapshot"
    await again.close()


async def test_rate_limit_answers_with_an_error(meeting: Meeting) -> None:
    ana = await meeting.join("Ana")
    ws = await meeting.ws(ana["token"])
    await ws.receive_json()
    for i in range(60):
        await ws.send_json({"op": "withdraw", "id": i})
    errors = []
    while len(errors) < 60:
        msg = await ws.receive_json(timeout=5)
        if msg["type"] == "error":
            errors.append(msg["error"])
    assert any("too many commands" in e for e in errors)
    await ws.close()


async def stalled_socket(client, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket client that completes the handshake and then never reads again."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {client.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    assert b"101" in status, status
    return reader, writer


async def flood(meeting: Meeting, token: str, count: int) -> None:
    """Long transcript lines (~100 KB each): they fill socket buffers fast."""
    text = "A long stretch of speech, transcribed. " * 2600
    meetings = meeting.client.app[MEETINGS]
    for i in range(count):
        await meetings.record_segments(meeting.id, [{"start": float(i), "end": i + 1.0, "text": text,
                                                     "speaker_id": None, "speaker_name": "Hall"}])


async def test_stalled_client_is_cut_off_and_others_do_not_wait(aiohttp_client, tmp_path) -> None:
    config = make_config(tmp_path / "data", limits={"client_queue": 10})
    client = await aiohttp_client(create_app(config))
    hub = client.app[MEETINGS].hub
    meeting = await open_meeting(client)
    ana = await meeting.join("Ana")
    _, stalled = await stalled_socket(client, f"/api/meetings/{meeting.id}/ws?token={ana['token']}")
    fast = await meeting.ws(meeting.chair_token)
    start = (await fast.receive_json())["seq"]
    assert hub.count(meeting.id) == 2
    reading = asyncio.create_task(receive_until(fast, lambda m: m.get("seq") == start + 120, timeout=10))
    await asyncio.sleep(0)
    await flood(meeting, ana["token"], 120)
    got = await reading
    assert [m["seq"] for m in got] == list(range(start + 1, start + 121))
    for _ in range(100):  # the stalled one is gone within seconds
        if hub.count(meeting.id) == 1:
            break
        await asyncio.sleep(0.1)
    assert hub.count(meeting.id) == 1
    stalled.close()
    await fast.close()


async def test_slow_reader_resumes_without_loss(aiohttp_client, tmp_path) -> None:
    config = make_config(tmp_path / "data", limits={"client_queue": 10})
    client = await aiohttp_client(create_app(config))
    meeting = await open_meeting(client)
    ana = await meeting.join("Ana")
    slow = await meeting.ws(ana["token"])  # reads only after the flood
    start = (await slow.receive_json())["seq"]
    final = start + 120
    await flood(meeting, ana["token"], 120)
    seqs: list[int] = []
    while not seqs or seqs[-1] < final:
        msg = await slow.receive(timeout=10)
        if msg.type != WSMsgType.TEXT:
            assert slow.close_code == 4008, (msg, slow.close_code)
            assert f"since={seqs[-1] if seqs else start}" in (msg.extra or "")
            break
        seqs.append(json.loads(msg.data)["seq"])
    assert seqs == list(range(start + 1, start + 1 + len(seqs)))
    last = seqs[-1] if seqs else start
    assert last < final, "12 MB should not fit in the socket buffers: the reader should have been cut off"
    resumed = await meeting.ws(ana["token"], since=last)
    rest = await receive_until(resumed, lambda m: m.get("seq") == final, timeout=10)
    assert [m["seq"] for m in rest] == list(range(last + 1, final + 1))
    await resumed.close()
    await slow.close()


async def test_many_clients_see_the_same_sequence(aiohttp_client, tmp_path) -> None:
    client = await aiohttp_client(create_app(make_config(tmp_path / "data", limits={"sockets_per_token": 30})))
    meeting = await open_meeting(client)
    clients = [await meeting.ws(meeting.chair_token) for _ in range(30)]
    snaps = [await ws.receive_json() for ws in clients]
    base = snaps[0]["seq"]
    people = [await meeting.join(f"P{i}", mode=["onsite", "remote"][i % 2]) for i in range(5)]
    await asyncio.gather(*(meeting.command(p["token"], op="request_floor") for p in people))
    final = base + 5 + 5  # five joins, five requests (the queue views they lead to are not stored)
    for ws in clients:
        got = await receive_until(ws, lambda m: m["type"] == "event" and m["seq"] == final)
        assert [m["seq"] for m in got if m["type"] == "event"] == list(range(base + 1, final + 1))
    for ws in clients:  # the last view every client is left with is the same
        views = await receive_until(ws, lambda m: m["type"] == "queue" and len(m["queue"]) == 5)
        assert views[-1]["seq"] == final
    for ws in clients:
        await ws.close()


async def test_a_replaced_view_never_overtakes_the_events_it_reflects() -> None:
    from assistant.service.hub import Subscriber

    sub = Subscriber("m", 100)
    sub.offer_view('{"type":"queue","seq":10}')  # the queue as it stood, after a resume's replay
    sub.offer('{"seq":11}', 11)  # a live event, then the view it leads to
    sub.offer_view('{"type":"queue","seq":11}')
    got = [await sub.next() for _ in range(2)]
    assert got == [b'{"seq":11}', b'{"type":"queue","seq":11}']
    assert sub.queued_bytes == 0


async def test_a_message_is_written_at_once_only_while_the_relay_waits_with_nothing_queued() -> None:
    from assistant.service.hub import Subscriber

    sub = Subscriber("m", 100)
    written: list[bytes] = []
    accept = True

    def write_now(data: bytes) -> bool:
        if accept:
            written.append(data)
        return accept

    sub.write_now = write_now
    sub.offer('{"seq":1}', 1)  # the relay is not waiting yet (a snapshot going out): queued
    assert written == [] and await sub.next() == b'{"seq":1}'
    relay = asyncio.create_task(sub.next())
    await asyncio.sleep(0)  # the relay waits now
    sub.offer('{"seq":2}', 2)
    sub.offer_view('{"type":"queue","seq":2}')
    assert written == [b'{"seq":2}', b'{"type":"queue","seq":2}'] and sub.sent_seq == 2
    assert not relay.done() and sub.queued_bytes == 0
    accept = False  # the socket's buffer is full: queued, and the relay wakes for it
    sub.offer('{"seq":3}', 3)
    sub.offer('{"seq":4}', 4)
    accept = True
    assert await relay == b'{"seq":3}'
    sub.offer('{"seq":5}', 5)  # behind what is still queued, never ahead of it
    assert [await sub.next(), await sub.next()] == [b'{"seq":4}', b'{"seq":5}']
    assert written == [b'{"seq":2}', b'{"type":"queue","seq":2}'] and sub.sent_seq == 5


async def test_a_frame_written_at_once_is_the_one_aiohttp_would_write() -> None:
    from unittest import mock

    from aiohttp.http import WebSocketWriter

    from assistant.http.meeting_ws import _frame

    for size in (0, 1, 125, 126, 127, 65535, 65536, 70000):
        data = b"x" * size
        transport = mock.Mock(is_closing=lambda: False)
        await WebSocketWriter(mock.Mock(_paused=False), transport).send_frame(data, WSMsgType.TEXT)
        assert _frame(data) == b"".join(c.args[0] for c in transport.write.call_args_list), size
        assert _frame(data) is _frame(data)  # built once for every socket it goes to


async def test_a_written_intervention_reaches_everyone_with_the_floor(meeting: Meeting) -> None:
    """A page that connected after the written request was made has seen no request_added for it:
    the text comes with the floor, once, when it is read out (never in the public queue before)."""
    ana = await meeting.join("Ana")
    await meeting.command(ana["token"], op="request_floor", text="Read this out, please.")
    late = await meeting.join("Late")
    ws = await meeting.ws(late["token"])
    snap = await ws.receive_json()
    assert "text" not in snap["queue"][0] and snap["queue"][0]["written"] is True
    await meeting.command(meeting.chair_token, op="give_floor")
    got = await receive_until(ws, lambda m: m["type"] == "floor")
    changed = next(m for m in got if m.get("name") == "floor_changed")
    assert got[-1]["seq"] == changed["seq"] and got[-1]["floor"]["text"] == "Read this out, please."
    assert got[-1]["floor"]["name"] == "Ana"
    await ws.close()
