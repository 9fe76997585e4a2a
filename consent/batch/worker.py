"""The worker side of a batch (consent/batch/run.py): what a worker is given (a :class:`BatchJob` once, a
:class:`Task` per record), what it does (assemble, check once per distinct clause text, render, write
atomically) and what it returns (an :class:`Outcome`). The coordinator never imports back from here
anything but these."""


import datetime as dt
import gc
import hashlib
import json
import multiprocessing
import signal
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs

from .._build import apply_check, check_key
from .._output import atomic_write
from ..assemble.assembly import assemble
from ..errors import ConsentError, Problem, RenderError
from ..inputs.loaders import Clinic, Patient
from ..library.loader import get_library
from ..speedups.tokens import Busy, SharedWork

FORMS = "forms"

# warnings.catch_warnings() swaps process-wide state: with a thread pool as the executor, two records
# catching warnings at once would restore each other's filters (and a record's language-fallback note
# could escape as an error). Assembling a record is a few milliseconds. (WeasyPrint takes a lock of its
# own, consent/pdf/html.py WEASYPRINT; the DOCX files, stamps and checks stay parallel.)
_WARNINGS = threading.Lock()


@attrs.frozen
class BatchJob:
    """What every form of one batch shares."""

    treatment: str | None  # the batch's treatment; None: each record names its own (Task.treatment)
    clinic: Clinic
    date: dt.date
    formats: tuple[str, ...]
    out_dir: str
    language: str | None = None
    packs: tuple[str, ...] = ()
    pdf_variant: str | None = None
    fillable: bool = False  # PDFs with form fields (consent/pdf/fields.py)
    esign: str | None = None  # e-signature anchor tags: "docusign" or "adobe"
    large_print: bool = False  # every form in large print (else each record's Task.large_print)
    fhir: bool = True
    embed_pdf: bool = True  # the PDF inside each DocumentReference; else by URL under pdf_base_url
    allow_check_errors: bool = False
    shared_dir: str | None = None  # where the workers keep work shared by a group of forms, if anywhere
    pdf_base_url: str | None = None  # absolute http(s) URL the batch folder is published at (embed_pdf False)
    # DocumentReference.date of every form (an aware datetime); None: the moment each form is made, in this
    # computer's time zone. Not part of what a form is made from (a re-run does not remake forms for it).
    made_at: dt.datetime | None = None


@attrs.frozen
class Task:
    number: int
    source: str
    patient: Patient
    treatment: str  # this record's form's treatment id (the batch's, or the record's own)
    previous: dict[str, Any] | None  # this record's manifest line from an earlier run, if any
    fhir_ids: tuple[str | None, str | None] = (None, None)  # (Patient.id, Bundle fullUrl) from a FHIR export
    screening: Mapping[str, bool] = attrs.field(factory=dict)  # from the export, if it has them
    input_key: str = ""  # names everything the form is made from (see _Inputs)
    put_back: bool = False  # this form waited once for shared work another worker was making
    notes: tuple[str, ...] = ()  # what reading the record found to say (ImportedRecord.notes)
    large_print: bool = False  # this record's form in large print (the batch's option, or the record's column)


@attrs.frozen
class Outcome:
    number: int
    source: str
    entry: dict[str, Any] | None = None  # the manifest line
    problems: tuple[tuple[str, str], ...] = ()  # (field, message)
    skipped: bool = False
    fhir: tuple[dict[str, Any], ...] = ()  # this form's FHIR Bundle entries, for the batch's bundle
    put_back: bool = False  # nothing done: another worker is making the shared work this form needs


_JOB: BatchJob | None = None


def warm_worker(job: BatchJob) -> None:
    """Process-pool initializer: remember the job and load everything shared by its forms once."""
    global _JOB
    _JOB = job
    # Ctrl-C reaches every process of the terminal's group: the coordinator alone decides to stop (the
    # workers finish the form in hand), so no worker dies half-way or prints a traceback.
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # A form makes and drops a few hundred thousand objects (boxes, styles, text): at Python's
        # default threshold the cycle collector runs every 700 of them and walks the worker's young
        # objects each time, about a tenth of a batch's time. Every 10,000 it costs little and still
        # frees a form's cycles long before the next form (memory stays flat; see the README's
        # Benchmarks). What the fork server loaded is frozen there (consent/batch/preload.py).
        gc.set_threshold(10_000, 10, 10)
    from ..docx.render import template_bytes
    from ..pdf.html import resources
    from ..speedups.tokens import share_with

    get_library(job.packs).raise_problems()
    resources(job.packs)
    template_bytes(job.packs)
    share_with(job.shared_dir)


