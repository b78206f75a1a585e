"""The languages Whisper decodes, by code, and the check of a participant's declared language.

Pure: no model is loaded. A language that reaches the recogniser must be one of these codes (a
multilingual model) or English (an English-only `.en` model); anything else makes faster-whisper
fail on the speaker's first words, so it is refused when the participant joins, with the list.
"""

from __future__ import annotations

# Whisper's language codes and English names (as in openai/whisper tokenizer.py and faster-whisper).
LANGUAGES: dict[str, str] = {
    "en": "english", "zh": "chinese", "de": "german", "es": "spanish", "ru": "russian",
    "ko": "korean", "fr": "french", "ja": "japanese", "pt": "portuguese", "tr": "turkish",
    "pl": "polish", "ca": "catalan", "nl": "dutch", "ar": "arabic", "sv": "swedish",
    "it": "italian", "id": "indonesian", "hi": "hindi", "fi": "finnish", "vi": "vietnamese",
    "he": "hebrew", "uk": "ukrainian", "el": "greek", "ms": "malay", "cs": "czech",
    "ro": "romanian", "da": "danish", "hu": "hungarian", "ta": "tamil", "no": "norwegian",
    "th": "thai", "ur": "urdu", "hr": "croatian", "bg": "bulgarian", "lt": "lithuanian",
    "la": "latin", "mi": "maori", "ml": "malayalam", "cy": "welsh", "sk": "slovak",
    "te": "telugu", "fa": "persian", "lv": "latvian", "bn": "bengali", "sr": "serbian",
    "az": "azerbaijani", "sl": "slovenian", "kn": "kannada", "et": "estonian", "mk": "macedonian",
    "br": "breton", "eu": "basque", "is": "icelandic", "hy": "armenian", "ne": "nepali",
    "mn": "mongolian", "bs": "bosnian", "kk": "kazakh", "sq": "albanian", "sw": "swahili",
    "gl": "galician", "mr": "marathi", "pa": "punjabi", "si": "sinhala", "km": "khmer",
    "sn": "shona", "yo": "yoruba", "so": "somali", "af": "afrikaans", "oc": "occitan",
    "ka": "georgian", "be": "belarusian", "tg": "tajik", "sd": "sindhi", "gu": "gujarati",
    "am": "amharic", "yi": "yiddish", "lo": "lao", "uz": "uzbek", "fo": "faroese",
    "ht": "haitian creole", "ps": "pashto", "tk": "turkmen", "nn": "nynorsk", "mt": "maltese",
    "sa": "sanskrit", "lb": "luxembourgish", "my": "myanmar", "bo": "tibetan", "tl": "tagalog",
    "mg": "malagasy", "as": "assamese", "tt": "tatar", "haw": "hawaiian", "ln": "lingala",
    "ha": "hausa", "ba": "bashkir", "jw": "javanese", "su": "sundanese", "yue": "cantonese",
}
BY_NAME = {name: code for code, name in LANGUAGES.items()}


class LanguageError(ValueError):
    """The declared language cannot be decoded; the message says which can."""


def is_multilingual(model: str) -> bool:
    """Whether a model name (config `asr.model`) is multilingual: Whisper's English-only ones end in `.en`."""
    return not model.lower().rstrip("/").endswith(".en")


def check(language: str, *, multilingual: bool) -> str:
    """The code to store for a participant's declared language ("" = the meeting's default).

    A region tag is dropped ("pt-BR" -> "pt"): Whisper decodes the language, not the variety.
    A name such as "english" is refused with the code to use, so what is stored is always a code.
    """
    lang = language.strip().lower()
    if not lang:
        return ""
    base = lang.split("-", 1)[0]
    if not multilingual:
        if base == "en":
            return "en"
        raise LanguageError(
            f'"language" is {language!r}, but the speech model of this server is English-only: '
            'use "en" or leave it empty'
        )
    if base in LANGUAGES:
        return base
    hint = f' ("{BY_NAME[lang]}" is the code for {lang})' if lang in BY_NAME else ""
    raise LanguageError(
        f'"language" is {language!r}; use a language code{hint}. Accepted codes: ' + ", ".join(LANGUAGES)
    )
