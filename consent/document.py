"""The document model: one finished consent form, built once and read by every renderer.

Every string here is final, plain text (variables filled in, not yet escaped). Renderers escape it
for their target (HTML for the PDF, XML for the DOCX) and add nothing but layout.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Union

import attrs

OMIT_IF_DEFAULT = "consent.omit_if_default"
"""Metadata of a field added after forms were made: left out of the form's id and embedded data while it
holds its default, so a form without it keeps the very bytes it had (see :func:`content_id`)."""


OMIT_IF_DEFAULT = "consent.omit_if_default"
"""Metadata of a field added after forms were made: left out of the form's id and embedded data while it
holds its default, so a form without it keeps the very bytes it had (see :func:`content_id`)."""


@attrs.frozen
class Paragraph:
    """A paragraph. ``lang``: the BCP 47 tag of its language when it is not the form's (a line of the page
    of language-assistance taglines), printed as the HTML ``lang`` and the DOCX runs' ``w:lang``."""

    kind: ClassVar[str] = "paragraph"
    text: str
    style: str = "body"  # body | strong
    lang: str | None = attrs.field(default=None, metadata={OMIT_IF_DEFAULT: True})


@attrs.frozen
class Heading:
    kind: ClassVar[str] = "heading"
    text: str


@attrs.frozen
class BulletList:
    kind: ClassVar[str] = "list"
    items: tuple[str, ...]


@attrs.frozen
class Notice:
    """Text in a box. A state notice also carries its law: ``citation``, and ``wording`` "verbatim" (the
    law's own words) or "paraphrase" (our summary of what the law requires), which the renderers print
    next to it; ``type_pt`` is its type size in every output, and ``own_page`` gives it a page of its
    own. ``language`` is the language of its words when they are not in the form's (None): "en" for the
    law's English words printed before a courtesy translation, which the renderers mark as English."""

    kind: ClassVar[str] = "notice"
    text: str
    citation: str | None = None
    wording: str | None = None
    type_pt: float | None = None
    own_page: bool = False
    language: str | None = attrs.field(default=None, metadata={OMIT_IF_DEFAULT: True})


@attrs.frozen
class ChecklistRow:
    id: str
    question: str
    answer: bool | None = None


@attrs.frozen
class Checklist:
    kind: ClassVar[str] = "checklist"
    header: str
    yes: str
    no: str
    rows: tuple[ChecklistRow, ...]


@attrs.frozen
class FeeTable:
    kind: ClassVar[str] = "fees"
    item_header: str
    amount_header: str
    rows: tuple[tuple[str, str], ...]
    total: tuple[str, str]
    included_label: str
    included: tuple[str, ...]
    excluded_label: str
    excluded: tuple[str, ...]


@attrs.frozen
class FactRow:
    label: str
    value: str  # "" when the value is written in by hand (the renderers leave a box for it)
    note: str | None = None  # printed under the label, e.g. when the value is written in


@attrs.frozen
class ProductTable:
    """What the product is: its maker, source tissue, donor screening and lot number."""

    kind: ClassVar[str] = "product"
    rows: tuple[FactRow, ...]


@attrs.frozen
class SignatureParty:
    role: str
    title: str
    note: str | None
    fields: tuple[tuple[str, str], ...]  # (label, pre-filled value or "")


@attrs.frozen
class Signatures:
    kind: ClassVar[str] = "signatures"
    parties: tuple[SignatureParty, ...]


Block = Union[Paragraph, Heading, BulletList, Notice, Checklist, FeeTable, ProductTable, Signatures]


@attrs.frozen
class Section:
    clause_id: str
    version: str
    title: str
    blocks: tuple[Block, ...]
    initials: bool = False
    kind: str = "clause"


@attrs.frozen
class ClauseRef:
    id: str
    version: str
    source: str
    language: str


@attrs.frozen
class Minor:
    """The patient was under the age of majority of the clinic's state on the form's date: a parent or legal
    guardian signs the form for them (see consent/inputs/majority.py). ``assent``: the form has a line for the
    patient's own assent (the clinic's ``minors.assent_from_age``)."""

    age_of_majority: int
    state: str  # the clinic's state, whose age of majority applied (two letters)
    assent: bool


@attrs.frozen
class Manifest:
    """What went into a form: clause ids and versions, treatment, template version, check results, for a
    minor, the age of majority that applied (``minor``; None for an adult), and whether the form is in large
    print (``large_print``)."""

    treatment_id: str
    treatment_version: str
    language: str
    template_version: str
    clauses: tuple[ClauseRef, ...]
    study: bool = False  # the clinic lists a study: the research elements are required too
    acknowledged: tuple[str, ...] = ()
    check_errors: tuple[str, ...] = ()
    minor: Minor | None = attrs.field(default=None, metadata={OMIT_IF_DEFAULT: True})
    # The form is printed large (body text LARGE_PRINT_PT and up): both renderers follow it, and rerender too.
    large_print: bool = attrs.field(default=False, metadata={OMIT_IF_DEFAULT: True})

    def to_dict(self, form_id: str) -> dict[str, Any]:
        minor = {} if self.minor is None else {"minor": attrs.asdict(self.minor)}
        large = {"large_print": True} if self.large_print else {}
        return {
            "form_id": form_id,
            "treatment": {"id": self.treatment_id, "version": self.treatment_version},
            "language": self.language,
            "template_version": self.template_version,
            "clauses": [attrs.asdict(c) for c in self.clauses],
            "study": self.study,
            "acknowledged": list(self.acknowledged),
            "check_errors": list(self.check_errors),
            **minor,
            **large,
        }


@attrs.frozen
class Header:
    clinic_name: str
    clinic_address: str
    clinic_phone: str
    patient_name: str
    birth_date: str
    mrn: str | None


