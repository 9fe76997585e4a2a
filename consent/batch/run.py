"""Deliver stage, in bulk: many patients -> forms on disk, a manifest, an error list and FHIR resources.

    result = consent.run_batch("knee-injection", records, clinic=clinic, out_dir="out/")
    result = consent.run_batch(None, records, clinic=clinic, out_dir="out/")  # each record's own treatment

- Work runs on any :class:`concurrent.futures.Executor` (default: a local process pool on every core,
  its workers forked from one process that imported the renderers, each warmed once: clause library,
  templates, stylesheet and fonts loaded before the first form). Workers assemble, check and render;
  the work shared by a group of forms (the compliance check of its clause text, the PDF body, the
  DOCX) is made once for all the workers of a batch (consent/speedups/tokens.py ``SharedWork``).
- A batch is of one treatment, or of each record's own (``ImportedRecord.treatment``, a CSV column):
  a record naming no treatment, an unknown one, one other than the batch's, or one the clinic's file
  has no product or fees for is an error row; the other records are made.
- A bad record never stops the batch: it becomes a row of ``errors.csv`` (record number, field,
  message; no patient name or identifier in messages).
- Every file is written atomically. ``manifest.jsonl`` gets one line per form as it finishes (so in
  the order forms finish; each line names its record), so a killed batch can be run again: a form
  made from the same inputs (patient, screening answers, treatment, clinic, date, options, clause and template
  files, consent version: the line's ``input``) whose files are present with the hashes the manifest
  recorded is skipped before any worker starts; the rest are made (a record's new form replaces the
  files of its earlier one).
- File names are built from the record number and the form id only: nothing from patient data.
- FHIR out (``fhir-bundle.json``, each form's ``.fhir.json``): valid R4. Each DocumentReference holds its
  PDF (base64), or, given ``pdf_base_url`` (where the batch folder is published), the PDF's absolute URL
  under it; its ``date`` is the moment the form was made, with the UTC offset (``made_at`` pins it). A
  batch that made no form writes a Bundle without ``entry`` (FHIR JSON has no empty arrays).
- One batch at a time writes to a folder: it holds an exclusive lock (``.consent-batch.lock``, removed
  when it ends) for the whole batch, and another batch into the same folder is refused at once,
  touching nothing.
- A batch folder belongs to one export: each manifest line names it (``export``: a digest of the export
  files' paths, or of the records' sources). A batch of another export into it is refused, unless asked
  to (``replace``): then the other export's files are moved, whole, into ``replaced-<export>/`` beside
  them. A batch never deletes a form another export made; within its own export, a record's new form
  replaces the files of its earlier one.
"""


import concurrent.futures as cf
import datetime as dt
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import attrs

from .._output import check_formats
from ..assemble.clinic import coverage_problems
from ..errors import InputError, RenderError
from ..inputs.loaders import Clinic, Patient
from ..library.loader import get_library
from .folder import claim, export_of, make_folder, release_lock, take_lock
from .outputs import BatchFiles, read_manifest  # noqa: F401 (read_manifest: consent.batch.run.read_manifest, as before)
from .pool import Pool, bounded
from .worker import BatchJob, Outcome, Task, _sha256

# What happened to each record, at DEBUG: its number, the form id and the files, or the fields that failed.
# Never a patient's name, birth date or identifier (tests/test_privacy.py reads every log record).
_log = logging.getLogger(__name__)


@attrs.frozen
class BatchResult:
    total: int
    written: int
    skipped: int
    failed: int
    seconds: float
    out_dir: Path
    replaced: Path | None = None  # where another export's files were moved (replace=True), if anywhere

    @property
    def ok(self) -> bool:
        return self.failed == 0


# --------------------------------------------------------------------------- coordinator side


class _Inputs:
    """Names everything one record's form is made from, so a re-run can skip a finished form without
    assembling it: the record (patient, screening answers, where a FHIR Patient was found), the job
    (clinic, date, formats and options), the record's treatment, every clause and template file of the library
    (packs and built-in: their bytes), and the version of consent."""

    def __init__(self, job: BatchJob, library: Any) -> None:
        from .._version import __version__

        digest = hashlib.sha256(__version__.encode())
        for source in library.sources:
            for folder in (source.clauses, source.templates):
                for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
                    if path.is_file():
                        digest.update(f"\0{path.relative_to(source.root)}\0".encode())
                        digest.update(path.read_bytes())
        # the record's treatment goes in each key: the same form given by TREATMENT or by the record is
        # skipped; the moment forms are made (made_at) is when, not what: a re-run does not remake a form for it
        # large_print is in each record's key, and only when set: a batch without it keeps the keys it had
        options = attrs.asdict(job, filter=lambda a, _: a.name not in ("out_dir", "shared_dir", "treatment",
                                                                       "made_at", "large_print"))
        digest.update(json.dumps(options, default=str, sort_keys=True).encode())
        self.base = digest

    def key(self, source: str, patient: Patient, answers: Mapping[str, bool],
            ids: tuple[str | None, str | None], treatment: str, large_print: bool = False) -> str:
        digest = self.base.copy()
        record = [source, attrs.asdict(patient), sorted(answers.items()), ids, treatment]
        if large_print:
            record.append("large-print")
        digest.update(json.dumps(record, default=str, sort_keys=True).encode())
        return digest.hexdigest()


