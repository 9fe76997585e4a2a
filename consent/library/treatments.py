"""Treatment files: their schema and parsing (``templates/treatments/<id>.yaml`` and their translations).

The parsing helpers and the clause files are :mod:`consent.content`; this module is the treatment half,
read by the library loader (:mod:`consent.library.loader`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._yaml import Located
from ..content import TREATMENT_LIST_FIELDS, TREATMENT_TEXT_FIELDS, ScreeningItem, Reader
from ..errors import Problem


@attrs.frozen
class ProductSpec:
    """A pack's own treatment may name its product in the treatment file (``product_identity``); a
    clinic's ``products`` entry for the treatment takes precedence."""

    maker: str
    source_tissue: str
    donor_screening: str
    lot_number: str | None = None


@attrs.frozen
class TreatmentSpec:
    id: str
    version: str
    name: str
    description: str
    purpose: str  # what the clinic hopes the treatment does, never a promise; a clinic may give its own
    clauses: tuple[str, ...]
    route: str
    product: str
    session_length: str
    usual_sessions: str
    steps: tuple[str, ...]
    common_effects: tuple[str, ...]
    rare_effects: tuple[str, ...]
    screening: tuple[ScreeningItem, ...]
    aftercare: tuple[str, ...]
    urgent_signs: tuple[str, ...]
    evidence: tuple[str, ...]
    product_identity: ProductSpec | None = None
    specialty: str | None = None  # field of medicine, e.g. orthopedics (state laws allow some fields only)
    language: str = "en"
    source: str = "built-in"
    path: str = ""


TREATMENT_REQUIRED = ("id", "version", "clauses", *TREATMENT_TEXT_FIELDS, *TREATMENT_LIST_FIELDS)
TREATMENT_OPTIONAL = ("screening", "product_identity", "specialty")
PRODUCT_REQUIRED = ("maker", "source_tissue", "donor_screening")
PRODUCT_TRANSLATED = ("source_tissue", "donor_screening")  # the maker and the lot number are names


def _product(r: Reader, data: Mapping[str, Any], base: ProductSpec | None = None) -> ProductSpec | None:
    """``product_identity`` of a treatment file, or of its translation (laid over the English one)."""
    value = data.get("product_identity")
    if base is None and value is None:
        return None
    if base is None:
        if not r.keys(value, "product_identity", PRODUCT_REQUIRED, ("lot_number",)):
            return None
        texts = {k: r.text(value, k, "product_identity") or "" for k in PRODUCT_REQUIRED}
        lot = r.text(value, "lot_number", "product_identity") if "lot_number" in value else None
        return ProductSpec(lot_number=lot, **texts)
    if value is None:
        r.problem("", "missing required key 'product_identity': the English treatment names its product, so "
                      f"the translation gives {' and '.join(PRODUCT_TRANSLATED)} in its language")
        return base
    if not r.keys(value, "product_identity", PRODUCT_TRANSLATED, ()):
        return base
    return attrs.evolve(base, **{k: r.text(value, k, "product_identity") or "" for k in PRODUCT_TRANSLATED})


def parse_treatment(doc: Located, path: str, source: str) -> tuple[TreatmentSpec | None, list[Problem]]:
    """Check and build a treatment from a parsed treatment file."""
    r = Reader(doc, path)
    data = doc.data
    if not r.keys(data, "", TREATMENT_REQUIRED, TREATMENT_OPTIONAL):
        return None, r.problems
    texts = {f: r.text(data, f, "") or "" for f in TREATMENT_TEXT_FIELDS}
    lists = {f: r.strings(data, f, "") for f in TREATMENT_LIST_FIELDS}
    specialty = r.ident(data["specialty"], "specialty", "specialty") if "specialty" in data else None
    clauses = r.strings(data, "clauses", "")
    for i, cid in enumerate(clauses):
        r.ident(cid, f"clauses[{i}]", "clause id")
    spec = TreatmentSpec(
        id=r.ident(data.get("id"), "id", "id"),
        version=r.text(data, "version", "") or "",
        clauses=clauses,
        screening=r.screening(data, ""),
        product_identity=_product(r, data),
        specialty=specialty,
        source=source,
        path=path,
        **texts,
        **lists,
    )
    return spec, r.problems


def parse_treatment_translation(
    doc: Located, path: str, base: TreatmentSpec, language: str
) -> tuple[TreatmentSpec | None, list[Problem]]:
    r = Reader(doc, path)
    data = doc.data
    required = ("id", "translates", *TREATMENT_TEXT_FIELDS, *TREATMENT_LIST_FIELDS)
    if not r.keys(data, "", required, ("screening",) + (("product_identity",) if base.product_identity else ())):
        return None, r.problems
    if data.get("id") != base.id:
        r.problem("id", f"id must be {base.id!r} like the file name (got {data.get('id')!r})")
    texts = {f: r.text(data, f, "") or "" for f in TREATMENT_TEXT_FIELDS}
    lists = {f: r.strings(data, f, "") for f in TREATMENT_LIST_FIELDS}
    screening = r.screening(data, "")
    if {s.id for s in screening} != {s.id for s in base.screening}:
        r.problem("screening", "screening questions must have the same ids as the English treatment")
    translates = r.text(data, "translates", "") or ""
    if translates != base.version:
        r.problem("translates", f"translates version {translates!r} but the English file is {base.version!r}")
    product = _product(r, data, base.product_identity) if base.product_identity else None
    spec = attrs.evolve(base, screening=screening, product_identity=product, language=language, path=path,
                        **texts, **lists)
    return spec, r.problems
