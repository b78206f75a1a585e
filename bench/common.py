"""What the benchmarks share: a real server process on a free port, and percentiles."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import aiohttp

ADMIN = "bench-admin-token-0123456789"
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}  # /api/health tells details to the admin only


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def start_server(data_dir: Path, extra_config: str = "") -> tuple[subprocess.Popen[str], str]:
    """`python -m assistant serve` on a fresh data dir; returns the process and its base URL."""
    config = data_dir / "config.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = 0\nadmin_token = "{ADMIN}"\ndata_dir = "{data_dir}"\n{extra_config}'
    )
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            return proc, m.group(1)
    raise SystemExit("the server did not start")


async def wait_for_model(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(600):
        health = await (await http.get(f"{base}/api/health", headers=ADMIN_AUTH)).json()
        if health["asr"]["ready"] or health["asr"]["error"]:
            break
        await asyncio.sleep(0.1)
    if health["asr"]["error"]:
        raise SystemExit(f"model did not load: {health['asr']['error']}")
