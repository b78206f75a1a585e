"""The layout keeps its layers: the pure core does no I/O, and no layer imports one above it.

Read from the source with `ast`, so a new import that breaks a rule fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "assistant"

# Lower ranks are imported by higher ones, never the other way round; a package may import itself.
RANKS = {"core": 0, "audio": 1, "archive": 1, "speech": 2, "service": 2, "http": 3, "cluster": 3}
TOP = 4  # cli.py, __main__.py: the command line wires everything
CONFIG = "config"  # settings types: read by every shell, never by the core

# Modules that hold logic only: no event loop, no sockets, no database, no clock.
PURE = ("core/", "speech/streaming.py", "speech/gate.py", "speech/attribution.py", "speech/record.py", "audio/backlog.py")
IMPURE = {"asyncio", "aiohttp", "sqlite3", "sqlite_utils", "time", "socket", "websockets", "concurrent", "threading"}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def name_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Absolute names of the modules `path` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = name_of(path) if path.name == "__init__.py" else name_of(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{alias.name}" for alias in node.names)
    return found


def layer(module: str) -> str:
    """The top-level part of a module of the package: core, speech, ..., config, cli."""
    return module.split(".")[1] if "." in module else ""


def rank(module: str) -> int:
    return RANKS.get(layer(module), TOP)


def owns(module: str) -> bool:
    """Whether `module` is one of the package's own modules (not a name imported from one)."""
    parts = module.split(".")
    return any(
        (PACKAGE.parent.joinpath(*parts[:n]).with_suffix(".py")).is_file()
        or (PACKAGE.parent.joinpath(*parts[:n]) / "__init__.py").is_file()
        for n in range(len(parts), 1, -1)
    )


def own_module(module: str) -> str:
    """The longest prefix of `module` that is a module or package of ours."""
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        path = PACKAGE.parent.joinpath(*parts[:n])
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return ".".join(parts[:n])
    return module


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_layer_imports_one_above_it(path: Path) -> None:
    me = name_of(path)
    wrong = []
    for imported in imports(path):
        if not imported.startswith("assistant.") or not owns(imported):
            continue
        target = own_module(imported)
        if layer(target) == CONFIG:
            if rank(me) == RANKS["core"]:
                wrong.append(f"{target} (the core takes plain values, not settings)")
            continue
        if layer(target) == layer(me) or target == "assistant" or rank(me) == TOP:
            continue
        if rank(target) >= rank(me):
            wrong.append(f"{target} (rank {rank(target)}, {me} has rank {rank(me)})")
    assert not wrong, f"{me} imports " + ", ".join(sorted(set(wrong)))


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if any(str(p.relative_to(PACKAGE)).startswith(pure) for pure in PURE)],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_pure_modules_do_no_io(path: Path) -> None:
    used = {name.split(".")[0] for name in imports(path)} & IMPURE
    assert not used, f"{name_of(path)} is pure but imports {', '.join(sorted(used))}"


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    """The checker itself: an upward import and an impure import in the core are both seen."""
    bad = PACKAGE / "core" / "_layers_probe.py"
    bad.write_text("import asyncio\nfrom ..http import app\n")
    try:
        assert "asyncio" in {n.split(".")[0] for n in imports(bad)}
        assert "assistant.http.app" in imports(bad)
        assert rank(own_module("assistant.http.app")) > rank(name_of(bad))
    finally:
        bad.unlink()


def test_the_events_page_is_made_from_the_event_definitions() -> None:
    import subprocess
    import sys

    script = PACKAGE.parent / "scripts" / "events_doc.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
