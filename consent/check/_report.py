"""Findings and the report that collects them, with text and JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import attrs

SEVERITIES = ("error", "warning")


@attrs.frozen
class Finding:
    """One thing `check` found: a rule id, how bad, where (clause, file, line) and the words at fault."""

    rule: str
    severity: str
    message: str
    clause: str | None = None
    file: str | None = None
    line: int | None = None
    text: str | None = None
    treatment: str | None = None
    language: str | None = None
    acknowledged: str | None = None  # the clinic's reason, when its pack acknowledges the rule
    # "study": found only on the form of a clinic that lists a study; "minor": only on a minor's form
    variant: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else (self.file or "")
        scope = "/".join(x for x in (self.treatment, self.language, self.variant) if x)
        parts = [f"{self.severity}", self.rule]
        if scope:
            parts.append(f"[{scope}]")
        if self.clause:
            parts.append(f"clause {self.clause}")
        head = " ".join(parts)
        tail = f' — "{self.text}"' if self.text else ""
        loc = f" ({where})" if where else ""
        ack = f" [acknowledged: {self.acknowledged}]" if self.acknowledged else ""
        return f"{head}: {self.message}{tail}{loc}{ack}"


@attrs.frozen
class Figure:
    """Readability of one clause or a whole form, on the rendered text."""

    treatment: str
    language: str
    scope: str  # a clause id, or "(whole form)"
    words: int
    scores: tuple[tuple[str, float], ...]  # (formula, value)
    variant: str | None = None  # "study": a figure of the study variant that differs from the plain form

    def score(self, name: str) -> float:
        return dict(self.scores)[name]


@attrs.frozen
class Report:
    findings: tuple[Finding, ...] = ()
    figures: tuple[Figure, ...] = ()
    rule_count: int = 0

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error" and not f.acknowledged)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning" and not f.acknowledged)

    @property
    def acknowledged(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.acknowledged)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "rules": self.rule_count,
            "findings": [attrs.asdict(f) for f in self.findings],
            "readability": [
                {"treatment": f.treatment, "language": f.language, "variant": f.variant, "scope": f.scope,
                 "words": f.words, **dict(f.scores)}
                for f in self.figures
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_text(self, *, figures: bool = False) -> str:
        lines = [str(f) for f in self.findings]
        if figures and self.figures:
            lines.append("")
            lines.append("Readability (rendered text):")
            for fig in self.figures:
                scores = "  ".join(f"{name} {value:5.1f}" for name, value in fig.scores)
                form = fig.treatment + (f"/{fig.variant}" if fig.variant else "")
                unit = "chars" if fig.language.startswith("zh") else "words"  # Chinese: no spaces between words
                lines.append(f"  {form:<21} {fig.language:<3} {fig.scope:<22} {fig.words:>5} {unit}  {scores}")
        lines.append(
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s), "
            f"{len(self.acknowledged)} acknowledged; {self.rule_count} rules"
        )
        return "\n".join(lines)


def merge(reports: Iterable[Report], rule_count: int) -> Report:
    findings: list[Finding] = []
    figures: list[Figure] = []
    for r in reports:
        findings += [f for f in r.findings if f not in findings]
        figures += r.figures
    return Report(tuple(findings), tuple(figures), rule_count)
