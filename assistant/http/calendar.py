"""A meeting as an iCalendar object (RFC 5545): one VEVENT, with the VTIMEZONE its times name.

`ics` is pure: it takes the meeting's times and texts and returns the text of a .ics file. The
handler in `admin.py` reads them from the meeting's state, the same record the pages are drawn
from, so the invitation, the join page and the chair console cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

PRODID = "-//Meeting assistant//Meeting invitation//EN"
FOLD_OCTETS = 75  # RFC 5545 3.1: content lines are folded after 75 octets


@dataclass(frozen=True)
class Invitation:
    uid: str  # stable for the meeting's whole life, so a calendar updates the same entry
    sequence: int  # raised on every change attendees must take (a reschedule, a cancellation)
    title: str
    description: str
    url: str
    timezone: str  # IANA name: DTSTART and DTEND are given in it
    start: datetime  # aware
    end: datetime | None  # aware; None: no end announced
    cancelled: bool
    created: datetime  # aware
    stamp: datetime  # aware: when this object was made


def ics(inv: Invitation) -> str:
    zone = ZoneInfo(inv.timezone)
    utc = inv.timezone in ("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if not utc:
        last = inv.end or inv.start
        lines += vtimezone(inv.timezone, inv.start - timedelta(days=366), last + timedelta(days=366))
    lines += [
        "BEGIN:VEVENT",
        f"UID:{_text(inv.uid)}",
        f"DTSTAMP:{_utc(inv.stamp)}",
        f"CREATED:{_utc(inv.created)}",
        f"SEQUENCE:{inv.sequence}",
        _moment("DTSTART", inv.start, zone, utc),
    ]
    if inv.end is not None:
        lines.append(_moment("DTEND", inv.end, zone, utc))
    lines += [
        f"SUMMARY:{_text(inv.title)}",
        f"DESCRIPTION:{_text(inv.description)}",
        f"URL;VALUE=URI:{inv.url}",
        f"STATUS:{'CANCELLED' if inv.cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_fold(line) + "\r\n" for line in lines)


def vtimezone(name: str, since: datetime, until: datetime) -> list[str]:
    """The zone's observances from `since` to `until`, each transition given once (no RRULE):
    enough for any calendar to place times in that range, whatever its own zone database says."""
    zone = ZoneInfo(name)
    start = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = _offset(zone, start)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    lines += _observance(zone, start, first, first)
    for at, before, after in _transitions(zone, start, until.astimezone(UTC)):
        lines += _observance(zone, at, before, after)
    lines.append("END:VTIMEZONE")
    return lines


def _transitions(zone: ZoneInfo, start: datetime, until: datetime) -> Iterator[tuple[datetime, timedelta, timedelta]]:
    """(instant in UTC, offset before, offset after) of every change of UTC offset in the range."""
    day = timedelta(days=1)
    at, offset = start, _offset(zone, start)
    while at < until:
        nxt = at + day
        changed = _offset(zone, nxt)
        if changed != offset:
            low, high = at, nxt  # the offset changes in (low, high]: narrow it to the second
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                if _offset(zone, mid) == offset:
                    low = mid
                else:
                    high = mid
            yield high.replace(microsecond=0), offset, changed
            offset = changed
        at = nxt


def _observance(zone: ZoneInfo, at: datetime, before: timedelta, after: timedelta) -> list[str]:
    local = at.astimezone(zone)
    kind = "DAYLIGHT" if local.dst() else "STANDARD"
    return [
        f"BEGIN:{kind}",
        f"DTSTART:{(at + before).strftime('%Y%m%dT%H%M%S')}",  # local time, in the offset before
        f"TZOFFSETFROM:{_hhmm(before)}",
        f"TZOFFSETTO:{_hhmm(after)}",
        f"TZNAME:{_text(local.tzname() or _hhmm(after))}",
        f"END:{kind}",
    ]


def _offset(zone: ZoneInfo, at: datetime) -> timedelta:
    return at.astimezone(zone).utcoffset() or timedelta(0)


def _hhmm(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    h, rest = divmod(abs(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h:02d}{m:02d}" + (f"{s:02d}" if s else "")


def _moment(key: str, at: datetime, zone: ZoneInfo, utc: bool) -> str:
    if utc:
        return f"{key}:{_utc(at)}"
    return f"{key};TZID={zone.key}:{at.astimezone(zone).strftime('%Y%m%dT%H%M%S')}"


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets go on in continuation lines (CRLF and a space), never splitting
    a UTF-8 character."""
    out: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = FOLD_OCTETS if not out else FOLD_OCTETS - 1  # a continuation line starts with a space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)
