"""consent: informed-consent forms for regenerative-medicine treatments, as DOCX and PDF.

    import datetime as dt
    import consent

    form = consent.build(
        "knee-injection",
        patient=consent.load_patient("patient.yaml"),
        clinic=consent.load_clinic("clinic.yaml"),
        date=dt.date(2026, 11, 21),
    )
    pdf_bytes = form.to_pdf()
    paths = form.write("out/", formats=("pdf", "docx"))

The pipeline, one module per stage: ``_library`` (load clause and treatment files) ->
``content`` (validate them) -> ``_assemble`` (fill them in: a :class:`Form`) -> ``check`` (compliance)
-> ``_build`` (assemble, check, refuse or record) -> ``_render_pdf`` / ``_pdf_layers`` (under ``_pdf``)
and ``_render_docx`` (render) -> ``_output`` (write files atomically) -> ``_batch`` -> ``cli``.
The return path: ``_pdf_stamp`` stamps every PDF's content hash; ``_signed`` reads a signed form back
(:func:`read_signed`, ``consent verify``) and ``_seal`` adds the clinic's seal (:func:`seal`).
``_form_data`` is the form's data the renderers embed in every PDF and DOCX; ``_rerender`` makes a form
again from it (:func:`rerender`), and ``_record`` makes a signed form's FHIR Bundle (:func:`record_signed`).
"""

import typing as _typing

from . import check, ehr  # noqa: F401 - subpackages: consent.check and consent.ehr work after "import consent"
from ._assemble import LanguageFallbackWarning
from ._build import build
from ._disk_cache import use_disk_cache
from ._batch import BatchResult, run_batch
from ._library import Library, get_library
from ._template_export import export_template
from .document import Form, Manifest, Section
from .errors import (
    CheckFailed,
    ConsentError,
    ContentError,
    InputError,
    NotAConsentForm,
    Problem,
    RenderError,
    SealError,
    UnknownNameError,
)
from .inputs import (
    Clinic,
    FeeSchedule,
    Patient,
    Product,
    Provider,
    Screening,
    Study,
    load_clinic,
    load_patient,
    load_screening,
)

if _typing.TYPE_CHECKING:
    from ._record import record_signed
    from ._rerender import Rerendered, rerender


# The return path (verify and seal) imports pikepdf and pyHanko, and rerender both renderers: loaded
# when first asked for.
_LAZY = {"SignedForm": "_signed", "read_signed": "_signed", "seal": "_seal", "Rerendered": "_rerender",
         "rerender": "_rerender", "record_signed": "_record"}


def __getattr__(name: str) -> object:
    """``consent.__version__``, read from the installed package's metadata when first asked for
    (importlib.metadata is slow to import, and most commands never need it); and the return path's
    names (``read_signed``, ``seal``, ``rerender``, ``record_signed``), imported at first use."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name != "__version__":
        raise AttributeError(f"module 'consent' has no attribute {name!r}")
    import importlib.metadata

    try:
        version = importlib.metadata.version("consent")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
        version = "0+unknown"
    globals()["__version__"] = version
    return version


__all__ = [
    "BatchResult",
    "CheckFailed",
    "Clinic",
    "ConsentError",
    "ContentError",
    "FeeSchedule",
    "Form",
    "InputError",
    "LanguageFallbackWarning",
    "Library",
    "Manifest",
    "NotAConsentForm",
    "Patient",
    "Problem",
    "Product",
    "Provider",
    "RenderError",
    "Rerendered",
    "Screening",
    "SealError",
    "Section",
    "SignedForm",
    "Study",
    "UnknownNameError",
    "__version__",
    "build",
    "export_template",
    "get_library",
    "load_clinic",
    "load_patient",
    "load_screening",
    "read_signed",
    "record_signed",
    "rerender",
    "run_batch",
    "seal",
    "use_disk_cache",
]
