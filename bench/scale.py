"""Main-session scale: a long list, a long history, a big audience, through the public API.

Starts the real server (`python -m assistant serve`) on a fresh SQLite file and measures the
targets of the main-session issue, on this machine:

1. storage: N people waiting, each with a written intervention of 1,000 characters: bytes the
   archive grew by, against the typed text (target: at most 4x the text + 2 kB per request);
2. a chair command (move, time limit, give the floor, end the turn) with those N waiting: round
   trip from sending it on the websocket to its ack, p50/p95 (target p95 <= 10 ms);
3. meanwhile, commands in another meeting on the same server: p95 (target <= 20 ms);
4. the snapshot of the busy meeting, in bytes (target <= 1 MB, aim 200 kB);
5. a chair command after 20 participants asked and withdrew 2,000 times in all, against the same
   command before those cycles (target: no slower);
6. fan-out: C clients offering permessage-deflate, as browsers do, while the chair sends commands:
   server CPU per message delivered (target <= 20 us), messages lost (target 0).

    .venv/bin/python bench/scale.py                     # 600 waiting, 2,000 clients
    .venv/bin/python bench/scale.py --waiting 100 --clients 200   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import string
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from common import ADMIN, percentile, start_server

AUTH = {"Authorization": f"Bearer {ADMIN}"}
# one client process plays hundreds of people from one address: the per-person limits are lifted
LIMITS = ("[asr]\nenabled = false\n[limits]\ncommands_per_second = 1000.0\njoins_per_minute = 100000\n"
          "sockets_per_token = 1000\n")


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def meeting(self, title: str) -> dict[str, Any]:
        resp = await self.http.post(f"{self.base}/api/meetings", json={"title": title, "agenda": ["Debate"]},
                                    headers=AUTH)
        return dict(await resp.json())

    async def join(self, meeting: dict[str, Any], name: str, mode: str, group: str) -> dict[str, Any]:
        body = {"name": name, "group": group, "mode": mode, "invite_code": meeting["invite_code"]}
        resp = await self.http.post(f"{self.base}/api/meetings/{meeting['id']}/participants", json=body)
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())

    async def command(self, meeting: dict[str, Any], token: str, **body: Any) -> None:
        resp = await self.http.post(f"{self.base}/api/meetings/{meeting['id']}/commands", json=body,
                                    headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 200, await resp.text()

    def ws_url(self, meeting: dict[str, Any], token: str) -> str:
        return f"{self.base.replace('http', 'ws', 1)}/api/meetings/{meeting['id']}/ws?token={token}"


class Commander:
    """A websocket that sends commands and times each one until its ack."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.n = 0

    async def send(self, op: str, **fields: Any) -> float:
        self.n += 1
        cid = f"c{self.n}"
        started = time.perf_counter()
        await self.ws.send_str(json.dumps({"op": op, "id": cid, **fields}))
        while True:
            msg = json.loads((await self.ws.receive()).data)
            if msg.get("id") == cid and msg["type"] in ("ack", "error"):
                if msg["type"] == "error":
                    raise SystemExit(f"{op}: {msg['error']}")
                return time.perf_counter() - started


def db_bytes(data_dir: Path) -> int:
    db = data_dir / "meetings.db"
    with sqlite3.connect(db) as conn:
        conn.execute("pragma wal_checkpoint(TRUNCATE)")
    return db.stat().st_size + sum(p.stat().st_size for p in data_dir.glob("meetings.db-*"))


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:.1f} ms"


async def long_list(api: Api, data_dir: Path, waiting: int) -> None:
    busy = await api.meeting("Main session")
    other = await api.meeting("Parallel room")
    people = [await api.join(busy, f"Delegate {i}", random.choice(["onsite", "remote"]),
                             random.choice(["government", "civil society", "private sector"])) for i in range(waiting)]
    before = db_bytes(data_dir)
    typed = 0
    for p in people:
        text = "".join(random.choices(string.ascii_letters + "     ", k=1000))
        typed += len(text)
        await api.command(busy, p["token"], op="request_floor", text=text)
    grown = db_bytes(data_dir) - before
    allowed = 4 * typed + 2048 * waiting
    print(f"1. storage, {waiting} waiting with 1,000-character texts: archive grew {grown / 1e6:.2f} MB for "
          f"{typed / 1e6:.2f} MB of text ({grown / typed:.1f}x; allowed {allowed / 1e6:.2f} MB)")

    snap = await (await api.http.get(f"{api.base}/api/meetings/{busy['id']}")).read()
    print(f"4. snapshot of that meeting: {len(snap) / 1000:.0f} kB")

    async with api.http.ws_connect(api.ws_url(busy, busy["chair_token"]), max_msg_size=0) as chair_ws, \
            api.http.ws_connect(api.ws_url(other, other["chair_token"]), max_msg_size=0) as other_ws:
        await chair_ws.receive()
        await other_ws.receive()
        chair = Commander(chair_ws)
        guest = await api.join(other, "Guest", "remote", "civil society")
        async with api.http.ws_connect(api.ws_url(other, guest["token"]), max_msg_size=0) as guest_ws:
            await guest_ws.receive()
            guest_cmd = Commander(guest_ws)
            stop = asyncio.Event()
            other_times: list[float] = []

            async def meanwhile() -> None:
                while not stop.is_set():
                    other_times.append(await guest_cmd.send("request_floor"))
                    other_times.append(await guest_cmd.send("withdraw"))
                    await asyncio.sleep(0.01)

            side = asyncio.create_task(meanwhile())
            await asyncio.sleep(0.2)
            times: list[float] = []
            snapshot = json.loads(await (await api.http.get(f"{api.base}/api/meetings/{busy['id']}",
                                                            headers={"Authorization": f"Bearer {busy['chair_token']}"})).read())
            ids = [e["request_id"] for e in snapshot["queue"]]
            for i in range(60):
                times.append(await chair.send("move", request_id=ids[-1 - i], position=3))
                times.append(await chair.send("set_time_limit", seconds=120 + i))
                times.append(await chair.send("give_floor"))
                times.append(await chair.send("end_turn"))
            stop.set()
            await side
        print(f"2. chair command with {waiting} waiting: p50 {ms(times, 50)}, p95 {ms(times, 95)} "
              f"({len(times)} commands: move, time limit, give floor, end turn)")
        print(f"3. another meeting's command meanwhile: p50 {ms(other_times, 50)}, p95 {ms(other_times, 95)} "
              f"({len(other_times)} commands)")


