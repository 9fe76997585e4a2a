"""Cold start of two checkouts, side by side: ``consent render`` as a new process, the runs alternating.

Each checkout needs its own ``.venv`` (``./dev examples`` in it). Every round runs each mode once in each
checkout, in alternating order, so that a busy machine slows both alike::

    .venv/bin/python benchmarks/compare_cold_start.py --before ../consent-old --after . --runs 10

Modes: the cache kept (the form's layout made by an earlier run), empty (a new cache folder each run),
off (``CONSENT_CACHE_DIR=off``), and one process (also ``CONSENT_PDF_PROCESS=off``). Prints the median and
minimum of each, and after/before.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def _command(root: Path, out: Path) -> list[str]:
    example = root / "examples" / "sunrise-clinic"
    return [str(root / ".venv" / "bin" / "consent"), "render", "knee-injection",
            "--patient", str(example / "patient-ada.yaml"), "--clinic", str(example / "clinic.yaml"),
            "--date", "2026-11-21", "--format", "pdf,docx", "--out", str(out)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    work = Path(tempfile.mkdtemp(prefix="consent-compare-"))
    modes = {
        "cache kept": lambda side, run: {"CONSENT_CACHE_DIR": str(work / f"kept-{side}")},
        "cache empty": lambda side, run: {"CONSENT_CACHE_DIR": str(work / f"empty-{side}-{run}")},
        "cache off": lambda side, run: {"CONSENT_CACHE_DIR": "off"},
        "one process": lambda side, run: {"CONSENT_CACHE_DIR": "off", "CONSENT_PDF_PROCESS": "off"},
    }
    times: dict[tuple[str, str], list[float]] = {(m, s): [] for m in modes for s in sides}
    try:
        for side, root in sides.items():  # once untimed: the OS file cache, and the kept cache made
            env = {**os.environ, **modes["cache kept"](side, -1)}
            subprocess.run(_command(root, work / "out"), env=env, check=True, capture_output=True)  # noqa: S603
        for run in range(args.runs):
            order = list(sides) if run % 2 == 0 else list(reversed(sides))
            for mode, env in modes.items():
                for side in order:
                    start = time.perf_counter()
                    environment = {**os.environ, **env(side, run)}
                    subprocess.run(_command(sides[side], work / "out"), env=environment,  # noqa: S603
                                   check=True, capture_output=True)
                    times[mode, side].append(time.perf_counter() - start)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {args.runs} alternating runs per mode and side; "
          f"load at end {load}")
    for mode in modes:
        before, after = times[mode, "before"], times[mode, "after"]
        print(f"{mode:12}  before median {statistics.median(before):.3f} s (min {min(before):.3f})   "
              f"after median {statistics.median(after):.3f} s (min {min(after):.3f})   "
              f"after/before {statistics.median(after) / statistics.median(before):.3f}")


if __name__ == "__main__":
    main()
