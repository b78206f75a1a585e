"""GET /api/meetings/{id}/calendar.ics, parsed back with the `icalendar` package."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import ADMIN, AppClient, open_meeting, replace_section

from assistant.config import Config
from assistant.http import calendar
from assistant.http.app import create_app

Client = TestClient[web.Request, web.Application]


async def fetch(client: Client, mid: str, token: str | None = None) -> icalendar.Event:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = await client.get(f"/api/meetings/{mid}/calendar.ics", headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/calendar"
    raw = await resp.read()
    assert all(line.endswith(b"\r") for line in raw.split(b"\n")[:-1])  # CRLF line ends
    assert all(len(line) <= 76 for line in raw.split(b"\n"))  # folded at 75 octets (+ CR)
    cal = icalendar.Calendar.from_ical(raw)
    [event] = cal.walk("VEVENT")
    return event


async def test_a_valid_vevent_with_times_in_the_meetings_zone(client: Client) -> None:
    m = await open_meeting(client, title="Plenary; day 2, afternoon", agenda=["Opening", "Access, rights; and safety"],
                           starts_at="2026-12-01T14:00:00+01:00", ends_at="2026-12-01T16:00:00+01:00",
                           timezone="Europe/Zurich")
    event = await fetch(client, m.id)
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert event["dtstart"].params["TZID"] == "Europe/Zurich"
    assert start.utcoffset() == timedelta(hours=1)
    assert str(event["summary"]) == "Plenary; day 2, afternoon"
    description = str(event["description"])
    assert "1. Opening\n2. Access, rights; and safety" in description
    assert int(event["sequence"]) == 0
    assert str(event["status"]) == "CONFIRMED"
    # the URL is the join page without the invite code: anyone may read this file
    assert str(event["url"]).endswith(f"/join/{m.id}")
    assert m.invite_code not in raw_text(event)
    # the secretariat's and the chair's copies carry the code (they hand out invitations)
    for token in (ADMIN, m.chair_token):
        with_code = await fetch(client, m.id, token)
        assert m.invite_code in str(with_code["url"])
        assert str(with_code["uid"]) == str(event["uid"])  # one entry per meeting, whoever fetches it
    participant = await m.join("Ana")
    assert m.invite_code not in str((await fetch(client, m.id, participant["token"]))["url"])


def raw_text(event: icalendar.Event) -> str:
    return event.to_ical().decode()


async def test_sequence_follows_every_reschedule_and_the_uid_stays(client: Client) -> None:
    m = await open_meeting(client, starts_at="2026-07-01T14:00:00+02:00", timezone="Europe/Paris")
    first = await fetch(client, m.id)
    assert "dtend" not in first
    for n, start in enumerate(["2026-07-01T15:00:00+02:00", "2026-07-02T09:30:00+02:00"], 1):
        resp = await client.post(f"/api/meetings/{m.id}/schedule", json={"starts_at": start},
                                 headers={"Authorization": f"Bearer {ADMIN}"})
        assert resp.status == 200
        event = await fetch(client, m.id)
        assert int(event["sequence"]) == n
        assert event.decoded("dtstart") == datetime.fromisoformat(start)
        assert str(event["uid"]) == str(first["uid"])
    # moved to another zone: the times are given in it
    await client.post(f"/api/meetings/{m.id}/schedule", json={"timezone": "America/New_York",
                      "starts_at": "2026-07-02T09:30:00-04:00", "ends_at": "2026-07-02T11:00:00-04:00"},
                      headers={"Authorization": f"Bearer {ADMIN}"})
    event = await fetch(client, m.id)
    assert event["dtstart"].params["TZID"] == "America/New_York"
    assert event.decoded("dtstart").hour == 9 and int(event["sequence"]) == 3


async def test_ended_before_its_start_reads_as_cancelled(client: Client) -> None:
    m = await open_meeting(client, starts_at="2099-03-01T10:00:00+00:00", timezone="UTC")
    before = await fetch(client, m.id)
    assert before.decoded("dtstart") == datetime(2099, 3, 1, 10, tzinfo=UTC)
    await client.post(f"/api/meetings/{m.id}/end", headers={"Authorization": f"Bearer {ADMIN}"})
    after = await fetch(client, m.id)
    assert str(after["status"]) == "CANCELLED"
    assert int(after["sequence"]) == int(before["sequence"]) + 1
    assert "cancelled" in str(after["description"])


async def test_ended_after_its_start_keeps_its_times(client: Client) -> None:
    m = await open_meeting(client)  # no times given: it starts when it was opened
    await client.post(f"/api/meetings/{m.id}/end", headers={"Authorization": f"Bearer {m.chair_token}"})
    event = await fetch(client, m.id)
    assert str(event["status"]) == "CONFIRMED"
    assert "ended on" in str(event["description"])
    assert abs(event.decoded("dtstart") - datetime.now(UTC)) < timedelta(minutes=5)


async def test_private_archive_needs_a_token(aiohttp_client: AppClient, config: Config) -> None:
    private = await aiohttp_client(create_app(replace_section(config, "server", public_archive=False)))
    m = await open_meeting(private)
    assert (await private.get(f"/api/meetings/{m.id}/calendar.ics")).status == 401
    participant = await m.join("Ana")
    assert (await fetch(private, m.id, participant["token"]))["uid"]


def test_vtimezone_covers_the_transitions_around_the_event() -> None:
    """Each observance, read back by icalendar, gives the same offset as the zone database."""
    start = datetime(2026, 3, 29, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # the day clocks go forward
    text = calendar.ics(calendar.Invitation(
        uid="x@y", sequence=0, title="Long " * 40 + "naïve title, with commas; and semicolons", description="é" * 100,
        url="http://h/join/x", timezone="Europe/Berlin", start=start, end=start + timedelta(hours=2),
        cancelled=False, created=start, stamp=start,
    ))
    cal = icalendar.Calendar.from_ical(text)
    [tz] = cal.walk("VTIMEZONE")
    assert {c.name for c in tz.subcomponents} == {"STANDARD", "DAYLIGHT"}
    [event] = cal.walk("VEVENT")
    assert event.decoded("dtstart").utcoffset() == timedelta(hours=2)
    assert str(event["summary"]).endswith("naïve title, with commas; and semicolons")
    assert str(event["description"]) == "é" * 100
    for line in text.encode().split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")  # no character split across a fold


async def test_a_zone_the_database_does_not_know_reads_as_utc(client: Client) -> None:
    """Archives from before zones were checked may name one that is not (Europe/Geneva)."""
    from assistant.http.appkeys import MEETINGS

    meetings = client.server.app[MEETINGS]
    created = await meetings.create(title="Old", agenda=["A"], timezone="Europe/Geneva",
                                    starts_at="2026-12-01T14:00:00+01:00")
    event = await fetch(client, created.meeting_id)
    assert event.decoded("dtstart") == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
