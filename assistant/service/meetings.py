"""The live meetings: state in memory, events in the store, messages to the hub.

This is the one place that ties the pure core to I/O. For each meeting a
lock serializes decide -> append -> apply -> publish, so seqs are gap-free,
a command is acknowledged only once its events are stored, and every
subscriber sees events in seq order.

The log is a seam (`log.py`): in one process the SQLite store; in a cluster a
JetStream stream that other instances append to as well. There an append may
meet a conflict (another instance got there first): the meeting catches up
with what the log holds and the command is decided again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..archive.store import Grant, SeqConflict, Store
from ..config import Config, is_timezone
from ..core import commands as cmd
from ..core import events as ev
from ..core import views
from ..core.decide import create, decide, join
from ..core.meeting import MANAGERS, MeetingState
from ..core.tokens import new_token
from .hub import Hub
from .log import Log, StoreLog

MAX_CONFLICTS = 20  # decisions retried after another instance appended first


class NotFound(LookupError):
    """No such meeting."""


class Forbidden(PermissionError):
    """The token or invite code does not allow this."""


@dataclass(frozen=True)
class Created:
    meeting_id: str
    chair_token: str
    chair_id: str
    invite_code: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Meetings:
    def __init__(
        self, config: Config, store: Store, hub: Hub, *, clock: Callable[[], float] = time.time,
        log: Log | None = None,
    ) -> None:
        self.config = config
        self.store = store  # the archive; in a cluster a projection of the log, kept by `receive`
        self.hub = hub
        self.clock = clock
        self.log: Log = log or StoreLog(store, hub)
        self._states: dict[str, MeetingState] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._grants: dict[str, Grant] = {}
        self._snapshots: dict[tuple[str, bool], tuple[int, bytes]] = {}  # (meeting, managers) -> (seq, json)
        self._views: dict[str, int] = {}  # meeting -> queue_version last pushed
        self._queue_json: dict[str, views.QueueMessages] = {}  # meeting -> its queue messages' JSON parts
        self._views_due: dict[str, MeetingState] = {}  # meetings whose view is to be pushed soon
        self.on_ended: list[Callable[[str], None]] = []  # called with a meeting's id once it has ended

    async def start(self) -> None:
        self._grants = {g.token_hash: g for g in await self.store.grants()}
        await self.log.start(self)

    def use_log(self, log: Log) -> None:
        """Append through `log` instead of the store alone (a cluster); before `start`."""
        self.log = log

    async def receive(
        self,
        meeting_id: str,
        events: Sequence[ev.Event],
        grants: Sequence[Grant],
        meeting: dict[str, Any] | None,
        applied: Callable[[], None],
    ) -> None:
        """What the log holds, appended here or by another process: projected into the store,
        applied and published, unless this process has it already (its own appends)."""
        # shielded: stopping the consumer must not leave a batch projected but not applied
        await asyncio.shield(self._receive(meeting_id, events, grants, meeting, applied))

    async def _receive(
        self,
        meeting_id: str,
        events: Sequence[ev.Event],
        grants: Sequence[Grant],
        meeting: dict[str, Any] | None,
        applied: Callable[[], None],
    ) -> None:
        async with self._locks.setdefault(meeting_id, asyncio.Lock()):
            state = self._states.get(meeting_id)
            if state is None and events:
                state = self._states[meeting_id] = await self._load(meeting_id, empty=True)
            if state is None or not events:  # tokens only
                for grant in grants:
                    if grant.token_hash not in self._grants:
                        await self.store.add_grant(grant)
                        self._grants[grant.token_hash] = grant
            elif events[0].seq == state.seq + 1:
                drafts = [ev.Draft(e.fact, e.at) for e in events]
                await self.store.append(meeting_id, drafts, state.seq, grants=grants, meeting=meeting)
                self._grants.update((g.token_hash, g) for g in grants)
                self._commit(state, events)
            elif events[-1].seq > state.seq:
                raise SeqConflict(f"meeting {meeting_id}: at seq {state.seq}, the log sent {events[0].seq}")
            applied()

    # -- access -----------------------------------------------------------

    def authenticate(self, token: str | None, meeting_id: str | None = None) -> Grant | None:
        if not token:
            return None
        grant = self._grants.get(token_hash(token))
        if grant is None or (meeting_id is not None and grant.meeting_id != meeting_id):
            return None
        return grant

    def is_admin(self, token: str | None) -> bool:
        admin = self.config.server.admin_token
        return bool(token and admin and hmac.compare_digest(token.encode(), admin.encode()))

    async def _grant(self, meeting_id: str, participant_id: str | None, role: str) -> tuple[str, Grant]:
        token = new_token(24)
        grant = Grant(token_hash(token), meeting_id, participant_id, role, self.clock())
        return token, grant

    # -- meetings ---------------------------------------------------------

    async def create(
        self,
        *,
        title: str,
        agenda: list[str],
        policy: str | None = None,
        timezone: str | None = None,
        time_limit_s: int | None = None,
        chair_name: str = "Chair",
        starts_at: str | None = None,
        ends_at: str | None = None,
    ) -> Created:
        q, m = self.config.queue, self.config.meeting
        meeting_id = new_token(6)
        invite_code = new_token(9)
        now = self.clock()
        state = MeetingState(meeting_id)
        drafts = create(
            title=title,
            agenda=agenda or ["Opening"],
            policy=policy or q.policy,
            alternate_after=q.alternate_after,
            max_overtakes=q.max_overtakes,
            wait_factor=q.wait_factor,
            min_wait=q.min_wait,
            time_limit_s=q.default_time_limit_s if time_limit_s is None else time_limit_s,
            timezone=timezone or m.timezone,
            now=now,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        drafts += join(state, cmd.Profile(chair_name, "", m.groups[-1], "onsite", role="chair"), now)
        chair = drafts[-1].fact
        assert isinstance(chair, ev.ParticipantJoined)
        chair_id = chair.participant_id
        token, grant = await self._grant(meeting_id, chair_id, "chair")
        row = {
            "id": meeting_id,
            "title": title,
            "created_at": now,
            "ended_at": None,
            "timezone": timezone or m.timezone,
            "invite_code": invite_code,
            "starts_at": starts_at,
            "ends_at": ends_at,
        }
        lock = self._locks.setdefault(meeting_id, asyncio.Lock())
        async with lock:
            stored = await self.log.append(meeting_id, drafts, 0, grants=[grant], meeting=row)
            self._grants[grant.token_hash] = grant
            self._states[meeting_id] = state
            self._commit(state, stored)
        return Created(meeting_id, token, chair_id, invite_code)

    async def state(self, meeting_id: str) -> MeetingState:
        state = self._states.get(meeting_id)
        if state is not None:
            return state
        try:
            return await self._state(meeting_id)
        except NotFound:
            await self.log.catch_up(meeting_id)  # in a cluster: created a moment ago elsewhere?
            return await self._state(meeting_id)

    async def _state(self, meeting_id: str) -> MeetingState:
        lock = self._locks.setdefault(meeting_id, asyncio.Lock())
        async with lock:
            state = self._states.get(meeting_id)
            if state is None:
                state = await self._load(meeting_id)
                self._states[meeting_id] = state
        return state

    async def _load(self, meeting_id: str, *, empty: bool = False) -> MeetingState:
        events = await self.store.events(meeting_id)
        if not events and not empty:
            raise NotFound(f"there is no meeting {meeting_id!r}")
        state = MeetingState(meeting_id)
        for event in events:
            state.apply(event)
        return state

    async def invite_code(self, meeting_id: str) -> str:
        row = await self.store.meeting(meeting_id)
        if row is None:
            await self.log.catch_up(meeting_id)
            row = await self.store.meeting(meeting_id)
        if row is None:
            raise NotFound(f"there is no meeting {meeting_id!r}")
        return str(row["invite_code"])

    async def check_invite(self, meeting_id: str, invite_code: str) -> None:
        """Forbidden unless `invite_code` is this meeting's."""
        expected = await self.invite_code(meeting_id)
        if not hmac.compare_digest(invite_code.encode(), expected.encode()):
            raise Forbidden("the invite code is wrong; use the join link the organisers sent")

    async def join(self, meeting_id: str, invite_code: str, profile: cmd.Profile) -> tuple[str, str]:
        """A participant joins with the invite code; returns (participant_id, token)."""
        await self.check_invite(meeting_id, invite_code)
        return await self.add_participant(meeting_id, profile)

    async def add_participant(self, meeting_id: str, profile: cmd.Profile) -> tuple[str, str]:
        """Someone joins (or the chair hands out a moderator's place); returns (participant_id, token)."""
        token, grant = await self._grant(meeting_id, None, profile.role)

        def decided(state: MeetingState) -> tuple[list[ev.Draft], list[Grant]]:
            nonlocal grant
            drafts = join(state, profile, self.clock())
            joined = drafts[0].fact
            assert isinstance(joined, ev.ParticipantJoined)
            grant = dataclasses.replace(grant, participant_id=joined.participant_id)
            return drafts, [grant]

        await self._append(meeting_id, decided)
        self._grants[grant.token_hash] = grant
        assert grant.participant_id is not None
        return grant.participant_id, token

    async def issue_token(self, meeting_id: str, role: str) -> str:
        """A token with no participant behind it: an observer's screen or an audio feed."""
        await self.state(meeting_id)
        token, grant = await self._grant(meeting_id, None, role)
        self._grants[grant.token_hash] = grant  # before: a shared log may echo it back meanwhile
        try:
            await self.log.add_grant(grant)
        except BaseException:
            del self._grants[grant.token_hash]
            raise
        return token

    async def execute(
        self,
        meeting_id: str,
        actor: cmd.Actor,
        command: cmd.Command,
        check: Callable[[MeetingState], None] | None = None,
    ) -> int:
        """Carry out a command; returns the seq of the last event once stored.

        `check` (the shell's limits) sees the state under the meeting's lock and may raise."""
        if isinstance(command, cmd.Reschedule) and command.timezone and not is_timezone(command.timezone):
            raise cmd.CommandError(f'"timezone" is {command.timezone!r}; use an IANA name such as Europe/Zurich')

        def decided(state: MeetingState) -> tuple[list[ev.Draft], list[Grant]]:
            if check is not None:
                check(state)
            return decide(state, actor, command, self.clock()), []

        state, _ = await self._append(meeting_id, decided)
        return state.seq

    async def record_segments(self, meeting_id: str, segments: Sequence[dict[str, Any]]) -> list[ev.Event]:
        """Store transcribed segments, each with a new `g` id; none once the meeting has ended."""

        def decided(state: MeetingState) -> tuple[list[ev.Draft], list[Grant]]:
            if state.ended_at is not None:
                return [], []
            now = self.clock()
            ids = state.ids()
            return [ev.Draft(ev.Segment(id=ids.new("g"), **seg), now) for seg in segments], []

        _, stored = await self._append(meeting_id, decided)
        return stored

    async def _attempt(
        self, meeting_id: str, decided: Callable[[MeetingState], tuple[list[ev.Draft], list[Grant]]], checked: bool
    ) -> tuple[MeetingState, list[ev.Event] | None, int]:
        """One decision and append under the meeting's lock: what was stored, or None to catch up."""
        state = await self.state(meeting_id)
        async with self._locks[meeting_id]:
            seen = state.seq
            try:
                drafts, grants = decided(state)
            except cmd.CommandError:
                if checked:
                    raise
                return state, None, seen
            if not drafts:
                return state, ([] if checked else None), seen
            try:
                stored = await self.log.append(meeting_id, drafts, state.seq, grants=grants)
            except SeqConflict:
                return state, None, seen
            self._grants.update((g.token_hash, g) for g in grants)
            self._commit(state, stored, answered=True)
            return state, stored, seen

    async def _append(
        self, meeting_id: str, decided: Callable[[MeetingState], tuple[list[ev.Draft], list[Grant]]]
    ) -> tuple[MeetingState, list[ev.Event]]:
        """Decide on the meeting as it stands, append, apply. After a conflict (another instance
        appended first) catch up with the log and decide again; a refusal or a decision that
        changes nothing is checked once against the log too, as this process may lag it."""
        checked = False  # a refusal or a no-op stands once the log holds nothing newer
        for _ in range(MAX_CONFLICTS):
            # shielded: a caller that goes away must not leave an append stored but not applied
            attempt = asyncio.ensure_future(self._attempt(meeting_id, decided, checked))
            shielded = asyncio.shield(attempt)
            # the queue view the append led to comes once the caller has been answered: this runs
            # after the shield's own callback, which wakes the caller, and waits one more turn
            attempt.add_done_callback(self._views_soon)
            state, stored, seen = await shielded
            if stored is not None:
                return state, stored
            await self.log.catch_up(meeting_id)
            checked = state.seq == seen
        raise SeqConflict(f"meeting {meeting_id}: still in conflict after {MAX_CONFLICTS} tries")

    def _commit(self, state: MeetingState, stored: Sequence[ev.Event], *, answered: bool = False) -> None:
        """Apply stored events and publish them, with no await in between: every subscriber sees
        the events in seq order; then, soon after, the queue view they lead to if they moved it
        (with `answered`, once the command's caller has been answered: see `_append`)."""
        for event in stored:
            state.apply(event)
            self.hub.publish(state.meeting_id, event.to_bytes(), event.seq)
            if isinstance(event.fact, ev.MeetingEnded):
                for ended in self.on_ended:
                    ended(state.meeting_id)
            elif isinstance(event.fact, ev.FloorChanged) and state.floor is not None and self.hub.watching(state.meeting_id):
                floor = views.floor_view(state)
                if floor is not None and floor["text"]:
                    # a written intervention is read out now: its text goes to everyone with the floor,
                    # so no page that joined after it was asked has to fetch a snapshot for it
                    self.hub.publish(state.meeting_id, ev.encode({"type": "floor", "seq": event.seq, "floor": floor}))
        if self._views.get(state.meeting_id) != state.queue_version:
            # the view is worked out once the commands of this turn of the loop have been answered:
            # after their events and acks (a command's caller is not kept waiting while hundreds of
            # entries are placed and encoded), and once for several changes that come together
            self._views_due[state.meeting_id] = state
            if not answered:
                self._views_soon()

    def _views_soon(self, _: object = None) -> None:
        if self._views_due:
            asyncio.get_running_loop().call_soon(self._push_views)

    def _push_views(self) -> None:
        due, self._views_due = self._views_due, {}
        for state in due.values():
            if self._views.get(state.meeting_id) == state.queue_version:
                continue
            self._views[state.meeting_id] = state.queue_version
            if self.hub.watching(state.meeting_id):
                public, managers = self.queue_messages(state)
                self.hub.publish_view(state.meeting_id, public, managers)

    def queue_messages(self, state: MeetingState) -> tuple[bytes, bytes]:
        """The derived queue as pushed live: for everyone, and for the chair and moderators."""
        messages = self._queue_json.get(state.meeting_id)
        if messages is None:
            messages = self._queue_json[state.meeting_id] = views.QueueMessages()
        return messages.encode(state)

    def publish_live(self, meeting_id: str, message: dict[str, Any]) -> None:
        """A live-only message (a caption): never stored, dropped first when a client lags."""
        self.log.publish_live(meeting_id, ev.dumps(message))

    def snapshot_bytes(self, state: MeetingState, *, manager: bool = False) -> bytes:
        """The snapshot as JSON, encoded once per change: every socket that asks for it is sent the
        same bytes, never a copy of its own."""
        key = (state.meeting_id, manager)
        cached = self._snapshots.get(key)
        if cached is not None and cached[0] == state.seq:
            return cached[1]
        data = ev.encode(views.snapshot(state, self.config.meeting.groups, with_text=manager))
        self._snapshots[key] = (state.seq, data)
        return data

    @staticmethod
    def sees_texts(role: str) -> bool:
        """Whether a role is shown written interventions in the queue before they are read out."""
        return role in MANAGERS
