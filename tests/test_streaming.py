"""The streaming policy and the VAD gate, with a scripted recognizer: no model, no loop."""

from __future__ import annotations

import numpy as np

from assistant.speech.gate import WINDOW, SpeechGate
from assistant.speech.streaming import (
    SAMPLE_RATE,
    STOPPED_S,
    HypothesisBuffer,
    StreamingTranscriber,
    Word,
    join_words,
    loop_at,
    with_punctuation_attached,
    without_loop,
)


class Scripted:
    """Hears the scripted words that end inside the audio it is given; the last one may be misheard."""

    multilingual = False

    def __init__(self, words: list[Word], flaky_tail: bool = False) -> None:
        self.words, self.flaky_tail = words, flaky_tail
        self.transcriber: StreamingTranscriber | None = None
        self.calls: list[tuple[float, str]] = []
        self.heard_s: list[float] = []  # the length of audio of each pass

    def transcribe(self, audio, *, language, prompt, hotwords):
        assert self.transcriber is not None
        offset = self.transcriber.offset
        end = offset + len(audio) / SAMPLE_RATE
        self.calls.append((offset, prompt))
        self.heard_s.append(end - offset)
        heard = [w for w in self.words if w.start >= offset - 0.05 and w.end <= end]
        if self.flaky_tail and heard:
            last = heard[-1]
            heard[-1] = Word(last.start, last.end, last.text + "-ish")  # unstable until more audio
        return [Word(w.start - offset, w.end - offset, w.text, w.probability) for w in heard]


def sentence(text: str, start: float, dur: float = 0.4) -> list[Word]:
    return [Word(start + i * dur, start + (i + 1) * dur - 0.05, " " + t) for i, t in enumerate(text.split())]


def stream(words: list[Word], seconds: float, step: float = 0.5, flaky: bool = False, trim_s: float = 12.0,
           confident: float | None = None):
    rec = Scripted(words, flaky)
    st = StreamingTranscriber(rec, trim_s=trim_s, confident=confident)
    rec.transcriber = st
    commits: list[tuple[float, list[Word]]] = []
    n = int(step * SAMPLE_RATE)
    for i in range(int(seconds / step)):
        st.insert_audio(np.zeros(n, np.float32))
        commits.append(((i + 1) * step, st.process().committed))
    tail = st.finish()
    return st, rec, commits, tail


def test_every_word_committed_once_in_order() -> None:
    words = sentence("the floor is given to the delegate of kenya.", 0.2) + sentence("thank you chair.", 5.0)
    st, _, _, _ = stream(words, 8.0)
    assert join_words(st.committed) == "the floor is given to the delegate of kenya. thank you chair."


def test_words_wait_for_agreement() -> None:
    words = sentence("one two three four", 0.0)
    st, _, commits, tail = stream(words, 2.0, flaky=True)
    committed_at = {w.text.strip(): t for t, batch in commits for w in batch}
    # a word is committed only once a later hypothesis agrees with it
    for w in words:
        key = w.text.strip()
        if key in committed_at:
            assert committed_at[key] >= w.end + 0.5 - 1e-9
    # "three" was last heard as the unstable tail and "four" only as that: both come out of finish()
    assert [w.text.strip() for w in st.committed] == ["one", "two", "three", "four-ish"]
    assert [w.text.strip() for w in tail] == ["three", "four-ish"]


def test_buffer_trimmed_after_committed_sentences_and_prompted() -> None:
    words = []
    t = 0.0
    for i in range(8):
        words += sentence(f"sentence number {i} ends here.", t)
        t += 2.5
    st, rec, _, _ = stream(words, t + 1, trim_s=5.0)
    assert st.buffered_s < 8.0  # never grows with the whole stream
    assert any("sentence number 0 ends here." in prompt for _, prompt in rec.calls)
    assert join_words(st.committed).count("ends here.") == 8


def test_a_run_on_sentence_is_cut_at_clauses_or_the_longest_pause() -> None:
    """No full stop for half a minute (a licence read aloud, a long list): the buffer is still cut,
    at a comma where there is one, else after the committed word followed by the longest silence;
    a pass never hears more than about trim_s, and every word comes out once."""
    words: list[Word] = []
    t = 0.0
    for i in range(40):
        text = f" word{i}," if i % 7 == 6 else f" word{i}"
        gap = 0.35 if i % 5 == 4 else 0.05  # a longer breath after every fifth word
        words.append(Word(t, t + 0.35, text))
        t += 0.35 + gap
    st, rec, _, _ = stream(words, t + 1, trim_s=4.0, confident=None)
    assert max(rec.heard_s) < 4.0 + 2.0  # trim_s, plus the words not yet agreed on
    assert [w.text for w in st.committed] == [w.text for w in words]
    cuts = sorted({offset for offset, _ in rec.calls if offset > 0})
    ends = {round(w.end, 3): w for w in words}
    for cut in cuts:
        word = ends[round(cut, 3)]  # always right after a word, never inside one
        i = words.index(word)
        assert word.text.endswith(",") or (i % 5 == 4)


