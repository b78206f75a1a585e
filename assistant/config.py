"""Settings: `config.toml` loaded once into frozen dataclasses.

Every key is checked at start. An unknown key or a bad value stops the start
with a `ConfigError` naming the key, the value and what is allowed, so a typo
never silently falls back to a default in the middle of a live meeting.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_GROUPS = (
    "government",
    "civil society",
    "private sector",
    "technical community",
    "intergovernmental organisation",
    "other",
)
POLICIES = ("balanced", "fifo", "balanced_v1")


# How far an acknowledged command is durable ([server] synchronous, SQLite's PRAGMA synchronous in WAL
# mode). "full": its transaction is flushed to disk (fsync) before the ack, so not even a power loss
# or an OS crash loses it. "normal": written to the WAL but flushed only at checkpoints: a killed or
# crashed server process still loses nothing acknowledged, a power loss or OS crash may lose the last
# commands; each commit is cheaper by an fsync (README, bench/scale.py).
SYNCHRONOUS = ("full", "normal")


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message says which."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    admin_token: str = ""  # empty: one is generated at start and printed once
    data_dir: Path = Path("data")
    public_url: str = ""  # how browsers reach us; empty: http://host:port
    public_archive: bool = True  # meeting snapshots and transcripts readable without a token
    synchronous: str = "full"  # archive commits: "full" flushed to disk before the ack, "normal" (see SYNCHRONOUS)


@dataclass(frozen=True)
class QueueConfig:
    policy: str = "balanced"
    alternate_after: int = 2
    max_overtakes: int = 3  # balanced_v1 only
    wait_factor: float = 2.0  # balanced: an intervention waits at most this many turns per request ahead of it
    min_wait: int = 4  # balanced: ... and at least this many
    default_time_limit_s: int = 180


@dataclass(frozen=True)
class MeetingConfig:
    groups: tuple[str, ...] = DEFAULT_GROUPS
    timezone: str = "UTC"


@dataclass(frozen=True)
class LimitsConfig:
    """Sizes a client may send; anything larger is refused with a message."""

    max_frame_bytes: int = 256 * 1024
    max_name_chars: int = 120
    max_text_chars: int = 4_000  # a written intervention
    max_statement_chars: int = 100_000
    max_title_chars: int = 300
    max_agenda_items: int = 200
    client_queue: int = 2_000  # messages waiting for one client before it is cut off
    client_queue_bytes: int = 4 * 1024 * 1024  # bytes waiting for one client before it is cut off
    stalled_client_s: float = 10.0  # a socket that takes no data for this long is closed (resumes with since)
    commands_per_second: float = 20.0  # per token, across all its sockets and POST .../commands
    max_json_depth: int = 32  # nesting of a JSON body or command
    sockets_per_token: int = 4  # meeting (and listening) websockets open at once on one token
    statements_per_participant: int = 20  # statements one participant may file in a meeting
    statement_bytes_per_participant: int = 1_000_000  # their total size, UTF-8 bytes
    joins_per_minute: int = 30  # joins with one invite code from one client address
    audio_burst_s: float = 5.0  # how far ahead of real time a sender's audio may get


@dataclass(frozen=True)
class AsrConfig:
    model: str = "embedded:tiny.en"
    language: str = "en"
    compute_type: str = "int8"
    device: str = "auto"
    beam_size: int = 5  # live passes: beam 5 errs less than greedy (bench/stream.py), affordable on a 10 s window
    step_s: float = 0.5  # how often a partial hypothesis is made
    encoder_s: float = 10.0  # a live pass pads its audio to this much for Whisper's encoder (30: its full window)
    threads: int = 0  # CPU threads of the live passes' model; 0: half the CPUs, at least one (`live_threads`)
    enabled: bool = True  # load the model and transcribe audio sent to the server
    second_look: bool = True  # decode the speech again in offline's windows before storing it (docs/transcription.md)
    second_look_beam_size: int = 5  # the record's windows' beam (offline's), on their own thread beside the live passes


@dataclass(frozen=True)
class AudioConfig:
    """Sound devices of the server's machine (`assistant devices` lists them)."""

    output_device: str = ""  # the hall PA: remote speakers are played here; empty: not played
    jitter_ms: int = 60  # audio held before playing starts, to ride out uneven network delivery
    max_delay_ms: int = 300  # beyond this the oldest audio is dropped, so the delay cannot grow


