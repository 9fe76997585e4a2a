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
(:func:`read_signed`, ``consent verify``), ``_seal`` adds the clinic's seal (:func:`seal`) and ``_archive``
makes a signed form's archival PDF/A-3 copy, the signed original attached (:func:`archive_signed`).
``_form_data`` is the form's data the renderers embed in every PDF and DOCX; ``_rerender`` makes a form
again from it (:func:`rerender`), and ``_record`` makes a signed form's FHIR Bundle (:func:`record_signed`).
"""

import typing as _typing

from ._version import __version__

if _typing.TYPE_CHECKING:
    from . import check, ehr
    from ._archive import archive_signed
    from ._assemble import LanguageFallbackWarning
    from ._batch import BatchResult, run_batch
    from ._build import build
    from ._disk_cache import use_disk_cache
    from ._library import Library, get_library
    from ._provenance import SigningTimeWarning
    from ._record import record_signed
    from ._rerender import Rerendered, rerender
    from ._seal import seal
    from ._signed import SignedForm, read_signed
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
        Minors,
        Patient,
        Product,
        Provider,
        Screening,
        Study,
        load_clinic,
        load_patient,
        load_screening,
    )

# Every name is imported when first asked for: "import consent" loads nothing else, so that a command
# loads only what it uses (the command line's "consent render" starts the process that makes the PDF
# before it imports the rest; see consent/_launch.py). The module that defines each name:
_LAZY = {
    **dict.fromkeys(("check", "ehr"), ""),  # the subpackages consent.check and consent.ehr
    "archive_signed": "_archive",
    "LanguageFallbackWarning": "_assemble",
    **dict.fromkeys(("BatchResult", "run_batch"), "_batch"),
    "build": "_build",
    "use_disk_cache": "_disk_cache",
    **dict.fromkeys(("Library", "get_library"), "_library"),
    "record_signed": "_record",
    "SigningTimeWarning": "_provenance",
    **dict.fromkeys(("Rerendered", "rerender"), "_rerender"),
    "seal": "_seal",
    **dict.fromkeys(("SignedForm", "read_signed"), "_signed"),
    "export_template": "_template_export",
    **dict.fromkeys(("Form", "Manifest", "Section"), "document"),
    **dict.fromkeys(("CheckFailed", "ConsentError", "ContentError", "InputError", "NotAConsentForm",
                     "Problem", "RenderError", "SealError", "UnknownNameError"), "errors"),
    **dict.fromkeys(("Clinic", "FeeSchedule", "Minors", "Patient", "Product", "Provider", "Screening",
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
    "LanguageFallbackWarning",
    "Library",
    "Manifest",
    "Minors",
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
    "SigningTimeWarning",
    "Study",
    "UnknownNameError",
    "__version__",
    "archive_signed",
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
