"""E-signature anchor tags (issue 9): the strings DocuSign and Adobe Acrobat Sign find in a document's
text to put their signature, initials and date fields there. Printed invisibly by both renderers (the
PDF: consent/pdf/fields.py; the DOCX: consent/docx/render.py) when ``--esign`` is asked for; never
part of the form's text otherwise. See the README, "E-signature services".
"""

from __future__ import annotations

from .errors import RenderError

ESIGN = ("docusign", "adobe")
SIGNERS = {"patient": 1, "provider": 2, "representative": 3, "witness": 4}  # recipients, in order
KINDS = {"signature": "s", "date": "d", "initials": "i"}


def tag(name: str, esign: str, number: int, *, initials_by: str = "patient") -> str | None:
    """The tag for the place of form field ``name`` ("patient.signature", "initials.risks", ...), or
    None where no tag goes (a printed name, a time). ``initials_by``: the recipient of the initials places
    (on a minor's form, "representative": the parent or guardian).

    DocuSign: anchor strings the sender maps to tabs (``\\s1\\`` Sign Here, ``\\d1\\`` Date Signed,
    ``\\i1\\`` Initial Here; the digit is the recipient: 1 patient, 2 provider, 3 representative,
    4 witness). Adobe Acrobat Sign: text tags it turns into fields itself
    (``{{Sig1_es_:signer1:signature}}``, ``{{Dte1_es_:signer1:date}}``,
    ``{{Int1_<number>_es_:signer1:initials}}``: each initials field has its own name)."""
    role, _, kind = name.partition(".")
    if role == "initials":
        role, kind = initials_by, "initials"
    signer = SIGNERS.get(role)
    letter = KINDS.get(kind)
    if signer is None or letter is None:
        return None
    if esign == "docusign":
        return f"\\{letter}{signer}\\"
    field = {"s": f"Sig{signer}", "d": f"Dte{signer}", "i": f"Int{signer}_{number}"}[letter]
    return f"{{{{{field}_es_:signer{signer}:{kind}}}}}"


def check_esign(esign: str | None) -> None:
    """Refuse an unknown service."""
    if esign is not None and esign not in ESIGN:
        raise RenderError(f"unknown e-signature service {esign!r}", hint=f"use one of: {', '.join(ESIGN)}")
