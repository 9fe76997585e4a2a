"""Cold start: one `consent` command as a new process, against `python -c pass`, median of several runs.

    .venv/bin/python benchmarks/cold_start.py [--runs 7]

Times, each as a new process: `consent render knee-injection ... --format pdf,docx --out DIR` (one
form, both formats: what a clinic runs for one patient) in four ways, `consent treatments` (a listing:
nothing rendered) and `python -c pass` (the interpreter alone), one after the other in every round, so a
change in the machine's load hits all of them:

- render, cache kept: the cache folder holds this form's layout (the second and later forms of a day for
  one treatment, language and clinic; kept by an untimed run first);
- render, cache empty: a new cache folder every run (the first form of a day, or after an upgrade);
- render, cache off: CONSENT_CACHE_DIR=off;
- render, one process: cache off and CONSENT_PDF_PROCESS=off (how every render ran before both).

Prints the median and the spread of each and the ratio of the medians to `python -c pass`, then the
slowest imports of a render (`python -X importtime`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sunrise-clinic"
CONSENT = str(Path(sys.executable).with_name("consent"))


def commands(tmp: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each command with the environment it runs in ("{run}" in a value: a new folder each run)."""
    render = [CONSENT, "render", "knee-injection", "--patient", str(EXAMPLE / "patient-ada.yaml"), "--clinic",
              str(EXAMPLE / "clinic.yaml"), "--date", "2026-11-21", "--format", "pdf,docx", "--out", str(tmp / "out")]
    return {
        "render, cache kept": (render, {"CONSENT_CACHE_DIR": str(tmp / "kept")}),
        "render, cache empty": (render, {"CONSENT_CACHE_DIR": str(tmp / "empty-{run}")}),
        "render, cache off": (render, {"CONSENT_CACHE_DIR": "off"}),
        "render, one process": (render, {"CONSENT_CACHE_DIR": "off", "CONSENT_PDF_PROCESS": "off"}),
        "treatments": ([CONSENT, "treatments"], {}),
        "python -c pass": ([sys.executable, "-c", "pass"], {}),
    }


def timed(argv: list[str], env: dict[str, str], cwd: str, run: int) -> float:
    env = {**os.environ, **{k: v.replace("{run}", str(run)) for k, v in env.items()}}
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=cwd, env=env)
    return time.perf_counter() - start


def import_times(cwd: str) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest top-level imports of a render."""
    code = "import consent.cli, consent.speedups.render, consent.docx.render, consent.check._english as e, weasyprint"
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                         cwd=cwd, check=True).stderr
    rows = []
    for line in err.splitlines()[1:]:
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if not name.startswith(" ") and name.count(".") <= 1:
            rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:8]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="consent-cold-") as tmp:
        cmds = commands(Path(tmp))
        samples: dict[str, list[float]] = {name: [] for name in cmds}
        print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.runs} runs; run from {tmp}")
        argv, env = cmds["render, cache kept"]
        timed(argv, env, tmp, -1)  # once untimed: the OS file cache, as on a machine in use, and the cache kept
        for run in range(args.runs):
            for name, (argv, env) in cmds.items():
                samples[name].append(timed(argv, env, tmp, run))
        base = statistics.median(samples["python -c pass"])
        for name, values in samples.items():
            med = statistics.median(values)
            print(f"{name:<20} median {med:6.3f} s  (min {min(values):.3f}, max {max(values):.3f})  "
                  f"{med / base:5.1f}x python -c pass")
        print(f"# load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not args.no_profile:
            print("\nslowest imports of a render (python -X importtime, cumulative ms):")
            for micros, name in import_times(tmp):
                print(f"  {micros / 1000:7.1f}  {name}")

if __name__ == "__main__":
    main()
