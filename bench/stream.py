"""Streaming benchmark: real speech at real-time pace through the audio websocket.

Streams, from ../shared/audio: `eval` (eval.tsv, the utterances joined with one
second of silence; one speaker holds the floor) and, with --session, the
four-speaker sessions (sessions/*.segments.json: a scripted chair gives each
speaker the floor at their turn's start, as a chair would; with --gaps LO HI, their
turns joined as a conversation, LO to HI s apart) and, with --folder,
every clip of a folder joined with short pauses (many short utterances: more
words, so a steadier WER, pooled over all streams at the end). For each model and
stream it starts the real server, streams the audio in 100 ms frames at real
time to /api/meetings/{id}/audio while a websocket client listens, and prints:

- word errors of the stored transcript (the segments, after the second look)
  against the references, and the same model's offline errors on the same audio
  (beam 5, VAD), after Whisper's English normaliser (its basic one for other
  languages), per stream and pooled;
- for a session, attribution: the share of stored words that match the
  reference and are stored under the speaker who said them (--late: the chair
  clicks 0.5-2 s after each speaker starts, as chairs do);
- committed-text latency p50/p95: from a word's end in the audio (word times
  from the offline pass, aligned to the committed words) to the moment the
  client received it as committed text (a caption's committed part or a segment);
- partial latency p50: the same, to its first appearance in any caption;
- real-time factor of the pipeline (model time / audio time), its lag (at the end
  and the most any caption reported), and the language the segments were stored in
  (--language es: the multilingual clips, with a multilingual model);
- peak RSS of the server process.

    .venv/bin/python bench/stream.py --model embedded:tiny.en --model embedded:base
    .venv/bin/python bench/stream.py --session synth_en_4spk_a --session synth_en_4spk_b
    .venv/bin/python bench/stream.py --folder read_en/ljspeech --folder read_en/hifitts_6097
    .venv/bin/python bench/stream.py --model embedded:base --beam 1 --language es --language fr [--undeclared]
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import itertools
import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jiwer
import numpy as np
import psutil
from common import ADMIN, percentile, start_server, wait_for_model
from whisper_normalizer.basic import BasicTextNormalizer
from whisper_normalizer.english import EnglishTextNormalizer

from assistant.config import AsrConfig
from assistant.speech.whisper import FasterWhisperRecognizer, load

AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"

SR = 16_000
PEOPLE = [("Ana Costa", "Brazil"), ("Brian Okafor", "Nigeria"), ("Chen Wei", "China"), ("Dina Haddad", "Lebanon")]


_NORMALIZER = EnglishTextNormalizer()
_BASIC = BasicTextNormalizer()


def normalize(text: str, language: str = "en") -> list[str]:
    """Words as Whisper's English normaliser writes them (spelling, numbers, contractions); other
    languages through its basic normaliser (case, punctuation, accents kept)."""
    return (_NORMALIZER(text) if language == "en" else _BASIC(text)).split()


def language_of(name: str) -> str:
    """The language a stream is spoken in: multilingual/es is Spanish; everything else English."""
    return name.split("/")[1] if name.startswith("multilingual/") else "en"


@dataclass(frozen=True)
class Turn:
    speaker: str
    start: float
    end: float
    text: str


def joined(clips: list[tuple[Path, Path]], pause_s: Callable[[], float]) -> tuple[np.ndarray, list[Turn]]:
    """One speaker's stream: the (audio, reference) clips in order, each followed by a pause."""
    from faster_whisper.audio import decode_audio

    pieces, texts = [], []
    for audio_path, ref_path in clips:
        pieces += [decode_audio(str(audio_path)), np.zeros(int(SR * pause_s()), np.float32)]
        texts.append(ref_path.read_text().strip())
    audio = np.concatenate(pieces)
    return audio, [Turn("Speaker", 0.0, len(audio) / SR, " ".join(texts))]