def _check(form: Any, trace: Any, packs: tuple[str, ...]) -> Any:
    from ..check import check_form

    return check_form(form, trace, get_library(packs))


def _encode_report(report: Any) -> bytes:
    return json.dumps(cattrs.unstructure(report)).encode()


def _decode_report(data: bytes) -> Any:
    from ..check import Report

    return cattrs.structure(json.loads(data), Report)


# The compliance checks of a batch, by check key: made once per distinct clause text by the first worker
# that needs it and read by the others from the batch's folder (the forms of a batch, as a rule, share
# it: only the patient's strings differ, and the check reads clause text).
_REPORTS: SharedWork[Any] = SharedWork("check", _check, 64, _encode_report, _decode_report)


def _checked(form: Any, trace: Any, packs: tuple[str, ...]) -> Any:
    """The compliance check of a form (see ``_REPORTS``). When the clause text prints the patient's own
    name, birth date or MRN (a clinic's "I, {{ patient.full_name }}, ..."), a finding could quote them:
    that report is kept in this process only, never written to the batch's folder (it would serve only
    this patient's forms anyway)."""
    header = form.header
    own = [s for s in (header.patient_name, header.birth_date, header.mrn) if s and s.strip()]
    private = any(s in t.text for t in trace for s in own)
    return _REPORTS.get(check_key(form, trace), form, trace, packs, private=private)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _complete(previous: dict[str, Any] | None, form_id: str, out_dir: Path,
              pdf_options: dict[str, Any] | None = None) -> bool:
    """True when an earlier run wrote this very form, with the same PDF options, and its files are intact."""
    if not previous or previous.get("form_id") != form_id or previous.get("pdf_options") != pdf_options:
        return False
    files = previous.get("files") or {}
    try:
        return bool(files) and all(
            _sha256(out_dir / rel) == info["sha256"] for rel, info in files.items()
        )
    except (OSError, KeyError, TypeError, AttributeError):  # a hand-edited or damaged manifest line
        return False


def _redact(text: str, patient: Patient) -> str:
    """Keep patient data out of error messages (they go to errors.csv and to the console)."""
    for value in (patient.full_name, patient.mrn, patient.birth_date.isoformat() if patient.birth_date else None):
        if value and str(value).strip():
            text = text.replace(str(value), "[redacted]")
    return text


def run_task(task: Task, job: BatchJob | None = None) -> Outcome:
    """Build, render and write one record's form. Never raises for a bad record."""
    job = job or _JOB
    if job is None:
        raise RuntimeError("run_task needs a job: call warm_worker(job) first")
    out_dir = Path(job.out_dir)
    assembled = _assembled(task, job)
    if isinstance(assembled, Outcome):  # a bad record: its problems
        return assembled
    form, notes = assembled
    stem = f"rec-{task.number:06d}_{form.form_id}"
    pdf_options = {"fillable": job.fillable, "esign": job.esign} if job.fillable or job.esign else None
    if _complete(task.previous, form.form_id, out_dir, pdf_options):  # same form, other inputs (another consent version)
        return Outcome(task.number, task.source, entry={**task.previous, "input": task.input_key}, skipped=True)
    rendered = _rendered(task, form, job)
    if isinstance(rendered, Outcome):  # handed out again later, or a record the renderers cannot draw
        return rendered
    blobs, pdf_layout = rendered
    resources: tuple[dict[str, Any], ...] = ()
    if job.fhir and "pdf" in blobs:
        bundle = _fhir_bundle(task, form, job, blobs["pdf"], stem)
        if bundle is None:
            notes.append("no FHIR resources: the record has no FHIR Patient id and no MRN to refer to")
        else:
            blobs["fhir.json"] = json.dumps(bundle, ensure_ascii=False, indent=2, sort_keys=True).encode()
            resources = tuple(bundle["entry"])
    files = _write(out_dir, stem, blobs)
    entry = _manifest_entry(task, form, files, notes, pdf_layout=pdf_layout, pdf_options=pdf_options)
    return Outcome(task.number, task.source, entry=entry, fhir=resources)


def _assembled(task: Task, job: BatchJob) -> tuple[Any, list[str]] | Outcome:
    """The record's form, assembled and checked, and the notes for its manifest line (the record's own,
    then what assembling warned of); or, for a bad record, the Outcome naming its problems."""
    with _WARNINGS, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            form, trace = assemble(task.treatment, patient=task.patient, clinic=job.clinic, date=job.date,
                                   screening=task.screening, language=job.language, packs=job.packs,
                                   large_print=task.large_print)
            form = apply_check(form, _checked(form, trace, job.packs), allow_check_errors=job.allow_check_errors)
        except ConsentError as exc:
            return _failed(task, exc)
    # notes go to the manifest and to the screen (consent batch lists them): never the patient's own data
    notes = [*task.notes, *(_redact(str(w.message), task.patient) for w in caught
                            if issubclass(w.category, UserWarning))]
    return form, notes


