"""Shared fixtures: a real server on a free port with a real SQLite file."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from assistant.config import Config, parse
from assistant.http.app import create_app

ADMIN = "test-admin-token-0123456789"
AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"


def make_config(data_dir: Path, **sections: dict[str, Any]) -> Config:
    raw: dict[str, Any] = {"server": {"admin_token": ADMIN, "data_dir": str(data_dir)}, "asr": {"enabled": False}}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return parse(raw)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data")


AppClient = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def client(aiohttp_client: AppClient, config: Config) -> TestClient[web.Request, web.Application]:
    return await aiohttp_client(create_app(config))


class Meeting:
    """A meeting opened through the API, with helpers to join and connect."""

    def __init__(self, client: TestClient[web.Request, web.Application], created: dict[str, Any]) -> None:
        self.client = client
        self.id: str = created["id"]
        self.chair_token: str = created["chair_token"]
        self.invite_code: str = created["invite_code"]
        self.created = created

    async def join(self, name: str, group: str = "civil society", mode: str = "remote", **extra: Any) -> dict[str, Any]:
        body = {"name": name, "group": group, "mode": mode, "invite_code": self.invite_code, **extra}
        resp = await self.client.post(f"/api/meetings/{self.id}/participants", json=body)
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())

    async def ws(self, token: str, since: int | None = None) -> Any:
        url = f"/api/meetings/{self.id}/ws?token={token}"
        if since is not None:
            url += f"&since={since}"
        return await self.client.ws_connect(url)

    async def command(self, token: str, **body: Any) -> Any:
        resp = await self.client.post(
            f"/api/meetings/{self.id}/commands", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        return resp


async def open_meeting(client: TestClient[web.Request, web.Application], **body: Any) -> Meeting:
    body = {"title": "Test meeting", "agenda": ["Opening", "Main item", "Closing"], **body}
    resp = await client.post("/api/meetings", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
    assert resp.status == 201, await resp.text()
    return Meeting(client, await resp.json())


@pytest.fixture
async def meeting(client: TestClient[web.Request, web.Application]) -> Meeting:
    return await open_meeting(client)


async def receive_until(ws: Any, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> list[dict[str, Any]]:
    """Messages up to and including the first one matching `predicate`."""
    seen = []
    while True:
        msg = await ws.receive_json(timeout=timeout)
        seen.append(msg)
        if predicate(msg):
            return seen


def replace_section(config: Config, section: str, **values: Any) -> Config:
    return dataclasses.replace(config, **{section: dataclasses.replace(getattr(config, section), **values)})


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER after Whisper's English normaliser: how the real-model tests judge a transcript, so that
    one misheard word (tiny.en, a busy machine) does not fail them and a broken pipeline does."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalize = EnglishTextNormalizer()
    return float(jiwer.wer(normalize(reference), normalize(hypothesis) or "-"))


JFK_WORDS = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