def _finished(previous: dict[str, Any] | None, key: str, out_dir: Path) -> bool:
    """True when an earlier run made this record's form from the same inputs and its files are intact."""
    if not previous or previous.get("input") != key:
        return False
    files = previous.get("files") or {}
    try:
        return bool(files) and all(_sha256(out_dir / rel) == info["sha256"] for rel, info in files.items())
    except (OSError, KeyError, TypeError):
        return False


class _Treatments:
    """The treatment of each record's form: the batch's (``treatment=``), else the record's own
    (``ImportedRecord.treatment``), or the problems that keep it from being made. A record's value is
    quoted in a message only when it is a known treatment id (a mismapped column could hold patient
    data); what the clinic's file lacks is worked out once per treatment."""

    def __init__(self, given: str | None, library: Any, clinic: Clinic) -> None:
        self.given, self.library, self.clinic = given, library, clinic
        self.lacking: dict[str, list[tuple[str, str]]] = {}

    def of(self, named: str | None) -> tuple[str, list[tuple[str, str]]]:
        """(treatment id, problems as (field, message)); the id is "" when there are problems."""
        known = self.library.treatments
        if self.given is not None:
            if named is None or named == self.given:
                return self.given, []
            which = f"treatment {named!r}" if named in known else "a treatment that is not a known treatment id"
            return "", [("treatment", f"the record names {which}, not {self.given!r} given for the batch: leave "
                                      "TREATMENT out to make each record's own treatment, or correct the record")]
        if named is None:
            return "", [("treatment", "the record names no treatment: give TREATMENT on the command line or a "
                                      "treatment column")]
        if named not in known:
            return "", [("treatment", "the record's treatment is not a known treatment id (known: "
                                      f"{', '.join(sorted(known))})")]
        if named not in self.lacking:
            self.lacking[named] = [
                ("treatment", f"the clinic file cannot make {named!r} forms: {p.problem.message}")
                for p in coverage_problems(self.clinic, self.library.treatment(named))]
        return ("", self.lacking[named]) if self.lacking[named] else (named, [])


