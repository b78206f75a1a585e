"""Kill the real server with SIGKILL mid-meeting: every acknowledged change survives."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

ADMIN = "restart-admin-token-0123456789"


@pytest.fixture(params=["full", "normal"])  # [server] synchronous: either way a killed process loses nothing acked
def server_config(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = 0\nadmin_token = "{ADMIN}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'synchronous = "{request.param}"\n'
    )
    return path


class Server:
    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--config", str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                self.url = match.group(1)
                return
        raise AssertionError(f"server did not start (exit {self.proc.wait()})")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def servers(server_config: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        if s.proc.poll() is None:
            s.kill()


async def test_sigkill_loses_nothing_acknowledged(server_config: Path, servers: list[Server]) -> None:
    first = Server(server_config)
    servers.append(first)
    auth = {"Authorization": f"Bearer {ADMIN}"}
    async with aiohttp.ClientSession() as http:
        created = await (await http.post(f"{first.url}/api/meetings", json={"title": "Plenary", "agenda": ["A", "B"]},
                                         headers=auth)).json()
        mid = created["id"]
        tokens = []
        for i, mode in enumerate(["onsite", "remote", "remote", "onsite"]):
            body = {"name": f"Speaker {i}", "group": "civil society", "mode": mode, "invite_code": created["invite_code"]}
            tokens.append((await (await http.post(f"{first.url}/api/meetings/{mid}/participants", json=body)).json())["token"])
        async with http.ws_connect(f"{first.url}/api/meetings/{mid}/ws?token={created['chair_token']}") as chair:
            await chair.receive_json()
            for i, token in enumerate(tokens):
                async with http.ws_connect(f"{first.url}/api/meetings/{mid}/ws?token={token}") as ws:
                    await ws.receive_json()
                    await ws.send_json({"op": "request_floor", "id": i, "text": f"written {i}" if i % 2 else ""})
                    while (msg := await ws.receive_json())["type"] != "ack":
                        pass
            await chair.send_json({"op": "give_floor", "id": "g"})
            while (msg := await chair.receive_json())["type"] != "ack":
                pass
        before = await (await http.get(f"{first.url}/api/meetings/{mid}")).json()
        first.kill()

        second = Server(server_config)
        servers.append(second)
        after = await (await http.get(f"{second.url}/api/meetings/{mid}")).json()
        assert after["seq"] == before["seq"]
        assert after["queue"] == before["queue"]
        assert after["floor"] == before["floor"]
        assert len(after["queue"]) == 3
        # the old tokens still work, and the log continues without a gap
        async with http.ws_connect(f"{second.url}/api/meetings/{mid}/ws?token={tokens[0]}&since={before['seq'] - 2}") as ws:
            replayed = [await ws.receive_json(), await ws.receive_json()]
            assert [m["seq"] for m in replayed] == [before["seq"] - 1, before["seq"]]
            await ws.send_json({"op": "file_statement", "title": "After restart", "text": "Still here.", "id": "s"})
            got = []
            while (msg := await ws.receive_json())["type"] != "ack":
                got.append(msg)
            assert got[0]["type"] == "queue" and got[0]["queue"] == before["queue"]  # the view it missed
            assert [m["seq"] for m in got if m["type"] == "event"] == [before["seq"] + 1]
