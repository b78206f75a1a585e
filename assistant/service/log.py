"""The event log of record, as the service sees it: the seam between one process and a cluster.

`Meetings` decides, then appends through a `Log`, then applies what was
appended. Two logs fit:
- `StoreLog` (here): the SQLite file is the log, as in one process;
- `JetStreamLog` (`assistant/cluster/log.py`): a JetStream stream is the log
  and the SQLite file a projection of it, fed by every instance's consumer.

An append carries the meeting seq the caller's state is at; a log that holds
more than that raises `SeqConflict`, and the caller catches up and decides
again. What other processes appended reaches `Meetings.receive` (a `Receiver`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from ..archive.store import Grant, SeqConflict, Store
from ..core import events as ev
from .hub import Hub

__all__ = ["Log", "Receiver", "SeqConflict", "StoreLog"]


class Receiver(Protocol):
    """Where a log delivers what other processes appended (the service's `Meetings`)."""

    async def receive(
        self,
        meeting_id: str,
        events: Sequence[ev.Event],
        grants: Sequence[Grant],
        meeting: dict[str, Any] | None,
        applied: Callable[[], None],
    ) -> None:
        """Project and apply `events` unless already applied; `applied` is called under the meeting's lock."""
        ...


class Log(Protocol):
    async def start(self, receiver: Receiver) -> None:
        """Open the log; a shared log replays into `receiver` until this process has caught up."""
        ...

    async def close(self) -> None: ...

    async def append(
        self,
        meeting_id: str,
        drafts: Sequence[ev.Draft],
        expected_seq: int,
        *,
        grants: Iterable[Grant] = (),
        meeting: dict[str, Any] | None = None,
    ) -> list[ev.Event]:
        """Store `drafts` after `expected_seq`, durably, or raise `SeqConflict`; returns them numbered."""
        ...

    async def add_grant(self, grant: Grant) -> None:
        """A token that comes with no event (an observer's or a feed's)."""
        ...

    async def catch_up(self, meeting_id: str) -> None:
        """Return once this process has received everything the log holds for the meeting."""
        ...

    def publish_live(self, meeting_id: str, text: str) -> None:
        """A live-only message (a caption) to every process's subscribers of the meeting."""
        ...


class StoreLog:
    """One process: the SQLite store is the log and the hub the only audience."""

    def __init__(self, store: Store, hub: Hub) -> None:
        self.store, self.hub = store, hub

    async def start(self, receiver: Receiver) -> None:
        pass  # nobody else appends

    async def close(self) -> None:
        pass  # the store is closed by the application, which opened it

    async def append(
        self,
        meeting_id: str,
        drafts: Sequence[ev.Draft],
        expected_seq: int,
        *,
        grants: Iterable[Grant] = (),
        meeting: dict[str, Any] | None = None,
    ) -> list[ev.Event]:
        return await self.store.append(meeting_id, drafts, expected_seq, grants=grants, meeting=meeting)

    async def add_grant(self, grant: Grant) -> None:
        await self.store.add_grant(grant)

    async def catch_up(self, meeting_id: str) -> None:
        pass  # the store is the log: there is nothing to catch up with

    def publish_live(self, meeting_id: str, text: str) -> None:
        self.hub.publish(meeting_id, text, droppable=True)
