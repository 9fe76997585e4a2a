"""Which FHIR version an export was written in, from what R4 does not have: the note a record of a DSTU2
or STU3 export carries (consent reads them; the fields it reads mean the same there). Below
:mod:`consent.ehr._fhir`, which reads the records."""

from __future__ import annotations

from typing import Any

# Resource types that R4 does not have, by the versions that have them.
_DSTU2_TYPES = frozenset({"Conformance", "DeviceUseRequest", "DiagnosticOrder", "ImagingObjectSelection",
                          "MedicationOrder", "Order", "OrderResponse"})
_STU3_TYPES = frozenset({"ExpansionProfile", "ImagingManifest", "Sequence", "ServiceDefinition"})
_PRE_R4_TYPES = frozenset({"BodySite", "DataElement", "DeviceComponent", "EligibilityRequest",
                           "EligibilityResponse", "ProcedureRequest", "ProcessRequest", "ProcessResponse",
                           "ReferralRequest"})


def _family_is_a_list(resource: dict[str, Any]) -> bool:
    names = resource.get("name")
    entries = [n for n in names if isinstance(n, dict)] if isinstance(names, list) else []
    contacts = resource.get("contact")
    for contact in contacts if isinstance(contacts, list) else []:
        if isinstance(contact, dict) and isinstance(contact.get("name"), dict):
            entries.append(contact["name"])
    return any(isinstance(entry.get("family"), list) for entry in entries)


def version_markers(*resources: object) -> dict[str, str]:
    """What in ``resources`` R4 does not have, each with the FHIR versions that do: ``{"Patient.animal":
    "DSTU2/STU3", "MedicationOrder": "DSTU2"}``. Empty for R4 (and for an STU3 file that uses only what
    R4 kept)."""
    found: dict[str, str] = {}
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        kind = resource.get("resourceType")
        if kind in _DSTU2_TYPES:
            found[f"{kind} resources"] = "DSTU2"
        elif kind in _STU3_TYPES:
            found[f"{kind} resources"] = "STU3"
        elif kind in _PRE_R4_TYPES:
            found[f"{kind} resources"] = "DSTU2/STU3"
        elif kind == "Patient":
            if resource.get("animal") is not None:
                found["Patient.animal"] = "DSTU2/STU3"
            if "careProvider" in resource:
                found["Patient.careProvider"] = "DSTU2"
            if _family_is_a_list(resource):
                found["HumanName.family as a list"] = "DSTU2"
    return found


def version_note(markers: dict[str, str]) -> tuple[str, ...]:
    """The note on a record read from a DSTU2 or STU3 export (none for R4)."""
    if not markers:
        return ()
    versions = set(markers.values())
    version = "DSTU2" if "DSTU2" in versions else "STU3" if "STU3" in versions else "DSTU2 or STU3"
    found = ", ".join(sorted(markers))
    return (f"read from a FHIR {version} export, not R4 (it has {found}): the name, birth date, MRN and "
            "language mean the same there and were read as in R4",)
