"""Cluster benchmark: three NATS nodes, two instances, clients split across them; then failures.

Everything runs on this machine over loopback (`assistant.cluster.local`), and every process the
bench starts is stopped at the end. Phases, each printed as it ends:

1. fan-out: N clients, half on each instance, while commands go to both instances at `--rate`:
   events lost (must be 0), the same event at the same seq for every client (same order),
   delivery latency after the command was sent, command round trip (HTTP, answered once stored);
2. instance SIGKILL mid-meeting: its clients reconnect to the other instance with `since`; every
   acknowledged event is there; how long until each client is back;
3. NATS node SIGKILL (the stream's leader, the worst case): commands keep being accepted; their
   round trip p50/p99/max from the kill on;
4. worker SIGKILL while a speaker talks (two workers, the tone recognizer of the tests instead of
   Whisper): how long until the other worker has the channel; every sentence stored once;
5. the same fan-out on one process (SQLite): command round trip and CPU per delivery side by side.

    .venv/bin/python bench/cluster.py                 # 2,000 clients
    .venv/bin/python bench/cluster.py --clients 500 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from common import ADMIN, percentile, start_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from assistant.cluster.local import LocalCluster, Proc  # noqa: E402

SEQ = re.compile(r'^\{"type":"event","seq":(\d+)')
ENV = {"PYTHONPATH": str(ROOT)}
GROUPS = ["government", "civil society", "private sector", "technical community"]


class Listener:
    """One browser: when each event arrived and what it was; reconnects to the next URL with since."""

    def __init__(self, urls: list[str], token: str) -> None:
        self.urls, self.token = urls, token
        self.arrivals: dict[int, float] = {}
        self.digests: dict[int, bytes] = {}
        self.order_ok = True
        self.seq = 0
        self.first_seq = 0
        self.dropped_at: float | None = None
        self.back_after: float | None = None  # seconds from losing its instance to being served again
        self.ready = asyncio.Event()

    async def run(self, http: aiohttp.ClientSession, mid: str, stop: asyncio.Event) -> None:
        which = 0
        while not stop.is_set():
            since = f"&since={self.seq}" if self.ready.is_set() else ""
            url = f"{self.urls[which]}/api/meetings/{mid}/ws?token={self.token}{since}"
            try:
                async with http.ws_connect(url, max_msg_size=0, heartbeat=None) as ws:
                    if self.dropped_at is not None and self.back_after is None:
                        self.back_after = time.perf_counter() - self.dropped_at
                    if not self.ready.is_set():
                        self.seq = self.first_seq = (await ws.receive_json())["seq"]
                        self.ready.set()
                    while not stop.is_set():
                        try:
                            msg = await ws.receive(timeout=0.5)
                        except TimeoutError:
                            continue
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        m = SEQ.match(msg.data)
                        if m:
                            seq = int(m.group(1))
                            self.order_ok &= seq == self.seq + 1
                            self.seq = seq
                            self.arrivals[seq] = time.perf_counter()
                            self.digests[seq] = hashlib.blake2b(msg.data.encode(), digest_size=8).digest()
            except (aiohttp.ClientError, ConnectionError):
                await asyncio.sleep(0.05)
            if stop.is_set():
                return
            if self.dropped_at is None:
                self.dropped_at = time.perf_counter()
            which = (which + 1) % len(self.urls)


class Meeting:
    def __init__(self, http: aiohttp.ClientSession, urls: list[str]) -> None:
        self.http, self.urls = http, urls
        self.mid = ""
        self.created: dict[str, Any] = {}
        self.round_trips: list[tuple[float, float]] = []  # (sent at, ms)
        self.sent: dict[int, float] = {}  # ack seq -> when the command was sent
        self.errors = 0  # failed: no answer, or a server error
        self.refused = 0

    async def create(self) -> None:
        answer = await self.http.post(f"{self.urls[0]}/api/meetings", json={"title": "Bench", "agenda": ["One"]},
                                      headers={"Authorization": f"Bearer {ADMIN}"})
        self.created = await answer.json()
        self.mid = self.created["id"]

    async def join(self, n: int) -> list[str]:
        async def one(i: int) -> str:
            body = {"name": f"P{i}", "group": GROUPS[i % 4], "mode": ["onsite", "remote"][i % 2],
                    "invite_code": self.created["invite_code"]}
            answer = await self.http.post(f"{self.urls[i % len(self.urls)]}/api/meetings/{self.mid}/participants",
                                          json=body)
            got = await answer.json()
            if "token" not in got:
                raise SystemExit(f"join failed ({answer.status}): {got}")
            return str(got["token"])

        tokens: list[str] = []
        for start in range(0, n, 100):
            tokens += await asyncio.gather(*(one(i) for i in range(start, min(n, start + 100))))
        return tokens

    async def command(self, url: str, token: str, body: dict[str, object]) -> None:
        t = time.perf_counter()
        try:
            answer = await self.http.post(f"{url}/api/meetings/{self.mid}/commands", json=body,
                                          headers={"Authorization": f"Bearer {token}"},
                                          timeout=aiohttp.ClientTimeout(total=30))
            ok = answer.status == 200
            seq = int((await answer.json())["seq"]) if ok else 0
            if 400 <= answer.status < 500:
                self.refused += 1  # not waiting, nobody to give the floor to: the meeting said no
                return
        except (aiohttp.ClientError, TimeoutError):
            ok, seq = False, 0
        if not ok:
            self.errors += 1
            return
        self.round_trips.append((t, (time.perf_counter() - t) * 1000))
        self.sent.setdefault(seq, t)

    async def activity(self, urls: list[str], actors: list[str], duration: float, rate: float,
                       seed: int = 7) -> int:
        """The queue busy for `duration` seconds, commands spread over `urls` (alive ones)."""
        rng = random.Random(seed)
        deadline = time.perf_counter() + duration
        n = 0
        pending: set[asyncio.Task[None]] = set()
        while time.perf_counter() < deadline:
            roll = rng.random()
            url = urls[n % len(urls)]
            chair = self.created["chair_token"]
            if roll < 0.55:
                body, token = {"op": "request_floor", "kind": "intervention"}, rng.choice(actors)
            elif roll < 0.65:
                body, token = {"op": "withdraw"}, rng.choice(actors)
            elif roll < 0.85:
                body, token = {"op": "give_floor"}, chair
            else:
                body, token = {"op": "end_turn"}, chair
            task = asyncio.create_task(self.command(url, token, body))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*pending)
        return n


def cpu_of(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += sum(p.cpu_times()[:2])
    return total


def delivery_report(listeners: list[Listener], sent: dict[int, float]) -> tuple[int, bool, list[float], int]:
    """Events lost, whether every client saw the same event at each seq, delivery after the send."""
    final = max((max(x.arrivals) for x in listeners if x.arrivals), default=0)
    reference: dict[int, bytes] = {}
    same = all(x.order_ok for x in listeners)
    lost = 0
    after_send: list[float] = []
    deliveries = 0
    for x in listeners:
        lost += sum(1 for s in range(x.first_seq + 1, final + 1) if s not in x.arrivals)
        deliveries += len(x.arrivals)
        for seq, digest in x.digests.items():
            if reference.setdefault(seq, digest) != digest:
                same = False
        for seq, t in x.arrivals.items():
            if seq in sent:
                after_send.append((t - sent[seq]) * 1000)
    return lost, same, after_send, deliveries


async def connect_all(http: aiohttp.ClientSession, listeners: list[Listener], mid: str,
                      stop: asyncio.Event) -> list[asyncio.Task[None]]:
    tasks = []
    for start in range(0, len(listeners), 100):
        batch = listeners[start:start + 100]
        tasks += [asyncio.create_task(x.run(http, mid, stop)) for x in batch]
        await asyncio.gather(*(x.ready.wait() for x in batch))
    return tasks


def rt(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms, max {max(values, default=0):.1f} ms"


async def fanout(http: aiohttp.ClientSession, urls: list[str], servers: list[psutil.Process],
                 others: list[psutil.Process], args: argparse.Namespace, label: str) -> dict[str, float]:
    meeting = Meeting(http, urls)
    await meeting.create()
    t0 = time.perf_counter()
    tokens = await meeting.join(args.clients)
    print(f"[{label}] {args.clients} joined in {time.perf_counter() - t0:.1f} s", flush=True)
    stop = asyncio.Event()
    listeners = [Listener(urls[i % len(urls):] + urls[:i % len(urls)], t) for i, t in enumerate(tokens)]
    tasks = await connect_all(http, listeners, meeting.mid, stop)
    cpu0, other0, wall0 = cpu_of(servers), cpu_of(others), time.perf_counter()
    n = await meeting.activity(urls, tokens[: args.speakers], args.duration, args.rate)
    await asyncio.sleep(2)  # the last events arrive
    cpu, other, wall = cpu_of(servers) - cpu0, cpu_of(others) - other0, time.perf_counter() - wall0
    stop.set()
    await asyncio.gather(*tasks)
    lost, same, after_send, deliveries = delivery_report(listeners, meeting.sent)
    trips = [ms for _, ms in meeting.round_trips]
    print(f"[{label}] {args.clients} clients on {len(urls)} instance(s), {n} commands ({meeting.refused} refused by "
          f"the rules, {meeting.errors} failed), {deliveries:,} deliveries in {wall:.1f} s")
    print(f"[{label}] lost {lost}; same event at every seq for every client: {same}")
    print(f"[{label}] delivery after the command was sent: {rt(after_send)}")
    print(f"[{label}] command round trip: {rt(trips)}")
    per = 1e6 * cpu / max(1, deliveries)
    print(f"[{label}] CPU: instances {100 * cpu / wall:.0f}% of a core = {per:.1f} µs per delivery"
          + (f"; NATS nodes {100 * other / wall:.0f}% ({1e6 * other / max(1, deliveries):.1f} µs per delivery)"
             if others else ""), flush=True)
    return {"rt50": percentile(trips, 50), "rt99": percentile(trips, 99), "per": per,
            "per_nats": 1e6 * other / max(1, deliveries), "d99": percentile(after_send, 99), "lost": lost}


async def instance_kill(http: aiohttp.ClientSession, cluster: LocalCluster, a: Proc, b: Proc,
                        args: argparse.Namespace) -> None:
    urls = [a.url, b.url]
    meeting = Meeting(http, urls)
    await meeting.create()
    n = min(args.clients, 400)
    tokens = await meeting.join(n)
    stop = asyncio.Event()
    on_a = [Listener([a.url, b.url], t) for t in tokens[: n // 2]]
    on_b = [Listener([b.url, a.url], t) for t in tokens[n // 2:]]
    tasks = await connect_all(http, on_a + on_b, meeting.mid, stop)
    busy = asyncio.create_task(meeting.activity(urls, tokens[:20], 4.0, args.rate))
    await asyncio.sleep(2.0)
    a.kill()
    await busy
    await meeting.activity([b.url], tokens[:20], 4.0, args.rate, seed=8)
    await asyncio.sleep(2)
    stop.set()
    await asyncio.gather(*tasks)
    acked = sorted(meeting.sent)
    stored: set[int] = set()
    while True:
        page = await (await http.get(f"{b.url}/api/meetings/{meeting.mid}/events?since={max(stored, default=0)}",
                                     headers={"Authorization": f"Bearer {meeting.created['chair_token']}"})).json()
        if not page:
            break
        stored.update(e["seq"] for e in page)
    missing = [s for s in acked if s not in stored]
    lost, same, _, _ = delivery_report(on_a + on_b, {})
    back = [x.back_after for x in on_a if x.back_after is not None]
    print(f"[instance SIGKILL] {len(acked)} commands acknowledged, {len(missing)} of them missing on the other "
          f"instance; {len(back)}/{len(on_a)} of its clients back (on the other) after: p50 "
          f"{percentile(back, 50):.2f} s, p99 {percentile(back, 99):.2f} s, max {max(back, default=0):.2f} s; "
          f"events lost by clients {lost}, same order {same}; {meeting.errors} commands failed "
          f"(sent to the killed instance)", flush=True)


async def node_kill(http: aiohttp.ClientSession, cluster: LocalCluster, urls: list[str],
                    args: argparse.Namespace) -> None:
    """Kill a node that does not lead the stream, then (restarted) the one that does."""
    import nats

    meeting = Meeting(http, urls)
    await meeting.create()
    tokens = await meeting.join(20)
    for leading in (False, True):
        nc = await nats.connect(servers=cluster.urls)
        info = await nc.jetstream().stream_info("MEETINGS")
        await nc.close()
        leader = info.cluster.leader if info.cluster else None
        index = next((i for i, n in enumerate(cluster.nats) if (n.name == leader) == leading), 0)
        meeting.round_trips.clear()
        meeting.errors = 0
        busy = asyncio.create_task(meeting.activity(urls, tokens, 10.0, args.rate, seed=3 + leading))
        await asyncio.sleep(2.0)
        killed_at = time.perf_counter()
        cluster.nats[index].kill()
        await busy
        after = [ms for t, ms in meeting.round_trips if t >= killed_at]
        before = [ms for t, ms in meeting.round_trips if t < killed_at]
        print(f"[NATS node SIGKILL] {cluster.nats[index].name} ({'the' if leading else 'not the'} stream's leader) "
              f"killed; commands before: {rt(before)}; in the 8 s from the kill on: {len(after)} accepted, "
              f"{meeting.errors} failed, {rt(after)}", flush=True)
        cluster.restart_nats(index)
        await asyncio.sleep(3.0)  # it catches up with the stream


async def worker_kill(http: aiohttp.ClientSession, cluster: LocalCluster, url: str, config: Path) -> None:
    from test_transcription import pcm, tone

    command = [sys.executable, str(ROOT / "tests" / "test_cluster.py"), "worker", "--config", str(config)]
    w1 = cluster.worker(config, "w1", command, ENV)
    w2 = cluster.worker(config, "w2", command, ENV)
    meeting = Meeting(http, [url])
    await meeting.create()
    segments: list[tuple[float, str]] = []
    async with http.ws_connect(f"{url}/api/meetings/{meeting.mid}/ws?token={meeting.created['chair_token']}") as ws, \
            http.ws_connect(f"{url}/api/meetings/{meeting.mid}/audio?token={meeting.created['chair_token']}") as audio:
        await ws.receive_json()

        async def read() -> None:
            async for msg in ws:
                data = msg.json()
                if data.get("name") == "segment":
                    segments.append((time.perf_counter(), data["data"]["text"].lower()))

        reader = asyncio.create_task(read())
        await audio.receive_json()
        sentences = ["good morning everyone.", "thank you chair.", "we support this proposal.", "thank you chair.",
                     "good morning everyone."]
        killed_at = 0.0
        victim: Proc | None = None
        for n, sentence in enumerate(sentences):
            samples = tone(sentence)
            for i in range(0, len(samples), 1600):
                await audio.send_bytes(pcm(samples[i:i + 1600]))
                await asyncio.sleep(0.1)
                if n == 1 and i == 8 * 1600:
                    holder = "w1" if re.search(r"transcribing \S+\.hall", w1.log_path.read_text()) else "w2"
                    victim = w1 if holder == "w1" else w2
                    killed_at = time.perf_counter()
                    victim.kill()
            await audio.send_bytes(bytes(2 * 16000))
            await asyncio.sleep(1.0)
        await audio.close()
        deadline = time.perf_counter() + 30
        while len(segments) < len(sentences) and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        reader.cancel()
    assert victim is not None
    other = w2 if victim is w1 else w1
    took = re.search(r"(\d\d:\d\d:\d\d,\d+) INFO assistant.cluster.worker: worker \S+: transcribing",
                     other.log_path.read_text())
    first_after = next((t - killed_at for t, _ in segments if t > killed_at), float("nan"))
    texts = [s for _, s in segments]
    words = " ".join(texts).split() == " ".join(sentences).split()
    print(f"[worker SIGKILL] {victim.name} killed mid-sentence; {other.name} "
          f"{'took the channel' if took else 'never took the channel'}; first segment after the kill "
          f"{first_after:.2f} s later (it ends the interrupted sentence); every word stored once, in order: {words}; "
          f"{len(texts)} segments for {len(sentences)} sentences" + ("" if texts == sentences else f" {texts}"),
          flush=True)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        if args.keep:
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir(parents=True)
        config = base / "config.toml"
        config.write_text(f'[server]\nhost = "127.0.0.1"\nadmin_token = "{ADMIN}"\n[asr]\nenabled = false\n'
                          "[limits]\ncommands_per_second = 1000.0\njoins_per_minute = 100000\nclient_queue = 5000\n")
        cluster = LocalCluster(base, nodes=3)
        conn = aiohttp.TCPConnector(limit=0)
        try:
            cluster.start_nats()
            a = cluster.instance(config, "a", env=ENV)
            b = cluster.instance(config, "b", env=ENV)
            servers = [psutil.Process(p.proc.pid) for p in (a, b) if p.proc is not None]
            nodes = [psutil.Process(n.proc.pid) for n in cluster.nats if n.proc is not None]
            async with aiohttp.ClientSession(connector=conn) as http:
                if args.only_failures:
                    await node_kill(http, cluster, [a.url, b.url], args)
                    await worker_kill(http, cluster, b.url, config)
                    await instance_kill(http, cluster, a, b, args)
                    return
                clustered = await fanout(http, [a.url, b.url], servers, nodes, args, "cluster")
                if not args.skip_failures:
                    await node_kill(http, cluster, [a.url, b.url], args)
                    await worker_kill(http, cluster, b.url, config)
                    await instance_kill(http, cluster, a, b, args)
        finally:
            cluster.stop()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp), "[limits]\ncommands_per_second = 1000.0\njoins_per_minute = 100000\nclient_queue = 5000\n")
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                single = await fanout(http, [url], [psutil.Process(proc.pid)], [], args, "one process")
        finally:
            proc.terminate()
            proc.wait(10)
    print("\n| one meeting | one process (SQLite) | cluster (3 NATS nodes, 2 instances) |\n|---|---|---|")
    print(f"| command round trip p50 / p99 | {single['rt50']:.1f} / {single['rt99']:.1f} ms "
          f"| {clustered['rt50']:.1f} / {clustered['rt99']:.1f} ms |")
    print(f"| delivery after the command, p99 | {single['d99']:.1f} ms | {clustered['d99']:.1f} ms |")
    print(f"| CPU per delivery (servers) | {single['per']:.1f} µs | {clustered['per']:.1f} µs "
          f"(+ {clustered['per_nats']:.1f} µs in NATS) |")
    print(f"| events lost | {single['lost']} | {clustered['lost']} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of queue activity")
    parser.add_argument("--rate", type=float, default=10.0, help="commands a second")
    parser.add_argument("--speakers", type=int, default=20, help="participants who issue commands")
    parser.add_argument("--keep", type=Path, help="work (NATS storage, logs) in this directory and keep it")
    parser.add_argument("--only-failures", action="store_true", help="skip the fan-out phases")
    parser.add_argument("--skip-failures", action="store_true", help="only the fan-out, cluster and one process")
    asyncio.run(main(parser.parse_args()))
