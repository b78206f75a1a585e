"""What one token or one client may use: sockets, commands, statements, joins, audio, JSON.

Every limit is a `[limits]` key; going over one is answered with `LimitExceeded`, which names the
key and says what to do (HTTP 429 `{"error", "limit"}`, or a websocket `{"type": "error", "limit"}`),
and touches nobody else: buckets and counts are per token, per participant, per invite code and
client address, or per connection.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..config import LimitsConfig
from ..core import commands as cmd
from ..core.meeting import MeetingState
from ..service.meetings import Meetings
from ..speech import languages

KEPT_BUCKETS = 10_000  # buckets remembered at most; the least recently used are forgotten (a full one is the default)


class LimitExceeded(cmd.CommandError):
    """A `[limits]` key was reached; the message names it and says what to do."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(f"{message} (limits.{limit})")
        self.limit = limit


class Bucket:
    """A token bucket: `rate` a second, holding up to `capacity`."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.capacity, self.clock = rate, capacity, clock
        self.tokens, self.stamp = capacity, clock()

    def take(self, amount: float = 1.0) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True


class Buckets:
    """One bucket per key, the least recently used forgotten past KEPT_BUCKETS."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity = rate, capacity
        self._buckets: OrderedDict[Any, Bucket] = OrderedDict()

    def take(self, key: Any) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.rate, self.capacity)
            while len(self._buckets) > KEPT_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take()


class Guard:
    """The application's counts and buckets (one per app, under the GUARD key)."""

    def __init__(self, limits: LimitsConfig) -> None:
        self.limits = limits
        rate = limits.commands_per_second
        self.commands = Buckets(rate, max(1.0, 2 * rate))
        self.joins = Buckets(limits.joins_per_minute / 60.0, float(limits.joins_per_minute))
        self._sockets: dict[tuple[str, str], int] = {}
        self._statement_bytes: dict[tuple[str, str], int] = {}  # (meeting, participant) -> bytes filed

    @contextmanager
    def socket(self, token_hash: str, kind: str) -> Iterator[None]:
        """Hold one of the token's sockets of a kind ("meeting", "listen") while open."""
        key = (token_hash, kind)
        held = self._sockets.get(key, 0)
        if held >= self.limits.sockets_per_token:
            raise LimitExceeded(
                "sockets_per_token",
                f"this token already has {held} {kind} connections open, the most allowed; "
                "close a tab or another device's page and try again",
            )
        self._sockets[key] = held + 1
        try:
            yield
        finally:
            left = self._sockets[key] - 1
            if left:
                self._sockets[key] = left
            else:
                del self._sockets[key]

    def command(self, token_hash: str) -> None:
        """One command of a token, by websocket or HTTP: one bucket for all of them."""
        if not self.commands.take(token_hash):
            raise LimitExceeded(
                "commands_per_second",
                f"too many commands: at most {self.limits.commands_per_second:g} a second for one participant, "
                "across all their connections; wait a moment and send it again",
            )

    def join(self, meeting_id: str, invite_code: str, address: str) -> None:
        if not self.joins.take((meeting_id, invite_code, address)):
            raise LimitExceeded(
                "joins_per_minute",
                f"too many joins from this address with this invite code: at most {self.limits.joins_per_minute} "
                "a minute; wait a minute and try again",
            )

    def statement_check(
        self, meeting_id: str, participant_id: str | None, text: str
    ) -> Callable[[MeetingState], None]:
        """Check, under the meeting's lock, that a participant may file one more statement of `text`."""
        limits = self.limits

        def check(state: MeetingState) -> None:
            if participant_id is None:
                return
            filed = [s for s in state.statements if s.get("participant_id") == participant_id]
            if len(filed) >= limits.statements_per_participant:
                raise LimitExceeded(
                    "statements_per_participant",
                    f"you have filed {len(filed)} statements, the most one participant may file in a meeting; "
                    "ask the chair to add further texts",
                )
            # the bytes filed since start, or after a restart the characters the state keeps (a lower bound)
            used = max(self._statement_bytes.get((meeting_id, participant_id), 0),
                       sum(int(s.get("chars") or 0) for s in filed))
            size = len(text.encode("utf-8", "surrogatepass"))
            if used + size > limits.statement_bytes_per_participant:
                raise LimitExceeded(
                    "statement_bytes_per_participant",
                    f"your statements would total {used + size} bytes; at most "
                    f"{limits.statement_bytes_per_participant} for one participant: shorten this one or ask the chair",
                )

        return check

    async def execute(
        self, meetings: Meetings, meeting_id: str, actor: cmd.Actor, command: cmd.Command, *, multilingual: bool,
    ) -> int:
        """A command from a websocket or POST .../commands, within the participant's limits (the caller
        has charged the token's bucket with `command` before parsing it)."""
        if isinstance(command, cmd.AddSpeaker):
            try:
                command = dataclasses.replace(command, language=languages.check(command.language,
                                                                                multilingual=multilingual))
            except languages.LanguageError as exc:
                raise cmd.CommandError(f"add speaker: {exc}") from None
        if not isinstance(command, cmd.FileStatement):
            return await meetings.execute(meeting_id, actor, command)
        check = self.statement_check(meeting_id, actor.participant_id, command.text)
        seq = await meetings.execute(meeting_id, actor, command, check)
        if actor.participant_id is not None:
            key = (meeting_id, actor.participant_id)
            self._statement_bytes[key] = self._statement_bytes.get(key, 0) + len(command.text.encode())
        return seq


class AudioPace:
    """Audio accepted no faster than real time, `ahead_s` ahead of the clock at most.

    The clock starts when the connection opens, or for a resumable stream when the stream was first
    seen, with the samples it already sent (`started`, `samples`): a feed that was cut off for a
    minute sends that minute's backlog when it is back, within its ahead_s. A frame that would go
    beyond is refused.
    """

    def __init__(self, rate: int, ahead_s: float, *, started: float | None = None, samples: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.ahead_s, self.clock = rate, ahead_s, clock
        self.start = clock() if started is None else started
        self.samples = samples

    def accept(self, samples: int) -> bool:
        allowed = (self.clock() - self.start + self.ahead_s) * self.rate
        if self.samples + samples > allowed:
            return False
        self.samples += samples
        return True


def loads(text: str | bytes, max_depth: int, what: str) -> Any:
    """Parse JSON, refusing what is not JSON or nests deeper than `max_depth`, with a CommandError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise cmd.CommandError(f"{what} nests too deeply; at most {max_depth} levels (limits.max_json_depth)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise cmd.CommandError(f"{what} is not valid JSON ({exc})") from None
    if depth(value, max_depth) > max_depth:
        raise cmd.CommandError(f"{what} nests too deeply; at most {max_depth} levels (limits.max_json_depth)")
    return value


def depth(value: Any, limit: int) -> int:
    """How deeply lists and objects nest in a parsed JSON value (1 for a flat one), counted up to limit + 1."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > limit:
                return level
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
