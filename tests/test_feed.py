"""The hall uplink (`assistant feed`) and the pieces of remote voice: backlog, jitter buffer, resume."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import aiohttp
import jiwer
import numpy as np
import pytest
from conftest import ADMIN, AUDIO, AppClient, make_config, open_meeting
from fakes import ToneRecognizer, loud_windows
from netcut import Proxy

from assistant.audio.backlog import Backlog, Chunk
from assistant.audio.jitter import JitterBuffer
from assistant.audio.pcm import SAMPLE_RATE
from assistant.audio.uplink import FeedError, audio_url
from assistant.http.app import create_app
from assistant.http.appkeys import AUDIO_SENDERS, AUDIO_STREAMS, TRANSCRIPTION


def chunk(n: int, value: int = 1) -> Chunk:
    return Chunk(np.full(n, value, "<i2").tobytes(), 0.0)


def test_backlog_resends_exactly_what_the_server_lacks() -> None:
    b = Backlog(max_samples=10_000)
    for v in range(1, 6):
        b.add(chunk(1000, v))
    sent = [b.next() for _ in range(3)]
    assert all(sent) and b.waiting == 2000
    b.confirm(1500)  # the server acknowledged one and a half chunks
    assert b.confirmed == 1500 and sum(c.samples for c in b.unconfirmed) == 1500
    b.reconnected(2200)  # the connection dropped; the server had read a little more
    assert b.confirmed == 2200 and not b.unconfirmed
    resent = b.next()
    assert resent is not None and resent.samples == 800 and resent.pcm[:2] == np.int16(3).tobytes()
    assert resent.captured_at == pytest.approx(200 / SAMPLE_RATE)
    b.reconnected(0)  # the server restarted and forgot the stream: numbering starts again there
    assert b.confirmed == 0 and b.waiting == 2800


def test_backlog_drops_the_oldest_unsent_audio_when_full_and_counts_it() -> None:
    b = Backlog(max_samples=3000)
    b.add(chunk(1000, 1))
    assert b.next() is not None  # sent, not yet confirmed: kept
    for v in (2, 3, 4):
        b.add(chunk(1000, v))
    assert b.dropped == 1000 and b.captured == 4000
    assert [c.pcm[:2] for c in b.unsent] == [np.int16(v).tobytes() for v in (3, 4)]


def test_jitter_buffer_primes_plays_in_order_and_bounds_the_delay() -> None:
    jb = JitterBuffer(target=300, limit=1000)
    assert jb.push(np.ones(200, np.float32)) == 0
    out, first = jb.pull(160)
    assert first == -1 and not out.any()  # still priming: 200 of 300
    assert jb.push(np.full(200, 2, np.float32)) == 200
    out, first = jb.pull(160)
    assert first == 0 and list(out[:1]) == [1.0]
    jb.pull(160)
    out, first = jb.pull(160)  # 80 samples left: played, then silence, and an underrun
    assert first == 320 and out[79] == 2.0 and out[80] == 0.0 and jb.stats.underruns == 1
    jb.push(np.zeros(1500, np.float32))
    assert jb.depth == 1000 and jb.stats.dropped == 500
    jb.clear()
    assert jb.depth == 0 and jb.pull(160)[1] == -1


def test_audio_url_from_what_a_user_has() -> None:
    assert audio_url("http://hall.example:8080/chair/AbC_12#token=x") == "ws://hall.example:8080/api/meetings/AbC_12/audio"
    assert audio_url("https://m.example/join/Xy9?code=1") == "wss://m.example/api/meetings/Xy9/audio"
    assert audio_url("ws://h:1/api/meetings/Q/audio") == "ws://h:1/api/meetings/Q/audio"
    with pytest.raises(FeedError, match="chair or join link"):
        audio_url("hall.example:8080")


async def test_audio_stream_resume_protocol(aiohttp_client: AppClient, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(make_config(tmp_path / "data", asr={"enabled": True}),
                                             recognizer=ToneRecognizer(), probabilities=loud_windows))
    meeting = await open_meeting(client)
    url = f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}&stream=hall-stream-1"
    ws = await client.ws_connect(url)
    assert await ws.receive_json() == {"type": "ready", "stream": "hall-stream-1", "samples": 0, "transcribing": True}
    await ws.send_bytes(bytes(2 * SAMPLE_RATE))  # one second
    assert await ws.receive_json(timeout=5) == {"type": "received", "samples": SAMPLE_RATE}
    await ws.send_str('{"captured_ago_s": 2.5}')
    await ws.send_bytes(bytes(2 * 800))
    await ws.send_str("hello")
    assert "captured_ago_s" in (await ws.receive_json(timeout=5))["error"]
    # the same stream reconnecting takes over a connection the server still thinks is alive
    again = await client.ws_connect(url)
    assert await again.receive_json(timeout=5) == {"type": "ready", "stream": "hall-stream-1", "samples": SAMPLE_RATE + 800,
                                                      "transcribing": True}
    assert (await client.get(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}&stream=another-stream")).status == 409
    assert (await client.get(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}&stream=bad id")).status == 400
    await again.close()
    await ws.close()


async def test_a_stream_that_vanishes_keeps_its_sentence_open_and_only_a_close_frame_ends_it(
    aiohttp_client: AppClient, tmp_path: Path
) -> None:
    """A connection that ends without a close frame (here a proxy half-closes it) is not a goodbye,
    whatever close code the server library reports for it: the channel stays open for the stream to
    come back; a sender that closes the socket itself ends the channel at once."""
    client = await aiohttp_client(create_app(make_config(tmp_path / "data", asr={"enabled": True}),
                                             recognizer=ToneRecognizer(), probabilities=loud_windows))
    transcription = client.app[TRANSCRIPTION]
    meeting = await open_meeting(client)
    path = f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}&stream=hall-stream-2"
    proxy = Proxy(client.server.port or 0)
    base = await proxy.start()
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(base + path)
        assert (await ws.receive_json(timeout=5))["samples"] == 0
        await ws.send_bytes(bytes(2 * SAMPLE_RATE))
        assert await ws.receive_json(timeout=5) == {"type": "received", "samples": SAMPLE_RATE}
        channel = transcription.channels[(meeting.id, "hall")]
        proxy.cut(graceful=True)
        for _ in range(50):
            if (meeting.id, "hall") not in client.app[AUDIO_SENDERS]:
                break
            await asyncio.sleep(0.05)
        assert (meeting.id, "hall") not in client.app[AUDIO_SENDERS]  # the server saw it go
        assert not channel.closed and (meeting.id, "hall") in transcription._ending
        again = await client.ws_connect(path)  # it comes back: the same channel goes on
        assert (await again.receive_json(timeout=5))["samples"] == SAMPLE_RATE
        assert transcription.channels[(meeting.id, "hall")] is channel and not transcription._ending
        await again.close()  # a goodbye: the last words are committed and the channel ends
        assert channel.closed and channel.task is not None
        await asyncio.wait_for(channel.task, timeout=5)
        assert (meeting.id, "hall") not in transcription.channels
    await proxy.close()


OUTAGE_S = 2.5  # real time: the feed captures (replays) this much speech while the network is down


@pytest.mark.slow
@pytest.mark.skipif(not (AUDIO / "jfk.flac").exists(), reason="shared audio not present")
async def test_feed_file_through_a_network_cut_loses_no_speech(aiohttp_client: AppClient, tmp_path: Path) -> None:
    """`assistant feed --file` against a running server; the network drops in the middle of a sentence."""
    client = await aiohttp_client(create_app(make_config(tmp_path / "data", asr={"enabled": True})))
    assert await client.app[TRANSCRIPTION].wait_loaded()
    meeting = await open_meeting(client)
    token = (await (await client.post(f"/api/meetings/{meeting.id}/tokens", json={"role": "feed"},
                                      headers={"Authorization": f"Bearer {meeting.chair_token}"})).json())["token"]
    proxy = Proxy(client.server.port or 0)
    base = await proxy.start()
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "assistant", "feed", f"{base}/chair/{meeting.id}", "--token", token,
        "--file", str(AUDIO / "jfk.flac"), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    streams = client.app[AUDIO_STREAMS]
    try:
        # the feed replays the file at real time: cut the network once the server has 4 s of it,
        # in "ask not what your country can do for you", for OUTAGE_S of real time
        for _ in range(3000):
            if any(n >= 4 * SAMPLE_RATE for (m, _ch, _s), n in streams.items() if m == meeting.id):
                break
            await asyncio.sleep(0.01)
        proxy.cut()
        await asyncio.sleep(OUTAGE_S)  # what is said now waits in the feed's backlog
        proxy.up = True
        out, _ = await asyncio.wait_for(command.communicate(), timeout=60)
    finally:
        await proxy.close()
    printed = out.decode()
    assert command.returncode == 0, printed
    assert "connection lost" in printed and re.search(r"[1-9] reconnections, 0\.0 s dropped", printed), printed
    from faster_whisper.audio import decode_audio

    total = len(decode_audio(str(AUDIO / "jfk.flac")))
    (stream,) = [n for (m, ch, _), n in client.app[AUDIO_STREAMS].items() if m == meeting.id and ch == "hall"]
    assert stream == total  # every sample arrived, and only once
    for _ in range(600):  # wait until the last words are committed
        health = await (await client.get("/api/health", headers={"Authorization": f"Bearer {ADMIN}"})).json()
        if not health["asr"]["channels"]:
            break
        await asyncio.sleep(0.1)
    snap = await (await client.get(f"/api/meetings/{meeting.id}")).json()
    said = " ".join(re.sub(r"[^\w' ]", " ", " ".join(s["text"] for s in snap["transcript"]).lower()).split())
    reference = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
    # 2.5 s of lost audio would delete six or seven words, audio heard twice would insert as many;
    # the tiny model may still mishear one or two ("watch" for "what", "am I" for "my")
    errors = jiwer.process_words(reference, said)
    assert errors.deletions <= 1 and errors.insertions <= 2 and errors.substitutions <= 2, said


def test_jitter_buffer_catches_up_by_skipping_pauses_never_speech() -> None:
    jb = JitterBuffer(target=320, limit=8000, margin=320)
    jb.push(np.full(3200, 0.3, np.float32))  # speech, 200 ms behind: all of it is played
    while jb.depth:
        jb.pull(160)
    assert jb.stats.skipped == 0 and jb.stats.played == 3200
    jb.push(np.full(3200, 0.001, np.float32))  # a pause, as far behind: some of it is skipped
    jb.pull(160)
    assert jb.stats.skipped == 4 * 160 and jb.depth == 3200 - 5 * 160
    while jb.depth > jb.high:
        jb.pull(160)
    assert jb.stats.played + jb.stats.skipped == 6400 - jb.depth


def test_relay_frames_are_mulaw_8k_and_a_slow_listener_only_loses_its_own_oldest_audio() -> None:
    from assistant.audio.listening import FRAME_SAMPLES, QUEUE_FRAMES, AudioRelay, from_mulaw, to_mulaw_8k

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    voice = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    back = from_mulaw(to_mulaw_8k(voice))
    assert len(back) == SAMPLE_RATE // 2
    assert np.abs(back - voice[::2]).max() < 0.03  # 8-bit µ-law: small error at speech levels
    relay = AudioRelay()
    fast, slow = relay.listen("m"), relay.listen("m")
    for _ in range(30):  # 3 s of audio in 100 ms pieces
        relay.publish("m", voice[:1600])
        while not fast.queue.empty():
            assert len(fast.queue.get_nowait()) == FRAME_SAMPLES
    assert slow.queue.qsize() == QUEUE_FRAMES and slow.dropped == 30 - QUEUE_FRAMES and fast.dropped == 0


async def test_listening_to_the_hall_over_the_websocket(aiohttp_client: AppClient, tmp_path: Path) -> None:
    from assistant.audio.listening import from_mulaw

    client = await aiohttp_client(create_app(make_config(tmp_path / "data", asr={"enabled": True}),
                                             recognizer=ToneRecognizer(), probabilities=loud_windows))
    meeting = await open_meeting(client)
    remote = await meeting.join("Rosa", mode="remote")
    assert (await client.get(f"/api/meetings/{meeting.id}/listen?token=nope")).status == 401
    ear = await client.ws_connect(f"/api/meetings/{meeting.id}/listen?token={remote['token']}")
    hall = await client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    await hall.receive_json()
    tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(SAMPLE_RATE // 2) / SAMPLE_RATE)).astype(np.float32)
    await hall.send_bytes((tone * 32767).astype("<i2").tobytes())
    heard = b""
    while len(heard) < 4000:
        msg = await ear.receive(timeout=5)
        heard += msg.data
    assert len(heard) == 4000 and np.abs(from_mulaw(heard) - tone[::2]).max() < 0.03
    await hall.close()
    await ear.close()


def test_tokens_and_ids_never_begin_with_a_dash() -> None:
    """A token beginning with "-" is read as an option: `assistant feed URL --token -x3...` fails."""
    from assistant.core.tokens import new_token

    assert not any(new_token(6).startswith("-") for _ in range(3000))  # 1 in 64 would, drawn plainly
    assert len(new_token(24)) == 32