@dataclass(frozen=True)
class ClusterConfig:
    """Several instances and transcription workers over NATS JetStream (docs/cluster.md)."""

    nats: tuple[str, ...] = ()  # NATS servers, e.g. ["nats://10.0.0.1:4222"]; empty: one process, SQLite only
    replicas: int = 0  # copies of the event stream; 0: min(3, the number of servers listed)


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    meeting: MeetingConfig = field(default_factory=MeetingConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    asr: AsrConfig = field(default_factory=AsrConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)


_SECTIONS: dict[str, type[Any]] = {
    "server": ServerConfig,
    "queue": QueueConfig,
    "meeting": MeetingConfig,
    "limits": LimitsConfig,
    "asr": AsrConfig,
    "audio": AudioConfig,
    "cluster": ClusterConfig,
}


def load(path: Path | None) -> Config:
    """Read and validate a config file; None gives the defaults."""
    if path is None:
        return parse({})
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse(raw, source=str(path))


def parse(raw: Mapping[str, Any], source: str = "config") -> Config:
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(
            f"{source}: unknown section [{unknown[0]}]; allowed sections: "
            + ", ".join(f"[{s}]" for s in _SECTIONS)
        )
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: [{name}] must be a table, not {table!r}")
        sections[name] = _section(cls, name, table, source)
    config = Config(**sections)
    _check(config, source)
    return config


def _section(cls: type[Any], name: str, table: Mapping[str, Any], source: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {name}.{unknown[0]}; allowed keys in [{name}]: " + ", ".join(fields)
        )
    values: dict[str, Any] = {}
    defaults = cls()
    for key, value in table.items():
        default = getattr(defaults, key)
        values[key] = _coerce(f"{name}.{key}", value, default, source)
    return cls(**values)


def _coerce(key: str, value: Any, default: Any, source: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{source}: {key} has value {value!r}; expected {expected}")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        return float(value)
    if isinstance(default, Path):
        if not isinstance(value, str) or not value:
            raise bad("a path as a non-empty string")
        return Path(value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise bad("a list of non-empty strings")
        return tuple(value)
    if not isinstance(value, str):
        raise bad("a string")
    return value


def _check(config: Config, source: str) -> None:
    def bad(key: str, value: Any, allowed: str) -> ConfigError:
        return ConfigError(f"{source}: {key} has value {value!r}; allowed: {allowed}")

    s, q, m, lim, asr = config.server, config.queue, config.meeting, config.limits, config.asr
    if not 0 <= s.port <= 65535:
        raise bad("server.port", s.port, "0 to 65535 (0 picks a free port)")
    if s.admin_token and len(s.admin_token) < 16:
        raise bad("server.admin_token", "(hidden)", "at least 16 characters, or empty to generate one")
    if s.public_url and not s.public_url.startswith(("http://", "https://")):
        raise bad("server.public_url", s.public_url, "a URL starting with http:// or https://")
    if s.synchronous not in SYNCHRONOUS:
        raise bad("server.synchronous", s.synchronous, " or ".join(f'"{v}"' for v in SYNCHRONOUS))
    if q.policy not in POLICIES:
        raise bad("queue.policy", q.policy, " or ".join(f'"{p}"' for p in POLICIES))
    if not 1 <= q.alternate_after <= 100:
        raise bad("queue.alternate_after", q.alternate_after, "1 to 100")
    if not 0 <= q.max_overtakes <= 1000:
        raise bad("queue.max_overtakes", q.max_overtakes, "0 to 1000")
    if not 0.5 <= q.wait_factor <= 20:
        raise bad("queue.wait_factor", q.wait_factor, "0.5 to 20")
    if not 1 <= q.min_wait <= 1000:
        raise bad("queue.min_wait", q.min_wait, "1 to 1000")
    if not 0 <= q.default_time_limit_s <= 24 * 3600:
        raise bad("queue.default_time_limit_s", q.default_time_limit_s, "0 (no limit) to 86400")
    if len(set(m.groups)) != len(m.groups) or not m.groups:
        raise bad("meeting.groups", list(m.groups), "a non-empty list without repeats")
    if not is_timezone(m.timezone):
        raise bad("meeting.timezone", m.timezone, "an IANA time zone name such as Europe/Zurich")
    for key in ("max_name_chars", "max_text_chars", "max_statement_chars", "max_title_chars"):
        if getattr(lim, key) < 1:
            raise bad(f"limits.{key}", getattr(lim, key), "1 or more")
    if not 1024 <= lim.max_frame_bytes <= 16 * 1024 * 1024:
        raise bad("limits.max_frame_bytes", lim.max_frame_bytes, "1024 to 16777216")
    if not 1 <= lim.max_agenda_items <= 10_000:
        raise bad("limits.max_agenda_items", lim.max_agenda_items, "1 to 10000")
    if not 10 <= lim.client_queue <= 1_000_000:
        raise bad("limits.client_queue", lim.client_queue, "10 to 1000000")
    if not 0 < lim.commands_per_second <= 10_000:
        raise bad("limits.commands_per_second", lim.commands_per_second, "more than 0, up to 10000")
    if not 64 * 1024 <= lim.client_queue_bytes <= 1024 * 1024 * 1024:
        raise bad("limits.client_queue_bytes", lim.client_queue_bytes, "65536 to 1073741824")
    if not 1 <= lim.stalled_client_s <= 600:
        raise bad("limits.stalled_client_s", lim.stalled_client_s, "1 to 600 seconds")
    if not 4 <= lim.max_json_depth <= 200:
        raise bad("limits.max_json_depth", lim.max_json_depth, "4 to 200")
    if not 1 <= lim.sockets_per_token <= 1000:
        raise bad("limits.sockets_per_token", lim.sockets_per_token, "1 to 1000")
    if not 0 <= lim.statements_per_participant <= 100_000:
        raise bad("limits.statements_per_participant", lim.statements_per_participant, "0 to 100000")
    if not lim.max_statement_chars <= lim.statement_bytes_per_participant <= 1024 * 1024 * 1024:
        raise bad("limits.statement_bytes_per_participant", lim.statement_bytes_per_participant,
                  f"{lim.max_statement_chars} (max_statement_chars) to 1073741824")
    if not 1 <= lim.joins_per_minute <= 100_000:
        raise bad("limits.joins_per_minute", lim.joins_per_minute, "1 to 100000")
    if not 1 <= lim.audio_burst_s <= 600:
        raise bad("limits.audio_burst_s", lim.audio_burst_s, "1 to 600 seconds")
    if asr.compute_type not in ("int8", "int8_float16", "int8_float32", "float16", "float32", "default"):
        raise bad(
            "asr.compute_type",
            asr.compute_type,
            "int8, int8_float16, int8_float32, float16, float32, default",
        )
    if asr.device not in ("auto", "cpu", "cuda"):
        raise bad("asr.device", asr.device, "auto, cpu or cuda")
    if not asr.model:
        raise bad(
            "asr.model",
            asr.model,
            "embedded:tiny.en, embedded:base, a faster-whisper model name or a directory",
        )
    if not 1 <= asr.beam_size <= 10:
        raise bad("asr.beam_size", asr.beam_size, "1 to 10")
    if not 1 <= asr.second_look_beam_size <= 10:
        raise bad("asr.second_look_beam_size", asr.second_look_beam_size, "1 to 10")
    if not 0.2 <= asr.step_s <= 5:
        raise bad("asr.step_s", asr.step_s, "0.2 to 5 seconds")
    if not 5 <= asr.encoder_s <= 30:
        raise bad("asr.encoder_s", asr.encoder_s, "5 to 30 seconds")
    if not 0 <= asr.threads <= 256:
        raise bad("asr.threads", asr.threads, "0 (half the CPUs) to 256")
    au = config.audio
    if not 0 <= au.jitter_ms <= 1000:
        raise bad("audio.jitter_ms", au.jitter_ms, "0 to 1000")
    if not au.jitter_ms + 20 <= au.max_delay_ms <= 5000:
        raise bad("audio.max_delay_ms", au.max_delay_ms, f"{au.jitter_ms + 20} (jitter_ms + 20) to 5000")
    for url in config.cluster.nats:
        if not url.startswith(("nats://", "tls://")):
            raise bad("cluster.nats", url, "URLs starting with nats:// or tls://, or an empty list for one process")
    if not 0 <= config.cluster.replicas <= 5:
        raise bad("cluster.replicas", config.cluster.replicas, "0 (as many as servers listed, at most 3) to 5")
    if asr.language and not (asr.language == "auto" or 2 <= len(asr.language) <= 3):
        raise bad("asr.language", asr.language, 'a language code such as "en", or "auto"')


def decoding_language(code: str) -> str | None:
    """The language to decode with; None lets Whisper detect it."""
    return None if code in ("", "auto") else code


def is_timezone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def with_overrides(config: Config, **server: Any) -> Config:
    """Apply command-line overrides (host, port, data_dir) that are not None."""
    changes = {k: v for k, v in server.items() if v is not None}
    if not changes:
        return config
    updated = dataclasses.replace(config, server=dataclasses.replace(config.server, **changes))
    _check(updated, "command line")
    return updated


def check(config: Config, source: str = "command line") -> Config:
    """Validate settings changed after loading (command-line overrides); returns them."""
    _check(config, source)
    return config
