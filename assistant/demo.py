"""`assistant serve --demo`: a demo meeting, and a show played in it while someone watches.

The meeting is made once and kept across runs (data_dir/demo.json), so its links stay valid. The
show (demo/meeting.ogg as the hall audio, a scripted chair giving the floor to its three speakers)
starts when a page of the meeting is open and the meeting is idle (nobody holds the floor, nobody
waits), and plays again `PAUSE_S` after it ends while a page is still open. It never plays into a
meeting that is running: a show cut short by a stop is tidied (its speakers' turn ended, their
requests withdrawn) and anyone else's request or turn makes it wait; someone asking for the floor
during the show stops it, and the meeting is theirs. An ended demo meeting is replaced by a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from .config import Config
from .core import commands as cmd
from .core.meeting import MeetingState
from .http.api import urls
from .http.appkeys import MEETINGS, TRANSCRIPTION
from .service.meetings import Meetings

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
AGENDA = ["Opening of the session", "Remote participation", "Any other business"]
TITLE = "Demo: open consultation on remote participation"
PAUSE_S = 20.0  # between two plays, while a page is open
POLL_S = 0.5


async def open_demo(app: web.Application, config: Config, base: str) -> str:
    """The demo meeting (the saved one while it lasts), with its links printed."""
    meetings = app[MEETINGS]
    saved = config.server.data_dir / "demo.json"
    demo = None
    if saved.is_file():
        demo = json.loads(saved.read_text())
        if meetings.authenticate(demo.get("chair_token"), demo.get("id")) is None:
            demo = None
        elif (await meetings.state(demo["id"])).ended_at is not None:
            print(f"The demo meeting {demo['id']} has ended (it stays in the archive); opening a new one.", flush=True)
            demo = None
    if demo is None:
        created = await meetings.create(title=TITLE, agenda=AGENDA)
        demo = {"id": created.meeting_id, "chair_token": created.chair_token, "invite_code": created.invite_code}
        saved.write_text(json.dumps(demo))
        saved.chmod(0o600)
    mid = str(demo["id"])
    links = urls(base, mid, chair_token=demo["chair_token"], invite_code=demo["invite_code"])
    print(f"Demo meeting {mid}:", flush=True)
    print(f"  chair console : {links['chair_url']}", flush=True)
    print(f"  join (invite) : {links['join_url']}", flush=True)
    observer = await meetings.issue_token(mid, "observer")
    print(f"  projector     : {base}/projector/{mid}#token={observer}", flush=True)
    print(f"  archive       : {base}/archive/{mid}  (transcript, search, report, downloads)", flush=True)
    return mid


async def hall_audio(app: web.Application, meeting_id: str, device: str | None, replay: Path | None,
                     *, quiet: bool = False) -> None:
    """Feed a device or a recording into the meeting's hall channel."""
    from .audio.sources import AudioError, from_device, from_file

    transcription = app[TRANSCRIPTION]
    await transcription.wait_loaded()
    try:
        channel = transcription.channel(meeting_id, None)
        source = from_device(device) if device else from_file(replay) if replay else None
        assert source is not None
        if not quiet:
            print(f"Transcribing {'device ' + device if device else replay} as the hall audio.", flush=True)
        async for chunk in source:
            channel.feed(chunk)
        await transcription.end(meeting_id, None)
    except (AudioError, RuntimeError) as exc:
        print(f"assistant: hall audio: {exc}", file=sys.stderr, flush=True)


def idle(state: MeetingState) -> bool:
    """Nobody holds the floor and nobody waits: a show may start."""
    return state.ended_at is None and state.floor is None and not state.waiting()


