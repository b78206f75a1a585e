"""Audio in through the websocket, segments out, attributed by the floor.

The fast tests use a tone "language" (each word a burst of its own loudness)
read back by a scripted recognizer; the slow one uses the real embedded
model on real speech.
"""

from __future__ import annotations

import asyncio

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

from assistant.audio.pcm import SAMPLE_RATE
from assistant.http.app import create_app
from assistant.speech.gate import WINDOW
from assistant.speech.streaming import Word

VOCAB = ["good", "morning", "everyone.", "thank", "you", "chair.", "we", "support", "this", "proposal."]


def tone(text: str) -> np.ndarray:
    """Each word: 0.4 s at its own loudness, then 0.1 s of quiet."""
    out = []
    for word in text.split():
        amp = 0.1 + 0.03 * VOCAB.index(word)
        out += [np.full(int(0.4 * SAMPLE_RATE), amp, np.float32), np.zeros(int(0.1 * SAMPLE_RATE), np.float32)]
    return np.concatenate(out)


class ToneRecognizer:
    multilingual = False

    def transcribe(self, audio, *, language, prompt, hotwords):
        loud = np.abs(audio) > 0.05
        words, i, n = [], 0, len(audio)
        while i < n:
            if not loud[i]:
                i += 1
                continue
            j = i
            while j < n and loud[j]:
                j += 1
            if j - i >= int(0.3 * SAMPLE_RATE) and j < n:  # a whole burst, followed by quiet
                k = round((float(np.median(np.abs(audio[i:j]))) - 0.1) / 0.03)
                words.append(Word(i / SAMPLE_RATE, j / SAMPLE_RATE, " " + VOCAB[k]))
            i = j
        return words


def loud_windows():
    return lambda audio: (np.abs(audio.reshape(-1, WINDOW)).max(axis=1) > 0.05).astype(np.float32)


def pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


async def send_paced(ws, samples: np.ndarray, speed: float = 1.0) -> None:
    frame = int(0.1 * SAMPLE_RATE)
    for i in range(0, len(samples), frame):
        await ws.send_bytes(pcm(samples[i:i + frame]))
        await asyncio.sleep(0.1 / speed)


@pytest.fixture
async def tone_client(aiohttp_client, tmp_path):
    config = make_config(tmp_path / "data", asr={"enabled": True, "step_s": 0.5})
    return await aiohttp_client(create_app(config, recognizer=ToneRecognizer(), probabilities=loud_windows))


async def test_segments_follow_the_floor(tone_client) -> None:
    meeting = await open_meeting(tone_client)
    ana = await meeting.join("Ana", group="government", mode="onsite", affiliation="Chile")
    ben = await meeting.join("Ben", group="civil society", mode="onsite")
    await meeting.command(ana["token"], op="request_floor")
    await meeting.command(ben["token"], op="request_floor")
    await meeting.command(meeting.chair_token, op="give_floor")
    watcher = await meeting.ws(meeting.chair_token)
    await watcher.receive_json()
    hall = await tone_client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    await send_paced(hall, np.concatenate([tone("good morning everyone."), np.zeros(SAMPLE_RATE, np.float32)]))
    await meeting.command(meeting.chair_token, op="give_floor")  # Ben
    await asyncio.sleep(0.2)  # he starts speaking a moment after the chair gives him the floor
    await send_paced(hall, np.concatenate([tone("we support this proposal."), np.zeros(SAMPLE_RATE, np.float32)]))
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


async def test_chair_speaks_when_nobody_holds_the_floor(tone_client) -> None:
    meeting = await open_meeting(tone_client)
    watcher = await meeting.ws(meeting.chair_token)
    await watcher.receive_json()
    hall = await tone_client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    await send_paced(hall, tone("thank you chair."), speed=4)
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


async def test_remote_speaker_is_not_attributed_twice(tone_client) -> None:
    meeting = await open_meeting(tone_client)
    rosa = await meeting.join("Rosa", mode="remote", language="en")
    await meeting.command(rosa["token"], op="request_floor")
    await meeting.command(meeting.chair_token, op="give_floor")
    watcher = await meeting.ws(meeting.chair_token)
    await watcher.receive_json()
    own = await tone_client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={rosa['token']}")
    hall = await tone_client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    speech = np.concatenate([tone("we support this proposal."), np.zeros(SAMPLE_RATE, np.float32)])
    await asyncio.gather(send_paced(own, speech), send_paced(hall, speech))
    await own.close()
    await hall.close()
    await asyncio.sleep(1)
    snap = await (await tone_client.get(f"/api/meetings/{meeting.id}")).json()
    assert [(s["text"], s["speaker_name"], s["source"]) for s in snap["transcript"]] == [
        ("we support this proposal.", "Rosa", "remote")
    ]


@pytest.mark.slow
@pytest.mark.skipif(not (AUDIO / "jfk.flac").exists(), reason="shared audio not present")
async def test_real_model_on_real_speech(aiohttp_client, tmp_path) -> None:
    from faster_whisper.audio import decode_audio

    config = make_config(tmp_path / "data", asr={"enabled": True})
    client = await aiohttp_client(create_app(config))
    from assistant.http.appkeys import TRANSCRIPTION

    assert await client.app[TRANSCRIPTION].wait_loaded()
    meeting: Meeting = await open_meeting(client)
    jack = await meeting.join("John Kennedy", group="government", mode="onsite", affiliation="United States")
    await meeting.command(jack["token"], op="request_floor")
    await meeting.command(meeting.chair_token, op="give_floor")
    hall = await client.ws_connect(f"/api/meetings/{meeting.id}/audio?token={meeting.chair_token}")
    await send_paced(hall, decode_audio(str(AUDIO / "jfk.flac")))
    await hall.close()
    for _ in range(600):  # the channel is gone once its last words are committed
        health = await (await client.get("/api/health", headers={"Authorization": f"Bearer {ADMIN}"})).json()
        if not health["asr"]["channels"]:
            break
        await asyncio.sleep(0.1)
    snap = await (await client.get(f"/api/meetings/{meeting.id}")).json()
    segments = snap["transcript"]
    text = " ".join(s["text"] for s in segments)
    assert word_error_rate(JFK_WORDS, text) <= 0.2, text  # 22 words: at most 4 misheard, dropped or added
    assert {s["speaker_name"] for s in segments} == {"John Kennedy"}