def run_batch(
    treatment: str | None = None,
    records: Iterable[Any] | None = None,
    *,
    clinic: Clinic,
    out_dir: str | Path,
    date: dt.date | None = None,
    formats: Sequence[str] = ("pdf", "docx"),
    language: str | None = None,
    packs: Sequence[str | Path] = (),
    pdf_variant: str | None = None,
    fhir: bool = True,
    embed_pdf: bool | None = None,
    pdf_base_url: str | None = None,
    made_at: dt.datetime | None = None,
    allow_check_errors: bool = False,
    fillable: bool = False,
    esign: str | None = None,
    large_print: bool = False,
    executor: cf.Executor | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int | None, Outcome], None] | None = None,
    total: int | None = None,
    replace: bool = False,
    export: str | None = None,
) -> BatchResult:
    """Make one form per record (``consent.ehr.ImportedRecord`` or ``(number, Patient)``) into ``out_dir``.

    ``treatment`` is the treatment id of every form; None makes each record's form of the treatment the
    record names (``ImportedRecord.treatment``). A record without one, naming an unknown treatment, one
    other than ``treatment``, or one the clinic's file has no product or fees for, is an error row
    (field ``treatment``) and the other records are made. A ``treatment`` given is checked before any
    work: unknown, or not covered by the clinic, it raises.

    FHIR out (``fhir``, with PDFs): each DocumentReference holds its PDF (base64) unless ``pdf_base_url``
    is given, an absolute http(s) URL where ``out_dir`` is published: then ``attachment.url`` is that URL
    followed by the form's path (``forms/rec-...pdf``). ``embed_pdf`` True with ``pdf_base_url``, or False
    without it, raises :class:`InputError`, as does a relative or non-http(s) ``pdf_base_url``. Each
    DocumentReference's ``date`` is the moment its form was made, with this computer's UTC offset;
    ``made_at`` (a timezone-aware datetime) gives one instant for every form instead, for reproducible
    output.

    ``executor`` may be any concurrent.futures Executor (a dask ``Client.get_executor()`` works);
    the default is a process pool with ``jobs`` workers (default: every core), started only if some
    form needs making. ``fillable`` and ``esign`` are as for ``Form.to_pdf``. ``large_print``: every form in
    large print (as ``consent.build``); without it, the records whose ``ImportedRecord.large_print`` is True
    (a CSV column ``large_print``).

    ``out_dir`` belongs to one export (see the module): ``export`` names the records' export (default:
    the files of a ``consent.ehr.Records``, made absolute, else the records' sources); a folder holding
    another export's forms raises :class:`InputError` unless ``replace``, which moves that export's files
    into ``out_dir/replaced-<export>/`` first (``BatchResult.replaced``). While another batch writes to
    ``out_dir`` this raises :class:`InputError` at once; a folder that cannot be made or written to
    raises :class:`RenderError` naming it.
    """
    from ..pdf.fields import check_options

    if records is None or not isinstance(treatment, str | None):
        raise TypeError("run_batch(treatment, records, ...): treatment is a treatment id or None (each "
                        "record's own), records the records to make forms for")
    check_options(variant=pdf_variant, fillable=fillable, esign=esign, merge_fields=None)
    embed = _embedding(embed_pdf, pdf_base_url, made_at)
    started = time.perf_counter()
    out = Path(out_dir)
    library = _library_for(treatment, clinic, packs)
    job = BatchJob(
        treatment=treatment, clinic=clinic, date=date or dt.date.today(), formats=check_formats(formats),
        out_dir=str(out.resolve()), language=language, packs=tuple(str(Path(p).resolve()) for p in packs),
        pdf_variant=pdf_variant, fhir=fhir, embed_pdf=embed, allow_check_errors=allow_check_errors,
        fillable=fillable, esign=esign, pdf_base_url=pdf_base_url, made_at=made_at, large_print=large_print,
    )
    identity, described = export_of(records, export)
    make_folder(out)
    held = take_lock(out)
    try:
        return _run_locked(job, out, records, _Treatments(treatment, library, clinic), library,
                           (identity, described), replace, executor=executor, jobs=jobs, progress=progress,
                           total=total, started=started)
    finally:
        release_lock(out, held)


def _library_for(treatment: str | None, clinic: Clinic, packs: Sequence[str | Path]) -> Any:
    """The clause library, with ``packs``, its problems raised; the batch's ``treatment`` checked if given."""
    library = get_library(packs)
    library.raise_problems()
    if treatment is not None:
        spec = library.treatment(treatment)  # an unknown treatment fails before any work or any folder
        lacking = coverage_problems(clinic, spec)  # and so does a clinic with no product or fees for it
        if lacking:
            raise InputError(problems=[p.problem for p in lacking])
    return library


def _embedding(embed_pdf: bool | None, pdf_base_url: str | None, made_at: dt.datetime | None) -> bool:
    """Whether the DocumentReferences hold their PDFs, from run_batch's options; InputError for options
    that contradict each other, a base URL an EHR cannot fetch from, or a made_at without UTC offset."""
    from ..ehr import base_url_problem
    from ..errors import Problem

    problems = []
    if pdf_base_url is not None:
        problem = base_url_problem(pdf_base_url, "pdf_base_url")
        problems += [problem] if problem else []
        if embed_pdf:
            problems.append(Problem("embed_pdf=True and pdf_base_url: give one (the PDF inside each "
                                    "DocumentReference, or its URL under pdf_base_url)", field="embed_pdf"))
    elif embed_pdf is False:
        problems.append(Problem("embed_pdf=False needs pdf_base_url, the absolute http(s) URL the batch "
                                "folder is published at: a DocumentReference needs the PDF or a URL an EHR "
                                "can fetch", field="pdf_base_url"))
    if made_at is not None and (not isinstance(made_at, dt.datetime) or made_at.utcoffset() is None):
        problems.append(Problem("made_at must be a datetime with its UTC offset (tzinfo)", field="made_at"))
    if problems:
        raise InputError(problems=problems)
    return pdf_base_url is None


def _run_locked(job: BatchJob, out: Path, records: Iterable[Any], treatments: _Treatments, library: Any,
                export: tuple[str, str], replace: bool, *, executor: cf.Executor | None, jobs: int | None,
                progress: Callable[[int, int | None, Outcome], None] | None, total: int | None,
                started: float) -> BatchResult:
    """:func:`run_batch`, once it holds the folder's lock (``export``: its digest, and what it is): claim
    the folder for this export, open the batch's files, make the forms, then complete the files."""
    previous, replaced = claim(out, export, replace)
    inputs = _Inputs(job, library)
    files = BatchFiles(out, export[0], previous, bundle=job.fhir and "pdf" in job.formats)
    batch = _Batch(job, out, treatments, inputs, files, progress=progress, total=total)
    with files:
        files.mend_torn_line()
        batch.make_forms(records, executor, jobs)
    files.complete()
    return BatchResult(batch.done, batch.counts["written"], batch.counts["skipped"], batch.counts["failed"],
                       round(time.perf_counter() - started, 3), out, replaced)


