"""Where the voice changes: cepstra, their divergence, and the gate's runs cut where one voice gives way
to another with no pause between."""

from __future__ import annotations

import functools
import json
import operator
from typing import Any

import numpy as np
import pytest
from conftest import AUDIO
from fakes import loud_windows

from assistant.audio.pcm import SAMPLE_RATE
from assistant.speech.gate import Run, SpeechGate
from assistant.speech.voices import WINDOW, Voice, VoiceChanges, cepstra, distance, divergence


def coloured(seconds: float, pole: float, seed: int) -> np.ndarray:
    """Noise through a one-pole filter: `pole` near 1 is dark (low frequencies), near -1 bright."""
    white = np.random.default_rng(seed).normal(0, 0.1, int(seconds * SAMPLE_RATE))
    out = np.empty_like(white)
    last = 0.0
    for k, x in enumerate(white):
        last = x + pole * last
        out[k] = last
    return (0.2 * out / np.abs(out).max()).astype(np.float32)


def windows(audio: np.ndarray) -> np.ndarray:
    return audio[: len(audio) // WINDOW * WINDOW].reshape(-1, WINDOW)


def test_the_same_sound_lies_close_and_another_lies_far() -> None:
    dark, dark_again, bright = (cepstra(windows(coloured(1.0, p, s))) for p, s in ((0.9, 1), (0.9, 2), (-0.6, 3)))
    assert divergence(dark, dark_again) < 0.5 < 2.0 < divergence(dark, bright)
    assert divergence(dark, bright) == pytest.approx(divergence(bright, dark))  # symmetric
    assert divergence(dark[:2], bright) == 0.0  # too little to tell


def test_the_gate_cuts_a_run_where_the_voice_changes_with_no_pause_between() -> None:
    gate = SpeechGate(loud_windows())
    audio = np.concatenate([coloured(3.0, 0.9, 1), coloured(3.0, -0.6, 2), np.zeros(SAMPLE_RATE, np.float32)])
    for at in range(0, len(audio), 1600):
        gate.push(audio[at : at + 1600])
    (a, b, *_), (c, d, change, _) = gate.runs
    assert a == 0.0 and b == c and abs(c - 3.0) < 0.1 and d is not None and abs(d - 6.0) < 0.1
    assert change >= 2.0  # the onset keeps how much the voice changed there


def heard(*pieces: np.ndarray) -> list[tuple[float, float | None, float | None]]:
    gate = SpeechGate(loud_windows())
    audio = np.concatenate([*pieces, np.zeros(SAMPLE_RATE, np.float32)])
    for at in range(0, len(audio), 1600):
        gate.push(audio[at : at + 1600])
    return [(round(a, 1), None if b is None else round(b, 1), c) for a, b, c, _ in gate.runs]


def test_a_voice_going_on_is_never_cut() -> None:
    assert len(heard(coloured(6.0, 0.9, 1))) == 1


def test_only_a_change_from_two_up_cuts_a_run() -> None:
    """Two sounds scoring about 2.5 apart cut; two scoring about 1 (`test_the_same_sound...`) do not."""
    assert [(a, b) for a, b, _ in heard(coloured(3.0, 0.9, 1), coloured(3.0, 0.7, 2))] == [(0.0, 3.0), (3.0, 6.0)]
    assert len(heard(coloured(3.0, 0.9, 1), coloured(3.0, 0.8, 2))) == 1


def test_a_change_of_voice_too_near_a_runs_onset_scores_it_and_does_not_cut() -> None:
    """A pause, 0.2 s of the same voice, then another: no cut 0.2 s into the run (CUT_MARGIN_S); the
    run's onset keeps a score (the voice after it is mostly the new one)."""
    quiet = np.zeros(SAMPLE_RATE // 2, np.float32)
    runs = heard(coloured(3.0, 0.9, 1), quiet, coloured(0.2, 0.9, 2), coloured(3.0, -0.6, 3))
    assert [(a, b) for a, b, _ in runs] == [(0.0, 3.0), (3.5, 6.7)]
    assert runs[1][2] is not None and runs[1][2] > 2.0


def test_a_score_needs_a_second_of_speech_after_its_point() -> None:
    voices = VoiceChanges()
    scored, cuts = voices.push([k * WINDOW / SAMPLE_RATE for k in range(60)], cepstra(windows(coloured(60 * 0.032, 0.9, 1))))
    assert len(scored) == 60 - voices.n - voices.n // 2 + 1 and not cuts  # half a second before, a second after


SESSION = AUDIO / "sessions" / "synth_en_4spk_a"
needs_session = pytest.mark.skipif(not SESSION.with_suffix(".flac").exists(), reason="shared audio not present")


@functools.cache
def session() -> tuple[list[dict[str, Any]], list[Run]]:
    """A four-speaker session of real read speech (0.3-1.5 s between speakers): its turns, and the
    gate's runs of speech over it (Silero, fed a tenth of a second at a time, as a channel feeds it)."""
    from faster_whisper.audio import decode_audio

    from assistant.speech.vad import SileroProbabilities

    audio = decode_audio(str(SESSION.with_suffix(".flac")))
    gate = SpeechGate(SileroProbabilities(), runs_kept=10_000)
    for at in range(0, len(audio), 1600):
        gate.push(audio[at : at + 1600])
    return json.loads(SESSION.with_suffix(".segments.json").read_text()), list(gate.runs)


@needs_session
def test_real_speakers_turns_begin_with_a_voice_change_their_breaths_do_not() -> None:
    """The runs that begin a turn carry a voice change over three times the other runs' (median 1.76
    against 0.50), and most of them more than a breath's (`attribution.BREATH_VOICE`) where few of the
    others do."""
    from assistant.speech.attribution import BREATH_VOICE

    turns, heard = session()
    starts = [t["start"] for t in turns[1:]]
    runs = [run for run in heard[1:] if run.change is not None]  # the last second: not scored
    near = [min(abs(run.onset - s) for s in starts) < 0.25 for run in runs]
    begin = np.array([run.change for run, n in zip(runs, near, strict=True) if n])
    others = np.array([run.change for run, n in zip(runs, near, strict=True) if not n])
    assert len(begin) >= 0.8 * len(starts) and len(others) > 0
    assert np.median(begin) > 3 * np.median(others)
    assert (begin > BREATH_VOICE).mean() > 0.75 and (others > BREATH_VOICE).mean() < 0.3


@needs_session
def test_real_speakers_sound_like_themselves_and_not_like_the_speaker_before() -> None:
    """At each change of speaker (both heard before, `attribution.KNOWN_S` at least), the new
    speaker's first run of speech lies nearer their own voice, summed from their earlier turns, than
    the previous speaker's, and the previous speaker's last run nearer theirs than the new one's
    (`voices.distance`, `attribution.HEARD_S` of speech at least), nearly always by
    `attribution.NEARER` or more."""
    from assistant.speech.attribution import HEARD_S, KNOWN_S, NEARER

    turns, heard = session()
    runs = [run for run in heard if run.voice is not None and run.end is not None]

    def voice(of: list[Run]) -> Voice:
        return functools.reduce(operator.add, [run.voice for run in of if run.voice is not None], Voice.of(np.zeros((0, 13))))

    def turn(t: dict[str, Any]) -> list[Run]:
        return [run for run in runs if t["start"] - 0.1 <= run.onset and run.end is not None and run.end <= t["end"] + 0.1]

    def enough(of: list[Run]) -> list[Run]:
        """The first of these runs that hold HEARD_S of speech."""
        k = 1
        while k < len(of) and voice(of[:k]).seconds < HEARD_S:
            k += 1
        return of[:k]

    margins = []
    for k in range(1, len(turns)):
        before, now = turns[k - 1], turns[k]
        last, first = enough(turn(before)[::-1]), enough(turn(now))
        known = {who: voice([run for t in turns[:k] if t["spk"] == who for run in turn(t) if all(run is not x for x in last)])
                 for who in (before["spk"], now["spk"])}
        if before["spk"] == now["spk"] or not first or not last or min(v.seconds for v in known.values()) < KNOWN_S:
            continue
        for said, own, other in ((voice(first), now["spk"], before["spk"]), (voice(last), before["spk"], now["spk"])):
            margins.append(distance(said, known[other]) - distance(said, known[own]))
    m = np.array(margins)
    assert len(m) >= 30
    assert (m > 0).all() and (m >= NEARER).mean() > 0.9  # 44 of 44, all but one (0.15) by NEARER


@pytest.mark.parametrize("piece_s", [0.1, 0.5, 1.0, 2.0, 5.0])
def test_a_runs_voice_is_what_was_heard_in_it_and_a_cut_shares_it_out(piece_s: float) -> None:
    """The gate sums each run's cepstra as it grows (`voices.Voice`); where a change of voice cuts a
    run, each part keeps the voice of its own windows, however much audio each push brings (a
    channel catching up pushes 2 s at once)."""
    gate = SpeechGate(loud_windows())
    dark, bright = coloured(3.0, 0.9, 1), coloured(3.0, -0.6, 2)
    audio = np.concatenate([dark, bright, np.zeros(SAMPLE_RATE, np.float32)])
    piece = int(piece_s * SAMPLE_RATE)
    for at in range(0, len(audio), piece):
        gate.push(audio[at : at + piece])
    first, second = (run.voice for run in gate.runs)
    assert first is not None and second is not None
    assert abs(first.count + second.count - 2 * len(dark) / WINDOW) <= 1  # every window of both sounds
    assert abs(first.count - len(dark) / WINDOW) <= 1
    assert distance(first, Voice.of(cepstra(windows(dark)))) < 0.1
    assert distance(second, Voice.of(cepstra(windows(bright)))) < 0.1
    assert distance(first, second) > 2.0
