"""Fan-out benchmark: N websocket clients on one meeting while the queue is busy.

Starts the real server (`python -m assistant serve`) on a free port with a
fresh SQLite file, opens N participant websockets plus the chair's, and has
the chair and a few participants issue queue commands (ask for the floor,
withdraw, give the floor, end the turn) for a while. Prints:

- delivery latency p50/p99/max of each event at each client, measured after
  the chair's copy of the same event (so the clients' own scheduling, shared
  by the chair, is not counted), and after the command was sent;
- events lost: any seq a client never received (must be 0);
- server CPU (percent of one core) and peak RSS.

    .venv/bin/python bench/fanout.py --clients 500
    .venv/bin/python bench/fanout.py --clients 2000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil
from common import ADMIN, percentile, start_server

SEQ = re.compile(r'^\{"type":"event","seq":(\d+)')


class Listener:
    """One websocket client: records when each event seq arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.first_seq = 0
        self.closed_early = False

    async def run(self, http: aiohttp.ClientSession, url: str, ready: asyncio.Event, stop: asyncio.Event) -> None:
        async with http.ws_connect(url, max_msg_size=0) as ws:
            snap = await ws.receive_json()
            self.first_seq = snap["seq"]
            ready.set()
            while not stop.is_set():
                try:
                    msg = await ws.receive(timeout=0.5)
                except TimeoutError:
                    continue
                if msg.type != aiohttp.WSMsgType.TEXT:
                    self.closed_early = True
                    return
                now = time.perf_counter()
                m = SEQ.match(msg.data)
                if m:
                    self.arrivals[int(m.group(1))] = now


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(Path(tmp), "[limits]\ncommands_per_second = 1000.0\njoins_per_minute = 100000\n")
        server = psutil.Process(proc.pid)
        try:
            await run(args, base, server)
        finally:
            proc.terminate()
            proc.wait(10)


async def run(args: argparse.Namespace, base: str, server: psutil.Process) -> None:
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as http:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        created = await (await http.post(f"{base}/api/meetings", json={"title": "Fan-out", "agenda": ["One"]},
                                         headers=auth)).json()
        mid, code = created["id"], created["invite_code"]
        groups = ["government", "civil society", "private sector", "technical community"]

        async def join(i: int) -> str:
            body = {"name": f"P{i}", "group": groups[i % 4], "mode": ["onsite", "remote"][i % 2], "invite_code": code}
            resp = await http.post(f"{base}/api/meetings/{mid}/participants", json=body)
            return str((await resp.json())["token"])

        t0 = time.perf_counter()
        tokens: list[str] = []
        for start in range(0, args.clients, 100):
            tokens += await asyncio.gather(*(join(i) for i in range(start, min(args.clients, start + 100))))
        print(f"joined {args.clients} participants in {time.perf_counter() - t0:.1f} s")

        stop = asyncio.Event()
        chair = Listener()
        listeners = [Listener() for _ in tokens]
        tasks = []
        t0 = time.perf_counter()
        for batch in range(0, len(tokens) + 1, 100):
            readies = []
            for listener, token in zip(
                ([chair] if batch == 0 else []) + listeners[batch:batch + 100],
                ([created["chair_token"]] if batch == 0 else []) + tokens[batch:batch + 100], strict=True,
            ):
                ready = asyncio.Event()
                readies.append(ready)
                url = f"{base}/api/meetings/{mid}/ws?token={token}"
                tasks.append(asyncio.create_task(listener.run(http, url, ready, stop)))
            await asyncio.gather(*(r.wait() for r in readies))
        print(f"connected {len(listeners) + 1} websockets in {time.perf_counter() - t0:.1f} s")

        me = psutil.Process()
        cpu0, mine0 = sum(server.cpu_times()[:2]), sum(me.cpu_times()[:2])
        wall0 = time.perf_counter()
        peak_rss = server.memory_info().rss
        sent: dict[int, float] = {}  # ack seq -> when the command that produced it was sent
        actors = tokens[: args.speakers]
        rng = random.Random(7)

        async def command(token: str, body: dict[str, object]) -> None:
            t = time.perf_counter()
            resp = await http.post(f"{base}/api/meetings/{mid}/commands", json=body,
                                   headers={"Authorization": f"Bearer {token}"})
            if resp.status == 200:
                sent[int((await resp.json())["seq"])] = t

        deadline = time.perf_counter() + args.duration
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            roll = rng.random()
            if roll < 0.55:
                await command(rng.choice(actors), {"op": "request_floor", "kind": "intervention"})
            elif roll < 0.65:
                await command(rng.choice(actors), {"op": "withdraw"})
            elif roll < 0.85:
                await command(created["chair_token"], {"op": "give_floor"})
            else:
                await command(created["chair_token"], {"op": "end_turn"})
            peak_rss = max(peak_rss, server.memory_info().rss)
            await asyncio.sleep(1 / args.rate)
        cpu, mine = sum(server.cpu_times()[:2]) - cpu0, sum(me.cpu_times()[:2]) - mine0
        wall = time.perf_counter() - wall0
        await asyncio.sleep(2)  # let the last events arrive
        stop.set()
        await asyncio.gather(*tasks)

        final = max(chair.arrivals) if chair.arrivals else chair.first_seq
        first_copy = {}
        for listener in [chair, *listeners]:
            for seq, t in listener.arrivals.items():
                first_copy[seq] = min(t, first_copy.get(seq, t))
        after_chair: list[float] = []
        after_first: list[float] = []
        after_send: list[float] = []
        lost = 0
        for listener in listeners:
            expected = range(listener.first_seq + 1, final + 1)
            lost += sum(1 for s in expected if s not in listener.arrivals)
            for seq, t in listener.arrivals.items():
                if seq in chair.arrivals:
                    after_chair.append((t - chair.arrivals[seq]) * 1000)
                after_first.append((t - first_copy[seq]) * 1000)
                if seq in sent:
                    after_send.append((t - sent[seq]) * 1000)
        events = final - chair.first_seq
        print(f"\n{args.clients} clients, {n} commands, {events} events in {wall:.1f} s "
              f"({events * len(listeners) / wall:,.0f} deliveries/s)")
        print(f"delivery after the chair's copy: p50 {percentile(after_chair, 50):.1f} ms, "
              f"p99 {percentile(after_chair, 99):.1f} ms, max {max(after_chair, default=0):.1f} ms")
        print(f"delivery after the first client's copy: p50 {percentile(after_first, 50):.1f} ms, "
              f"p99 {percentile(after_first, 99):.1f} ms, max {max(after_first, default=0):.1f} ms")
        print(f"delivery after the command was sent: p50 {percentile(after_send, 50):.1f} ms, "
              f"p99 {percentile(after_send, 99):.1f} ms")
        print(f"events lost: {lost}; clients cut off: {sum(x.closed_early for x in listeners)}")
        print(f"server CPU: {100 * cpu / wall:.0f}% of one core; peak RSS {peak_rss / 2**20:.0f} MiB "
              f"(this client process: {100 * mine / wall:.0f}% of one core)")
        if after_chair:
            print(f"(mean {statistics.mean(after_chair):.1f} ms over {len(after_chair):,} deliveries)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of queue activity")
    parser.add_argument("--rate", type=float, default=10.0, help="commands a second")
    parser.add_argument("--speakers", type=int, default=20, help="participants who issue commands")
    asyncio.run(main(parser.parse_args()))
