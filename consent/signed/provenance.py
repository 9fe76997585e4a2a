"""Record a signed form, who signed and when: the signers' times, the check of the typed dates against the
signatures' own times, and the Provenance resource of ``consent record`` (:mod:`consent.signed.record`).

Who signed is a Provenance in the transaction, not only the Consent's performers: R4 defines
``Provenance.signature`` for "a digital signature on the target Reference(s)", and ``Provenance.agent`` for
who took part in what role, while ``Consent.performer`` only says who agrees (the witness and the provider's
role have no place there). Its targets are the Consent and the signed PDF's DocumentReference; one agent and
one signature entry per signer who signed:

- the patient, or the representative who signed for them (a RelatedPerson, contained, with the
  relationship as its ``relationship`` and as the agent's role, ``onBehalfOf`` the patient): agent type
  ``author`` (provenance-participant-type: the consent is theirs), signature type Consent Signature
  (ASTM E1762 ``1.2.840.10065.1.12.1.7``);
- the provider: ``verifier``, Verification Signature (``1.2.840.10065.1.12.1.5``);
- the witness: ``attester``, Consent Witness Signature (``1.2.840.10065.1.12.1.11``).

R4's Provenance has no identifier: it carries the signed PDF's SHA-256 as a tag (``meta.tag``), and the
transaction creates it once with ``ifNoneExist`` on ``_tag``, a search parameter of every R4 resource.

Times. The time of signing is the signer's own date and time fields (``patient.date``, ``patient.time``)
in the clinic's zone. The signature in the PDF says when it was made too (its timestamp, else the time the
signer's software claimed): each signer's typed date is compared with it, and more than a day apart is a
:class:`SigningTimeWarning` (the record keeps the typed date: it is what the signer wrote). The signed
PDF's DocumentReference is dated by the last signature's time, an instant with its offset.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..errors import InputError
from ..pdf.acroform import Field
from .signatures import Signature

ROLES = ("patient", "representative", "provider", "witness")
_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_E1762 = "urn:iso-astm:E1762-95:2013"
_AS = {  # role -> (agent type, (signature type code, display))
    "patient": ("author", ("1.2.840.10065.1.12.1.7", "Consent Signature")),
    "representative": ("author", ("1.2.840.10065.1.12.1.7", "Consent Signature")),
    "provider": ("verifier", ("1.2.840.10065.1.12.1.5", "Verification Signature")),
    "witness": ("attester", ("1.2.840.10065.1.12.1.11", "Consent Witness Signature")),
}
_REPRESENTATIVE = "representative"  # the contained RelatedPerson's id
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{1,2}:\d{2}")
_DAY = dt.timedelta(days=1)


class SigningTimeWarning(UserWarning):
    """A signer's typed date and their signature's own time are more than a day apart."""


@attrs.frozen
class Typed:
    """A signer's date and time of signing as typed in the form: the day, and the moment when a time was
    typed (in the clinic's zone)."""

    day: dt.date
    moment: dt.datetime | None

    def fhir(self) -> str:
        """As a FHIR dateTime: the day alone, or the moment with its offset (a time needs a zone in FHIR)."""
        return self.moment.isoformat() if self.moment else self.day.isoformat()


def zone(timezone: str | None) -> dt.tzinfo | None:
    """The IANA zone named (None: this computer's)."""
    if timezone is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {timezone!r}",
                         hint="give an IANA name such as America/Boise") from None


def in_zone(moment: dt.datetime, where: dt.tzinfo | None) -> dt.datetime:
    return moment.astimezone(where) if where is not None else moment.astimezone()


def typed(fields: Mapping[str, Field], role: str, where: dt.tzinfo | None) -> Typed:
    """``role``'s typed date (and time) of signing; InputError naming the fields when it cannot be read."""
    date_text = fields[f"{role}.date"].value.strip() if f"{role}.date" in fields else ""
    time_text = fields[f"{role}.time"].value.strip() if f"{role}.time" in fields else ""
    try:
        if not _DATE.fullmatch(date_text):
            raise ValueError
        day = dt.date.fromisoformat(date_text)
        if not time_text:
            return Typed(day, None)
        if not _TIME.fullmatch(time_text):
            raise ValueError
        hour, minute = (int(n) for n in time_text.split(":"))
        naive = dt.datetime.combine(day, dt.time(hour, minute))
    except ValueError:
        raise InputError(f"the date and time of signing cannot be read: {role}.date {date_text!r}, "
                         f"{role}.time {time_text!r}", hint="dates are YYYY-MM-DD and times HH:MM") from None
    return Typed(day, naive.astimezone() if where is None else naive.replace(tzinfo=where))


def instant(moment: dt.datetime) -> str:
    """A FHIR instant: to the second, with its offset."""
    return moment.replace(microsecond=0).isoformat()


def check_dates(
    fields: Mapping[str, Field], signatures: Sequence[Signature], where: dt.tzinfo | None
) -> None:
    """Warn (:class:`SigningTimeWarning`) for each signer whose typed date (and time) is more than a day from
    the time their signature says it was made."""
    made = {s.field: s for s in signatures}
    for role in ROLES:
        sig = made.get(f"{role}.signature")
        date_field = fields.get(f"{role}.date")
        if sig is None or sig.signing_time is None or date_field is None or not date_field.filled:
            continue
        try:
            said = typed(fields, role, where)
        except InputError:
            warnings.warn(f"{role}.date {date_field.value.strip()!r} cannot be read as a date (YYYY-MM-DD): "
                          f"it was not compared with the time {role}.signature was made", SigningTimeWarning,
                          stacklevel=3)
            continue
        if said.moment is not None:
            start, end = said.moment, said.moment + dt.timedelta(minutes=1)
        else:
            start, end = _midnight(said.day, where), _midnight(said.day + _DAY, where)
        at = sig.signing_time
        if start - _DAY <= at < end + _DAY:
            continue
        source = "its timestamp" if sig.timestamp_at else "the signer's software"
        local = in_zone(at, where)
        warnings.warn(
            f"{role}.date says {said.fhir()}, but {role}.signature was made at {local:%Y-%m-%d %H:%M %z} "
            f"({source}): more than a day apart; the record keeps the date typed on the form",
            SigningTimeWarning, stacklevel=3,
        )


