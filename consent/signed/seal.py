"""The clinic's seal: a PAdES signature over a filled-in, signed consent form, so any later change shows.

    sealed = consent.seal(Path("signed.pdf").read_bytes(), "clinic.p12", password)

pyHanko signs the file as it is, in an incremental update (the patient's and provider's signatures stay
valid), in a signature field of its own (``consent-seal``, never one of the patient's fields), invisible,
with the PAdES subfilter (ETSI.CAdES.detached, SHA-256): PAdES baseline B-B, or B-T when a timestamp
authority is given (the only time anything is fetched from the network). After sealing, ``consent verify``
reports any change made to the file: pyHanko's difference analysis says the seal no longer covers the
whole file, and a change to a page also fails the content hash.

A form is only sealed when consent made it and its pages are unchanged (see :mod:`consent.signed.read`);
an incomplete form may be sealed (the verdict still says it is incomplete).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SealError
from .read import SEAL_FIELD, read_signed
from .signatures import pyhanko_quietly

if TYPE_CHECKING:
    from pyhanko.sign.signers import SimpleSigner

REASON = "Sealed by the clinic: any later change to this consent form is detectable"


@pyhanko_quietly()
def seal(
    pdf: bytes, cert: str | Path, password: str | bytes | None = None, *, tsa_url: str | None = None
) -> bytes:
    """``pdf`` (a consent form, filled in and signed) with the clinic's seal added: see the module docstring.

    ``cert``: a PKCS#12 file (.p12/.pfx) holding the clinic's private key, its certificate and, ideally,
    the chain up to its CA. ``password``: the PKCS#12 password (None when it has none). ``tsa_url``: an
    RFC 3161 timestamp authority, for a trusted signing time (PAdES B-T).

    Raises :class:`~consent.errors.NotAConsentForm` when consent did not make the form, and
    :class:`~consent.errors.SealError` when it was altered, is already sealed, or the certificate cannot
    be used (the password is never part of a message).
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import SigningError

    signed = read_signed(pdf)
    verdict = signed.verdict
    if verdict.status == "ALTERED":
        raise SealError(
            f"form {signed.form_id} is not sealed: it is {verdict}",
            hint="seal the form as the patient signed it, before anything else changes it",
        )
    if signed.seal is not None:
        raise SealError(f"form {signed.form_id} is already sealed (by {signed.seal.signer})")
    signer = _signer(Path(cert), password)
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=REASON,
    )
    timestamper = None
    if tsa_url:
        from pyhanko.sign.timestamps import HTTPTimeStamper

        timestamper = HTTPTimeStamper(tsa_url)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = signers.PdfSigner(meta, signer=signer, timestamper=timestamper).sign_pdf(writer)
    except (SigningError, PdfError, OSError) as exc:
        raise SealError(f"form {signed.form_id} could not be sealed: {exc}") from None
    return bytes(out.getvalue())


def _signer(cert: Path, password: str | bytes | None) -> SimpleSigner:
    from pyhanko.sign import signers

    from .._limits import MAX_DATA_FILE_BYTES, read_bounded

    secret = password.encode() if isinstance(password, str) else password
    try:  # at most MAX_DATA_FILE_BYTES: /dev/zero stops there
        data = read_bounded(cert, MAX_DATA_FILE_BYTES, "the certificate file")
    except OSError as exc:
        raise SealError(f"{cert}: cannot be read ({exc.strerror})") from None
    try:
        signer: SimpleSigner = signers.SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=secret)
    except (ValueError, TypeError):
        raise SealError(
            f"{cert}: cannot open the clinic's key and certificate",
            hint="give a PKCS#12 file (.p12 or .pfx) and its password "
            "(--password-env VAR, or typed when asked)",
        ) from None
    return signer
