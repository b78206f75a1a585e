"""Streaming recognition: a committed-prefix policy around any recognizer.

The shape of ufal/whisper_streaming: a `HypothesisBuffer` that commits the
words two consecutive hypotheses agree on (LocalAgreement-2), and a
`StreamingTranscriber` that keeps an audio buffer, asks the recognizer for a
hypothesis over it, commits what is stable and trims the buffer after
committed sentences. Pure: the recognizer is passed in, no clock, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..audio.pcm import SAMPLE_RATE

_SENTENCE_END = re.compile(r"[.?!…。？！]['\"”’)]*$")
_CLAUSE_END = re.compile(r"[,;:、，；：]['\"”’)]*$")


def word_key(text: str) -> str:
    return re.sub(r"[^\w']", "", text.lower())


@dataclass(frozen=True)
class Word:
    start: float  # seconds on the channel's audio timeline
    end: float
    text: str  # as the recognizer wrote it, usually with a leading space
    probability: float = 1.0

    def shifted(self, offset: float) -> Word:
        return Word(self.start + offset, self.end + offset, self.text, self.probability)

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2

    @property
    def key(self) -> str:
        """The word as compared between hypotheses: case and punctuation aside."""
        return word_key(self.text)


class Recognizer(Protocol):
    """What the streaming policy needs from a speech recognizer."""

    multilingual: bool

    def transcribe(self, audio: np.ndarray, *, language: str | None, prompt: str, hotwords: str) -> list[Word]:
        """Words with times relative to the start of `audio` (16 kHz mono float32)."""
        ...


def join_words(words: Sequence[Word]) -> str:
    return "".join(w.text for w in words).strip()


def ends_sentence(word: Word) -> bool:
    return bool(_SENTENCE_END.search(word.text.strip()))


READ_BACK_PROBABILITY = 0.05
SPOKEN_S = 0.25  # less speech than this past the committed words, at the end of an utterance, is no word
STOPPED_S = 1.0  # speech past a hypothesis's last word beyond this: Whisper stopped early, the rest is heard again
REST_CONTEXT_S = 1.0  # ... heard again before the rest: a second or so of sound to go on (replayed: live
# errors on eval and the sessions 66 with it, as with no rest decoded at all, 70 without it)
REST_FROM_S = 0.1  # ... if that starts this far into the buffer (else it would be the same decoding again)
LEAD_REPEAT = 3  # committed words heard again after a word the first hearing missed: at least this many
HEARD_PROBABILITY = 0.5  # a word this likely, heard on one pass and missing on the next, was skipped


def without_read_back(words: Sequence[Word], context: str) -> list[Word]:
    """Drop words of the context (hotwords, the prompt) that Whisper reads back as speech: such words
    come with a probability near zero (a name said in the room comes with a real one). On a fraction
    of a second after a pause, Whisper can read back a whole earlier sentence of the prompt."""
    if not context:
        return list(words)
    said = {word_key(t) for t in context.split()}
    return [w for w in words if not (w.probability < READ_BACK_PROBABILITY and w.key in said)]


def with_punctuation_attached(words: Sequence[Word]) -> list[Word]:
    """A "word" of punctuation alone (" ..." at the end of a buffer) belongs to the word before it:
    on its own it would be committed, counted and spaced as a word."""
    out: list[Word] = []
    for w in words:
        if w.key:
            out.append(w)
        elif out:
            last = out[-1]
            out[-1] = Word(last.start, max(last.end, w.end), last.text + w.text.strip(), last.probability)
    return out


LOOP_REPEATS = {1: 4, 2: 3}  # a word four times, two words three times, to the end: a loop


def without_loop(words: Sequence[Word], shortest: int = 3) -> list[Word]:
    """Cut a decoder loop: where a run of `shortest` or more words comes again at once ("the first
    time I have been working on the first time I have been working on"), keep it once; so too a
    word or two said again and again to the end of the hypothesis (" s s s s s", a word cut off at
    the end of the audio). People do repeat a word or two ("no, no, no, no, that is not what I
    said" is kept whole); Whisper stuck in a loop repeats whole phrases, or a word until it stops."""
    keys = [w.key for w in words]
    for i in range(len(keys)):
        for n in range(1, (len(keys) - i) // 2 + 1):
            if n < shortest:
                if n in LOOP_REPEATS and len(keys) - i >= LOOP_REPEATS[n] * n and _periodic(keys[i:], n):
                    return list(words[: i + n])
            elif keys[i : i + n] == keys[i + n : i + 2 * n]:
                return list(words[: i + n])
    return list(words)


def _periodic(items: Sequence[object], period: int) -> bool:
    """Each item equals the one `period` before it (the last repetition may be cut short)."""
    return all(items[k] == items[k - period] for k in range(period, len(items)))


def loop_at(tokens: Sequence[int]) -> tuple[int, int] | None:
    """Where a decoding that ends in a loop got stuck: it repeats one stretch until it is cut off
    ("Concorde returned to its place amidst the tents. Concorde returned to its place amidst the
    tents. Concorde returned to its"), so its tail is periodic. (start, period): the loop's first
    stretch is tokens[start : start + period]; None if the end does not repeat at least twice."""
    n_tokens = len(tokens)
    best: tuple[int, int] | None = None
    for period in range(1, n_tokens // 2 + 1):
        start = n_tokens - period  # walk back while each token equals the one a period later
        while start > 0 and tokens[start - 1] == tokens[start - 1 + period]:
            start -= 1
        if n_tokens - start >= 2 * period and (best is None or start + period < sum(best)):
            best = (start, period)
    return best


def drop_heard_again(before: Sequence[Word], new: list[Word], most: int, lead: int = 0) -> None:
    """Drop from the start of `new` the last words of `before` that it repeats (up to `most`): a
    decoding that goes on from earlier words often begins by hearing their end again. With `lead`,
    also after up to that many words the first hearing missed, where `LEAD_REPEAT` words or more
    repeat ("the horizon seems extremely distant" after "horizon seems extremely distant", all
    timed at the buffer's end: once committed twice)."""
    said, keys = [w.key for w in before[-most:]], [w.key for w in new]
    for skip in range(min(lead, len(new)) + 1):
        shortest = 1 if skip == 0 else LEAD_REPEAT
        for n in range(min(len(said), len(new) - skip), shortest - 1, -1):
            if said[-n:] == keys[skip : skip + n]:
                del new[: skip + n]
                return


class HypothesisBuffer:
    """Commits the longest prefix on which the last two hypotheses agree."""

    def __init__(self) -> None:
        self.buffer: list[Word] = []  # the previous hypothesis, past what is committed
        self.new: list[Word] = []
        self.committed_in_buffer: list[Word] = []
        self.last_committed_time = 0.0

    def past_committed(self, words: Sequence[Word], offset: float) -> list[Word]:
        """`words` on the timeline, less those already committed: a word is new when it starts after
        the committed ones or mostly after them (word times move a little between passes, and a
        start that drifts back must not lose the word)."""
        lct = self.last_committed_time
        return [w for w in (w.shifted(offset) for w in words) if w.start > lct - 0.1 or w.middle > lct]

    def insert(self, words: Sequence[Word], offset: float) -> None:
        self.new = self.past_committed(words, offset)
        # The recognizer may repeat the last committed words at the start, even after a word it
        # missed the first time: drop such an n-gram.
        if self.new and self.committed_in_buffer and abs(self.new[0].start - self.last_committed_time) < 1.0:
            drop_heard_again(self.committed_in_buffer, self.new, 5, lead=1)

    def flush(self, before: float = float("inf")) -> list[Word]:
        """Commit the agreed prefix, up to words ending by `before`: a word at the very end of the
        audio may be cut off mid-way ("wood" of "woodcutters") the same way twice."""
        commit: list[Word] = []
        while self.new and self.buffer and self.new[0].key == self.buffer[0].key and self.new[0].end <= before:
            word = self.new.pop(0)
            self.buffer.pop(0)
            commit.append(word)
            self.last_committed_time = word.end
        self.buffer, self.new = self.new, []
        self.committed_in_buffer.extend(commit)
        return commit

    def commit_confident(self, min_probability: float, before: float) -> list[Word]:
        """Past the agreed prefix, also commit words the recognizer is sure of and that are well
        inside the audio (not at its ragged end): they would almost always be agreed on next time."""
        commit: list[Word] = []
        while self.buffer and self.buffer[0].probability >= min_probability and self.buffer[0].end <= before:
            word = self.buffer.pop(0)
            commit.append(word)
            self.last_committed_time = word.end
        self.committed_in_buffer.extend(commit)
        return commit

    def pop_committed(self, time: float) -> None:
        self.committed_in_buffer = [w for w in self.committed_in_buffer if w.end > time]

    def complete(self) -> list[Word]:
        return list(self.buffer)


@dataclass(frozen=True)
class Update:
    committed: list[Word]  # newly committed, in order; never changes again
    partial: list[Word]  # the current unstable tail


class StreamingTranscriber:
    """One channel's audio buffer and committed transcript."""

    def __init__(
        self, recognizer: Recognizer, *, trim_s: float = 8.0, prompt_chars: int = 200,
        confident: float | None = 0.8, margin_s: float = 0.3, guard_s: float = 0.2, min_audio_s: float = 1.0,
    ) -> None:
        self.recognizer = recognizer
        self.confident, self.margin_s, self.guard_s = confident, margin_s, guard_s
        self.min_audio_s = min_audio_s
        self.trim_s = trim_s
        self.prompt_chars = prompt_chars
        self.audio = np.zeros(0, dtype=np.float32)
        self.offset = 0.0  # timeline position of audio[0]
        self.end = 0.0  # timeline position just past the last sample received
        self.hypothesis = HypothesisBuffer()
        self.committed: list[Word] = []
        self._misleading = ""  # a prompt that made the recognizer skip words: passes go without it
        self.rests = 0  # rest decodings made (`_rest`)

    @property
    def buffered_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    def insert_audio(self, chunk: np.ndarray, at: float | None = None) -> None:
        """Append samples; `at` places them on the timeline after a gap (skipped silence)."""
        if at is not None and len(self.audio) == 0:
            self.offset = at
            self.hypothesis.last_committed_time = max(self.hypothesis.last_committed_time, at - 0.1)
        self.audio = np.concatenate([self.audio, chunk.astype(np.float32, copy=False)])
        self.end = self.offset + self.buffered_s

    def prompt(self) -> str:
        before = [w for w in self.committed if w.end <= self.offset + 0.01]
        return join_words(before)[-self.prompt_chars :]

    def process(self, *, language: str | None = None, hotwords: str = "", force: bool = False,
                voiced_until: float | None = None) -> Update:
        """A pass over the buffer. A fresh buffer shorter than min_audio_s is not heard until the
        utterance ends (`force`): on a fraction of a second Whisper invents words, the same ones
        on two passes in a row, which agreement would then commit. Nor is one, at the end of an
        utterance, with next to no speech past the committed words (`voiced_until`: where the
        VAD last heard speech): the quiet a trim left after a sentence, where Whisper invents a
        phrase ("you can't do that.", "the end.") with nothing to hear."""
        if len(self.audio) == 0 or (self.buffered_s < self.min_audio_s and not force):
            return Update([], self.hypothesis.complete())
        if voiced_until is not None and self.buffered_s < self.min_audio_s and (
            voiced_until - max(self.offset, self.hypothesis.last_committed_time) < SPOKEN_S
        ):
            return Update([], self.hypothesis.complete())
        prompt = self.prompt()
        if prompt == self._misleading:
            prompt = ""
        words = self._hear(language, prompt, hotwords)
        words += self._rest(words, language, prompt, hotwords, voiced_until)
        if prompt and self._reach(words) < self._heard_until():
            # Whisper may take the prompt for the start of the audio and go on after it, skipping
            # what it heard on the last pass ("...can do for you" then "Ask what you can do for
            # your country" heard as "country."): hear the buffer again without it, and do without
            # it until the buffer is trimmed and the prompt changes.
            again = self._hear(language, "", "")
            if self._reach(again) > self._reach(words):
                words, self._misleading = again, prompt
        self.hypothesis.insert(words, self.offset)
        new = self.hypothesis.flush(before=self.end - self.guard_s)
        if self.confident is not None:
            new += self.hypothesis.commit_confident(self.confident, self.end - self.margin_s)
        self.committed.extend(new)
        if self.buffered_s > self.trim_s:
            self._trim()
        return Update(new, self.hypothesis.complete())

    def _rest(self, words: list[Word], language: str | None, prompt: str, hotwords: str,
              voiced_until: float | None) -> list[Word]:
        """Whisper can end a hypothesis early on a buffer with speech after its last word (it heard a
        list, "modify, merge, publish, distribute," and stopped there, pass after pass, while
        "sublicense and/or sell" went on): where the VAD heard speech for more than STOPPED_S past
        the words, the rest of the buffer is decoded on its own, from REST_CONTEXT_S before the last
        word's end (the words before that as its prompt); what it hears past the words is added
        (less the last words heard again, timed a little later). At most one more decoding a pass;
        about one pass in eight on the sessions, half of them hearing nothing new. Trying again only
        after another second of speech, once one heard nothing, saved that CPU but cost latency and
        live errors (replayed, session a: p95 1.66 s and 34 errors, against 1.32 s and 32)."""
        reach = self._reach(words)
        if voiced_until is None or voiced_until - reach <= STOPPED_S:
            return []
        cut = max(reach, self.offset) - self.offset
        start = cut - REST_CONTEXT_S
        if start < REST_FROM_S:  # all of the buffer: it would be heard again as it was
            return []
        heard = join_words([w for w in words if w.end <= start + 0.05])
        context = f"{prompt} {heard}".strip()[-self.prompt_chars :]
        rest = self._hear(language, context, hotwords, self.audio[int(start * SAMPLE_RATE) :])
        new = [w for w in (w.shifted(start) for w in rest) if w.middle > cut]
        drop_heard_again([w for w in words if w.end <= cut + 0.05], new, 3)  # timed a little later
        self.rests += 1
        return new

    def _hear(self, language: str | None, prompt: str, hotwords: str, audio: np.ndarray | None = None) -> list[Word]:
        audio = self.audio if audio is None else audio
        words = self.recognizer.transcribe(audio, language=language, prompt=prompt, hotwords=hotwords)
        return without_loop(with_punctuation_attached(without_read_back(words, f"{prompt} {hotwords}".strip())))

    def _reach(self, words: Sequence[Word]) -> float:
        """Where a hypothesis's new words end on the timeline (where the committed ones end if none)."""
        fresh = self.hypothesis.past_committed(words, self.offset)
        return max((w.end for w in fresh), default=self.hypothesis.last_committed_time)

    def _heard_until(self) -> float:
        """The start of the last word the previous pass heard with some confidence: a new pass that
        ends before it has skipped words."""
        heard = [w.start for w in self.hypothesis.buffer if w.probability >= HEARD_PROBABILITY]
        return max(heard, default=0.0)

    def _tail(self) -> list[Word]:
        """The unstable tail, less a last word or two invented after the speech: past its end
        Whisper adds things like "Thank you." whose first word comes with a probability near zero."""
        tail = self.hypothesis.complete()
        for i in range(max(0, len(tail) - 2), len(tail)):
            if tail[i].probability < READ_BACK_PROBABILITY:
                return tail[:i]
        return tail

    def commit_tail(self) -> list[Word]:
        """The speaker paused: commit the unstable tail now; keep the audio as context for what follows."""
        tail = self._tail()
        self.committed.extend(tail)
        self.hypothesis.buffer = []
        self.hypothesis.committed_in_buffer.extend(tail)
        if tail:
            self.hypothesis.last_committed_time = tail[-1].end
        return tail

    def finish(self) -> list[Word]:
        """A long pause or the end of the stream: commit the tail and empty the buffer."""
        tail = self._tail()
        self.committed.extend(tail)
        self.hypothesis = HypothesisBuffer()
        if tail:
            self.hypothesis.last_committed_time = tail[-1].end
        self.offset = self.end
        self.audio = np.zeros(0, dtype=np.float32)
        return tail

    def _trim(self) -> None:
        """Cut the audio after committed words, so a pass stays short (its cost grows with the words
        decoded) and settled audio cannot be re-heard differently. The cut is the last committed
        sentence end, else the last committed clause end (comma, colon...), else the committed word
        followed by the longest silence; the committed text goes on as the prompt."""
        inside = [w for w in self.committed if w.end > self.offset]
        if not inside:
            return
        cut = next((w.end for w in reversed(inside) if ends_sentence(w)), None)
        if cut is None:
            cut = next((w.end for w in reversed(inside) if _CLAUSE_END.search(w.text.strip())), None)
        if cut is None:
            after = [*inside[1:], *self.hypothesis.complete()]  # what follows each committed word
            gaps = [((after[i].start if i < len(after) else self.end) - w.end, w.end) for i, w in enumerate(inside)]
            cut = max(gaps)[1]
        if cut <= self.offset:
            return
        drop = int((cut - self.offset) * SAMPLE_RATE)
        self.audio = self.audio[drop:]
        self.offset = cut
        self.hypothesis.pop_committed(cut)