def _rendered(task: Task, form: Any, job: BatchJob) -> tuple[dict[str, bytes], str | None] | Outcome:
    """The form's bytes in each of the job's formats, and how its PDF was laid out (None without a PDF);
    or the Outcome of a form put back (another worker is making the shared work it needs: nothing is
    written, the coordinator hands it out again later) or of a record the renderers cannot draw."""
    blobs: dict[str, bytes] = {}
    pdf_layout = None
    SharedWork.defer = not task.put_back
    try:
        for fmt in job.formats:
            if fmt == "pdf":
                from ..speedups.render import laid_out_pdf

                blobs[fmt], pdf_layout = laid_out_pdf(form, variant=job.pdf_variant, fillable=job.fillable,
                                                      esign=job.esign)
            else:
                blobs[fmt] = form.to_docx(esign=job.esign)
    except Busy:  # nothing written: the coordinator hands the form out again later
        return Outcome(task.number, task.source, put_back=True)
    except ConsentError as exc:  # e.g. a name the PDF fonts cannot draw: this record fails, the batch goes on
        return _failed(task, exc)
    finally:
        SharedWork.defer = False
    return blobs, pdf_layout


def _failed(task: Task, exc: ConsentError) -> Outcome:
    """The Outcome of a record whose form cannot be made: its problems, the patient's data redacted."""
    problems = exc.problems or (Problem(exc.summary),)
    return Outcome(task.number, task.source, problems=tuple(
        (p.field or "", _redact(p.message, task.patient)) for p in problems))


def _fhir_bundle(task: Task, form: Any, job: BatchJob, pdf: bytes, stem: str) -> dict[str, Any] | None:
    """The form's FHIR transaction Bundle (its DocumentReference, holding the PDF or the PDF's URL under
    ``pdf_base_url``, and a Consent pointing at it), or None when the record has no FHIR Patient id and
    no MRN to refer to."""
    from ..ehr import FormDocument, patient_reference, transaction_bundle, url_in

    ref = patient_reference(task.fhir_ids[0], task.fhir_ids[1], task.patient.mrn)
    if ref is None:
        return None
    pdf_url = url_in(job.pdf_base_url, f"{FORMS}/{stem}.pdf") if job.pdf_base_url else None
    made = job.made_at or dt.datetime.now().astimezone().replace(microsecond=0)
    doc = FormDocument(
        form_id=form.form_id, title=form.title, date=form.date, language=form.language,
        treatment_id=form.manifest.treatment_id, patient_reference=ref or {},
        organization_name=job.clinic.name, pdf=pdf, pdf_url=pdf_url, created=made,
    )
    return transaction_bundle([doc], embed=job.embed_pdf)


def _write(out_dir: Path, stem: str, blobs: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    """Write the form's files into the forms folder, each atomically: their hash and size, by path (the
    manifest line's ``files``)."""
    files: dict[str, dict[str, Any]] = {}
    for suffix, data in blobs.items():
        rel = f"{FORMS}/{stem}.{suffix}"
        try:
            atomic_write(out_dir / rel, data, durable=False)
        except OSError as exc:  # disk full, folder gone: every later form would fail too, so stop the batch
            raise RenderError(f"{out_dir / rel}: cannot be written ({exc.strerror or exc}); the forms "
                              "finished so far are kept: free space or fix the folder, then run the same "
                              "command again") from None
        files[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return files


def _manifest_entry(task: Task, form: Any, files: dict[str, dict[str, Any]], notes: list[str], *,
                    pdf_layout: str | None, pdf_options: dict[str, Any] | None) -> dict[str, Any]:
    """The form's manifest line: the record, what the form was made from and of, and its files."""
    entry = {
        "record": task.number,
        "input": task.input_key,
        "source": task.source,
        "form_id": form.form_id,
        "treatment": {"id": form.manifest.treatment_id, "version": form.manifest.treatment_version},
        "template_version": form.manifest.template_version,
        "language": form.language,
        "clauses": [{"id": c.id, "version": c.version, "source": c.source} for c in form.manifest.clauses],
        "files": files,
        "notes": notes,
    }
    if form.large_print:
        entry["large_print"] = True  # the form is in large print (the batch's option or the record's column)
    if pdf_layout is not None:
        entry["pdf_layout"] = pdf_layout  # "shared" with other forms of the batch, or "whole"
    if pdf_options:
        entry["pdf_options"] = pdf_options  # form fields, e-signature tags
    return entry