def test_a_decoder_loop_is_kept_once_but_spoken_repetition_is_not_touched() -> None:
    looped = sentence("this is the first time I have been here the first time I have been here the first", 0)
    assert join_words(without_loop(looped)) == "this is the first time I have been here"
    spoken = sentence("no no we said no, no and no again", 0)
    assert without_loop(spoken) == spoken


def test_a_word_said_again_and_again_to_the_end_is_a_loop_but_spoken_repetition_is_kept() -> None:
    assert join_words(without_loop(sentence("and the s s s s s s s", 0))) == "and the s"
    assert join_words(without_loop(sentence("thank you thank you thank you thank you", 0))) == "thank you"
    for spoken in ("no, no, no, thank you, thank you", "no, no, no, no, that is not what I said",
                   "thank you, thank you, thank you, everybody, and now the vote"):
        assert without_loop(sentence(spoken, 0)) == sentence(spoken, 0)


def test_a_decoding_that_ends_in_a_loop_is_found_where_it_starts() -> None:
    assert loop_at([1, 2, 3, 4, 5, 3, 4, 5, 3, 4, 5, 3, 4]) == (2, 3)  # cut off mid-stretch
    assert loop_at([1, 2, 7, 7, 7, 7, 7]) == (2, 1)
    assert loop_at([1, 2, 3, 4, 5, 6]) is None  # no loop
    assert loop_at([1, 2, 3, 1, 2, 9]) is None  # a repeat that does not run to the end
    assert loop_at([]) is None


class StopsEarly:
    """Hears the scripted words inside the audio it is given, but never more than `stop_s` of the
    whole buffer (audio from time 0): Whisper ending its hypothesis early on a long buffer; a later
    piece of it is heard to its end. The audio carries its own timeline (each sample is its time),
    so it knows where any piece it is given starts."""

    multilingual = False

    def __init__(self, words: list[Word], stop_s: float = 2.0) -> None:
        self.words, self.stop_s = words, stop_s
        self.pieces: list[float] = []

    def transcribe(self, audio, *, language, prompt, hotwords):
        start = float(audio[0])
        self.pieces.append(start)
        until = start + (min(len(audio) / SAMPLE_RATE, self.stop_s) if start == 0 else len(audio) / SAMPLE_RATE)
        return [w.shifted(-start) for w in self.words if w.start >= start - 0.05 and w.end <= until]


def timed_stream(words: list[Word], seconds: float, voiced: bool, stop_s: float = 2.0
                 ) -> tuple[StreamingTranscriber, list[float]]:
    """Stream `seconds` of timed audio, speech all through; each word's delay from its end to its commit."""
    st = StreamingTranscriber(StopsEarly(words, stop_s), trim_s=30.0, confident=None)
    step, delays = 0.5, []
    for i in range(int(seconds / step)):
        st.insert_audio(np.arange(i * step, (i + 1) * step, 1 / SAMPLE_RATE, dtype=np.float64).astype(np.float32))
        for w in st.process(voiced_until=st.end if voiced else None).committed:
            delays.append((i + 1) * step - w.end)
    return st, delays


def test_speech_past_where_whisper_stopped_is_heard_on_its_own() -> None:
    words = sentence("permission is hereby granted free of charge to any person obtaining a copy of this "
                     "software and associated documentation files", 0.2)  # on past the 7 s streamed
    st, delays = timed_stream(words, 7.0, voiced=True)
    said = [w.text for w in words if w.end <= 7.0 - 2 * STOPPED_S]
    committed = [w.text for w in st.committed]
    assert committed[: len(said)] == said and committed == [w.text for w in words[: len(committed)]]
    assert max(delays) <= STOPPED_S + 0.5  # each word within a pass of the rest being heard
    assert st.rests > 0 and len(st.recognizer.pieces) == int(7.0 / 0.5) - 1 + st.rests  # (0.5 s alone: not heard)
    stalled, _ = timed_stream(words, 7.0, voiced=False)  # without the VAD's word: the first 2 s only
    assert join_words(stalled.committed) == "permission is hereby granted"
    heard, _ = timed_stream(words, 7.0, voiced=True, stop_s=30.0)  # a recognizer that hears it all
    assert len(heard.committed) >= len(said) and heard.rests == 0  # is never asked twice