def eval_stream() -> tuple[np.ndarray, list[Turn]]:
    """eval.tsv: one speaker, the utterances joined with one second of silence."""
    pairs = [line.split("\t") for line in (AUDIO / "eval.tsv").read_text().splitlines()]
    return joined([(AUDIO / a, AUDIO / r) for a, r in pairs], lambda: 1.0)


def folder_stream(name: str) -> tuple[np.ndarray, list[Turn]]:
    """Every clip of a folder (read_en/ljspeech...), in name order, joined with pauses of 0.3 to 1.5 s
    as in conversation (the same pauses every run): many short utterances, more words to score."""
    import random

    clips = sorted(p for p in (AUDIO / name).iterdir() if p.suffix in (".flac", ".wav"))
    if not clips:
        raise SystemExit(f"no audio in {AUDIO / name}")
    pauses = random.Random(7)
    audio, turns = joined([(c, c.with_suffix(".txt")) for c in clips], lambda: pauses.uniform(0.3, 1.5))
    audio = np.concatenate([audio, np.zeros(SR, np.float32)])
    return audio, [Turn("Speaker", 0.0, len(audio) / SR, turns[0].text)]


def session_stream(name: str) -> tuple[np.ndarray, list[Turn]]:
    """A multi-speaker session with its exact turn times."""
    from faster_whisper.audio import decode_audio

    folder = AUDIO / "sessions"
    turns = [Turn(t["spk"], float(t["start"]), float(t["end"]), t["text"])
             for t in json.loads((folder / f"{name}.segments.json").read_text())]
    return decode_audio(str(folder / f"{name}.flac")), turns


def voiced(audio: np.ndarray, floor_db: float = -35.0) -> tuple[int, int]:
    """Where a clip's voice begins and ends (samples): the first and last 10 ms whose level is within
    `floor_db` of the loudest 10 ms (a read clip's edges are quiet, up to a few tenths of a second)."""
    frames = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    level = 20 * np.log10(np.sqrt((frames ** 2).mean(axis=1)) + 1e-9)
    loud = np.flatnonzero(level >= level.max() + floor_db)
    return int(loud[0]) * 160, (int(loud[-1]) + 1) * 160


def conversation_stream(name: str, gaps: tuple[float, float], seed: int = 7) -> tuple[np.ndarray, list[Turn]]:
    """A session's turns joined as in a conversation: each turn's voice (its clip's quiet edges cut
    off) follows the last one after a gap drawn from `gaps` (seconds between one voice's end and the
    next one's start; negative: they overlap, mixed), the same every run. Turn times are the voices'."""
    import random

    audio, turns = session_stream(name)
    rng = random.Random(seed)
    pieces: list[tuple[int, np.ndarray]] = []
    out: list[Turn] = []
    at = int(0.5 * SR)
    for turn in turns:
        clip = audio[int(turn.start * SR): int(turn.end * SR)]
        lo, hi = voiced(clip)
        clip = clip[lo:hi]
        if out:
            at = max(int(out[-1].end * SR + rng.uniform(*gaps) * SR), int(out[-1].start * SR) + 1)
        pieces.append((at, clip))
        out.append(Turn(turn.speaker, at / SR, (at + len(clip)) / SR, turn.text))
    mixed = np.zeros(max(a + len(c) for a, c in pieces) + SR, np.float32)
    for a, c in pieces:
        mixed[a: a + len(c)] += c
    return mixed, out


MULTILINGUAL = ("multilingual/picovoice", "multilingual/picovoice_cheetah")


def multilingual_stream(language: str) -> tuple[np.ndarray, list[Turn]]:
    """One speaker's turn in `language` (es, fr, de, it, pt): every clip of that language in
    ../shared/audio/multilingual (not the *_norm_* ones, written with digits), with short pauses."""
    import random

    clips = sorted(p for folder in MULTILINGUAL for p in (AUDIO / folder).glob(f"test_{language}*.wav")
                   if "_norm_" not in p.name)
    if not clips:
        raise SystemExit(f"no {language} audio in {AUDIO / 'multilingual'}")
    pauses = random.Random(7)
    audio, turns = joined([(c, c.with_suffix(".txt")) for c in clips], lambda: pauses.uniform(0.3, 1.5))
    return np.concatenate([audio, np.zeros(SR, np.float32)]), turns


