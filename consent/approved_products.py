"""The dated list of FDA-approved cell and gene therapy products a form's FDA-status clause cites
(``templates/rules/approved-products.yaml``): its schema, parsed into checked objects the way
consent/content.py parses clause files (every problem in the file, each with its line)."""

from __future__ import annotations

import datetime as dt

import attrs

from ._yaml import Located
from .content import Reader
from .errors import Problem

APPROVED_PRODUCTS_FILE = ("rules", "approved-products.yaml")  # under a source's templates/
PRODUCT_KINDS = ("cord-blood", "stem-cell", "gene-modified-cells", "cell", "gene", "tissue")
"""What an approved product is: blood-forming cells from cord blood; other stem or stromal cells; a
patient's cells given a new gene; other cells; a gene therapy (no cells); an engineered tissue."""
_APPROVED_KEYS = ("source", "as_of", "products")
_PRODUCT_KEYS = ("name", "kind", "use", "confirmed_in")


@attrs.frozen
class ApprovedProduct:
    """One FDA-approved cellular or gene therapy product, and where its approval was read."""

    name: str
    kind: str
    use: str
    confirmed_in: str
    approved: int | None = None  # the year of its first approval, when known


@attrs.frozen
class ApprovedProducts:
    """The dated list of FDA-approved cellular and gene therapy products (``templates/rules/
    approved-products.yaml``): the fda-status clause says "As of <month year>" from ``as_of``, so the
    next approval is an update of this file, not of clause text."""

    source: str
    as_of: dt.date
    products: tuple[ApprovedProduct, ...]


def parse_approved_products(doc: Located, path: str) -> tuple[ApprovedProducts | None, list[Problem]]:
    """The approved-products file, and every problem in it (each naming the file and line)."""
    r = Reader(doc, path)
    data = doc.data
    if not r.keys(data, "", _APPROVED_KEYS, ()):
        return None, r.problems
    source = r.text(data, "source", "")
    as_of = data.get("as_of")
    if "as_of" in data and (not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime)):
        r.problem("as_of", f"as_of must be a date such as 2025-03-31 (got {as_of!r})")
        as_of = None
    elif isinstance(as_of, dt.date) and as_of > dt.date.today():
        r.problem("as_of", f"as_of must not be in the future (got {as_of.isoformat()})")
    raw = data.get("products")
    products: list[ApprovedProduct] = []
    if "products" in data and (not isinstance(raw, list) or not raw):
        r.problem("products", f"products must be a non-empty list (got {raw!r})")
        raw = []
    seen: set[str] = set()
    for i, item in enumerate(raw or ()):
        at = f"products[{i}]"
        if not r.keys(item, at, _PRODUCT_KEYS, ("approved",)):
            continue
        name, kind, use, where = (r.text(item, k, at) for k in _PRODUCT_KEYS)
        if kind is not None and kind not in PRODUCT_KINDS:
            r.problem(f"{at}.kind", f"kind must be one of {', '.join(PRODUCT_KINDS)} (got {kind!r})")
            kind = None
        if where is not None and not where.startswith("https://"):
            r.problem(f"{at}.confirmed_in", f"confirmed_in must be the https:// address read (got {where!r})")
            where = None
        year = item.get("approved")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100):
            r.problem(f"{at}.approved", f"approved must be a year such as 2017 (got {year!r})")
            year = None
        if name is not None and name.casefold() in seen:
            r.problem(f"{at}.name", f"product {name!r} is listed twice")
        if name is not None:
            seen.add(name.casefold())
        if None not in (name, kind, use, where):
            products.append(ApprovedProduct(name, kind, use, where, year))  # type: ignore[arg-type]
    if r.problems or source is None or not isinstance(as_of, dt.date):
        return None, r.problems
    return ApprovedProducts(source, as_of, tuple(products)), r.problems
