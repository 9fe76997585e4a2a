"""Which clauses a form has, in which order: the treatment's, less those for a study when the clinic lists
none, with the state notices that apply to the clinic right after key information (a notice is left out
when the clinic's study, or what the clinic states about itself, lifts it; :func:`notice_rules` says why).
Also the form's language (:func:`choose_language`: the one asked for, the patient's, or English with a
warning). Used by :mod:`consent.assemble.assembly`, the check and ``consent show``.
"""

from __future__ import annotations

import warnings

import attrs

from ..content import ClauseSpec
from ..errors import InputError
from ..inputs.loaders import Clinic, Patient, Study
from ..library.loader import DEFAULT_LANGUAGE, Library, resolve_language
from ..library.treatments import TreatmentSpec


def study_kinds(study: Study | None) -> tuple[str, ...]:
    """What a clinic's study has, as state notices name it: "ind", "ide", "irb"."""
    if study is None:
        return ()
    have = (("ind", study.ind_number), ("ide", study.ide_number), ("irb", study.irb_name))
    return tuple(kind for kind, value in have if value)


def stated_exemptions(clinic: Clinic) -> tuple[str, ...]:
    """What the clinic states about itself that may lift a state's duty (content.EXEMPTIONS): never
    inferred from what it does not say."""
    study = clinic.study
    have = (("ind-holder", study is not None and study.ind_holder is True and bool(study.ind_number)),
            ("ide-holder", study is not None and study.ide_holder is True and bool(study.ide_number)),
            ("accredited-institution", bool(clinic.accredited_institution)))
    return tuple(name for name, stated in have if stated)


@attrs.frozen
class NoticeRule:
    """One state notice for a clinic's state, and why it is left out of the form (None: it is in)."""

    clause: ClauseSpec
    left_out: str | None = None  # "exempt" (exempt_with, exempt_when) or "not-applicable" (only_with)
    because: tuple[str, ...] = ()  # what lifted it: study kinds (exempt_with) and stated exemptions (exempt_when)


def notice_rules(library: Library, state: str, study: tuple[str, ...],
                 stated: tuple[str, ...] = ()) -> list[NoticeRule]:
    """The state notices of ``state`` (sorted by id), each with whether the form carries it: a notice
    is left out when the study has an approval in its ``exempt_with``, when the clinic states an
    exemption in its ``exempt_when``, or when the study has none of its ``only_with``."""
    out = []
    for clause in sorted(library.state_notices(state), key=lambda c: c.id):
        because = tuple(k for k in clause.exempt_with if k in study) + tuple(
            k for k in clause.exempt_when if k in stated)
        if because:
            out.append(NoticeRule(clause, "exempt", because))
        elif clause.only_with and not set(clause.only_with) & set(study):
            out.append(NoticeRule(clause, "not-applicable"))
        else:
            out.append(NoticeRule(clause))
    return out


def clause_order(library: Library, treatment: TreatmentSpec, clinic: Clinic) -> list[str]:
    """The treatment's clauses, with the state's notices (those that apply) right after key information.

    A clause with ``when: study`` is left out unless the clinic lists a study."""
    def applies(cid: str) -> bool:
        clause = library.clauses.get(cid)
        return clause is None or clause.when != "study" or clinic.study is not None

    ids = [cid for cid in treatment.clauses if applies(cid)]
    rules = notice_rules(library, clinic.state, study_kinds(clinic.study), stated_exemptions(clinic))
    notices = [r.clause.id for r in rules if not r.left_out]
    at = 1 if ids else 0
    return ids[:at] + notices + ids[at:]


class LanguageFallbackWarning(UserWarning):
    """The requested or preferred language has no stock form; the form is in English."""


def choose_language(library: Library, language: str | None, patient: Patient) -> str:
    """``language`` if given, else the patient's preferred language, else English (with a warning)."""
    wanted = language or patient.preferred_language
    if not wanted:
        return DEFAULT_LANGUAGE
    chosen = resolve_language(wanted, library.languages)
    if chosen is None:
        if language:
            raise InputError(
                f"language {language!r} is not available (available: {', '.join(library.languages)})"
            )
        warnings.warn(
            f"preferred language {wanted!r} is not available; the form is in English "
            f"(available: {', '.join(library.languages)})",
            LanguageFallbackWarning,
            stacklevel=3,
        )
        return DEFAULT_LANGUAGE
    return chosen
