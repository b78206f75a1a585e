"""What a channel sends out: live captions and stored segments, through the `MeetingSink`.

The sink is the service's `Meetings` in the product and a fake in tests and benches:
the speech layer reads the meeting state from it and writes segments and captions to
it, and never imports the layers above.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..core.meeting import MeetingState
from .attribution import Line
from .streaming import Word, join_words


class MeetingSink(Protocol):
    """Where a channel reads the meeting from and sends what it heard (the service's `Meetings`)."""

    async def state(self, meeting_id: str) -> MeetingState: ...
    async def record_segments(self, meeting_id: str, segments: Sequence[dict[str, Any]]) -> object: ...
    def publish_live(self, meeting_id: str, message: dict[str, Any]) -> None: ...


class Publisher:
    """Builds captions and segments for one channel and hands them to the sink."""

    def __init__(self, *, meeting_id: str, source: str, sink: MeetingSink, wall: Callable[[float], float],
                 default_language: str, line_prefix: str) -> None:
        self.meeting_id = meeting_id
        self.source = source
        self.sink = sink
        self.wall = wall
        self.default_language = default_language
        self.line_prefix = line_prefix

    def line_id(self, line: Line) -> str:
        """The utterance id captions and segments share: a page replaces a live line by it."""
        return f"{self.line_prefix}-{line.number}"

    def language(self, state: MeetingState, line: Line) -> str:
        if line.language:
            return line.language
        who = state.participants.get(line.speaker_id or "")
        return who.language if who and who.language else self.default_language

    def segment(self, state: MeetingState, line: Line, words: Sequence[Word]) -> dict[str, Any]:
        who = state.participants.get(line.speaker_id or "")
        return {
            "start": round(max(0.0, self.wall(words[0].start) - state.created_at), 3),
            "end": round(max(0.0, self.wall(words[-1].end) - state.created_at), 3),
            "text": join_words(words),
            "speaker_id": line.speaker_id,
            "speaker_name": who.name if who else "",
            "affiliation": who.affiliation if who else "",
            "source": self.source,
            "language": self.language(state, line),
            "item": state.current_item,
            "utterance_id": self.line_id(line),
        }

    async def record(self, segments: Sequence[dict[str, Any]]) -> None:
        kept = [s for s in segments if s["text"]]
        if kept:
            await self.sink.record_segments(self.meeting_id, kept)

    def caption(self, state: MeetingState, line: Line, partial: Sequence[Word], *, final: bool, lag_s: float,
                **extra: Any) -> None:
        who = state.participants.get(line.speaker_id or "")
        self.sink.publish_live(
            self.meeting_id,
            {
                "type": "caption",
                "text": join_words([*line.words, *partial]),
                "committed": join_words(line.words),
                "partial": join_words(partial),
                "speaker_id": line.speaker_id,
                "speaker_name": who.name if who else "",
                "source": self.source,
                "language": self.language(state, line),
                "utterance_id": self.line_id(line),
                "final": final,
                "lag_s": round(lag_s, 2),
                **extra,
            },
        )