def test_punctuation_heard_as_a_word_goes_with_the_word_before_it() -> None:
    heard = [Word(0, 0.1, " ..."), Word(0, 0.4, " the"), Word(0.4, 0.5, " ..."), Word(0.5, 0.9, " end"), Word(0.9, 1, "!")]
    kept = with_punctuation_attached(heard)
    assert [(w.text, w.end) for w in kept] == [(" the...", 0.5), (" end!", 1)]


def test_a_word_cut_off_at_the_end_of_the_audio_is_not_committed_on_agreement() -> None:
    """Two passes both end inside "woodcutters" and both hear "wood": that is not agreement on a word."""
    hb = HypothesisBuffer()
    hb.insert([Word(0, 0.4, " the"), Word(0.5, 0.98, " wood")], 0)
    assert hb.flush(before=0.8) == []
    hb.insert([Word(0, 0.4, " the"), Word(0.5, 0.99, " wood")], 0)
    assert [w.key for w in hb.flush(before=0.8)] == ["the"]
    hb.insert([Word(0.5, 1.4, " woodcutters"), Word(1.45, 1.6, " of")], 0)
    assert hb.flush(before=1.6) == []  # "woodcutters" now waits for a second hearing like any word
    assert [w.key for w in hb.complete()] == ["woodcutters", "of"]


def test_a_fresh_fraction_of_a_second_is_not_heard_until_the_utterance_ends() -> None:
    words = sentence("hitherto,", 0.05, dur=0.6)
    rec = Scripted(words)
    st = StreamingTranscriber(rec, min_audio_s=1.0)
    rec.transcriber = st
    st.insert_audio(np.zeros(int(0.7 * SAMPLE_RATE), np.float32))
    assert st.process().committed == [] and rec.calls == []
    st.process(force=True)  # the pause came: now it is heard
    assert len(rec.calls) == 1 and [w.key for w in st.commit_tail()] == ["hitherto"]


class InventsOnQuiet(Scripted):
    """On under a second with no words in it, invents a phrase, as Whisper does on a pause."""

    def transcribe(self, audio, *, language, prompt, hotwords):
        heard = super().transcribe(audio, language=language, prompt=prompt, hotwords=hotwords)
        if heard or len(audio) >= SAMPLE_RATE:
            return heard
        return [Word(0.0, 0.0, t, 0.05) for t in (" you", " can't", " do", " that.")]