def chosen_streams(args: argparse.Namespace, with_eval: bool = True) -> list[tuple[str, np.ndarray, list[Turn]]]:
    """The eval stream, then those named by --session, --folder and --language."""
    streams = [("eval", *eval_stream())] if with_eval else []
    if args.gaps:
        streams += [(f"{name}+gaps", *conversation_stream(name, args.gaps)) for name in args.session]
    else:
        streams += [(name, *session_stream(name)) for name in args.session]
    streams += [(name, *folder_stream(name)) for name in args.folder]
    streams += [(f"multilingual/{lang}", *multilingual_stream(lang)) for lang in args.language]
    if args.noise is None:
        return streams
    return [(name, with_noise(audio, args.noise), turns) for name, audio, turns in streams]


def with_noise(audio: np.ndarray, db: float) -> np.ndarray:
    """`audio` with white noise at `db` dBFS (RMS) throughout, the same every run: a hall's
    microphones never send digital silence, and the streams' pauses between clips are zeros."""
    noise = np.random.default_rng(0).normal(0.0, 10 ** (db / 20), len(audio))
    return (audio + noise).astype(np.float32)


def add_mixing_options(parser: argparse.ArgumentParser) -> None:
    """How the streams' audio is put together, for bench/stream.py, replay.py and attribution.py."""
    parser.add_argument("--gaps", type=float, nargs=2, metavar=("LO", "HI"),
                        help="the sessions' turns joined as a conversation (`conversation_stream`): LO to HI s "
                             "between one voice's end and the next one's start (negative: overlapping)")
    parser.add_argument("--noise", type=float, metavar="DB",
                        help="add white noise at DB dBFS to every stream (-60: a quiet room's microphone); the "
                             "pauses between clips are otherwise digital silence")


def add_stream_options(parser: argparse.ArgumentParser) -> None:
    """The options bench/stream.py and bench/replay.py share: the live pipeline's settings and the streams."""
    parser.add_argument("--beam", type=int, help="[asr] beam_size for the live pipeline (default: the config's)")
    parser.add_argument("--step", type=float, help="[asr] step_s for the live pipeline (default: the config's)")
    parser.add_argument("--encoder", type=float, help="[asr] encoder_s for the live pipeline (default: the config's)")
    parser.add_argument("--threads", type=int, help="[asr] threads for the live pipeline (default: the config's)")
    parser.add_argument("--errors", action="store_true", help="print each stream's word errors, live and offline")
    parser.add_argument("--session", action="append", default=[],
                        help="also stream sessions/NAME (synth_en_4spk_a, synth_en_4spk_b): speakers and floor changes")
    add_mixing_options(parser)
    parser.add_argument("--folder", action="append", default=[],
                        help="also stream every clip in FOLDER (read_en/ljspeech, read_en/hifitts_6097) with pauses")
    parser.add_argument("--language", action="append", default=[],
                        help="also stream the multilingual clips of LANGUAGE (es, fr, de, it, pt): needs a "
                             "multilingual model (--model embedded:base)")
    parser.add_argument("--no-eval", action="store_true", help="leave out the eval stream")
    parser.add_argument("--undeclared", action="store_true",
                        help="speakers declare no language: it is detected (multilingual models)")
    parser.add_argument("--late", action="store_true",
                        help="the chair clicks 0.5-2 s after each speaker starts (default: halfway through the gap)")


def live_settings(args: argparse.Namespace) -> dict[str, float]:
    """The [asr] settings of the live pipeline given on the command line (`add_stream_options`)."""
    given = {"beam_size": args.beam, "step_s": args.step, "encoder_s": args.encoder, "threads": args.threads}
    return {k: v for k, v in given.items() if v}


