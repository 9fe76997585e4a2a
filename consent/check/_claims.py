"""Forbidden claims: find in a text, sentence by sentence, the claims a form must not make.

The rules are data (``templates/rules/claims.yaml``, whose header documents the format; a clinic
pack may add a file of its own; :mod:`._claim_rules` loads them, and its docstring shows the format).

:func:`scan` reads a text as a form in one language is read. Each sentence
(:func:`~consent.check._claim_text.split_sentences`) is normalised
(:func:`~consent.check._claim_text.normalize`: no accents, "F.D.A." -> "FDA", misspellings of the
rules' ``spellings`` corrected) and matched, ignoring case, against the patterns of that language.
A form that is not in English is read a second time with the English patterns, without spelling
correction unless the sentence looks English, skipping sentences that are clearly in the form's
language: a Spanish form still carries English text (statutory notices word for word, a clinic's
refund policy), and English patterns on Spanish words would misread them (Spanish "cure" is "may it
heal").

A *hit* is a match of one of a rule's patterns. It is an honest negation, and is not reported, when
one of the rule's ``unless`` regexes (same language) matches starting in the same clause and either
overlaps the hit, or ends at most :data:`NEGATION_WINDOW` characters before it with no *scope
break* in between: "is **not** approved by the FDA", "a **cure is not** possible". An ``unless``
match lying wholly inside the hit does not count; the "no" of "no risk" is the claim itself.

Clauses end at ``;``, ``:`` and dashes, and in English, Spanish and Chinese at contrasting conjunctions
(", but", "however", ", pero", "sin embargo", "但是" ...; in Chinese also at every full-width comma), so the "not" of "it is not a drug, but it cures
arthritis" does not excuse "cures". A scope break is a word that starts a new thought between a
negation and the hit ("we do not hide THAT our exosomes are FDA approved", "not cheap, OUR product
is approved", "no downtime AND FDA approved"); see :data:`GRAMMARS`. Other languages have the
punctuation breaks only.

This module uses nothing from ``consent`` but :mod:`._claim_rules` and :mod:`._claim_text`.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Iterator, Mapping, Sequence

import attrs

from ._claim_rules import ENGLISH, SEVERITIES, ClaimRule, load_rules
from ._claim_text import answered_questions, fold, guess_language, known_words, normalize, split_sentences

__all__ = [
    "ENGLISH",
    "GRAMMARS",
    "NEGATION_WINDOW",
    "SEVERITIES",
    "ClaimHit",
    "ClaimRule",
    "Grammar",
    "load_rules",
    "scan",
    "split_sentences",
]

#: How far (in characters) before a hit an ``unless`` match may end and still excuse it: about ten
#: words, enough for "no exosome or stem-cell product of this kind is ..." (the gap may not hold a
#: scope break, so a wide window does not let a negation reach into another thought).
NEGATION_WINDOW = 60

_FLAGS = re.IGNORECASE


@attrs.frozen
class ClaimHit:
    """A claim found in a text: the rule, its sentence, the matched words and where they start.

    ``start`` is the character offset of ``match`` in the text given to :func:`scan`;
    ``language`` is the language of the patterns that matched.
    """

    rule: ClaimRule
    sentence: str
    match: str
    start: int
    language: str = ENGLISH

    @property
    def end(self) -> int:
        """Offset just past the matched words in the scanned text."""
        return self.start + len(self.match)


# ------------------------------------------------------------------------------------- scanning


@attrs.frozen
class Grammar:
    """Where a negation stops reaching in one language (matched on text without accents).

    ``clause_break``: an ``unless`` match in an earlier clause never excuses a hit.
    ``scope_break``: in the gap between an ``unless`` match and a later hit, it ends the match's reach.
    """

    clause_break: re.Pattern[str]
    scope_break: re.Pattern[str]


_PUNCTUATION = r"[;:]|\s[-\u2013\u2014]+\s|[\u2013\u2014]"  # "it is not approved; it cures", dashes

#: Clause and scope breaks per language; a language not named here has the punctuation breaks only.
GRAMMARS: Mapping[str, Grammar] = types.MappingProxyType({
    "en": Grammar(
        re.compile(
            _PUNCTUATION
            + r"|,\s*(?:and|but|so|yet|while|whereas|although|though|however)\b"
            + r"|\b(?:but|however|although|though|whereas)\b",
            _FLAGS,
        ),
        re.compile(
            # a subordinate or relative clause ("do not hide THAT ...", "not cheap BECAUSE ...")
            r"\b(?:that|because|since|so|which|who|whom|whose|when|whenever|if|unless|while|as|unlike|like)\b"
            # a comma, then a new subject: "other products are not approved, OURS is"
            r"|,\s*(?:we|our|ours|us|it|its|they|their|theirs|this|these|those|you|your|i|he|she|the|a|an)\b"
            # "and" joins a new statement ("no downtime AND FDA approved"), unless it joins two
            # participles under one negation ("not been reviewed and approved")
            r"|(?<![^\W\d_]ed)(?<![^\W\d_]en)\s+and\b",
            _FLAGS,
        ),
    ),
    "es": Grammar(
        re.compile(
            _PUNCTUATION
            + r"|,\s*(?:y|e|pero|asi\s+que|de\s+modo\s+que|mientras|aunque|sino)\b"
            + r"|\b(?:pero|sin\s+embargo|aunque|sino|no\s+obstante|mientras\s+que)\b",
            _FLAGS,
        ),
        re.compile(
            r"\b(?:que|porque|pues|como|cuando|si|mientras|a\s+diferencia)\b"
            r"|,\s*(?:nosotros|nuestr[oa]s?|el|la|los|las|este|esta|estos|estas|usted|ustedes|ello|eso|esto)\b"
            # "no cobramos la consulta Y el producto esta aprobado"; not "no revisado y aprobado"
            r"|(?<![^\W\d_][ai]d[oa])(?<![^\W\d_][ai]d[oa]s)\s+(?:y|e)\b",
            _FLAGS,
        ),
    ),
    # Chinese (Simplified): no spaces and no \b; a clause ends at the full-width comma, semicolon and
    # colon and at a contrast ("但是", "不过"); a new thought starts at a conjunction of cause or addition.
    "zh-Hans": Grammar(
        re.compile(_PUNCTUATION + r"|[，；：。！？]|但是|但|可是|不过|然而|而是|却"),
        re.compile(r"因为|所以|由于|因此|虽然|尽管|而且|并且|同时|以及|我们的|本诊所"),
    ),
})
_DEFAULT_GRAMMAR = Grammar(re.compile(_PUNCTUATION), re.compile(r"(?!)"))


def scan(text: str, rules: Sequence[ClaimRule], language: str = ENGLISH) -> list[ClaimHit]:
    """Find every forbidden claim in ``text`` (of a form in ``language``): one hit per unexcused match.

    ``text`` is split with :func:`split_sentences`; each sentence is read with the patterns of
    ``language``, and, for another language than English, once more with the English patterns
    (see the module docstring). A rule is reported at most once per sentence, at its earliest,
    longest match: one finding per claim, however many of the rule's wordings the sentence uses
    ("we promise you will see new hair in three months"). Hits come in text order; hits starting at the same place keep the
    order of ``rules``.
    """
    readings = [(language, True)] + ([(ENGLISH, False)] if language != ENGLISH else [])
    found: list[tuple[int, int, ClaimHit]] = []
    sentences = split_sentences(text)
    kept_by: list[dict[int, tuple[int, int]]] = [{} for _ in sentences]  # per sentence: rule order -> span
    for index, (offset, sentence) in enumerate(sentences):
        folded = fold(sentence)
        kept = kept_by[index]
        for reading, own in readings:
            if not own and guess_language(folded) == language:
                continue  # clearly in the form's language: English patterns would misread it
            # misspellings are corrected in the form's language, and in English text of another form
            correct = own or guess_language(folded, margin=1) == reading
            for order, rule, (start, end) in _read(sentence, rules, reading, correct=correct):
                if order in kept:
                    continue  # this rule is reported in this sentence already
                kept[order] = (start, end)
                hit = ClaimHit(rule, sentence, sentence[start:end], offset + start, reading)
                found.append((hit.start, order, hit))
    # A question answered at once claims what it asked ("Is it FDA approved? Yes."): the pair is the hit.
    for reading in dict.fromkeys(r for r, _ in readings):
        for asked, answered, statement in answered_questions(sentences, reading):
            start = sentences[asked][0]
            pair = text[start:sentences[answered][0] + len(sentences[answered][1])]
            for order, rule, _ in _read(statement, rules, reading, correct=reading == language):
                if order not in kept_by[asked]:
                    kept_by[asked][order] = (0, len(pair))
                    found.append((start, order, ClaimHit(rule, pair, pair, start, reading)))
    found.sort(key=lambda item: (item[0], item[1]))
    return [hit for _, _, hit in found]


def _read(
    sentence: str, rules: Sequence[ClaimRule], language: str, *, correct: bool
) -> Iterator[tuple[int, ClaimRule, tuple[int, int]]]:
    """``(order, rule, span)`` of each unexcused match of the ``language`` patterns in ``sentence``.

    Spans are in the original sentence; ``correct`` corrects misspellings of the rules' spellings first.
    """
    active = [(order, rule) for order, rule in enumerate(rules) if language in rule.patterns]
    if not active:
        return
    spellings = _spellings(tuple(rule for _, rule in active), language) if correct else ()
    normal = normalize(sentence, spellings, known_words(language) if spellings else frozenset())
    grammar = GRAMMARS.get(language, _DEFAULT_GRAMMAR)
    breaks = [(m.start(), m.end()) for m in grammar.clause_break.finditer(normal.text)]
    for order, rule in active:
        for start, end in _rule_spans(rule, language, normal.text, breaks, grammar):
            yield order, rule, normal.span(start, end)


@functools.lru_cache(maxsize=64)
def _spellings(rules: tuple[ClaimRule, ...], language: str) -> tuple[str, ...]:
    """Every word the rules list under ``spellings`` for ``language``, sorted."""
    return tuple(sorted({word for rule in rules for word in rule.spellings.get(language, ())}))


def _rule_spans(
    rule: ClaimRule, language: str, sentence: str, breaks: list[tuple[int, int]], grammar: Grammar
) -> list[tuple[int, int]]:
    """Spans of ``rule``'s unexcused matches in ``sentence``, overlapping ones merged into the first."""
    unless = rule.unless.get(language, ())
    spans = sorted(
        {
            (m.start(), m.end())
            for pattern in rule.patterns[language]
            for m in pattern.finditer(sentence)
            if m.end() > m.start() and not _excused(unless, sentence, breaks, grammar, span=m.span())
        },
        key=lambda span: (span[0], -span[1]),
    )
    kept: list[tuple[int, int]] = []
    for start, end in spans:
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def _excused(
    unless: Sequence[re.Pattern[str]], sentence: str, breaks: list[tuple[int, int]], grammar: Grammar,
    *, span: tuple[int, int],
) -> bool:
    """True if an ``unless`` match starting in the hit's clause overlaps the hit or reaches it.

    The match must start in the clause and before the hit ends; it may run on past the clause
    ("registered with the FDA, or listed on ClinicalTrials.gov, and still not approved"). A match
    that ends before the hit reaches it when it ends at most :data:`NEGATION_WINDOW` characters
    before it and no scope break lies in between.
    """
    if not unless:
        return False
    start, end = span
    clause_start = max((b_end for _, b_end in breaks if b_end <= start), default=0)
    for pattern in unless:
        # Searching from clause_start (not slicing) lets \b and lookbehinds see the text before it.
        for m in pattern.finditer(sentence, clause_start):
            if m.start() >= end:
                break
            if start <= m.start() and m.end() <= end:
                continue  # wholly inside the hit: part of the claim, not a negation of it
            if m.end() > start:
                return True
            near = m.end() >= start - NEGATION_WINDOW
            if near and not grammar.scope_break.search(sentence, m.end(), start):
                return True
    return False
