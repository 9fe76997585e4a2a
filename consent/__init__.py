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

The pipeline, one subpackage per stage, dependencies pointing down it: ``inputs`` -> ``library`` ->
``assemble`` (a :class:`Form`) -> ``check`` -> ``pdf`` and ``docx`` (the plain renderers) -> ``speedups``
(the same forms, faster; :func:`render_pdf`, :func:`render_docx` and :func:`write_form` are its door)
-> ``template``, ``signed`` (a signed form read back, sealed, archived, re-rendered, recorded) ->
``batch`` -> ``cli``; ``ehr`` reads EHR exports and writes FHIR. The map is ARCHITECTURE.md.
"""

import typing as _typing

from ._version import __version__

if _typing.TYPE_CHECKING:
    from . import check, ehr
    from ._build import build
    from .assemble.assembly import LanguageFallbackWarning
    from .batch.run import BatchResult, run_batch
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
    from .inputs.loaders import (
        Clinic,
        FeeSchedule,
        LanguageAssistance,
        Minors,
        Patient,
        Procedure,
        Product,
        Provider,
        Screening,
        Study,
        load_clinic,
        load_patient,
        load_screening,
    )
    from .library.loader import Library, get_library
    from .signed.archive import archive_signed
    from .signed.provenance import SigningTimeWarning
    from .signed.read import SignedForm, read_signed
    from .signed.record import record_signed
    from .signed.rerender import Rerendered, rerender
    from .signed.seal import seal
    from .speedups.caches import clear_caches
    from .speedups.disk_cache import use_disk_cache
    from .speedups.render import render_docx, render_pdf, write_form
    from .template.export import export_template

# Every name is imported when first asked for: "import consent" loads nothing else, so that a command
# loads only what it uses (the command line's "consent render" starts the process that makes the PDF
# before it imports the rest; see consent/__main__.py). The module that defines each name:
_LAZY = {
    **dict.fromkeys(("check", "ehr"), ""),  # the subpackages consent.check and consent.ehr
    "archive_signed": "signed.archive",
    "LanguageFallbackWarning": "assemble.assembly",
    **dict.fromkeys(("BatchResult", "run_batch"), "batch.run"),
    "build": "_build",
    "use_disk_cache": "speedups.disk_cache",
    "clear_caches": "speedups.caches",
    **dict.fromkeys(("render_docx", "render_pdf", "write_form"), "speedups.render"),
    **dict.fromkeys(("Library", "get_library"), "library.loader"),
    "record_signed": "signed.record",
    "SigningTimeWarning": "signed.provenance",
    **dict.fromkeys(("Rerendered", "rerender"), "signed.rerender"),
    "seal": "signed.seal",
    **dict.fromkeys(("SignedForm", "read_signed"), "signed.read"),
    "export_template": "template.export",
    **dict.fromkeys(("Form", "Manifest", "Section"), "document"),
    **dict.fromkeys(("CheckFailed", "ConsentError", "ContentError", "InputError", "NotAConsentForm",
                     "Problem", "RenderError", "SealError", "UnknownNameError"), "errors"),
    **dict.fromkeys(("Clinic", "FeeSchedule", "LanguageAssistance", "Minors", "Patient", "Procedure", "Product", "Provider", "Screening",
                     "Study", "load_clinic", "load_patient", "load_screening"), "inputs"),
}


def __getattr__(name: str) -> object:
    """The public names, each imported at first use (see ``_LAZY``)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'consent' has no attribute {name!r}")
    import importlib

    module = _LAZY[name]
    value = (importlib.import_module(f".{name}", __name__) if not module
             else getattr(importlib.import_module(f".{module}", __name__), name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "BatchResult",
    "CheckFailed",
    "Clinic",
    "ConsentError",
    "ContentError",
    "FeeSchedule",
    "Form",
    "InputError",
    "LanguageAssistance",
    "LanguageFallbackWarning",
    "Library",
    "Manifest",
    "Minors",
    "NotAConsentForm",
    "Patient",
    "Problem",
    "Procedure",
    "Product",
    "Provider",
    "RenderError",
    "Rerendered",
    "Screening",
    "SealError",
    "Section",
    "SignedForm",
    "SigningTimeWarning",
    "Study",
    "UnknownNameError",
    "__version__",
    "archive_signed",
    "build",
    "clear_caches",
    "export_template",
    "get_library",
    "load_clinic",
    "load_patient",
    "load_screening",
    "read_signed",
    "record_signed",
    "render_docx",
    "render_pdf",
    "rerender",
    "run_batch",
    "seal",
    "use_disk_cache",
    "write_form",
]
