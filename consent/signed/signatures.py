"""The digital signatures in a PDF, validated offline with pyHanko.

Each signature is checked for what a reader of the record needs: are the bytes it signed unchanged
(``intact``), is the cryptography sound (``valid``), does its certificate lead to a trust root the caller
gave (``trusted``; ``None`` when none was given), and what was done to the file after it was signed
(pyHanko's difference analysis: the coverage, and the modification level of later incremental updates).
Nothing is fetched from the network: no revocation lookups, no certificates downloaded; the chain comes
from the file and the trust roots from the caller.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

# pyHanko logs a failed path to a trust anchor as a warning with a traceback; without a trust root that is
# the expected outcome, reported in the verdict instead.
logging.getLogger("pyhanko").setLevel(logging.ERROR)
logging.getLogger("pyhanko_certvalidator").setLevel(logging.ERROR)


@contextlib.contextmanager
def pyhanko_quietly() -> Iterator[None]:
    """Import and call pyHanko without its dependencies' deprecation warnings reaching our users.

    cryptography 51 deprecates DSA, and pyHanko names DSA key classes (at import, and when it checks a key);
    each such use warns, so every ``consent verify``, ``record`` and ``seal`` printed "DSA is deprecated".
    Only that warning, and only when raised from pyHanko's own modules, is silenced, for the call in hand:
    any other warning (ours included) still shows, and under the tests' ``filterwarnings = error`` fails.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DSA is deprecated", module="pyhanko")
        yield

_COVERAGE = {
    "ENTIRE_FILE": "the entire file",
    "ENTIRE_REVISION": "its revision, not the updates after it",
    "CONTIGUOUS_BLOCK_FROM_START": "part of the file",
    "UNCLEAR": "an unclear part of the file",
}
_CHANGES = {
    "NONE": "none",
    "LTA_UPDATES": "validation data only",
    "FORM_FILLING": "form filling and signing",
    "ANNOTATIONS": "annotations",
    "OTHER": "other changes",
}


@attrs.frozen
class Signature:
    """One signature field's signature, as validated."""

    field: str  #: fully qualified field name, e.g. ``patient.signature`` or ``consent-seal``
    signer: str  #: the common name (or the whole subject) of the signing certificate
    signed_at: dt.datetime | None  #: the time the signer's software claimed (not a trusted time)
    intact: bool  #: the bytes it signed are unchanged
    valid: bool  #: the signature matches its certificate's key
    trusted: bool | None  #: the certificate chains to a given trust root; None: no trust root was given
    coverage: str  #: what it covers: "the entire file", or only an earlier revision (see ``_COVERAGE``)
    #: pyHanko's modification level of what came after: "none", "form filling and signing", ...
    changes_after: str
    changes_allowed: bool  #: what came after is allowed (form filling; no change to page content)
    timestamped: bool  #: carries a timestamp token from a timestamp authority
    revision: int  #: the revision it signed (1 = the file as first written)
    problem: str = ""  #: why it could not be validated at all, if so
    #: the time of its timestamp token (from a timestamp authority), when it carries one
    timestamp_at: dt.datetime | None = None

    @property
    def signing_time(self) -> dt.datetime | None:
        """When it was signed, as the file says: its timestamp's time, else the time the signer's software
        claimed; None when it says neither."""
        return self.timestamp_at or self.signed_at

    @property
    def covers_whole_file(self) -> bool:
        return self.coverage == _COVERAGE["ENTIRE_FILE"]


@pyhanko_quietly()
def load_trust_roots(paths: Sequence[str | Path]) -> list[Any]:
    """Certificates (PEM or DER files) to accept as trust roots."""
    from pyhanko.keys import load_certs_from_pemder_data

    from .._limits import MAX_DATA_FILE_BYTES, read_bounded
    from ..errors import InputError

    roots: list[Any] = []
    for path in paths:
        try:  # at most MAX_DATA_FILE_BYTES: /dev/zero stops there
            data = read_bounded(Path(path), MAX_DATA_FILE_BYTES, "the certificate file")
        except OSError as exc:
            raise InputError(f"{path}: cannot be read as a certificate (PEM or DER): {exc}") from None
        try:
            found = list(load_certs_from_pemder_data(data))  # type: ignore[no-untyped-call]
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot be read as a certificate (PEM or DER): {exc}") from None
        if not found:
            raise InputError(f"{path}: holds no certificate (expected PEM or DER)")
        roots.extend(found)
    return roots


