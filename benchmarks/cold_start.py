"""Cold start: one `consent` command as a new process, against `python -c pass`, median of several runs.

    .venv/bin/python benchmarks/cold_start.py [--runs 7]

Times, each as a new process: `consent render knee-injection ... --format pdf,docx --out DIR` (one
form, both formats: what a clinic runs for one patient), `consent treatments` (a listing: nothing
rendered) and `python -c pass` (the interpreter alone), one after the other in every round, so a
change in the machine's load hits all of them. Prints the median and the spread of each and the ratio
of the medians to `python -c pass`, then what a render spends its time on (`python -X importtime`
and cProfile on two more runs: the slowest imports and the phases of a render).
"""

from __future__ import annotations

import argparse
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sunrise-clinic"
CONSENT = str(Path(sys.executable).with_name("consent"))


def commands(out: Path) -> dict[str, list[str]]:
    return {
        "render": [CONSENT, "render", "knee-injection", "--patient", str(EXAMPLE / "patient-ada.yaml"), "--clinic",
                   str(EXAMPLE / "clinic.yaml"), "--date", "2026-11-21", "--format", "pdf,docx", "--out", str(out)],
        "treatments": [CONSENT, "treatments"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }


def timed(argv: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=cwd)
    return time.perf_counter() - start


def import_times(cwd: str) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest top-level imports of a render."""
    code = "import consent.cli, consent._pdf, consent._render_docx, consent.check._english as e, weasyprint"
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                         cwd=cwd, check=True).stderr
    rows = []
    for line in err.splitlines()[1:]:
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if not name.startswith(" ") and name.count(".") <= 1:
            rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:8]


PHASES = r"consent/(cli|_build|_output|_pdf|_render_pdf|_render_docx|_assemble|check/_form)\.py:\d+\((render|build|assemble|check_form|write_form|laid_out_pdf|layout|write_document|render_docx|_resources|_weasyprint)\)"


def profile(argv: list[str], cwd: str) -> list[str]:
    """The phases of one render as a new process under cProfile (cumulative seconds, inflated by it)."""
    data = str(Path(cwd) / "render.prof")
    subprocess.run([sys.executable, "-m", "cProfile", "-o", data, *argv], check=True, stdout=subprocess.DEVNULL,
                   cwd=cwd)
    buffer = io.StringIO()
    stats = pstats.Stats(data, stream=buffer)
    stats.sort_stats("cumulative").print_stats(PHASES)
    return [line for line in buffer.getvalue().splitlines() if "consent/" in line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="consent-cold-") as tmp:
        cmds = commands(Path(tmp) / "out")
        samples: dict[str, list[float]] = {name: [] for name in cmds}
        print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.runs} runs; run from {tmp}")
        timed(cmds["render"], tmp)  # once untimed: the OS file cache, as on a machine in use
        for _ in range(args.runs):
            for name, argv in cmds.items():
                samples[name].append(timed(argv, tmp))
        base = statistics.median(samples["python -c pass"])
        for name, values in samples.items():
            med = statistics.median(values)
            print(f"{name:<16} median {med:6.3f} s  (min {min(values):.3f}, max {max(values):.3f})  "
                  f"{med / base:5.1f}x python -c pass")
        print(f"# load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not args.no_profile:
            print("\nslowest imports of a render (python -X importtime, cumulative ms):")
            for micros, name in import_times(tmp):
                print(f"  {micros / 1000:7.1f}  {name}")
            print("\nthe phases of one render (cProfile, which slows everything down; cumulative s):")
            print("\n".join(profile(cmds["render"], tmp)))


if __name__ == "__main__":
    main()
