"""The `assistant` command."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from . import __version__
from . import demo as demos
from .archive.exports import WRITERS
from .config import Config, ConfigError, check, load, with_overrides
from .core.tokens import new_token
from .http.app import HANDLERS_S, create_app
from .http.appkeys import MEETINGS, TRANSCRIPTION

log = logging.getLogger("assistant")

def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="Real-time remote-participation meeting assistant"
    )
    parser.add_argument("--version", action="version", version=f"assistant {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the meeting server")
    serve.add_argument("--config", type=Path, help="config.toml (defaults apply without one)")
    serve.add_argument("--host", help="override [server] host")
    serve.add_argument("--port", type=int, help="override [server] port")
    serve.add_argument("--data-dir", type=Path, help="override [server] data_dir")
    serve.add_argument(
        "--demo", action="store_true", help="open (or reopen) a demo meeting and print its links"
    )
    serve.add_argument("--audio-device", help="with --demo: transcribe this input device (index or name) as the hall")
    serve.add_argument("--replay", type=Path, help="with --demo: replay this recording as the hall audio, at real time")
    serve.add_argument("--nats", help="override [cluster] nats: comma-separated NATS URLs (docs/cluster.md)")
    wo = sub.add_parser("worker", help="transcribe audio channels of a cluster, apart from the servers")
    wo.add_argument("--config", type=Path, help="config.toml ([cluster] nats, [asr] model)")
    wo.add_argument("--data-dir", type=Path, help="override [server] data_dir (the worker's own projection)")
    wo.add_argument("--nats", help="override [cluster] nats: comma-separated NATS URLs")
    wo.add_argument("--name", help="this worker's name in the leases (default: host-pid)")
    cl = sub.add_parser("cluster", help="run a local cluster: NATS nodes, instances and a worker (make cluster)")
    cl.add_argument("--config", type=Path, help="config.toml for the instances and workers")
    cl.add_argument("--nodes", type=int, default=3, help="NATS servers (default 3)")
    cl.add_argument("--instances", type=int, default=2, help="assistant servers (default 2)")
    cl.add_argument("--workers", type=int, default=1, help="transcription workers (default 1)")
    cl.add_argument("--port", type=int, default=8080, help="port of the first instance; the next ones follow")
    cl.add_argument("--base", type=Path, default=Path("data/cluster"), help="NATS storage, instances' data, logs")
    sub.add_parser("devices", help="list audio input devices")
    tr = sub.add_parser("transcribe", help="transcribe a recording to VTT, SRT or JSON")
    tr.add_argument("file", type=Path)
    tr.add_argument("--format", choices=["vtt", "srt", "json"], default="vtt")
    tr.add_argument("--output", "-o", type=Path, help="default: FILE with the format's extension")
    tr.add_argument("--config", type=Path, help="config.toml ([asr] model, language)")
    tr.add_argument("--model", help="override [asr] model, e.g. embedded:base")
    for name, what, formats in (("export", "a meeting's transcript", list(WRITERS)), ("report", "the chair's report", ["md", "html"])):
        cmd = sub.add_parser(name, help=f"write {what} from the archive")
        cmd.add_argument("meeting", help="the meeting id")
        cmd.add_argument("--format", "-f", choices=formats, default="md")
        cmd.add_argument("--output", "-o", type=Path, help="default: standard output")
        cmd.add_argument("--config", type=Path, help="config.toml ([server] data_dir)")
    fe = sub.add_parser("feed", help="send the hall's audio to a server (the hall uplink)")
    fe.add_argument("url", help="the meeting's chair or join link, or ws://host:port/api/meetings/ID/audio")
    fe.add_argument("--token", required=True, help="a feed, chair or moderator token of the meeting (write --token=T if T begins with -)")
    src = fe.add_mutually_exclusive_group(required=True)
    src.add_argument("--device", help="capture this input device (index or name; `assistant devices` lists them)")
    src.add_argument("--file", type=Path, help="replay this recording at real time")
    fe.add_argument("--buffer-s", type=float, default=300.0, help="audio kept while the network is down (default 300 s)")
    se = sub.add_parser("search", help="search every transcript in the archive")
    se.add_argument("query", help='words, or FTS5 syntax such as "exact phrase" or access OR connectivity')
    se.add_argument("--meeting", help="only this meeting")
    se.add_argument("--limit", type=int, default=20)
    se.add_argument("--config", type=Path, help="config.toml ([server] data_dir)")
    return parser


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # one line per pass is noise
    try:
        config = load(getattr(args, "config", None))
        if args.command in ("serve", "worker"):
            if args.command == "serve":
                config = with_overrides(config, host=args.host, port=args.port, data_dir=args.data_dir)
            else:
                config = with_overrides(config, data_dir=args.data_dir)
            if args.nats:
                config = with_nats(config, [u.strip() for u in args.nats.split(",") if u.strip()])
        elif getattr(args, "model", None):
            config = dataclasses.replace(config, asr=dataclasses.replace(config.asr, model=args.model))
    except ConfigError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    if args.command == "devices":
        return _devices()
    if args.command == "serve":
        return asyncio.run(serve_forever(config, demo=args.demo, device=args.audio_device, replay=args.replay))
    if args.command == "transcribe":
        return _transcribe(config, args)
    if args.command == "feed":
        return asyncio.run(_feed(args))
    if args.command == "worker":
        from .cluster.worker import run_worker

        return asyncio.run(_until_signal(lambda stop: run_worker(config, stop=stop, name=args.name)))
    if args.command == "cluster":
        from .cluster.local import run_local

        return run_local(args.config, base=args.base, nodes=args.nodes, instances=args.instances,
                         workers=args.workers, port=args.port)
    return _archive(config, args)


async def _feed(args: argparse.Namespace) -> int:
    from .audio.sources import AudioError, from_device, from_file
    from .audio.uplink import Feed, FeedError

    try:
        feed = Feed(args.url, args.token, buffer_s=args.buffer_s)
        if args.file is not None and not args.file.is_file():
            raise FeedError(f"{args.file} does not exist")
        source = from_file(args.file) if args.file is not None else from_device(args.device)
        stats = await feed.run(source)
    except (FeedError, AudioError) as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    print(f"feed done: {stats.line(feed.backlog)}")
    return 0


def _archive(config: Config, args: argparse.Namespace) -> int:
    from .archive import cli as archive_cli
    from .archive.tables import SearchError

    try:
        if args.command == "export":
            archive_cli.export(config, args.meeting, args.format, args.output)
        elif args.command == "report":
            archive_cli.chair_report(config, args.meeting, args.format, args.output)
        elif args.command == "search":
            return archive_cli.search(config, args.query, args.meeting, args.limit)
    except (archive_cli.ArchiveMissing, SearchError) as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    return 0


async def serve_forever(
    config: Config, *, demo: bool = False, device: str | None = None, replay: Path | None = None
) -> int:
    generated = not config.server.admin_token
    if generated:
        token = new_token(24)
        config = dataclasses.replace(config, server=dataclasses.replace(config.server, admin_token=token))
    instance = None
    if config.cluster.nats:  # the model runs in the workers; the log is the stream
        from .cluster.instance import Instance

        app = create_app(dataclasses.replace(config, asr=dataclasses.replace(config.asr, enabled=False)))
        try:
            instance = await Instance.join(config, app[MEETINGS])
        except Exception as exc:
            print(f"assistant: cannot join the cluster at {', '.join(config.cluster.nats)}: {exc!r}", file=sys.stderr)
            return 1
        app[TRANSCRIPTION] = instance.transcription
        app.cleanup_ctx.append(_leaving(instance))
    else:
        app = create_app(config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=HANDLERS_S)  # not 60 s: see app.py
    await runner.setup()
    site = web.TCPSite(runner, config.server.host, config.server.port)
    try:
        await site.start()
    except OSError as exc:
        print(
            f"assistant: cannot listen on {config.server.host}:{config.server.port}: {exc}", file=sys.stderr
        )
        await runner.cleanup()
        return 1
    # the modules and the app live as long as the process: kept out of the collector's full passes,
    # which otherwise scan them every few dozen commands when hundreds wait (a pause of 20-40 ms under
    # load; bench/scale.py)
    gc.freeze()
    port = runner.addresses[0][1] if runner.addresses else config.server.port
    base = config.server.public_url.rstrip("/") or f"http://{_display_host(config.server.host)}:{port}"
    print(f"Meeting assistant listening on {base}  (archive: {config.server.data_dir.resolve()})", flush=True)
    if generated:
        print(f"Admin token (generated for this run, shown once): {config.server.admin_token}", flush=True)
    hall = None
    if demo:
        meeting_id = await demos.open_demo(app, config, base)
        recording = demos.DEMO_DIR / "meeting.ogg"
        if device or replay:
            hall = asyncio.create_task(demos.hall_audio(app, meeting_id, device, replay))
        elif config.asr.enabled and recording.is_file():
            hall = asyncio.create_task(demos.Show(app, meeting_id, demos.script(), recording).run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("Shutting down.", flush=True)
    if hall is not None:
        hall.cancel()
    await runner.cleanup()
    return 0


def with_nats(config: Config, urls: list[str]) -> Config:
    cluster = dataclasses.replace(config.cluster, nats=tuple(urls))
    return check(dataclasses.replace(config, cluster=cluster))


def _leaving(instance: Any) -> Callable[[web.Application], AsyncIterator[None]]:
    """Leave the cluster before the store closes (cleanup contexts end in reverse order)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        await instance.close()

    return ctx


async def _until_signal(run: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await run(stop)


def _transcribe(config: Config, args: argparse.Namespace) -> int:
    from .speech.offline import transcribe
    from .speech.whisper import ModelError

    if not args.file.is_file():
        print(f"assistant: {args.file} does not exist", file=sys.stderr)
        return 2
    try:
        target = transcribe(config, args.file, args.output, args.format)
    except (ValueError, ModelError) as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {target}")
    return 0


def _display_host(host: str) -> str:
    return "localhost" if host in ("0.0.0.0", "::", "") else host


def _devices() -> int:
    from .audio.sources import AudioError, list_devices

    for kind, use in (("input", "the hall microphone: serve --audio-device, feed --device"),
                      ("output", "the hall PA: [audio] output_device")):
        try:
            devices = list_devices(kind)
        except AudioError as exc:
            print(f"assistant: {exc}", file=sys.stderr)
            return 1
        print(f"{kind} devices ({use}):")
        for d in devices:
            print(f"{d['index']:3d}  {d['name']}  ({d['channels']} ch, {d['rate']:.0f} Hz)")
        if not devices:
            print(f"  no audio {kind} devices found")
    return 0