def offline(rec: FasterWhisperRecognizer, audio: np.ndarray, language: str = "en"
            ) -> tuple[list[tuple[str, float]], str, float]:
    """Words with end times, text, and seconds taken, from the same model offline."""
    t0 = time.perf_counter()
    segments, _ = rec.transcribe_file(audio, language=language)
    words, texts = [], []
    for seg in segments:
        texts.append(seg.text)
        for w in seg.words or []:
            for token in normalize(w.word, language):
                words.append((token, float(w.end)))
    return words, " ".join(texts), time.perf_counter() - t0


async def stream(model_spec: str, audio: np.ndarray, turns: list[Turn], data_dir: Path,
                 asr_extra: str = "", *, language: str = "en", declared: bool = True,
                 late: bool = False) -> dict[str, object]:
    """Stream `audio` at real time through a real server; the floor given at `clicks(turns, late)`;
    speakers declare `language` (or none: the server detects it)."""
    default = language if declared else "auto"
    proc, base = start_server(data_dir, f'[asr]\nmodel = "{model_spec}"\nlanguage = "{default}"\n{asr_extra}')
    server = psutil.Process(proc.pid)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_for_model(http, base)
            auth = {"Authorization": f"Bearer {ADMIN}"}
            created = await (await http.post(f"{base}/api/meetings", json={"title": "Stream bench", "agenda": ["General debate"]},
                                             headers=auth)).json()
            mid = created["id"]
            chair = {"Authorization": f"Bearer {created['chair_token']}"}
            tokens, names = {}, {}  # speaker label -> token; participant id -> speaker label
            for n, label in enumerate(dict.fromkeys(t.speaker for t in turns)):
                name, country = PEOPLE[n % len(PEOPLE)]  # names and affiliations bias recognition as in a meeting
                body = {"name": name, "affiliation": country, "group": "government", "mode": "onsite",
                        "invite_code": created["invite_code"], "language": language if declared else ""}
                joined = await (await http.post(f"{base}/api/meetings/{mid}/participants", json=body)).json()
                tokens[label], names[joined["participant_id"]] = joined["token"], label

            async def command(headers: dict[str, str], op: str) -> None:
                async with http.post(f"{base}/api/meetings/{mid}/commands", json={"op": op}, headers=headers) as r:
                    assert r.status < 400, await r.text()

            async def chair_script(start: float) -> None:
                """Each speaker asks a second before the chair gives them the floor (`clicks`)."""
                for i, (turn, cue) in enumerate(zip(turns, clicks(turns, late), strict=True)):
                    await asyncio.sleep(max(0.0, start + cue - 1.0 - time.perf_counter()))
                    await command({"Authorization": f"Bearer {tokens[turn.speaker]}"}, "request_floor")
                    await asyncio.sleep(max(0.0, start + cue - time.perf_counter()))
                    if i:
                        await command(chair, "end_turn")
                    await command(chair, "give_floor")

            listener = await http.ws_connect(f"{base}/api/meetings/{mid}/ws?token={created['chair_token']}")
            await listener.receive_json()

            stored: list[tuple[str, str]] = []  # words of the stored segments, with their speaker
            committed_at: list[float] = []  # arrival time of the k-th committed word
            seen_at: list[float] = []  # first time k words were on screen (committed or partial)
            # Per utterance (a live line): its committed and shown words from captions until its stored
            # segments replace it, then the stored words
            committed_by: dict[str, int] = {}
            shown_by: dict[str, int] = {}
            replaced: set[str] = set()
            languages: set[str] = set()
            lags: list[float] = []
            done = asyncio.Event()

            async def listen() -> None:
                while not done.is_set():
                    try:
                        msg = await listener.receive_json(timeout=1)
                    except TimeoutError:
                        continue
                    except (TypeError, aiohttp.ClientError):
                        return
                    now = time.perf_counter()
                    if msg.get("name") == "segment":
                        data = msg["data"]
                        who = names.get(data["speaker_id"], "(chair)")
                        words = normalize(data["text"], language)
                        stored.extend((w, who) for w in words)
                        languages.add(data.get("language", ""))
                        u = data.get("utterance_id", f"segment-{len(stored)}")
                        if u not in replaced:
                            replaced.add(u)
                            committed_by[u] = shown_by[u] = 0
                        committed_by[u] += len(words)
                        shown_by[u] += len(words)
                    elif msg.get("type") == "caption":
                        u = msg.get("utterance_id", "live")
                        if msg.get("stored"):
                            replaced.add(u)
                            committed_by[u] = shown_by[u] = 0
                        elif u not in replaced:
                            committed_by[u] = len(normalize(msg["committed"], language))
                            shown_by[u] = len(normalize(msg["text"], language))
                        lags.append(float(msg.get("lag_s", 0.0)))
                    else:
                        continue
                    committed, shown = sum(committed_by.values()), sum(shown_by.values())
                    while len(committed_at) < committed:
                        committed_at.append(now)
                    while len(seen_at) < shown:
                        seen_at.append(now)

            listening = asyncio.create_task(listen())
            peak_rss = server.memory_info().rss
            ws = await http.ws_connect(f"{base}/api/meetings/{mid}/audio?token={created['chair_token']}")
            frame = SR // 10
            pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
            start = time.perf_counter()
            script = asyncio.create_task(chair_script(start))
            for i, at in enumerate(range(0, len(pcm), frame)):
                await ws.send_bytes(pcm[at:at + frame].tobytes())
                peak_rss = max(peak_rss, server.memory_info().rss) if i % 10 == 0 else peak_rss
                delay = start + (i + 1) * 0.1 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await script
            health = await (await http.get(f"{base}/api/health", headers={"Authorization": f"Bearer {ADMIN}"})).json()
            await ws.close()
            await stored_all(http, base)
            await asyncio.sleep(0.5)  # the last events on their way to the listener
            done.set()
            await listening
            await listener.close()
            channel = next(iter(health["asr"]["channels"].values()), {"busy_s": float("nan"), "audio_s": 1, "lag_s": 0})
            return {"stored": stored, "committed_at": committed_at, "seen_at": seen_at, "start": start,
                    "peak_rss": peak_rss, "rtf": channel["busy_s"] / max(channel["audio_s"], 1e-9),
                    "lag_s": channel["lag_s"], "max_lag_s": max(lags, default=0.0), "languages": languages}
    finally:
        proc.terminate()  # the server commits what is still queued before it exits
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def errors(ref: str, hyp: str) -> str:
    """The substitutions, deletions and insertions, as reference -> hypothesis."""
    out = jiwer.process_words(ref, hyp)
    r, h = out.references[0], out.hypotheses[0]
    return "; ".join(f"{' '.join(r[c.ref_start_idx:c.ref_end_idx])!r} -> {' '.join(h[c.hyp_start_idx:c.hyp_end_idx])!r}"
                     for c in out.alignments[0] if c.type != "equal")


