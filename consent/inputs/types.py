"""The inputs of a form as data: the patient, the clinic (provider, fees, study, products) and screening
answers. Loading them from files is :mod:`consent.inputs`; checking them, :mod:`consent.inputs.checks`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import TypeAlias

import attrs

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()
)


def state_entries(states: Mapping[object, object], keys: frozenset[str], example: str, gives: str,
                  problem: Callable[[str, str], None]) -> Iterator[tuple[str, str, Mapping[str, object]]]:
    """The entries of a rules file's ``states:`` mapping, each checked alike: its key a state code in
    capitals (``example``: one to show, such as TX) and its value a mapping (``gives``: what it must
    give, such as "age and name") without other keys than ``keys`` (an unknown key is reported and the
    entry kept). Yields (code, its dotted key "states.<code>", entry); ``problem(message, key)`` is
    told of every entry left out and why."""
    for code, entry in states.items():
        at = f"states.{code}"
        if not isinstance(code, str) or code not in US_STATES:
            problem(f"{code!r} is not a two-letter US state code in capitals such as {example}", at)
            continue
        if not isinstance(entry, Mapping):
            problem(f"{at} must give {gives} (got {entry!r})", at)
            continue
        bad = sorted(map(str, set(entry) - keys))
        if bad:
            problem(f"{at} has unknown key(s) {', '.join(bad)} (known: {', '.join(sorted(keys))})", at)
        yield code, at, entry


@attrs.frozen
class Patient:
    """The person who will sign. ``mrn`` and ``preferred_language`` (ISO code such as ``es-MX``) are optional."""

    full_name: str
    birth_date: dt.date
    mrn: str | None = None
    preferred_language: str | None = None


@attrs.frozen
class Provider:
    """The treating provider, printed in the contacts clause and the provider signature block."""

    name: str
    credentials: str


Text: TypeAlias = str | Mapping[str, str]
"""Clinic text that prints on the form: a string (English), or language code -> text."""

# A form language: ISO 639 (en, es), with a script subtag where the language has two (zh-Hans).
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[A-Z][a-z]{3})?$")
TREATMENT_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@attrs.frozen
class FeeSchedule:
    """The clinic's own prices for one treatment (or for all of them). The form prints these figures
    and never a price from elsewhere. ``included``, ``excluded`` and ``refund_policy`` are :data:`Text`."""

    price_per_session: Decimal
    planned_sessions: int
    included: tuple[Text, ...] = ()
    excluded: tuple[Text, ...] = ()
    currency: str = "USD"
    refund_policy: Text | None = None

    @property
    def total(self) -> Decimal:
        return self.price_per_session * self.planned_sessions


FUTURE_USE = ("none", "deidentified")
"""``Study.future_use``: the two statements of 45 CFR 46.116(b)(9) about future research."""

NCT_ID = re.compile(r"NCT\d{8}")

LocalText = Text
"""Text the clinic writes for the form: a plain text is English; ``{en: ..., es: ...}`` gives one text per
form language. A form in a language the text lacks is an InputError, never English words in a Spanish form."""


@attrs.frozen
class Procedure:
    """One thing a study asks the patient to do or have done (a visit, a test, a questionnaire, a sample
    taken): ``what`` in plain words (:data:`LocalText`), and whether it is ``experimental`` (done only
    because of the research, or the product being studied) or part of usual care (21 CFR 50.25(a)(1))."""

    what: LocalText
    experimental: bool


@attrs.frozen
class Study:
    """Set when the treatment is given under an FDA IND (drugs and biologics), an FDA IDE (devices) or
    an IRB-approved study. It needs at least one of ``ind_number``, ``ide_number`` and ``irb_name``.

    The form then carries the research elements of 21 CFR 50.25 and 45 CFR 46.116, so these are
    required too (an InputError lists each one missing):

    - ``purpose``: why the study is done, in one or two plain sentences;
    - ``duration``: how long each patient takes part, such as ``"about 12 months"``;
    - ``subjects``: about how many people take part (a whole number);
    - ``irb_contact``: the phone number or email of the IRB, for questions about the patient's rights;
    - ``clinicaltrials_gov``: ``true`` for an applicable clinical trial (21 CFR 50.25(c)), or its NCT
      number (``"NCT01234567"``), or ``false``;
    - ``future_use``: ``"none"`` (data and samples are never used for future research) or
      ``"deidentified"`` (identifiers may be removed and they may be used or shared for future research
      without asking again), 45 CFR 46.116(b)(9);
    - ``procedures``: what the patient will be asked to do, each a :class:`Procedure` marked experimental
      or not (visits, tests, questionnaires, samples), 21 CFR 50.25(a)(1); at least one;
    - ``samples``: the samples collected (such as "a small tube of blood at each visit"), or an empty list
      when none are.

    ``purpose``, ``duration``, each procedure's ``what`` and each sample are :data:`LocalText`: English
    text, or one text per form language.

    ``charging_authorization`` (optional): FDA's written authorisation to charge the people in the study
    for the investigational product (21 CFR 312.8), as the clinic's records name it, such as
    ``"FDA letter of 2026-03-02, IND 012345"``. Without it, ``consent check`` warns a clinic that charges
    (``legal.study-charging``). It is not printed on the form.

    ``ind_holder`` (with ``ind_number``) and ``ide_holder`` (with ``ide_number``): ``true`` only when the
    clinic's own provider holds that IND or IDE (its sponsor-investigator), not when the provider is an
    investigator under a sponsor's. Some state laws exempt only the holder (California B&P 684(c);
    Florida 458.3245 / 459.0127, per the bill summaries): the clinic must state it, and the check names
    the law when a notice is left out because of it. Default ``false``: the notice stays.
    """

    ind_number: str | None = None
    ide_number: str | None = None
    irb_name: str | None = None
    ind_holder: bool = False
    ide_holder: bool = False
    protocol: str | None = None
    purpose: LocalText | None = None
    duration: LocalText | None = None
    subjects: int | None = None
    irb_contact: str | None = None
    clinicaltrials_gov: bool | str | None = None
    future_use: str | None = None
    charging_authorization: str | None = None
    procedures: tuple[Procedure, ...] | None = None
    samples: tuple[LocalText, ...] | None = None

    @property
    def nct_id(self) -> str | None:
        """The ClinicalTrials.gov number, when ``clinicaltrials_gov`` gives one."""
        return self.clinicaltrials_gov if isinstance(self.clinicaltrials_gov, str) else None


@attrs.frozen
class Product:
    """The product a clinic gives for one treatment, as the form names it: who made it (``maker``), the
    tissue it comes from, what the donor was tested for, and the lot number when it is known as the
    form is made (otherwise the form has a blank to fill in at treatment). ``purpose`` optionally
    replaces the treatment's stock purpose: what the clinic hopes it does, never a promise.
    ``source_tissue``, ``donor_screening`` and ``purpose`` are :data:`Text`; the maker and the lot
    number are names, printed as given in every language."""

    maker: str
    source_tissue: Text
    donor_screening: Text
    lot_number: str | None = None
    purpose: Text | None = None


FeeSchedules: TypeAlias = FeeSchedule | Mapping[str, FeeSchedule]
"""One schedule for every treatment, or treatment id -> schedule."""

ASSENT_FROM_AGE = 7
"""The default of ``Minors.assent_from_age``: a common IRB convention (assent from about age 7), not law."""


@attrs.frozen
class Minors:
    """How a form for a minor (a patient under the age of majority of the clinic's state on the form's date)
    is signed. A parent or legal guardian always signs; ``assent_from_age``: from this age the form also has
    a line for the patient's own assent, optional to sign (default 7, a common IRB convention, not law;
    0: for every minor; None: never)."""

    assent_from_age: int | None = ASSENT_FROM_AGE


@attrs.frozen
class LanguageAssistance:
    """The page of language-assistance taglines (45 CFR 92.11): one short line in English and in each of the
    most common languages of ``state`` (default: the clinic's), saying that free language help is available
    and how to ask for it. ``phone`` and ``tty`` (a TTY number, or ``711``, the national relay service) are
    printed in every line; both are required. The languages and the lines are data
    (``templates/rules/language-assistance.yaml``): a state the data gives no list for is an error, never a
    page in the wrong languages."""

    phone: str
    tty: str
    state: str | None = None


@attrs.frozen
class Clinic:
    """The clinic giving the treatment. ``state`` is the two-letter US state code.

    ``fees`` is one :class:`FeeSchedule` for every treatment, or a mapping of treatment id to schedule;
    ``products`` maps each treatment id to the :class:`Product` the clinic gives for it; ``minors`` says
    how a minor's form is signed (:class:`Minors`).

    ``facility``, optional: where the clinic gives its treatments, one of ``hospital``,
    ``ambulatory-surgical-center``, ``medical-school``, ``office``, ``other`` (Texas allows investigational
    stem cell treatment only at the first three, 1003.055(a)(3); without it the check says it cannot tell).
    ``accredited_institution``, optional: the accredited institution on whose behalf (by employment or
    contract) the provider gives the treatment, as the clinic states it; Florida's law does not apply then
    (per the bill summaries). Stated only on counsel's advice: it drops Florida's notice and rules.

    ``language_assistance``, optional: the page of language-assistance taglines (:class:`LanguageAssistance`),
    added at the end of every form. ``federal_financial_assistance``, optional (default ``false``): ``true``
    when the clinic states that it receives federal financial assistance from HHS (whether its Medicare or
    Medicaid payments make it so is counsel's call: see clauses/README.md, "Language assistance"); such a
    clinic is covered by 45 CFR 92.11, and ``consent check`` warns when it has no ``language_assistance``
    (``language.taglines-missing``). It is the clinic's statement, never inferred.
    """

    name: str
    address: str
    phone: str
    state: str
    provider: Provider
    fees: FeeSchedules
    email: str | None = None
    after_hours_phone: str | None = None
    study: Study | None = None
    products: Mapping[str, Product] = attrs.field(factory=dict)
    minors: Minors = attrs.field(factory=Minors)
    facility: str | None = None
    accredited_institution: str | None = None
    language_assistance: LanguageAssistance | None = None
    federal_financial_assistance: bool = False

    def fee_schedule(self, treatment: str) -> FeeSchedule | None:
        """The schedule for ``treatment``: the one schedule, or its entry in the mapping (None if none)."""
        if isinstance(self.fees, FeeSchedule):
            return self.fees
        return self.fees.get(treatment) if isinstance(self.fees, Mapping) else None


@attrs.frozen
class Screening:
    """Screening answers: question id -> True (yes) / False (no). Unanswered questions print blank."""

    answers: Mapping[str, bool] = attrs.field(factory=dict)
