"""Re-render a form from the data embedded in its PDF or DOCX (see :mod:`consent._form_data`).

The embedded data is the whole document model, so the form re-renders from its own text even when the
installed library has moved on; with the same package version the files are byte-identical to the
originals. What differs from the installed library (clause and treatment versions, the layout's template
version, the package version) is reported.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from .._form_data import FormData, packs_given, read_form_data
from .._output import check_formats, default_stem, write_files
from .._version import __version__
from ..document import Form
from ..speedups.render import render_docx
from ..errors import ConsentError, InputError
from ..library.loader import get_library
from ..speedups.render import render_pdf


@attrs.frozen
class ClauseChange:
    """A clause of the form whose version differs from the installed library's (None: no longer there)."""

    id: str
    language: str
    form_version: str
    installed_version: str | None

    def __str__(self) -> str:
        now = f"v{self.installed_version}" if self.installed_version else "not in the installed library"
        return f"{self.id} ({self.language}): the form has v{self.form_version}, installed {now}"


@attrs.frozen
class Rerendered:
    """A form made again from its embedded data, and how it compares with the input and the library."""

    form: Form
    data: FormData
    source: str  # "pdf" or "docx": what the data was read from
    files: dict[str, bytes]  # format -> bytes, as made again
    identical: bool | None  # the file of the input's format is the input, byte for byte (None: not made)
    appended: bool  # the input is that file with more after it (filled in or signed: incremental updates)
    clause_changes: tuple[ClauseChange, ...]
    treatment_change: tuple[str, str | None] | None  # (form's version, installed version)
    installed_template_version: str

    @property
    def pdf(self) -> bytes | None:
        return self.files.get("pdf")

    @property
    def docx(self) -> bytes | None:
        return self.files.get("docx")

    @property
    def same_version(self) -> bool:
        return self.data.generator_version == __version__

    def write(self, out_dir: str | Path, *, input_path: str | Path | None = None) -> list[Path]:
        """Write the files made again (see :func:`write_rerendered`)."""
        return write_rerendered(self, out_dir, input_path=input_path)

    def report(self) -> list[str]:
        """What a person needs to know, one line each."""
        d = self.data
        lines = [f"Form {self.form.form_id}: made by consent {d.generator_version}, template {d.template_version}; "
                 f"installed consent {__version__}, template {self.installed_template_version}"]
        if self.identical:
            lines.append(f"The {self.source.upper()} made again is byte-identical to the input.")
        elif self.appended:
            lines.append(f"The input {self.source.upper()} is this form with changes added after it was made "
                         "(filled in or signed); what was written is the form as it was made, unsigned.")
        elif self.identical is False and self.form.packs != self.data.document.packs:
            lines.append(f"The {self.source.upper()} made again differs from the input: it was made with the packs "
                         "given, not the folders recorded in the form (the form data it carries names them).")
        elif self.identical is False and self.same_version:
            lines.append(f"The {self.source.upper()} made again differs from the input: the input was changed after "
                         "it was made (filled in, signed or saved again by another program), or the packs or fonts "
                         "differ here. What was written is the form as it was made.")
        elif self.identical is False:
            lines.append(f"The {self.source.upper()} made again is NOT byte-identical to the input: it was made by "
                         f"consent {d.generator_version}, and consent {__version__} is installed.")
        if d.document.packs or self.form.packs:
            lines.append(f"Clinic packs: the form names {', '.join(d.document.packs) or 'none'}; made with the "
                         f"packs given: {', '.join(self.form.packs) or 'none'}.")
        if d.template_version != self.installed_template_version:
            lines.append(f"The installed template version ({self.installed_template_version}) differs from the "
                         f"form's ({d.template_version}): the layout may differ; the text is the form's own.")
        if self.treatment_change:
            was, now = self.treatment_change
            lines.append(f"Treatment {self.form.manifest.treatment_id}: the form has v{was}, installed "
                         + (f"v{now}" if now else "has no such treatment") + ".")
        if self.clause_changes:
            lines.append(f"{len(self.clause_changes)} clause(s) of the form differ from the installed library "
                         "(the form keeps its own text):")
            lines += [f"  {change}" for change in self.clause_changes]
        else:
            lines.append("Every clause of the form has the same version in the installed library.")
        return lines


def _changes(form: Form, packs: tuple[str, ...]
             ) -> tuple[tuple[ClauseChange, ...], tuple[str, str | None] | None]:
    library = get_library(packs)
    changes = []
    for ref in form.manifest.clauses:
        try:
            installed: str | None = library.clause(ref.id, ref.language).version
        except ConsentError:
            installed = None
        if installed != ref.version:
            changes.append(ClauseChange(ref.id, ref.language, ref.version, installed))
    m = form.manifest
    treatment = library.treatments.get(m.treatment_id)
    now = treatment.version if treatment else None
    return tuple(changes), (m.treatment_version, now) if now != m.treatment_version else None


def rerender(data: bytes, *, packs: Sequence[str | Path] | None = None,
             formats: Sequence[str] = ("pdf", "docx")) -> Rerendered:
    """Make a form again from the data embedded in its PDF or DOCX ``data``: the PDF with the options it
    was made with, and the DOCX. ``packs``: the clinic pack folders for its templates. The folders the
    form names are never loaded on its word: a form that names packs needs ``packs`` (an InputError
    naming them otherwise), and the report names them. Every value of the embedded data is checked as an
    input is (an InputError listing each one refused). Compares the result with the input and the form
    with the installed library."""
    found, source = read_form_data(data)  # every value checked as an input is (consent/_form_data.py)
    given = packs_given(found.document.packs, packs, by="rerender loads", when="made")
    form = attrs.evolve(found.document, packs=given)
    library = get_library(form.packs)
    library.raise_problems()
    # The options the file was made with (a DOCX knows only its e-signature tags: its PDF gets those too);
    # _form_data has refused any other option, and any value these cannot have.
    options: dict[str, Any] = dict(found.render)
    variant = options.pop("pdf_variant", None)
    unknown = sorted(set(options) - set(inspect.signature(render_pdf).parameters))
    if unknown:
        raise InputError(f"the {source.upper()} was made with render options this version does not have: "
                         f"{', '.join(unknown)}", hint="re-render it with the consent version that made it")
    esign = options.get("esign")
    makers = {"pdf": lambda: render_pdf(form, variant=variant, **options),
              "docx": lambda: render_docx(form, esign=esign)}
    files = {fmt: makers[fmt]() for fmt in check_formats(formats)}
    made = files.get(source)
    clauses, treatment = _changes(form, form.packs)
    return Rerendered(
        form=form, data=found, source=source, files=files,
        identical=None if made is None else made == data,
        appended=made is not None and made != data and data.startswith(made),
        clause_changes=clauses, treatment_change=treatment,
        installed_template_version=library.template_version,
    )


def write_rerendered(result: Rerendered, out_dir: str | Path, *,
                     input_path: str | Path | None = None) -> list[Path]:
    """Write the files of ``result`` under their usual names, atomically (all or nothing). Refuses to
    write over ``input_path`` (a signed form must not be replaced by its unsigned original)."""
    out = Path(out_dir)
    stem = default_stem(result.form)
    if input_path is not None:
        source = Path(input_path).resolve()
        for fmt in result.files:
            if (out / f"{stem}.{fmt}").resolve() == source:
                raise InputError(f"{source}: the form made again would replace the input",
                                 hint="write it to another folder with --out")
    return write_files(out, {f"{stem}.{fmt}": blob for fmt, blob in result.files.items()})