@attrs.frozen
class _Record:
    """What the coordinator reads of a record: a ``consent.ehr.ImportedRecord``, or ``(number, Patient)``."""

    number: int
    patient: Patient | None
    source: str = ""
    problems: Iterable[Any] = ()  # what reading the record found wrong (Problem)
    ids: tuple[str | None, str | None] = (None, None)  # (Patient.id, Bundle fullUrl) from a FHIR export
    answers: dict[str, bool] = attrs.field(factory=dict)  # screening answers, from the export if it has them
    treatment: str | None = None  # the treatment the record names, if any
    notes: tuple[str, ...] = ()
    large_print: bool = False  # the record asks for its form in large print


def _read_record(record: Any) -> _Record:
    if isinstance(record, tuple):
        number, patient = record
        return _Record(number, patient)
    return _Record(
        record.number, record.patient, record.source, record.problems,
        ids=(getattr(record, "resource_id", None), getattr(record, "full_url", None)),
        answers=dict(getattr(record, "screening", None) or {}),
        treatment=getattr(record, "treatment", None),
        notes=tuple(getattr(record, "notes", None) or ()),
        large_print=getattr(record, "large_print", None) is True,
    )


class _Batch:
    """One batch in the folder it has claimed, as steps: :meth:`make_forms` hands the workers the records
    whose forms need making (:meth:`tasks` picks them: a bad record or a form an earlier run finished is
    done at once), and :meth:`finish` counts each record's outcome and writes it to the batch's files."""

    def __init__(self, job: BatchJob, out: Path, treatments: _Treatments, inputs: _Inputs,
                 files: BatchFiles, *, progress: Callable[[int, int | None, Outcome], None] | None,
                 total: int | None) -> None:
        self.job, self.out, self.treatments, self.inputs, self.files = job, out, treatments, inputs, files
        self.progress, self.total = progress, total
        self.done = 0
        self.counts = {"written": 0, "skipped": 0, "failed": 0}

    def make_forms(self, records: Iterable[Any], executor: cf.Executor | None, jobs: int | None) -> None:
        """Make the records' forms on the executor, finishing each as it comes; a batch with no form to make
        starts no worker."""
        todo = self.tasks(records)
        first = next(todo, None)  # the pool starts only if a form needs making
        if first is None:
            return
        pool = Pool(self.job, executor, jobs)
        try:
            for outcome in bounded(pool.executor, pool.fn, itertools.chain([first], todo),
                                    window=pool.workers * 4):
                self.finish(outcome)
        except BrokenProcessPool:
            raise RenderError("a worker process stopped unexpectedly (killed, or out of memory); the forms "
                              "finished so far are kept: run the same command again to finish") from None
        finally:
            pool.close()

    def tasks(self, records: Iterable[Any]) -> Iterator[Task]:
        """The records whose forms need making; the others (bad records, finished forms) are done here."""
        for record in map(_read_record, records):
            treatment, unmade = self.treatments.of(record.treatment)
            if record.patient is None or unmade:
                unmade = [*((p.field or "", p.message) for p in record.problems), *unmade]
                self.finish(Outcome(record.number, record.source, problems=tuple(unmade)))
                continue
            large_print = self.job.large_print or record.large_print
            key = self.inputs.key(record.source, record.patient, record.answers, record.ids, treatment, large_print)
            before = self.files.previous.get(record.number)
            if _finished(before, key, self.out):
                self.finish(Outcome(record.number, record.source, entry=before, skipped=True))
                continue
            yield Task(record.number, record.source, record.patient, treatment, before, record.ids,
                       record.answers, key, notes=record.notes, large_print=large_print)

    def finish(self, outcome: Outcome) -> None:
        """Count one record's outcome, write it to the batch's files and report it to ``progress``."""
        self.done += 1
        if outcome.entry is None:
            self.counts["failed"] += 1
            _log.debug("record %s: no form (%s)", outcome.number,
                       ", ".join(sorted({f for f, _ in outcome.problems})))
        else:
            self.counts["skipped" if outcome.skipped else "written"] += 1
            _log.debug("record %s: form %s %s", outcome.number, outcome.entry.get("form_id"),
                       "already complete" if outcome.skipped else "written")
        self.files.add(outcome)
        if self.progress:
            self.progress(self.done, self.total, outcome)


