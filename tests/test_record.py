"""The record: which speech its windows hear (offline's VAD), when a window is decoded, and which
line each decided word goes to. Pure: the recognizer is a fake, no loop."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import ToneRecognizer, silence, tone

from assistant.audio.pcm import SAMPLE_RATE
from assistant.speech import record
from assistant.speech.attribution import Line
from assistant.speech.gate import WINDOW
from assistant.speech.record import (
    AudioHistory,
    Job,
    TimeMap,
    assign,
    checked,
    decode,
    due,
    hand_out,
    hotwords_heard,
    missed,
    speech_chunks,
)
from assistant.speech.streaming import Word, join_words


def words(text: str, start: float = 0.0, step: float = 0.5) -> list[Word]:
    return [Word(start + i * step, start + i * step + 0.4, " " + w) for i, w in enumerate(text.split())]


def line(text: str, start: float, number: int = 1, language: str | None = "en", speaker: str = "ana") -> Line:
    return Line(number, speaker, words(text, start), language)


def windows_of(audio: np.ndarray) -> np.ndarray:
    """The tone language's VAD: anything loud is speech."""
    n = len(audio) // WINDOW
    return (np.abs(audio[: n * WINDOW].reshape(n, WINDOW)).max(axis=1) > 0.05).astype(np.float32)


