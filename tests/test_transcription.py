"""Audio in through the websocket, segments out, attributed by the floor.

The fast tests use a tone "language" (each word a burst of its own loudness)
read back by a scripted recognizer; the slow one uses the real embedded
model on real speech.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from conftest import (
    ADMIN,
    AUDIO,
    JFK_WORDS,
    Meeting,
    make_config,
    open_meeting,
    receive_until,
    word_error_rate,
)
from fakes import FRAME_S, Clock, ToneRecognizer, loud_windows, pcm, send_frames, silence, tone

from assistant.audio.pcm import SAMPLE_RATE
from assistant.http.app import create_app
from assistant.http.appkeys import TRANSCRIPTION
from assistant.speech.transcription import RESTART_S


async def transcribed(client) -> None:
    """Wait (for the work, not for time) until every channel has stored its last words."""
    for _ in range(1000):
        health = await (await client.get("/api/health", headers={"Authorization": f"Bearer {ADMIN}"})).json()
        if not health["asr"]["channels"]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("a channel is still transcribing")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def tone_client(aiohttp_client, tmp_path, clock):
    config = make_config(tmp_path / "data", asr={"enabled": True, "step_s": 0.5})
    return await aiohttp_client(create_app(config, recognizer=ToneRecognizer(), probabilities=loud_windows,
                                           clock=clock))


async def test_segments_follow_the_floor(tone_client, clock) -> None:
    meeting = await open_meeting(tone_client)
    ana = await meeting.join("Ana", group="government", mode="onsite", affiliation="Chile")
    ben = await meeting.join("Ben", group="civil society", mode="onsite")
    await meeting.command(ana["token"], op="request_floor")
    await meeting.command(ben["token"], op="request_floor")
    await meeting.command(meeting.chair_token, op="give_floor")
    watcher = await meeting.ws(meeting.chair_token)
    await watcher.receive_json()
    hall = await tone_client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    await send_frames(hall, np.concatenate([tone("good morning everyone."), silence(1)]), clock)
    await meeting.command(meeting.chair_token, op="give_floor")  # Ben
    clock.advance(0.2)  # he starts speaking a moment after the chair gives him the floor
    await send_frames(hall, np.concatenate([tone("we support this proposal."), silence(1)]), clock)
    await hall.close()
    got = await receive_until(watcher, lambda m: m.get("name") == "segment" and "proposal" in m["data"]["text"], 10)
    segments = [m["data"] for m in got if m.get("name") == "segment"]
    captions = [m for m in got if m["type"] == "caption"]
    assert [(s["text"], s["speaker_name"]) for s in segments] == [
        ("good morning everyone.", "Ana"), ("we support this proposal.", "Ben"),
    ]
    assert segments[0]["affiliation"] == "Chile" and segments[0]["source"] == "hall"
    assert 0 <= segments[0]["start"] < segments[0]["end"] < segments[1]["start"]
    assert captions and all({"text", "speaker_id", "source"} <= set(c) for c in captions)
    snap = await (await tone_client.get(f"/api/meetings/{meeting.id}")).json()
    assert [s["text"] for s in snap["transcript"]] == [s["text"] for s in segments]


async def test_chair_speaks_when_nobody_holds_the_floor(tone_client, clock) -> None:
    meeting = await open_meeting(tone_client)
    watcher = await meeting.ws(meeting.chair_token)
    await watcher.receive_json()
    hall = await tone_client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    await send_frames(hall, tone("thank you chair."), clock)
    await hall.close()
    got = await receive_until(watcher, lambda m: m.get("name") == "segment", 10)
    assert got[-1]["data"]["speaker_name"] == "Chair"


async def test_audio_rules(tone_client) -> None:
    meeting = await open_meeting(tone_client)
    remote = await meeting.join("Rosa", mode="remote")
    onsite = await meeting.join("Omar", mode="onsite")
    url = f"/api/meetings/{meeting.id}/audio?token="
    assert (await tone_client.get(url + "forged")).status == 401
    resp = await tone_client.get(url + remote["token"])
    assert resp.status == 403 and "only while you hold the floor" in (await resp.json())["error"]
    resp = await tone_client.get(url + onsite["token"])
    assert resp.status == 403 and "hall microphones" in (await resp.json())["error"]
    await meeting.command(remote["token"], op="request_floor")
    await meeting.command(meeting.chair_token, op="give_floor")
    ws = await tone_client.ws_connect(url + remote["token"])
    assert await ws.receive_json() == {"type": "ready", "stream": None, "samples": 0, "transcribing": True}
    await ws.send_bytes(pcm(tone("good")))
    await meeting.command(meeting.chair_token, op="end_turn")
    await ws.send_bytes(pcm(tone("morning")))
    msg = await ws.receive_json(timeout=5)
    assert "turn has ended" in msg["error"]
    await ws.receive(timeout=5)
    assert ws.close_code == 4003
    hall = await tone_client.ws_connect(url + meeting.chair_token)
    second = await tone_client.get(url + meeting.chair_token)
    assert second.status == 409
    await hall.close()


async def test_remote_speaker_is_not_attributed_twice(tone_client, clock) -> None:
    meeting = await open_meeting(tone_client)
    rosa = await meeting.join("Rosa", mode="remote", language="en")
    await meeting.command(rosa["token"], op="request_floor")
    await meeting.command(meeting.chair_token, op="give_floor")
    watcher = await meeting.ws(meeting.chair_token)
    await watcher.receive_json()
    own = await tone_client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={rosa['token']}")
    hall = await tone_client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    speech = np.concatenate([tone("we support this proposal."), silence(1)])
    frame = int(FRAME_S * SAMPLE_RATE)
    for i in range(0, len(speech), frame):  # both channels, frame by frame, as they arrive together
        await own.send_bytes(pcm(speech[i:i + frame]))
        await hall.send_bytes(pcm(speech[i:i + frame]))
        await asyncio.sleep(0.002)
        clock.advance(FRAME_S)
    await own.close()
    await hall.close()
    await transcribed(tone_client)
    snap = await (await tone_client.get(f"/api/meetings/{meeting.id}")).json()
    assert [(s["text"], s["speaker_name"], s["source"]) for s in snap["transcript"]] == [
        ("we support this proposal.", "Rosa", "remote")
    ]


@pytest.mark.slow
@pytest.mark.skipif(not (AUDIO / "jfk.flac").exists(), reason="shared audio not present")
async def test_real_model_on_real_speech(aiohttp_client, tmp_path) -> None:
    from faster_whisper.audio import decode_audio

    # sent at about 3x real time: past the audio pace limit (real time plus 5 s), which is lifted here
    config = make_config(tmp_path / "data", asr={"enabled": True}, limits={"audio_burst_s": 60})
    clock = Clock()
    client = await aiohttp_client(create_app(config, clock=clock))

    assert await client.app[TRANSCRIPTION].wait_loaded()
    meeting: Meeting = await open_meeting(client)
    jack = await meeting.join("John Kennedy", group="government", mode="onsite", affiliation="United States")
    await meeting.command(jack["token"], op="request_floor")
    await meeting.command(meeting.chair_token, op="give_floor")
    hall = await client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    await send_frames(hall, decode_audio(str(AUDIO / "jfk.flac")), clock, pause_s=0.03)  # about 3x real time
    await hall.close()
    await transcribed(client)
    snap = await (await client.get(f"/api/meetings/{meeting.id}")).json()
    segments = snap["transcript"]
    text = " ".join(s["text"] for s in segments)
    assert word_error_rate(JFK_WORDS, text) <= 0.2, text  # 22 words: at most 4 misheard, dropped or added
    assert {s["speaker_name"] for s in segments} == {"John Kennedy"}


class FailingOnce(ToneRecognizer):
    """A recogniser that breaks on its first pass (a bad model state, a language it cannot decode)."""

    def transcribe(self, audio: np.ndarray, *, language: str | None, prompt: str, hotwords: str) -> list[Any]:
        if self.calls == 0:
            self.calls += 1
            raise RuntimeError("the recogniser broke")
        return super().transcribe(audio, language=language, prompt=prompt, hotwords=hotwords)


async def test_a_failed_recogniser_restarts_reports_and_keeps_no_audio_meanwhile(aiohttp_client, tmp_path, clock) -> None:
    # the frames go out faster than real time (the test's clock runs ahead): lift the audio pace limit
    config = make_config(tmp_path / "data", asr={"enabled": True, "step_s": 0.5}, limits={"audio_burst_s": 60})
    client = await aiohttp_client(create_app(config, recognizer=FailingOnce(), probabilities=loud_windows, clock=clock))
    transcription = client.app[TRANSCRIPTION]
    meeting = await open_meeting(client)
    watcher = await meeting.ws(meeting.chair_token)
    await watcher.receive_json()
    hall = await client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    await hall.receive_json()
    await send_frames(hall, np.concatenate([tone("good morning everyone."), silence(1)]), clock)
    for _ in range(500):  # the first pass fails: the channel stops and says why
        if transcription.failures:
            break
        await asyncio.sleep(0.01)
    health = await (await client.get("/api/health", headers={"Authorization": f"Bearer {ADMIN}"})).json()
    (failure,) = health["asr"]["failed"].values()
    assert failure["count"] == 1 and "the recogniser broke" in failure["error"]
    await send_frames(hall, tone("thank you chair."), clock)  # within the pause: not kept, nothing piles up
    assert transcription.channels == {}
    clock.advance(RESTART_S)
    await send_frames(hall, np.concatenate([silence(0.5), tone("we support this proposal."), silence(1)]), clock)
    got = await receive_until(watcher, lambda m: m.get("name") == "segment" and "proposal" in m["data"]["text"], 10)
    await hall.close()
    said = " ".join(m["data"]["text"] for m in got if m.get("name") == "segment")
    assert said == "we support this proposal."  # the restarted channel hears on; nothing of the pause was kept
