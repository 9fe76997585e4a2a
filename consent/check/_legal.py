"""The clinic's legal position under federal law, which no form can fix: told once, in plain words.

A form that truthfully says "not approved by the FDA, not given under an IND" documents the sale of an
unapproved product; it does not make that sale lawful. These rules tell the clinic so, with FDA's
position and its source, and let its counsel acknowledge the finding (``acknowledge`` in the check
settings, with counsel's reason; the acknowledgement is recorded in every form's manifest):

- ``legal.no-ind`` (warning): the form's product is given without an FDA IND.
- ``legal.irb-only-study`` (error): a study of the product with a review board but no IND (nor IDE).
- ``legal.study-charging`` (warning): the clinic charges the people in its study, and does not state
  FDA's written authorisation to charge (``study.charging_authorization``).

And the language-assistance taglines of HHS's Section 1557 rule (45 CFR 92.11; see clauses/README.md,
"Language assistance", for what was read of it), from the clinic file (:func:`language_assistance`):

- ``language.taglines-missing`` (warning): the clinic states that it receives federal financial
  assistance (``federal_financial_assistance: true``) and its forms have no page of taglines
  (``language_assistance``).
- ``language.no-state-list`` (error): the clinic asks for the page, and no list of its state's languages
  is shipped (nor given by a pack): its forms are refused rather than printed in guessed languages.
- ``language.review`` (warning): the page's lines are our own words, not yet confirmed by counsel.

Sources (read 2026-12-07; see ../shared/REFERENCE.md section 1 for the facts this module relies on):
FDA, "Important Patient and Consumer Information About Regenerative Medicine Therapies" (2021-06-03);
FDA, "Public Safety Notification on Exosome Products" (2019-12-06); 21 CFR 312.2(a) and 312.20 (an IND
is needed for a clinical investigation of a new drug or biologic); 21 CFR 312.8 (charging for an
investigational drug needs FDA's prior written authorisation) and 312.7 (no commercialisation).
"""

from __future__ import annotations

from ..document import Form
from ..inputs.language_assistance import page_state
from ..inputs.types import Clinic
from ..library.loader import Library
from ._report import Finding

NO_IND = "legal.no-ind"
IRB_ONLY_STUDY = "legal.irb-only-study"
STUDY_CHARGING = "legal.study-charging"

ACKNOWLEDGEABLE = {NO_IND: "warning", IRB_ONLY_STUDY: "error", STUDY_CHARGING: "warning"}
"""The built-in rules (besides the claim rules that say so) a clinic's counsel may acknowledge, with
their severity."""

_HOW_TO_ACKNOWLEDGE = (
    "If counsel has reviewed this, record it in the check settings (templates/rules/settings.yaml of the "
    "clinic's pack): acknowledge: [{{rule: {rule}, reason: <counsel's reason>}}]; every form's manifest then "
    "records it"
)

_FDA_POSITION = (
    "FDA's position: exosome products, and cell products more than minimally manipulated (such as cells "
    "grown in a lab), are drugs and biological products, lawful to give only once FDA approves them or under "
    "an FDA IND (21 CFR 1271.10 sets out the narrow exceptions); FDA tells patients that anyone charged for these products or offered them outside a "
    "clinical trial is likely being deceived and offered a product illegally (FDA, \"Important Patient and "
    "Consumer Information About Regenerative Medicine Therapies\", 2021; \"Public Safety Notification on "
    "Exosome Products\", 2019), and it has sent warning letters to sellers of such products through 2025"
)


def legal_position(form: Form, acknowledge: dict[str, str]) -> list[Finding]:
    """The clinic's legal position for one form, from what its jurisdiction records (its study and
    whether it charges). The findings name no treatment or language: ``consent check`` reports each once."""
    j = form.jurisdiction
    if j is None:
        return []
    out = []

    def finding(rule: str, message: str) -> None:
        out.append(Finding(rule, ACKNOWLEDGEABLE[rule], f"{message}. {_HOW_TO_ACKNOWLEDGE.format(rule=rule)}",
                           acknowledged=acknowledge.get(rule)))

    if "ind" not in j.study:
        finding(NO_IND, (
            "this clinic gives a product the FDA has not approved, and not under an FDA IND (clinic.study has no "
            "ind_number). The form says so truthfully; it documents the sale, it does not make it lawful. "
            f"{_FDA_POSITION}. Have counsel review whether this treatment may be offered at all"
        ))
        if "irb" in j.study and "ide" not in j.study:
            finding(IRB_ONLY_STUDY, (
                "the clinic's study has a review board (irb_name) but no FDA IND: a review board alone does not "
                "make a clinical investigation of a new drug or biological product lawful; it needs an IND "
                "(21 CFR 312.2(a), 312.20). The form would tell the patient they are in a study FDA does not "
                "know of. Give clinic.study.ind_number"
            ))
    if j.study and j.charges and not j.charging_authorized:
        finding(STUDY_CHARGING, (
            "the clinic charges the people in its study for the treatment (its fee schedule has a price), but "
            "does not state FDA's written authorisation to charge for an investigational product: charging "
            "needs FDA's prior written authorisation (21 CFR 312.8), and 21 CFR 312.7 forbids commercialising "
            "an investigational product. Give clinic.study.charging_authorization (what FDA authorised, and "
            "when), or stop charging for the product"
        ))
    return out


TAGLINES_MISSING = "language.taglines-missing"
NO_STATE_LIST = "language.no-state-list"
TAGLINES_REVIEW = "language.review"


def language_assistance(clinic: Clinic, library: Library, file: str | None) -> list[Finding]:
    """The clinic's page of language-assistance taglines (45 CFR 92.11), told once for the clinic file."""
    la = clinic.language_assistance
    table = library.language_assistance
    if la is None:
        if not clinic.federal_financial_assistance:
            return []
        return [Finding(TAGLINES_MISSING, "warning", (
            "the clinic states that it receives federal financial assistance (federal_financial_assistance), "
            "so HHS's Section 1557 rule (45 CFR 92.11, 89 FR 37522, 2024) asks it to tell patients, in English "
            "and in at least the 15 languages most common in its state, that free language help is available; "
            "its forms have no page of taglines. Add language_assistance: {phone: ..., tty: ...} to the clinic "
            "file (the page is added at the end of every form), or have counsel confirm the notice is given "
            "another way"), file=file)]
    state = page_state(clinic)
    if state not in table.states:
        shipped = ", ".join(sorted(table.states)) or "none"
        return [Finding(NO_STATE_LIST, "error", (
            f"clinic.language_assistance asks for the page of taglines, but no list of the most common "
            f"languages of {state} is shipped (lists for: {shipped}): its forms are refused rather than printed "
            f"in guessed languages. Give the state's list with its source in a pack's "
            f"templates/rules/language-assistance.yaml (states: {{{state}: {{source: ..., languages: [...]}}}}); "
            f"see clauses/README.md, \"Language assistance\""), file=file)]
    unconfirmed = [tag for tag in ("en", *table.states[state].languages)
                   if tag in table.taglines and table.taglines[tag].review != "confirmed"]
    if not unconfirmed:
        return []
    return [Finding(TAGLINES_REVIEW, "warning", (
        f"the page of taglines prints our own words, which counsel (and a qualified translator) have not "
        f"confirmed, in {len(unconfirmed)} language(s): {', '.join(unconfirmed)}. Once confirmed, give them in a "
        f"pack's templates/rules/language-assistance.yaml with review: confirmed"), file=file)]