@attrs.frozen
class History:
    """A file's revisions and signatures, as pyHanko reads them."""

    revisions: int  #: 1 + the incremental updates (0: the file's structure cannot be read)
    signatures: tuple[Signature, ...]  #: every signature, in signing order
    #: where each revision ends in the file (just after its %%EOF), in order: ``pdf[:ends[k - 1]]`` is the
    #: file as it was at revision k (1 = as first written); empty when the structure cannot be read
    ends: tuple[int, ...] = ()


def read_signatures(
    pdf: bytes, trust_roots: Sequence[Any] | None = None
) -> tuple[int, tuple[Signature, ...]]:
    """The number of revisions of the file (1 + its incremental updates) and its signatures, in order."""
    history = read_history(pdf, trust_roots)
    return history.revisions, history.signatures


@pyhanko_quietly()
def read_history(pdf: bytes, trust_roots: Sequence[Any] | None = None) -> History:
    """:func:`read_signatures`, and where each revision of the file ends."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        revisions = reader.xrefs.total_revisions
        embedded = list(reader.embedded_signatures)
        ends = _revision_ends(pdf, reader, revisions)
    # pyHanko meets a damaged file with many kinds of error (PdfError, ValueError, zlib.error, even an
    # AssertionError): whatever it is, the verdict says the signatures cannot be read, never a traceback.
    except Exception as exc:  # noqa: BLE001
        problem = f"the file's structure cannot be read for signatures: {exc}"
        return History(0, (_broken("(unknown)", problem),))
    out = []
    for sig in embedded:
        context = ValidationContext(trust_roots=list(trust_roots or []), allow_fetching=False)
        out.append(_validate(sig, context, trusted_known=trust_roots is not None))
    return History(revisions, tuple(out), ends)


def _revision_ends(pdf: bytes, reader: Any, revisions: int) -> tuple[int, ...]:
    """Each revision ends at the first %%EOF after its cross-reference section (only its trailer and
    startxref come between). Empty when one is not found (the history is then not read)."""
    ends = []
    for revision in range(revisions):
        at = pdf.find(b"%%EOF", reader.xrefs.get_xref_container_info(revision).end_location)
        if at < 0:
            return ()
        ends.append(at + 5)
    return tuple(ends)


def _broken(field: str, problem: str) -> Signature:
    return Signature(
        field=field,
        signer="",
        signed_at=None,
        intact=False,
        valid=False,
        trusted=False,
        coverage=_COVERAGE["UNCLEAR"],
        changes_after="unknown",
        changes_allowed=False,
        timestamped=False,
        revision=0,
        problem=problem,
    )


def _validate(sig: Any, context: Any, *, trusted_known: bool) -> Signature:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature

    try:
        status = validate_pdf_signature(sig, context)
    except Exception as exc:  # noqa: BLE001 - as in read_signatures: a damaged signature is a verdict
        return _broken(sig.field_name, f"it cannot be validated: {exc or type(exc).__name__}")
    subject = status.signing_cert.subject
    names = subject.native
    level = status.modification_level
    return Signature(
        field=sig.field_name,
        signer=str(names.get("common_name") or subject.human_friendly),
        signed_at=status.signer_reported_dt,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted) if trusted_known else None,
        coverage=_COVERAGE.get(status.coverage.name if status.coverage else "UNCLEAR", "?"),
        changes_after=_CHANGES.get(level.name, level.name.lower()) if level is not None else "unknown",
        changes_allowed=level is not None
        and level <= ModificationLevel.FORM_FILLING
        and status.docmdp_ok is not False,
        timestamped=status.timestamp_validity is not None,
        revision=sig.signed_revision + 1,
        timestamp_at=getattr(status.timestamp_validity, "timestamp", None),
    )