async def long_history(api: Api, cycles: int) -> None:
    room = await api.meeting("Long day")
    people = [await api.join(room, f"Member {i}", "remote", "other") for i in range(20)]

    async def sample() -> list[float]:
        async with api.http.ws_connect(api.ws_url(room, room["chair_token"]), max_msg_size=0) as ws:
            await ws.receive()
            chair = Commander(ws)
            return [await chair.send("set_time_limit", seconds=100 + i) for i in range(100)]

    before = await sample()
    for _ in range(cycles // 20):
        for p in people:
            await api.command(room, p["token"], op="request_floor")
            await api.command(room, p["token"], op="withdraw")
    after = await sample()
    print(f"5. chair command before / after {cycles:,} request-withdraw cycles by 20 people: "
          f"p50 {ms(before, 50)} / {ms(after, 50)}, p95 {ms(before, 95)} / {ms(after, 95)}")


async def fan_out(api: Api, server: psutil.Process, clients: int, commands: int) -> None:
    hall = await api.meeting("Audience")
    tokens = []
    for _ in range(clients):
        resp = await api.http.post(f"{api.base}/api/meetings/{hall['id']}/tokens", json={"role": "observer"},
                                   headers={"Authorization": f"Bearer {hall['chair_token']}"})
        tokens.append((await resp.json())["token"])
    speaker = await api.join(hall, "Speaker", "remote", "civil society")
    received = [0] * clients
    last_seq = [0] * clients
    compressed = [False] * clients
    ready = asyncio.Semaphore(0)
    done = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def listen(i: int) -> None:
            # compress=15: the client offers permessage-deflate, as browsers do
            async with http.ws_connect(api.ws_url(hall, tokens[i]), compress=15, max_msg_size=0) as ws:
                compressed[i] = ws.compress > 0
                await ws.receive()
                ready.release()
                while not done.is_set():
                    try:
                        msg = await ws.receive(timeout=1)
                    except TimeoutError:
                        continue
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        return
                    received[i] += 1
                    if msg.data.startswith('{"type":"event"'):
                        last_seq[i] = json.loads(msg.data)["seq"]

        tasks = [asyncio.create_task(listen(i)) for i in range(clients)]
        for _ in range(clients):
            await ready.acquire()
        async with http.ws_connect(api.ws_url(hall, hall["chair_token"]), max_msg_size=0) as ws:
            await ws.receive()
            chair = Commander(ws)
            await asyncio.sleep(1)
            cpu0 = sum(server.cpu_times()[:2])
            wall0 = time.perf_counter()
            await api.command(hall, speaker["token"], op="request_floor")
            for i in range(commands):
                await chair.send("set_time_limit", seconds=60 + i % 100)
                await asyncio.sleep(0.05)
            final = json.loads(await (await api.http.get(f"{api.base}/api/meetings/{hall['id']}")).read())["seq"]
            deadline = time.perf_counter() + 60
            while min(last_seq) < final and time.perf_counter() < deadline:
                await asyncio.sleep(0.2)
            cpu = sum(server.cpu_times()[:2]) - cpu0
            wall = time.perf_counter() - wall0
        done.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    delivered = sum(received)
    lost = sum(1 for s in last_seq if s < final)
    print(f"6. fan-out to {clients:,} clients offering permessage-deflate ({sum(compressed)} got it): "
          f"{delivered:,} messages in {wall:.1f} s, server CPU {cpu:.2f} s = {cpu / delivered * 1e6:.1f} us per "
          f"message delivered ({delivered / cpu:,.0f}/s per core); clients behind at the end: {lost}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waiting", type=int, default=600)
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--commands", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        proc, base = start_server(data_dir, LIMITS)
        try:
            async with aiohttp.ClientSession() as http:
                api = Api(http, base)
                await long_list(api, data_dir, args.waiting)
                await long_history(api, args.cycles)
                await fan_out(api, psutil.Process(proc.pid), args.clients, args.commands)
            print(f"server peak RSS {psutil.Process(proc.pid).memory_info().rss / 2**20:.0f} MiB")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