@pytest.mark.parametrize("seed", range(6))
def test_the_speech_is_chunked_as_faster_whispers_own_vad_chunks_it_offline(seed: int,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Random probabilities (runs of speech and quiet of every length, and the grey zone between the
    two thresholds) through faster-whisper's get_speech_timestamps and through ours: the same chunks."""
    from faster_whisper import vad

    rng = np.random.default_rng(seed)
    runs = [rng.choice([0.1, 0.4, 0.9], p=[0.45, 0.1, 0.45]) * np.ones(rng.integers(1, 120)) for _ in range(60)]
    probabilities = np.concatenate(runs).astype(np.float32)
    samples = len(probabilities) * WINDOW - int(rng.integers(0, WINDOW))  # audio ends inside its last window
    monkeypatch.setattr(vad, "get_vad_model", lambda: lambda padded: probabilities[: len(padded) // WINDOW])
    theirs = vad.get_speech_timestamps(np.zeros(samples, np.float32), vad.VadOptions())
    assert speech_chunks(probabilities, samples) == [(c["start"], c["end"]) for c in theirs]


def test_silences_of_two_seconds_or_more_are_left_out_and_word_times_map_back() -> None:
    audio = np.concatenate([tone("good morning everyone."), silence(5), tone("thank you chair."), silence(1)])
    chunks = speech_chunks(windows_of(audio), len(audio))
    assert len(chunks) == 2  # the 5.1 s of quiet after "everyone." is left out, less 0.4 s on each side
    joined = record.joined(audio, chunks)
    assert abs(len(audio) - len(joined) - (5.1 - 2 * record.VAD_PAD_S) * SAMPLE_RATE) < WINDOW
    timeline = TimeMap(chunks)
    heard = ToneRecognizer().transcribe(joined, language="en", prompt="", hotwords="")
    assert [round(timeline.word(w).start, 2) for w in heard] == [0.0, 0.5, 1.0, 6.5, 7.0, 7.5]


class Windows(ToneRecognizer):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[float, tuple[int, ...]]] = []  # (seconds of speech given, prompt)

    def decode_window(self, speech: np.ndarray, **kw: object) -> record.Window:
        self.asked.append(((len(speech) - kw["start"]) / SAMPLE_RATE, kw["prompt"]))  # type: ignore[operator]
        return super().decode_window(speech, **kw)  # type: ignore[arg-type]


def job(audio: np.ndarray, *, final: bool, start: float = 100.0, prompt: tuple[int, ...] = ()) -> Job:
    return Job(start=start, seek=start, audio=audio, probabilities=windows_of(audio), in_speech=False, final=final,
               prompt=prompt, level=0.0, hotwords="", language="en", beam_size=5)


def test_a_window_is_decoded_once_the_speech_holds_a_whole_one_and_the_next_starts_at_its_last_word() -> None:
    sentence = np.concatenate([tone("we support this proposal."), silence(1.0)])  # 3 s, no silence left out
    rec = Windows()
    short = np.concatenate([sentence] * 10)  # 30 s of speech: not settled yet
    assert decode(job(short, final=False), rec) == record.Decoded(until=100.0, language="en", level=0.0)
    assert not rec.asked
    audio = np.concatenate([sentence] * 12)  # 36 s
    out = decode(job(audio, final=False, prompt=(1, 2)), rec)
    assert out.windows == 1 and rec.asked == [(36.0, (1, 2))]
    assert out.until == pytest.approx(100.0 + 28.9)  # the end of the last whole word in the window
    assert join_words(out.words).count("proposal.") == 10 and out.words[0].start == pytest.approx(100.0)
    assert "".join(map(chr, out.prompt[2:])).strip().startswith("we support")


def test_a_flush_decodes_every_window_to_the_end_each_conditioned_on_the_one_before() -> None:
    sentence = np.concatenate([tone("we support this proposal."), silence(1.0)])
    rec = Windows()
    out = decode(job(np.concatenate([sentence] * 12), final=True), rec)
    assert out.windows == 2 and out.until == pytest.approx(136.0)
    assert join_words(out.words).count("proposal.") == 12
    assert rec.asked[1][1] and "".join(map(chr, rec.asked[1][1])).count("proposal.") == 10
    assert decode(job(silence(3), final=True), rec).windows == 0  # nothing said: nothing decoded


def test_a_window_is_due_with_a_whole_windows_speech_and_a_flush_after_a_quiet() -> None:
    lines = [line("good morning everyone", 0.0)]  # ends 1.4
    kw = {"open_line": None, "voiced_until": 1.4, "final": False, "multilingual": False}
    assert due(lines, speech_after_s=10.0, heard_until=1.4 + record.QUIET_S - 0.1, pause=True, **kw) is None
    assert due(lines, speech_after_s=10.0, heard_until=1.4 + record.QUIET_S, pause=True, **kw) == (3.4, True)
    assert due(lines, speech_after_s=10.0, heard_until=9.0, pause=False, **kw) is None  # someone speaks
    # the VAD heard speech after the last line that the live passes have not committed yet: no pause
    assert due(lines, speech_after_s=10.0, heard_until=9.0, pause=True, open_line=None, voiced_until=8.5,
               final=False, multilingual=False) is None
    whole = record.WINDOW_S + record.SETTLED_S
    assert due(lines, speech_after_s=whole, heard_until=40.0, pause=False, **kw) == (40.0, False)
    assert due([], speech_after_s=whole, heard_until=40.0, pause=False, **kw) == (40.0, False)
    assert due([], speech_after_s=0.0, heard_until=50.0, pause=True, open_line=None, voiced_until=0.0,
               final=True, multilingual=False) == (50.0, True)


def test_a_window_never_spans_a_change_of_language() -> None:
    lines = [line("buenos dias", 0.0, 1, None), line("a todos", 2.0, 2, "es"), line("good morning", 4.0, 3, "en")]
    kw = {"speech_after_s": 5.0, "heard_until": 9.0, "voiced_until": 9.0, "pause": False, "final": False,
          "multilingual": True}
    assert due(lines, open_line=None, **kw) == (4.0, True)  # the Spanish lines, now
    assert due(lines[2:], open_line=line("thank you", 6.0, 4, "en"), **kw) is None
    # a French line is being said: the English before it, up to where the French starts
    assert due(lines[2:], open_line=line("merci", 6.0, 4, "fr"), **kw) == (6.0, True)
    # a line whose language is not known yet (closed before its turn's was found) never joins another speaker's
    thanks = Line(1, "ana", words("thank you madam chair", 0.0), None)
    merci = Line(2, "ben", words("merci madame la présidente", 3.0), "fr")
    assert due([thanks, merci], open_line=None, **kw) == (3.0, True)
    # an English model has one language: nothing to flush for
    assert due([thanks, merci], open_line=line("merci", 6.0, 4, "fr"), **{**kw, "multilingual": False}) is None


def test_a_line_takes_its_words_once_the_windows_decided_them_all() -> None:
    lines = [line("we support the sub license", 0.0), line("thank you chair", 5.0, 2)]  # to 2.4 and 6.4
    heard = [*words("we support the sublicense", 0.0), Word(3.2, 3.5, " indeed"), *words("thank you", 5.0)]
    given, rest = hand_out(lines, heard, until=5.9)  # the window ended before "chair"
    assert [join_words(w) for w in given] == ["we support the sublicense indeed"]
    assert join_words(rest) == "thank you"
    given, rest = hand_out(lines[1:], [*rest, *words("chair and", 6.0)], until=7.5)
    assert [join_words(w) for w in given] == ["thank you chair and"] and not rest


def test_a_line_ending_just_past_the_window_is_decided_when_the_window_heard_its_last_word() -> None:
    lines = [line("we support this proposal", 0.0)]  # ends 1.9
    heard = words("we support this proposal", 0.0)
    assert hand_out(lines, heard, until=1.5)[0] == [heard]  # Whisper timed the end 0.4 s earlier
    assert hand_out(lines, heard[:3], until=1.5) == ([], heard[:3])  # "proposal" is the next window's


def test_the_next_speech_and_what_whisper_invents_where_a_flush_stops_are_not_the_lines() -> None:
    lines = [line("portions of the software.", 0.0)]  # ends 1.9
    invented = [Word(1.85, 1.85, " Thank", 0.0), Word(1.85, 1.9, " you", 0.98), Word(1.9, 2.0, " much.", 0.9)]
    given, rest = hand_out(lines, [*words("portions of the software."), *invented], until=3.0)
    assert [join_words(w) for w in given] == ["portions of the software."] and not rest
    given, rest = hand_out(lines, [*words("portions of the software."), Word(1.9, 2.1, " Yes.", 0.9),
                                   Word(2.8, 3.0, " Next")], until=3.0)
    assert [join_words(w) for w in given] == ["portions of the software. Yes."] and join_words(rest) == "Next"


def test_a_word_goes_to_the_line_of_the_live_word_it_matches_even_when_its_time_is_off() -> None:
    lines = [line("thank you chair", 0.0), Line(2, "ben", words("he could wait no longer", 3.0), "en")]
    heard = [*words("thank you chair he could", 0.0), *words("wait no longer", 3.0)]  # "he could" timed a second early
    first, second = assign(lines, heard)
    assert join_words(first) == "thank you chair" and join_words(second) == "he could wait no longer"
    assert [join_words(w) for w in hand_out(lines, heard, until=6.0)[0]] == ["thank you chair", "he could wait no longer"]


def test_a_line_the_windows_missed_keeps_its_live_words() -> None:
    live = words("we support this proposal")
    assert missed(live, words("we"))
    assert missed(live, words("we support"))  # 9 letters of 22
    assert not missed(live, words("we support this"))
    assert not missed(words("yes"), [])  # a word or two: the windows may well be right


def test_a_stretch_the_windows_skipped_inside_a_line_keeps_its_live_words() -> None:
    """hifitts, with a microphone's noise: the window heard "if you love me and will" and jumped
    ahead; the live passes heard the rest of the line on their own."""
    live = words("if you love me and will wed me it is enough", 0.0)
    heard = words("if you love me and will", 0.0)
    stored, kept = checked(live, heard)
    assert join_words(stored) == "if you love me and will wed me it is enough" and kept == 1
    assert stored[6:] == live[6:]  # the live words, with their times
    # a stretch heard as something much shorter ("answer could be given and to see" -> "only")
    live = words("and was away before an answer could be given and to see")
    stored, kept = checked(live, words("and was away before an only"))
    assert join_words(stored) == "and was away before an answer could be given and to see" and kept == 1
    # words heard differently, as long or longer, are the windows' ("tense" -> "tents", a compound)
    live = words("they put up tense for the sub license holders")
    heard = words("they put up tents for the sublicense holders")
    assert checked(live, heard) == (heard, 0)
    # a word or two the windows left out: they may well be right (a repetition, a false start)
    live = words("we we support the the proposal")
    heard = words("we support the proposal")
    assert checked(live, heard) == (heard, 0)
    # words the live passes committed twice, heard once by the windows (in the line or next to it)
    live = words("the horizon seems extremely distant horizon seems extremely distant")
    heard = words("the horizon seems extremely distant")
    assert checked(live, heard) == (heard, 0)
    live = words("so we all agree on this point today horizon seems extremely distant")
    agreed = words("so we all agree on this point today")
    assert checked(live, agreed) == ([*agreed, *live[8:]], 1)
    assert checked(live, agreed, around=heard) == (agreed, 0)
    assert checked(words("horizon seems extremely distant"), [], around=heard) == ([], 0)  # a whole line
    # a line the windows missed as a whole, as before
    live = words("we support this proposal")
    assert checked(live, words("we support")) == (live, 1)


def test_a_word_heard_where_the_live_passes_heard_other_words_goes_to_their_line_and_replaces_them() -> None:
    """hifitts: "hitherto" heard live as "in the two", its own line; the windows heard "hitherto",
    which matches no live word. It lies on that line, not on its neighbours' lines: it is that line's
    word, and the line is not one the windows missed (stored as heard live, next to "hitherto"
    given to a neighbour, it was three words too many)."""
    lines = [line("said the king", 0.0, 1), line("in the two", 2.0, 2), line("beside the bridge", 4.0, 3)]
    heard = [*words("said the king", 0.0), Word(2.0, 2.9, " hitherto"), *words("beside the bridge", 4.0)]
    given = assign(lines, heard)
    assert [join_words(w) for w in given] == ["said the king", "hitherto", "beside the bridge"]
    assert not missed(lines[1].words, given[1])
    # one long word for three short ones counts as the same speech: letters, not words
    assert not missed(words("in the two"), [Word(0.0, 0.9, " hitherto")])
    # a word nearer a neighbour's line still goes with that neighbour
    heard = [*words("said the king", 0.0), Word(1.2, 1.5, " then"), *words("beside the bridge", 4.0)]
    assert [join_words(w) for w in assign(lines, heard)] == ["said the king then", "", "beside the bridge"]


def test_names_are_hotwords_only_if_heard() -> None:
    assert hotwords_heard("Luis Romero Peru General debate", [line("thank you Peru", 0.0)]) == "Peru"


def test_the_audio_kept_is_bounded_and_stays_on_the_timeline_with_its_vad() -> None:
    history = AudioHistory(keep_s=2.0)
    for n in range(10):  # ten seconds, a second at a time, each second its own value
        second = np.full(SAMPLE_RATE, n, np.float32)
        history.append(second)
        taken = (n + 1) * SAMPLE_RATE // WINDOW - n * SAMPLE_RATE // WINDOW  # the gate's whole windows
        history.append_probabilities(np.full(taken, n))
    assert history.end == 10.0 and 7.5 <= history.start <= 8.0  # at most a quarter over the bound
    start, audio, probabilities = history.slice(8.5, 9.25)
    assert start <= 8.5 < start + WINDOW / SAMPLE_RATE and audio[-1] == 9
    assert len(probabilities) == len(audio) // WINDOW and len(audio) % WINDOW == 0
    assert probabilities[0] == 8 and probabilities[-1] == 9
    assert history.slice(1.0, 9.0)[0] == history.start  # what is gone is gone


def test_the_vad_run_as_the_audio_comes_gives_the_probabilities_offline_computes_over_the_recording() -> None:
    from faster_whisper.vad import get_vad_model

    from assistant.speech.vad import SileroStream

    rng = np.random.default_rng(3)
    audio = np.concatenate([tone("good morning everyone."), rng.normal(0, 0.05, 5 * SAMPLE_RATE).astype(np.float32),
                            silence(2), tone("thank you chair.")])
    audio = audio[: len(audio) // WINDOW * WINDOW]
    offline = np.asarray(get_vad_model()(audio)).reshape(-1)
    vad, live, at = SileroStream(), [], 0
    for size in rng.integers(1, 40, 200) * WINDOW:  # pieces of 1 to 39 windows, as the gate takes them
        live.append(vad(audio[at : at + size]))
        at += size
    assert at >= len(audio)
    assert np.array_equal(np.concatenate(live), offline)