def completed(signatures: Sequence[Signature], fallback: Typed, where: dt.tzinfo | None) -> str:
    """When the signed file was completed, as a FHIR instant: the time of its last signature, in the zone;
    without any, the consenter's typed date and time (or the start of the typed day, in the zone)."""
    times = [s.signing_time for s in signatures if s.signing_time is not None]
    if times:
        return instant(in_zone(max(times), where))
    return instant(fallback.moment or _midnight(fallback.day, where))


def _midnight(day: dt.date, where: dt.tzinfo | None) -> dt.datetime:
    """The start of ``day`` in the zone."""
    start = dt.datetime.combine(day, dt.time())
    return start.replace(tzinfo=where) if where is not None else start.astimezone()


def representative(fields: Mapping[str, Field], patient: dict[str, Any]) -> dict[str, Any]:
    """The representative who signed, as a contained RelatedPerson (``#representative``)."""
    person: dict[str, Any] = {"resourceType": "RelatedPerson", "id": _REPRESENTATIVE,
                              "patient": copy.deepcopy(patient)}
    relationship = fields.get("representative.relationship")
    if relationship is not None and relationship.filled:
        person["relationship"] = [{"text": relationship.value.strip()}]
    person["name"] = [{"text": fields["representative.name"].value.strip()}]
    return person


def representative_reference(fields: Mapping[str, Field]) -> dict[str, Any]:
    name = fields["representative.name"].value.strip()
    relationship = fields.get("representative.relationship")
    shown = name + (f" ({relationship.value.strip()})" if relationship and relationship.filled else "")
    return {"reference": f"#{_REPRESENTATIVE}", "type": "RelatedPerson", "display": shown}


def signers(fields: Mapping[str, Field], signatures: Sequence[Signature], consenter: str) -> list[str]:
    """The roles whose signature field holds a validated signature, the consenter first. A representative
    counts only with their name filled in (a signature of no one named says nothing of who signed)."""
    made = {s.field for s in signatures}
    named = "representative.name" in fields and fields["representative.name"].filled
    out = [role for role in ROLES if f"{role}.signature" in made and (role != "representative" or named)]
    return sorted(out, key=lambda role: role != consenter)


def provenance(
    fields: Mapping[str, Field], signatures: Sequence[Signature], *, roles: Sequence[str],
    patient: dict[str, Any], targets: Sequence[str], occurred: str, recorded: str, tag: dict[str, str],
    where: dt.tzinfo | None,
) -> dict[str, Any]:
    """Who signed the form, in what role, and when (see the module docstring)."""
    made = {s.field: s for s in signatures}
    agents, signed = [], []
    contained = []
    for role in roles:
        agent_type, (code, display) = _AS[role]
        who = _who(fields, role, made[f"{role}.signature"], patient)
        agent: dict[str, Any] = {"type": {"coding": [{"system": _PARTICIPANT, "code": agent_type}]}}
        when = _signed_when(fields, role, made[f"{role}.signature"], where, recorded)
        entry: dict[str, Any] = {"type": [{"system": _E1762, "code": code, "display": display}], "when": when,
                                 "who": who}
        if role == "representative":
            contained.append(representative(fields, patient))
            relationship = fields.get("representative.relationship")
            if relationship is not None and relationship.filled:
                agent["role"] = [{"text": relationship.value.strip()}]
            agent |= {"who": who, "onBehalfOf": _typed_patient(patient)}
            entry["onBehalfOf"] = _typed_patient(patient)
        else:
            agent["who"] = who
        agents.append(agent)
        signed.append(entry)
    resource: dict[str, Any] = {"resourceType": "Provenance", "meta": {"tag": [dict(tag)]}}
    if contained:
        resource["contained"] = contained
    return resource | {
        "target": [{"reference": url} for url in targets],
        "occurredDateTime": occurred,
        "recorded": recorded,
        "agent": agents,
        "signature": signed,
    }


def _typed_patient(patient: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(patient), "type": "Patient"}


def _who(fields: Mapping[str, Field], role: str, sig: Signature, patient: dict[str, Any]) -> dict[str, Any]:
    if role == "patient":
        return _typed_patient(patient)
    if role == "representative":
        return representative_reference(fields)
    name = fields.get(f"{role}.name")
    shown = name.value.strip() if name is not None and name.filled else sig.signer or role
    return {"type": "Practitioner", "display": shown} if role == "provider" else {"display": shown}


def _signed_when(fields: Mapping[str, Field], role: str, sig: Signature, where: dt.tzinfo | None,
                 otherwise: str) -> str:
    """When ``role`` signed, as a FHIR instant: their signature's time, else their typed date and time, else
    ``otherwise`` (when the file was completed)."""
    if sig.signing_time is not None:
        return instant(in_zone(sig.signing_time, where))
    try:
        said = typed(fields, role, where)
    except InputError:
        return otherwise
    return instant(said.moment) if said.moment is not None else otherwise