def matched(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Index pairs of the words of `a` and `b` that align (the same word in the same place)."""
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return [(block.a + k, block.b + k) for block in matcher.get_matching_blocks() for k in range(block.size)]


def clicks(turns: list[Turn], late: bool, seed: int = 7) -> list[float]:
    """When the chair gives each turn the floor: halfway through the gap before it, or, `late`, 0.5 to
    2 s after the speaker has started (a chair who looks up first)."""
    import random

    rng = random.Random(seed)
    if late:
        return [0.0] + [t.start + rng.uniform(0.5, 2.0) for t in turns[1:]]
    return [0.0] + [(a.end + b.start) / 2 for a, b in itertools.pairwise(turns)]


NEAR_CHANGE_S = 0.5  # words this close to a change of speaker are counted apart


def attribution(stored: list[tuple[str, str]], turns: list[Turn], timed: list[tuple[str, float]]
                ) -> tuple[int, int, int, int]:
    """Stored words that match the reference, how many of those carry the right speaker, and the
    same two counts for the words more than NEAR_CHANGE_S from a change of speaker. A reference
    word's time is the end of the offline word aligned to it (`timed`: offline words, end times);
    words offline did not hear are left out of the second pair."""
    ref = [(w, t.speaker) for t in turns for w in normalize(t.text)]
    pairs = matched([w for w, _ in stored], [w for w, _ in ref])
    at = {j: timed[k][1] for j, k in matched([w for w, _ in ref], [w for w, _ in timed])}
    changes = [t for a, b in itertools.pairwise(turns) if a.speaker != b.speaker for t in (a.end, b.start)]
    far = [(i, j) for i, j in pairs if j in at and all(abs(at[j] - c) > NEAR_CHANGE_S for c in changes)]
    return (len(pairs), sum(stored[i][1] == ref[j][1] for i, j in pairs),
            len(far), sum(stored[i][1] == ref[j][1] for i, j in far))


async def stored_all(http: aiohttp.ClientSession, base: str, limit_s: float = 120.0) -> None:
    """Wait until the server has stored what the stream said: a channel is listed in /api/health until
    its last window is decoded and stored (after the stream ends: up to 30 s of speech, on the record's
    one thread)."""
    for _ in range(int(limit_s / 0.2)):
        health = await (await http.get(f"{base}/api/health", headers={"Authorization": f"Bearer {ADMIN}"})).json()
        if not health["asr"]["channels"]:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"the server was still storing the stream {limit_s:.0f} s after it ended")


def misattributed(stored: list[tuple[str, str]], turns: list[Turn], language: str) -> str:
    """Runs of matched words stored under another speaker: "words" (turn k: said by A, stored as B)."""
    ref = [(w, t.speaker, k) for k, t in enumerate(turns) for w in normalize(t.text, language)]
    runs: list[list[Any]] = []
    for i, j in matched([w for w, _ in stored], [w for w, _, _ in ref]):
        if stored[i][1] != ref[j][1]:
            if runs and runs[-1][1] == ref[j][2] and runs[-1][3] == stored[i][1]:
                runs[-1][0].append(stored[i][0])
            else:
                runs.append([[stored[i][0]], ref[j][2], ref[j][1], stored[i][1]])
    return "; ".join(f"{' '.join(w)!r} (turn {k}: {said}, stored as {got})" for w, k, said, got in runs)


def latencies(arrivals: list[float], hyp: list[str], ref_words: list[tuple[str, float]], start: float) -> list[float]:
    """Arrival of each hypothesis word minus the end of the offline word it aligns to."""
    return [arrivals[i] - (start + ref_words[j][1]) for i, j in matched(hyp, [w for w, _ in ref_words])
            if i < len(arrivals)]


async def main(args: argparse.Namespace) -> None:
    if not (AUDIO / "eval.tsv").exists():
        raise SystemExit(f"no evaluation audio in {AUDIO}")
    streams = chosen_streams(args, with_eval=not args.no_eval)
    extra = "".join(f"{k} = {v}\n" for k, v in live_settings(args).items())
    extra += "second_look = false\n" if args.no_second_look else ""
    extra += f"second_look_beam_size = {args.look_beam}\n" if args.look_beam else ""
    for spec in args.model:
        print(f"\nmodel {spec}")
        with tempfile.TemporaryDirectory() as models:
            rec = load(AsrConfig(model=spec), Path(models))  # once per model, for every stream's offline pass
            pooled = {"words": 0, "streaming": 0, "offline": 0, "heard": 0, "right": 0}
            for name, audio, turns in streams:
                language = language_of(name)
                if language != "en" and not rec.multilingual:
                    print(f"  stream {name}: skipped, {spec} is English only")
                    continue
                ref = " ".join(w for t in turns for w in normalize(t.text, language))
                words, text, took = offline(rec, audio, language)
                off_hyp = " ".join(normalize(text, language))
                with tempfile.TemporaryDirectory() as tmp:
                    live = await stream(spec, audio, turns, Path(tmp), extra, language=language,
                                        declared=not args.undeclared, late=args.late)
                stored: list[tuple[str, str]] = live["stored"]  # type: ignore[assignment]
                hyp = [w for w, _ in stored]
                n = len(ref.split())
                stored_errors, offline_errors = word_errors(ref, " ".join(hyp)), word_errors(ref, off_hyp)
                committed = latencies(live["committed_at"], hyp, words, live["start"])  # type: ignore[arg-type]
                # the k-th word on screen is taken for the k-th committed word, aligned like those: an
                # inserted word must not shift every later one onto the wrong reference word
                partial = latencies(live["seen_at"], hyp, words, live["start"])  # type: ignore[arg-type]
                speakers = len({t.speaker for t in turns})
                print(f"  stream {name}: {len(audio) / SR:.1f} s, {n} reference words, "
                      f"{len(turns)} turns by {speakers} speaker{'s' if speakers > 1 else ''}"
                      + ("" if language == "en" else f", {language} ({'declared' if not args.undeclared else 'detected'})"))
                print(f"    stored WER {100 * stored_errors / n:.1f} % ({stored_errors} errors)  offline "
                      f"{100 * offline_errors / n:.1f} % ({offline_errors})  (offline pass took {took:.1f} s)")
                print(f"    committed latency p50 {percentile(committed, 50):.2f} s  p95 {percentile(committed, 95):.2f} s"
                      f"  ({len(committed)} words aligned)")
                print(f"    partial latency p50 {percentile(partial, 50):.2f} s")
                if args.errors:
                    print(f"    errors: {errors(ref, ' '.join(hyp))}")
                    print(f"    offline errors: {errors(ref, off_hyp)}")
                if speakers > 1:
                    heard, right, far, far_right = attribution(stored, turns, words)
                    pooled["heard"] += heard
                    pooled["right"] += right
                    print(f"    attribution {100 * right / max(heard, 1):.1f} % of {heard} matched words "
                          f"under the right speaker; {100 * far_right / max(far, 1):.1f} % of the {far} more than "
                          f"{NEAR_CHANGE_S} s from a change of speaker")
                    if args.errors:
                        print(f"    misattributed: {misattributed(stored, turns, language)}")
                print(f"    real-time factor {live['rtf']:.2f}  lag at the end {live['lag_s']:.2f} s, "
                      f"max {live['max_lag_s']:.2f} s; stored language {', '.join(sorted(live['languages']))}")  # type: ignore[arg-type]
                print(f"    server peak RSS {live['peak_rss'] / 2**20:.0f} MiB")  # type: ignore[operator]
                pooled["words"] += n
                pooled["streaming"] += stored_errors
                pooled["offline"] += offline_errors
            if len(streams) > 1:
                n = max(pooled["words"], 1)
                off = pooled["offline"]
                print(f"  pooled over {len(streams)} streams, {pooled['words']} words: stored WER "
                      f"{100 * pooled['streaming'] / n:.1f} % ({pooled['streaming']} errors)  offline "
                      f"{100 * off / n:.1f} % ({off}): {100 * (pooled['streaming'] - off) / max(off, 1):+.1f} % relative"
                      + (f"; attribution {100 * pooled['right'] / pooled['heard']:.1f} % of {pooled['heard']}"
                         if pooled["heard"] else ""))


def word_errors(ref: str, hyp: str) -> int:
    out = jiwer.process_words(ref, hyp)
    return int(out.substitutions + out.deletions + out.insertions)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="embedded:tiny.en (default), embedded:base, or any model")
    add_stream_options(parser)
    parser.add_argument("--no-second-look", action="store_true", help="store lines as heard live")
    parser.add_argument("--look-beam", type=int, help="[asr] second_look_beam_size (default: the config's)")
    parsed = parser.parse_args()
    parsed.model = parsed.model or ["embedded:tiny.en"]
    asyncio.run(main(parsed))
