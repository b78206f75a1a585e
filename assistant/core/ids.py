"""Ids of the things a meeting creates: a letter for the kind and a number counted per kind.

`p` participants, `r` requests, `s` statements, `g` transcript segments. The fold records the
highest number of each kind it has seen (`MeetingState.last_ids`), and a decision takes the next
ones from an `Ids` allocator, so an id never depends on where its event stands in a list, and an
archive whose ids were numbered another way (by seq, before this version) goes on without a clash.
"""

from __future__ import annotations

from collections.abc import Mapping

KINDS = {"p": "participant", "r": "request", "s": "statement", "g": "segment"}


class Ids:
    def __init__(self, last: Mapping[str, int]) -> None:
        self._last = dict(last)

    def new(self, prefix: str) -> str:
        if prefix not in KINDS:
            raise ValueError(f"unknown id prefix {prefix!r}; known: {', '.join(KINDS)}")
        number = self._last.get(prefix, 0) + 1
        self._last[prefix] = number
        return f"{prefix}{number}"