def test_the_quiet_a_trim_leaves_after_a_sentence_is_not_heard_when_the_utterance_ends() -> None:
    def after_the_sentence(voiced_until: float) -> tuple[Scripted, StreamingTranscriber]:
        rec = InventsOnQuiet(sentence("foam flew from his lips.", 0.0, dur=0.35))
        st = StreamingTranscriber(rec, trim_s=2.2, confident=None)
        rec.transcriber = st
        for _ in range(5):
            st.insert_audio(np.zeros(SAMPLE_RATE // 2, np.float32))
            st.process()
        assert join_words(st.committed) == "foam flew from his lips."
        assert st.offset == 1.7 and st.buffered_s < 1.0  # trimmed after "lips.": what is left is the pause
        st.process(force=True, voiced_until=voiced_until)
        return rec, st

    rec, st = after_the_sentence(voiced_until=1.8)  # the VAD heard speech until just after "lips."
    assert len(rec.calls) == 4 and st.commit_tail() == []
    rec, st = after_the_sentence(voiced_until=2.3)  # it heard more: a short word after the sentence
    assert len(rec.calls) == 5


class SkipsAfterPrompt(Scripted):
    """Once the prompt holds "you.", hears only the last word (as Whisper, taking the prompt for the
    start of the audio, can go on after it); without a prompt it hears everything."""

    def transcribe(self, audio, *, language, prompt, hotwords):
        heard = super().transcribe(audio, language=language, prompt=prompt, hotwords=hotwords)
        if prompt.endswith("you."):
            return [Word(0.0, 0.0, heard[-1].text, 0.0)] if heard else []
        return heard


def test_words_a_pass_skips_because_of_the_prompt_are_heard_again_without_it() -> None:
    words = sentence("ask not what your country can do for you.", 0.0) + sentence("ask what you can do for your country.", 4.0)
    rec = SkipsAfterPrompt(words)
    st = StreamingTranscriber(rec, trim_s=4.0, confident=None)
    rec.transcriber = st
    step = int(0.5 * SAMPLE_RATE)
    for _ in range(15):
        st.insert_audio(np.zeros(step, np.float32))
        st.process()
    st.process(force=True)
    st.finish()
    assert join_words(st.committed) == "ask not what your country can do for you. ask what you can do for your country."
    retries = [i for i, (_, prompt) in enumerate(rec.calls) if not prompt and i and rec.calls[i - 1][1]]
    assert len(retries) == 1  # the prompt that misled is left out until it changes: one pass is heard twice


def test_hypothesis_buffer_drops_repeated_ngram() -> None:
    hb = HypothesisBuffer()
    hb.insert([Word(0, 0.5, " hello"), Word(0.5, 1.0, " world")], 0)
    hb.flush()
    hb.insert([Word(0, 0.5, " hello"), Word(0.5, 1.0, " world"), Word(1.0, 1.5, " again")], 0)
    assert [w.text for w in hb.flush()] == [" hello", " world"]
    hb.insert([Word(0.9, 1.0, " world"), Word(1.0, 1.5, " again")], 0)
    assert [w.key for w in hb.new] == ["again"]


def test_committed_words_heard_again_after_a_word_the_first_hearing_missed_are_dropped() -> None:
    """eval with a microphone's noise: "horizon seems extremely distant" committed, then a pass at
    the end of the stream heard "the horizon seems extremely distant", every word timed at its end."""
    hb = HypothesisBuffer()
    said = [Word(57.5 + 0.5 * i, 57.9 + 0.5 * i, " " + w) for i, w in enumerate(["horizon", "seems", "extremely", "distant"])]
    for _ in range(2):
        hb.insert(said, 0)
        hb.flush()
    assert hb.last_committed_time == said[-1].end
    again = [Word(59.37, 59.37, " " + w) for w in ["the", "horizon", "seems", "extremely", "distant", "and"]]
    hb.insert(again, 0)
    assert [w.key for w in hb.new] == ["and"]
    # two words are not enough after one the first hearing missed: "the extremely distant" may be said
    hb.insert([Word(59.37, 59.5, " " + w) for w in ["so", "extremely", "distant"]], 0)
    assert [w.key for w in hb.new] == ["so", "extremely", "distant"]


def test_a_word_heard_as_starting_a_little_earlier_is_kept_if_most_of_it_is_new() -> None:
    """Word times from cross-attention move by a tenth of a second or two between passes: a new word
    whose start drifts into the last committed word ("form" after "fine and") is kept when its
    middle is past the committed audio; a committed word heard again a little later is not."""
    hb = HypothesisBuffer()
    for _ in range(2):
        hb.insert([Word(0.0, 0.3, " fine"), Word(0.3, 0.63, " and")], 0)
        hb.flush()
    assert hb.last_committed_time == 0.63
    hb.insert([Word(0.1, 0.32, " fine"), Word(0.4, 0.7, " and"), Word(0.5, 0.9, " form")], 0)
    assert [w.key for w in hb.new] == ["form"]


def loudness(audio: np.ndarray) -> np.ndarray:
    return (np.abs(audio.reshape(-1, WINDOW)).mean(axis=1) > 0.05).astype(np.float32)


def test_gate_passes_speech_with_preroll_and_ends_on_silence() -> None:
    gate = SpeechGate(loudness, min_silence_s=0.5, pad_s=0.1)
    silence = np.zeros(SAMPLE_RATE, np.float32)
    speech = np.full(SAMPLE_RATE, 0.3, np.float32)
    out = gate.push(silence)
    assert out.speech == [] and not out.ended
    out = gate.push(speech)
    starts = [at for at, _ in out.speech]
    assert min(starts) < 1.0 <= max(starts)  # includes a little audio before the speech
    out = gate.push(silence)
    assert out.ended
    assert gate.push(silence).speech == []


def test_gate_says_where_an_ended_utterance_last_sounded_like_speech() -> None:
    gate = SpeechGate(loudness, min_silence_s=0.5, pad_s=0.1)
    speech = np.full(WINDOW * 20, 0.3, np.float32)
    out = gate.push(np.concatenate([speech, np.zeros(SAMPLE_RATE, np.float32)]))
    ended = next(p for p in out.parts if p.ended)
    assert abs(ended.voiced_until - 20 * WINDOW / SAMPLE_RATE) < 1e-6  # the end of the speech, not of the pause after it
    assert ended.speech[-1][0] > ended.voiced_until  # the pause itself still goes to the recognizer


def test_gate_splits_a_push_where_one_utterance_ends_and_the_next_begins() -> None:
    loud = np.full(WINDOW * 10, 0.5, np.float32)
    quiet = np.zeros(WINDOW * 25, np.float32)  # longer than the 0.6 s that ends an utterance
    gate = SpeechGate(lambda audio: (np.abs(audio.reshape(-1, WINDOW)).max(axis=1) > 0.1).astype(np.float32))
    out = gate.push(np.concatenate([loud, quiet, loud]))
    assert [p.ended for p in out.parts] == [True, False]
    first, second = out.parts
    assert first.speech[0][0] == 0.0 and first.speech[-1][0] < second.speech[0][0]
    assert all(np.abs(s).max() > 0.1 for _, s in second.speech[-10:])


def test_hotwords_read_back_with_no_confidence_are_dropped() -> None:
    from assistant.speech.streaming import without_read_back

    heard = [Word(0.0, 0.4, " Thank", 0.9), Word(0.4, 0.7, " you,", 0.95), Word(0.7, 1.1, " Brazil.", 0.8),
             Word(1.2, 1.5, " Speaker", 0.0)]
    kept = without_read_back(heard, "Main item Speaker Brazil")
    assert [w.text for w in kept] == [" Thank", " you,", " Brazil."]  # a name really said stays
    assert without_read_back(heard, "") == heard


class ReadsBackThePrompt(Scripted):
    """On a short buffer, reads an earlier sentence of the prompt back with no confidence."""

    def transcribe(self, audio, *, language, prompt, hotwords):
        heard = super().transcribe(audio, language=language, prompt=prompt, hotwords=hotwords)
        if prompt and len(audio) < SAMPLE_RATE:
            end = len(audio) / SAMPLE_RATE
            return [Word(0.0, end, " Concord,", 0.01)] + [Word(end, end, " " + t, 0.0) for t in ["return", "to", "its", "place"]]
        return heard


def test_an_earlier_sentence_of_the_prompt_read_back_on_a_fraction_of_a_second_is_dropped() -> None:
    words = sentence("concord return to its place.", 0.0) + sentence("permission is hereby granted.", 4.0)
    rec = ReadsBackThePrompt(words)
    st = StreamingTranscriber(rec, confident=None)
    rec.transcriber = st
    st.insert_audio(np.zeros(int(2.5 * SAMPLE_RATE), np.float32))
    st.process(force=True)
    st.finish()  # a long pause
    st.insert_audio(np.zeros(int(0.8 * SAMPLE_RATE), np.float32), at=4.0)  # a breath: the utterance ends
    st.process(force=True)
    assert st.commit_tail() == []
    assert join_words(st.committed) == "concord return to its place."


def test_sure_words_well_inside_the_audio_commit_without_waiting_for_agreement() -> None:
    we, welcome = Word(0.0, 0.3, " we", 0.97), Word(0.3, 0.9, " welcome", 0.9)
    kiribati, here = Word(0.9, 1.7, " Kiribati", 0.4), Word(1.7, 2.1, " here.", 0.99)
    hb = HypothesisBuffer()
    hb.insert([we, welcome, kiribati], 0.0)
    assert hb.flush() == []  # a first hypothesis: nothing agreed yet
    assert hb.commit_confident(0.8, before=0.8) == [we]  # "welcome" ends too near the ragged end
    assert hb.commit_confident(0.8, before=1.9) == [welcome]  # "Kiribati" is not sure: it must be agreed on
    hb.insert([we, welcome, kiribati, here], 0.0)
    assert hb.flush() == [kiribati]
    assert hb.complete() == [here]


def test_a_pause_commits_the_tail_but_not_words_invented_after_the_speech() -> None:
    words = [Word(0.0, 0.4, " copies", 0.99), Word(0.5, 0.9, " or", 0.6), Word(1.0, 1.3, " Thank", 0.0),
             Word(1.3, 1.6, " you.", 0.97)]
    st = StreamingTranscriber(Scripted(words, False))
    st.insert_audio(np.zeros(2 * SAMPLE_RATE, np.float32))
    st.hypothesis.insert(words, 0.0)
    st.hypothesis.flush()
    assert [w.text for w in st.commit_tail()] == [" copies", " or"]
    first = [Word(0.0, 0.3, " The", 0.09), Word(0.3, 0.8, " above", 0.98), Word(0.8, 1.2, " notice.", 0.9)]
    st.hypothesis.insert(first, 2.0)
    st.hypothesis.flush()
    assert [w.text for w in st.commit_tail()] == [" The", " above", " notice."]  # an unsure first word is real
    assert st.buffered_s > 0  # the audio stays as context for the next words
