"""Security headers on every page, static file, API answer and HTML export."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import Meeting

from assistant.http.headers import csp_hash

Client = TestClient[web.Request, web.Application]


def directives(csp: str) -> dict[str, str]:
    return {d.split()[0]: " ".join(d.split()[1:]) for d in csp.split(";") if d.strip()}


def assert_common(resp: object) -> dict[str, str]:
    headers = resp.headers  # type: ignore[attr-defined]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    d = directives(csp)
    assert d["frame-ancestors"] == "'none'" and d["default-src"] == "'none'"
    return d


async def test_pages_and_static_files_carry_a_strict_policy(client: Client, meeting: Meeting) -> None:
    paths = [f"/{page}/{meeting.id}" for page in ("join", "meeting", "chair", "projector", "archive")]
    paths += [
        "/",
        "/archive",
        "/static/app.js",
        "/static/app.css",
        "/static/mic-worklet.js",
        "/static/chair.js",
    ]
    for path in paths:
        resp = await client.get(path)
        assert resp.status == 200, path
        d = assert_common(resp)
        assert d["script-src"] == "'self'" and d["style-src"] == "'self'" and d["connect-src"] == "'self'", (
            path
        )


async def test_api_answers_and_errors_carry_the_headers(client: Client, meeting: Meeting) -> None:
    for path, status in (
        (f"/api/meetings/{meeting.id}", 200),
        ("/api/meetings/nope", 404),
        ("/no/such/page", 404),
        (f"/api/meetings/{meeting.id}/invitation", 200),
    ):
        resp = await client.get(path)
        assert resp.status == status, path
        assert assert_common(resp) == {"default-src": "'none'", "frame-ancestors": "'none'"}


async def test_html_exports_allow_their_own_styles_by_hash_and_no_script(
    client: Client, meeting: Meeting
) -> None:
    person = await meeting.join("Ana Costa")
    await meeting.command(person["token"], op="request_floor", text="Line one\nline two")
    await meeting.command(meeting.chair_token, op="give_floor")
    await meeting.command(person["token"], op="file_statement", title="Note", text="For the record.")
    for path in (
        f"/api/meetings/{meeting.id}/transcript.html",
        f"/api/meetings/{meeting.id}/report.html",
        f"/api/meetings/{meeting.id}/report.html?download",
    ):
        resp = await client.get(path)
        assert resp.status == 200, path
        d = assert_common(resp)
        assert "script-src" not in d  # default-src 'none': no script runs in an export
        html = await resp.text()
        styles = re.findall(r"<style>(.*?)</style>", html, re.S)
        assert styles and all(csp_hash(style) in d["style-src"] for style in styles)
        # a style attribute would be refused when served: the exports must not need one
        assert "style-src-attr" not in d and not re.search(r"<[^>]+\sstyle=", html)
