"""Write docs/events.md from the event definitions in assistant/core/events.py (`--check`: fail if stale).

The one definition of each event is its struct; this page is made from it, so it cannot drift.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import typing
from pathlib import Path

import msgspec

from assistant.core import events as ev

OUT = Path(__file__).resolve().parents[1] / "docs" / "events.md"


def _type_name(annotation: object) -> str:
    text = str(annotation).replace("typing.", "").replace("NoneType", "null")
    text = text.replace("<class '", "").replace("'>", "").replace("builtins.", "")
    return text.replace(" | ", " or ").replace("None", "null")


def _comments(cls: type) -> dict[str, str]:
    """Field comments from the source: `name: type  # what it is`."""
    out = {}
    for line in inspect.getsource(cls).splitlines():
        code, _, comment = line.partition("  # ")
        code = code.strip()
        if ":" in code and comment and not code.startswith(("def ", "class ", "NAME")):
            out[code.split(":")[0].strip()] = comment.strip()
    return out


def render() -> str:
    lines = [
        "# Stored events",
        "",
        "Made by `scripts/events_doc.py` from `assistant/core/events.py`, the one definition of each",
        "event; `make test` fails when this page is stale. Every stored event reaches clients as",
        '`{"type": "event", "seq": N, "name": NAME, "data": {...}, "at": unix seconds}`. The log stores',
        "facts, never derived views: the queue order is derived and pushed as",
        '`{"type": "queue", "seq", "queue"}` (see `protocol.md`).',
        "",
    ]
    for name, cls in ev.FACTS.items():
        doc = inspect.getdoc(cls) or ""
        lines += [f"## `{name}`", ""]
        if doc:
            lines += [" ".join(doc.split()), ""]
        info = msgspec.inspect.type_info(cls)
        assert isinstance(info, msgspec.inspect.StructType)
        hints = typing.get_type_hints(cls)
        comments = _comments(cls)
        if not info.fields:
            lines += ["No fields.", ""]
            continue
        lines += ["| field | type | |", "|---|---|---|"]
        for field in info.fields:
            note = comments.get(field.name, "")
            if field.name == "text" and cls is ev.StatementFiled:
                note = "stored; sent to clients empty (fetch the body on demand)"
            required = "" if field.required else " (optional)"
            note = note.replace("|", "\\|")
            lines.append(f"| `{field.encode_name}` | {_type_name(hints[field.name])}{required} | {note} |")
        lines.append("")
    retired = ", ".join(f"`{old}` → `{new}`" for old, new in ev.RETIRED.items())
    lines += [
        "## Archives from before these types",
        "",
        f"Renamed on reading: {retired}. `queue_changed` events (the whole queue as published)",
        "are read as empty facts: nothing depends on them, and their `seq` stays in the log.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/events.md is not current")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python scripts/events_doc.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
