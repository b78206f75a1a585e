"""Screenshots of every view at desktop and phone width, into docs/screenshots/.

Starts a real server on a temporary SQLite file, plays a short scripted meeting through the API
(participants, requests with reasons, a remote written intervention on the floor, transcript lines,
a live caption), and photographs each page in Debian's Chromium; then one remote participant's day
on their own page (participant-before, -waiting, -floor, -dropped, -digest):

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright

from assistant.config import parse
from assistant.http.app import create_app
from assistant.http.appkeys import MEETINGS

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ADMIN = "screenshot-admin-token-0123456789"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PEOPLE = [
    ("Amara Diallo", "Senegal", "government", "remote", "intervention", ""),
    ("Jonas Berg", "Internet Society", "technical community", "onsite", "intervention", ""),
    ("Priya Nair", "Digital Rights Asia", "civil society", "remote", "intervention",
     "We ask that the outcome text name remote participation as a right, not a courtesy."),
    ("Carlos Mendes", "Brazil", "government", "onsite", "reply", ""),
]
SAID = [
    "Good morning. We open agenda item two, the draft outcome on meaningful access.",
    "Thank you, chair. Senegal welcomes the draft and supports paragraph four as it stands.",
    "We would like to see the reference to community networks kept in the final text.",
]


async def seed(url: str, http: aiohttp.ClientSession, server: TestServer) -> dict[str, Any]:
    async def post(path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        return await send(http, url + path, body, token)

    meeting = await post("/api/meetings", {"title": "IGF 2026 · Main session", "time_limit_s": 180,
                                           "agenda": ["Opening", "Meaningful access", "Community networks", "Closing"]}, ADMIN)
    mid, chair = meeting["id"], meeting["chair_token"]
    await post(f"/api/meetings/{mid}/commands", {"op": "next_item"}, chair)
    people = []
    for name, aff, group, mode, kind, text in PEOPLE:
        p = await post(f"/api/meetings/{mid}/participants", {"name": name, "affiliation": aff, "group": group, "mode": mode,
                                                               "invite_code": meeting["invite_code"]}, "")
        people.append(p)
        if kind != "reply":
            await post(f"/api/meetings/{mid}/commands", {"op": "request_floor", "kind": kind, "text": text}, p["token"])
    await post(f"/api/meetings/{mid}/commands", {"op": "give_floor"}, chair)
    meetings = server.app[MEETINGS]
    state = await meetings.state(mid)
    speakers = [state.chair_id(), people[0]["participant_id"], people[0]["participant_id"]]
    segments = []
    for i, (pid, text) in enumerate(zip(speakers, SAID, strict=True)):
        who = state.participants[pid or ""]
        segments.append({"start": 4.0 + 9 * i, "end": 12.0 + 9 * i, "text": text, "speaker_id": pid, "speaker_name": who.name,
                         "affiliation": who.affiliation, "source": "hall", "language": "en", "item": 1})
    await meetings.record_segments(mid, segments)
    await post(f"/api/meetings/{mid}/commands", {"op": "request_floor", "kind": "reply"}, people[3]["token"])
    await post(f"/api/meetings/{mid}/commands", {"op": "end_turn"}, chair)
    snap = await (await http.get(f"{url}/api/meetings/{mid}", headers={"Authorization": f"Bearer {chair}"})).json()
    priya = next(e for e in snap["queue"] if e["participant_id"] == people[2]["participant_id"])
    await post(f"/api/meetings/{mid}/commands", {"op": "give_floor", "request_id": priya["request_id"]}, chair)
    await post(f"/api/meetings/{mid}/commands", {"op": "file_statement", "title": "Statement of the Internet Society",
                                                 "text": "We support open standards for community networks."}, people[1]["token"])
    observer = await post(f"/api/meetings/{mid}/tokens", {"role": "observer"}, chair)
    caption = {"type": "caption", "text": "", "committed": "We ask that the outcome text name remote participation",
               "partial": "as a right, not a", "speaker_id": people[2]["participant_id"], "speaker_name": "Priya Nair",
               "source": "hall", "final": False, "lag_s": 0.4}
    lee = await post(f"/api/meetings/{mid}/participants", {"name": "Lee Tui", "affiliation": "Fiji", "group": "civil society",
                                                            "mode": "remote", "invite_code": meeting["invite_code"]}, "")
    return {"id": mid, "chair": chair, "code": meeting["invite_code"], "me": people[2]["token"], "lee": lee,
            "people": people, "observer": observer["token"], "caption": caption, "meetings": meetings}


async def send(http: aiohttp.ClientSession, url: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    resp = await http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert resp.status < 300, await resp.text()
    return dict(await resp.json())


async def participant_day(browser: Any, url: str, http: aiohttp.ClientSession, m: dict[str, Any]) -> None:
    """Lee Tui's page, desktop and phone side by side, through a turn, a dropped request and a digest."""
    mid, chair, lee = m["id"], m["chair"], m["lee"]

    async def command(body: dict[str, Any], token: str = chair) -> None:
        await send(http, f"{url}/api/meetings/{mid}/commands", body, token)

    async def entry(pid: str) -> str:
        snap = await (await http.get(f"{url}/api/meetings/{mid}", headers={"Authorization": f"Bearer {chair}"})).json()
        return str(next(e["request_id"] for e in snap["queue"] if e["participant_id"] == pid))

    pages = {}
    for size, viewport in SIZES.items():
        context = await browser.new_context(viewport=viewport, device_scale_factor=1, timezone_id="Pacific/Fiji",
                                            permissions=["microphone", "notifications"])
        pages[size] = await context.new_page()
        await pages[size].goto(f"{url}/meeting/{mid}#token={lee['token']}")
        await pages[size].locator("#conn.live").wait_for()

    async def shoot(name: str, ready: str) -> None:
        for size, page in pages.items():
            await page.locator(ready).first.wait_for()
            await page.evaluate("window.scrollTo(0, 0)")
            await page.screenshot(path=str(OUT / f"{name}-{size}.png"))
            print(f"wrote docs/screenshots/{name}-{size}.png")

    await shoot("participant-before", "#mine:has-text('You are not on the list')")
    await command({"op": "request_floor", "text": "Fiji asks that small island states be named in paragraph 6."}, lee["token"])
    await shoot("participant-waiting", "#mine:has-text('on the list')")
    await command({"op": "end_turn"})
    await command({"op": "give_floor", "request_id": await entry(lee["participant_id"])})
    await shoot("participant-floor", "#mine:has-text('You have the floor')")
    await command({"op": "end_turn"})
    await command({"op": "request_floor", "kind": "intervention"}, lee["token"])
    await command({"op": "next_item"})
    await shoot("participant-dropped", "#news:has-text('taken off the list')")
    # the participant dozes off: the tab goes to the background while the meeting goes on
    for page in pages.values():
        await page.evaluate("""() => { window.participantPage.awayAfterS = 0; window.__vis = 'hidden';
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => window.__vis});
            document.dispatchEvent(new Event('visibilitychange')); }""")
    jonas, carlos = m["people"][1], m["people"][3]
    await command({"op": "request_floor"}, jonas["token"])
    await command({"op": "request_floor"}, carlos["token"])
    state = await m["meetings"].state(mid)
    for who, said in ((jonas, "The technical community supports open standards for community networks."),
                      (carlos, "Brazil agrees, and asks for a reference to spectrum for small operators.")):
        await command({"op": "give_floor"})
        at = len(state.transcript) * 9.0 + 60
        person = state.participants[who["participant_id"]]
        await m["meetings"].record_segments(mid, [{"start": at, "end": at + 8, "text": said, "speaker_id": person.participant_id,
                                                  "speaker_name": person.name, "affiliation": person.affiliation,
                                                  "source": "hall", "language": "en", "item": state.current_item}])
    await command({"op": "file_statement", "title": "Statement of Brazil", "text": "For the record."}, carlos["token"])
    await command({"op": "next_item"})
    for page in pages.values():
        await page.evaluate("() => { window.__vis = 'visible'; document.dispatchEvent(new Event('visibilitychange')); }")
    await shoot("participant-digest", "#digest:not(.hidden)")
    for page in pages.values():
        await page.context.close()


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = parse({"server": {"admin_token": ADMIN, "data_dir": tmp}, "asr": {"enabled": False}})
        server = TestServer(create_app(config))
        await server.start_server()
        url = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as http, async_playwright() as pw:
            m = await seed(url, http, server)
            views = {
                "join": f"/join/{m['id']}#code={m['code']}",
                "participant": f"/meeting/{m['id']}#token={m['me']}",
                "chair": f"/chair/{m['id']}#token={m['chair']}",
                "projector": f"/projector/{m['id']}#token={m['observer']}",
                "archive": f"/archive/{m['id']}",
                "report": f"/api/meetings/{m['id']}/report.html",
            }
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                               args=["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                                                     "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                                     "--autoplay-policy=no-user-gesture-required"])
            for size, viewport in SIZES.items():
                for view, path in views.items():
                    context = await browser.new_context(viewport=viewport, device_scale_factor=1, timezone_id="Africa/Dakar",
                                                        permissions=["microphone"])
                    page = await context.new_page()
                    await page.goto(url + path)
                    if view in ("archive", "report"):
                        await page.wait_for_load_state("networkidle")
                    elif view != "join":
                        await page.locator("#conn.live").wait_for()
                        m["meetings"].publish_live(m["id"], m["caption"])
                        await page.locator(".caption .partial").wait_for()
                    if view == "participant":
                        await page.get_by_text("You are live").wait_for()
                        await page.wait_for_timeout(700)  # the level meter moves
                    await page.screenshot(path=str(OUT / f"{view}-{size}.png"), full_page=view != "projector")
                    await context.close()
                    print(f"wrote docs/screenshots/{view}-{size}.png")
            await participant_day(browser, url, http, m)
            await browser.close()
        await server.close()


if __name__ == "__main__":
    asyncio.run(main())