@attrs.frozen
class Jurisdiction:
    """What the state rules and the clinic's federal legal position on a form depend on, recorded when it
    is assembled and read by the checks."""

    state: str
    provider_credentials: str = ""
    study: tuple[str, ...] = ()  # what the clinic's study has: "ind", "ide", "irb"
    specialty: str | None = None  # the treatment's field of medicine
    stated: tuple[str, ...] = ()  # what the clinic states that may lift a duty: "ind-holder", "ide-holder", ...
    facility: str | None = None  # where the clinic gives its treatments (clinic.facility), if it says
    charges: bool = False  # the clinic's fee schedule for the treatment has a price above zero
    charging_authorized: bool = False  # the clinic states FDA's authorisation to charge in its study (312.8)


@attrs.frozen
class Form:
    """A built consent form. Render it with :meth:`to_pdf` / :meth:`to_docx`, or :meth:`write` files: the
    same as :func:`consent.render_pdf`, :func:`consent.render_docx` and :func:`consent.write_form`, which
    these methods call through the package front (the document model imports no renderer)."""

    form_id: str
    title: str
    language: str
    locale: str
    date: dt.date
    header: Header
    labels: Mapping[str, str]
    sections: tuple[Section, ...]
    manifest: Manifest
    packs: tuple[str, ...] = ()
    jurisdiction: Jurisdiction | None = None

    @property
    def large_print(self) -> bool:
        """The form is in large print (``consent.build(..., large_print=True)``): body text of at least
        :data:`LARGE_PRINT_PT`, larger headings, wider line spacing, on letter paper (templates/large-print.css,
        and the DOCX's styles scaled). Recorded in the manifest, so that ``consent rerender`` makes it so again."""
        return self.manifest.large_print

    def manifest_dict(self) -> dict[str, Any]:
        """The manifest as plain data (also embedded in the PDF and DOCX metadata)."""
        return self.manifest.to_dict(self.form_id)

    def to_pdf(self, *, variant: str | None = None, fillable: bool = False,
               esign: str | None = None) -> bytes:
        """The PDF; ``fillable`` adds form fields to fill in and sign, ``esign`` ("docusign" or "adobe")
        that service's anchor tags (see the README: Fillable and signable PDFs)."""
        import consent  # the package front: the document model imports no renderer (ARCHITECTURE.md)

        return consent.render_pdf(self, variant=variant, fillable=fillable, esign=esign)

    def to_docx(self, *, esign: str | None = None) -> bytes:
        """The DOCX; ``esign`` ("docusign" or "adobe") adds that service's tags, as for :meth:`to_pdf`."""
        import consent

        return consent.render_docx(self, esign=esign)

    def write(
        self,
        out_dir: str | Path,
        formats: Sequence[str] = ("pdf", "docx"),
        *,
        stem: str | None = None,
        pdf_variant: str | None = None,
        fillable: bool = False,
        esign: str | None = None,
    ) -> list[Path]:
        """Render every format first, then write each file atomically. Returns the paths written.
        ``fillable`` and ``esign`` are as for :meth:`to_pdf`."""
        import consent

        return consent.write_form(self, out_dir, formats, stem=stem, pdf_variant=pdf_variant, fillable=fillable,
                                  esign=esign)


LARGE_PRINT_PT = 18.0
"""The smallest type size of a large-print form, in points (its body text)."""


def printed(form: Form) -> Form:
    """The form as its renderers print it: in large print, each notice with a type size of its own (a
    state's legal minimum) gets at least :data:`LARGE_PRINT_PT` (Utah's 40-point notice stays 40 points;
    a notice without one takes the large body size from the stylesheet). Otherwise the form itself."""
    if not form.large_print:
        return form
    sections = []
    for section in form.sections:
        if any(isinstance(b, Notice) and b.type_pt and b.type_pt < LARGE_PRINT_PT for b in section.blocks):
            blocks = tuple(attrs.evolve(b, type_pt=LARGE_PRINT_PT)
                           if isinstance(b, Notice) and b.type_pt and b.type_pt < LARGE_PRINT_PT else b
                           for b in section.blocks)
            section = attrs.evolve(section, blocks=blocks)
        sections.append(section)
    return attrs.evolve(form, sections=tuple(sections))


def content_id(sections: Sequence[Section], **fields: Any) -> str:
    """A form id derived from everything the patient reads and the manifest: same content, same id."""
    payload = {"sections": [attrs.asdict(s, filter=_kept) for s in sections], **fields}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=_json_default).encode()
    digest = hashlib.sha256(blob).hexdigest().upper()
    return f"CF-{digest[:4]}-{digest[4:8]}-{digest[8:12]}"


def _json_default(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if attrs.has(type(value)):
        return attrs.asdict(value, filter=_kept)  # type: ignore[arg-type]
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _kept(attribute: attrs.Attribute, value: object) -> bool:  # type: ignore[type-arg]
    """A field counts unless it is marked OMIT_IF_DEFAULT and holds its default."""
    return not (attribute.metadata.get(OMIT_IF_DEFAULT) and value == attribute.default)


def unanswered_section(section: Section) -> Section:
    """The section with its screening boxes empty."""
    if not any(isinstance(b, Checklist) for b in section.blocks):
        return section
    blocks = tuple(
        attrs.evolve(b, rows=tuple(attrs.evolve(r, answer=None) for r in b.rows)) if isinstance(b, Checklist) else b
        for b in section.blocks
    )
    return attrs.evolve(section, blocks=blocks)


def unanswered(form: Form) -> Form:
    """The form with its screening boxes empty (a fillable PDF draws the answers as radio buttons)."""
    return attrs.evolve(form, sections=tuple(unanswered_section(s) for s in form.sections))