class Show:
    """The scripted chair and its speakers, played in the demo meeting."""

    def __init__(self, app: web.Application, meeting_id: str, script: list[dict[str, Any]],
                 recording: Path | None) -> None:
        self.app, self.meeting_id, self.script, self.recording = app, meeting_id, script, recording
        self.meetings: Meetings = app[MEETINGS]
        self.speakers: dict[str, str] = {}  # name -> participant id
        self.plays = 0

    async def run(self) -> None:
        """Wait for a watcher and an idle meeting, play, pause, again; until the meeting ends."""
        state = await self.meetings.state(self.meeting_id)
        await self._cast(state)
        await self._tidy(state)
        print(f"Demo: the show starts when a page of the meeting is open, and plays again {PAUSE_S:.0f} s after "
              "it ends; it waits while anyone else holds the floor or waits for it.", flush=True)
        while state.ended_at is None:
            await self._until(lambda: state.ended_at is not None or
                              (self.meetings.hub.watching(self.meeting_id) and idle(state)))
            if state.ended_at is not None:
                break
            await self.play(state)
            await asyncio.sleep(PAUSE_S)

    async def play(self, state: MeetingState) -> bool:
        """One play; False when it stopped early because the meeting became someone else's."""
        chair = cmd.Actor(state.chair_id(), "chair")
        self.plays += 1
        print(f"Demo: playing the show (time {self.plays}).", flush=True)
        audio = None
        if self.recording is not None:
            await self.app[TRANSCRIPTION].wait_loaded()  # the replay and the script's clock start together
            audio = asyncio.create_task(hall_audio(self.app, self.meeting_id, None, self.recording, quiet=True))
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            for turn in self.script:
                pid = self.speakers[turn["name"]]
                speaker = cmd.Actor(pid, "participant")
                await asyncio.sleep(max(0.0, start + turn["floor_at"] - 1.0 - loop.time()))
                if not self._ours(state):
                    return self._stopped("someone else has the floor or asked for it; the meeting is theirs")
                await self.meetings.execute(self.meeting_id, speaker, cmd.RequestFloor())
                await asyncio.sleep(max(0.0, start + turn["floor_at"] - 0.4 - loop.time()))
                if not self._ours(state):
                    await self._tidy(state)
                    return self._stopped("someone else asked for the floor; the meeting is theirs")
                mine = [r for r in state.waiting() if r.participant_id == pid]
                if mine:
                    await self.meetings.execute(self.meeting_id, chair, cmd.GiveFloor(mine[0].request_id))
                await asyncio.sleep(max(0.0, start + turn["end_at"] - loop.time()))
                if state.floor is not None and state.floor.participant_id == pid:
                    await self.meetings.execute(self.meeting_id, chair, cmd.EndTurn())
            if audio is not None:
                await audio
                audio = None
            print("Demo: show over; the meeting stays open for you to try.", flush=True)
            return True
        except cmd.CommandError as exc:
            return self._stopped(str(exc))
        finally:
            if audio is not None:
                audio.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await audio

    def _ours(self, state: MeetingState) -> bool:
        """Only the show's speakers hold the floor or wait: nobody is passed over."""
        ours = set(self.speakers.values())
        holder = state.floor.participant_id if state.floor is not None else None
        return (holder is None or holder in ours) and all(r.participant_id in ours for r in state.waiting())

    def _stopped(self, why: str) -> bool:
        print(f"Demo: show stopped: {why}.", flush=True)
        return False

    async def _cast(self, state: MeetingState) -> None:
        """The show's speakers join once; a later run finds them by name."""
        by_name = {p.name: p.participant_id for p in state.participants.values() if p.role == "participant"}
        for turn in self.script:
            if turn["name"] not in by_name:
                profile = cmd.Profile(turn["name"], turn["affiliation"], turn["group"], turn["mode"], "en")
                by_name[turn["name"]], _ = await self.meetings.add_participant(self.meeting_id, profile)
            self.speakers[turn["name"]] = by_name[turn["name"]]

    async def _tidy(self, state: MeetingState) -> None:
        """What a show cut short left behind (by a stop of the server): its turn, its requests."""
        if state.ended_at is not None:
            return
        ours = set(self.speakers.values())
        if state.floor is not None and state.floor.participant_id in ours:
            await self.meetings.execute(self.meeting_id, cmd.Actor(state.chair_id(), "chair"), cmd.EndTurn())
        for req in state.waiting():
            if req.participant_id in ours:
                await self.meetings.execute(self.meeting_id, cmd.Actor(req.participant_id, "participant"),
                                            cmd.Withdraw(req.request_id))

    @staticmethod
    async def _until(ready: Callable[[], bool]) -> None:
        while not ready():
            await asyncio.sleep(POLL_S)


def script() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((DEMO_DIR / "script.json").read_text())
    return data
