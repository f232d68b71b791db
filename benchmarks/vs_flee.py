"""Corridor vs Flee 3.1: speed on the Mali case, both engines in the same run.

Runs each engine ``--repeats`` times (default 3) as a separate process, interleaved, and reports
the fastest of the runs for

* the simulation loop only: Flee's daily loop as timed by ``benchmarks/flee_driver.py`` against
  the ``seconds`` that Corridor writes to ``<out>/metrics.json``;
* the whole process: wall time of each subprocess, interpreter start-up, imports, input reading
  and output writing included.

Targets: loop ratio (Flee / Corridor) >= 100x, aim 300x; whole-process ratio >= 100x (the
reliability issue's start-up target), aim 150x.

Flee 3.1 comes from the optional ``bench`` extra (``pip install -e .[bench]``) or from any other
interpreter that has it (``--flee-python``, e.g. a venv made with
``python3 -m venv /tmp/fleevenv && /tmp/fleevenv/bin/pip install flee==3.1``). One Flee run of
the 300-day Mali case takes 2-3 minutes (107 s on a 2-core dev box), so the full benchmark
takes 5-10 minutes::

    python benchmarks/vs_flee.py                                  # full: 300 days, 3 repeats
    python benchmarks/vs_flee.py --flee-python /tmp/fleevenv/bin/python
    python benchmarks/vs_flee.py --days 30 --repeats 1            # quick smoke run
    python benchmarks/vs_flee.py --days 30 --repeats 1 --skip-corridor

Corridor is run as
``python -m corridor flee INPUT --observed OBS --settings YML --out DIR --seed I`` (plus
``--days N`` when ``--days`` is given). Before the runs its sources are byte-compiled, as pip
does when it installs a package (Flee's were): with an editable install and
``PYTHONDONTWRITEBYTECODE`` set, every timed run would otherwise compile them anew. The last
line printed is a JSON object with every figure. With ``--check`` the exit status is 1 when a
minimum target is missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "flee_driver.py"
DEFAULT_CASE = Path(__file__).resolve().parents[2] / "shared" / "flee-cases" / "mali"
FALLBACK_FLEE_PYTHON = Path("/tmp/fleevenv/bin/python")

LOOP_MIN, LOOP_AIM = 100.0, 300.0
PROCESS_MIN, PROCESS_AIM = 100.0, 150.0


@dataclass
class Timings:
    """Per-run timings of one engine."""

    process_seconds: list[float] = field(default_factory=list)
    loop_seconds: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def best_process(self) -> float | None:
        return min(self.process_seconds) if self.process_seconds else None

    def best_loop(self) -> float | None:
        return min(self.loop_seconds) if self.loop_seconds else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "process_seconds": self.process_seconds,
            "loop_seconds": self.loop_seconds,
            "best_process_seconds": self.best_process(),
            "best_loop_seconds": self.best_loop(),
            **self.extra,
        }


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _note(text: str) -> None:
    sys.stderr.write(f"[vs_flee] {text}\n")
    sys.stderr.flush()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Corridor vs Flee 3.1 speed on a Flee case (default: mali)."
    )
    parser.add_argument(
        "--case",
        type=Path,
        default=DEFAULT_CASE,
        help="Flee case directory holding input/ and observed/ (default: %(default)s)",
    )
    parser.add_argument(
        "--settings",
        type=Path,
        default=None,
        help="simsetting.yml (default: CASE/simsetting.yml, else CASE/../simsetting.yml)",
    )
    parser.add_argument(
        "--flee-python",
        type=Path,
        default=None,
        help="interpreter with flee==3.1 installed (default: this one if it imports flee, "
        f"else {FALLBACK_FLEE_PYTHON})",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per engine (fastest counts)")
    parser.add_argument("--days", type=int, default=None, help="simulate N days (smoke runs)")
    parser.add_argument(
        "--flee-spawn-from",
        choices=("camps", "total"),
        default="total",
        help="passed to flee_driver.py --spawn-from (default total: exactly as the 3.1 run "
        "script drives Flee, ~148k agents, as the issue asks; camps: the same ~90k-agent "
        "workload as Corridor). The per-agent loop ratio is printed either way.",
    )
    parser.add_argument("--skip-corridor", action="store_true", help="time Flee only")
    parser.add_argument("--skip-flee", action="store_true", help="time Corridor only")
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep every run's outputs under this directory"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if a minimum target is missed"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.days is not None and args.days < 1:
        parser.error("--days must be at least 1")
    return args


def _imports_flee(python: Path | str) -> bool:
    try:
        done = subprocess.run(
            [str(python), "-c", "import flee.flee, flee.InputGeography, flee.spawning"],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _find_flee_python(requested: Path | None) -> Path | None:
    if requested is not None:
        return requested if _imports_flee(requested) else None
    if _imports_flee(sys.executable):
        return Path(sys.executable)
    if FALLBACK_FLEE_PYTHON.exists() and _imports_flee(FALLBACK_FLEE_PYTHON):
        return FALLBACK_FLEE_PYTHON
    return None


def _settings_path(case: Path, given: Path | None) -> Path:
    if given is not None:
        return given
    for candidate in (case / "simsetting.yml", case.parent / "simsetting.yml"):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"vs_flee: no simsetting.yml in {case} or {case.parent}; pass --settings")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _run_flee(
    python: Path, case: Path, settings: Path, days: int | None, spawn_from: str, workdir: Path
) -> tuple[float, dict[str, Any]]:
    """One Flee process; returns (wall seconds, the driver's JSON record)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(python),
        str(DRIVER),
        "--input",
        str(case / "input"),
        "--observed",
        str(case / "observed"),
        "--settings",
        str(settings),
        "--out",
        str(workdir / "out.csv"),
        "--spawn-from",
        spawn_from,
    ]
    if days is not None:
        cmd += ["--days", str(days)]
    stderr_log = workdir / "stderr.log"
    with stderr_log.open("wb") as err:
        # cwd=workdir: flee 3.1 looks for ./input_csv/demographics_*.csv in the working directory.
        start = time.perf_counter()
        done = subprocess.run(
            cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=err, check=False, text=True
        )
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"vs_flee: Flee run failed (exit {done.returncode}): {' '.join(cmd)}\n"
            + _tail(stderr_log)
        )
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise SystemExit("vs_flee: flee_driver.py printed nothing")
    return wall, json.loads(lines[-1])


def _compile_corridor() -> None:
    """Byte-compile Corridor's package (see the module docstring); a failure only costs time."""
    code = (
        "import compileall, pathlib, corridor; "
        "compileall.compile_dir(pathlib.Path(corridor.__file__).parent, quiet=1)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    if done.returncode != 0:
        _note("could not byte-compile Corridor; its runs include compiling it")


def _run_corridor(
    case: Path, settings: Path, days: int | None, seed: int, workdir: Path
) -> tuple[float, dict[str, Any]]:
    """One Corridor process; returns (wall seconds, metrics.json)."""
    out_dir = workdir / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "corridor",
        "flee",
        str(case / "input"),
        "--observed",
        str(case / "observed"),
        "--settings",
        str(settings),
        "--out",
        str(out_dir),
        "--seed",
        str(seed),
    ]
    if days is not None:
        cmd += ["--days", str(days)]
    log = workdir / "corridor.log"
    with log.open("wb") as sink:
        start = time.perf_counter()
        done = subprocess.run(cmd, stdout=sink, stderr=subprocess.STDOUT, check=False)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"vs_flee: Corridor run failed (exit {done.returncode}): {' '.join(cmd)}\n" + _tail(log)
        )
    metrics_file = out_dir / "metrics.json"
    try:
        metrics: dict[str, Any] = json.loads(metrics_file.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"vs_flee: cannot read {metrics_file}: {exc}") from exc
    if "seconds" not in metrics:
        raise SystemExit(f"vs_flee: {metrics_file} has no 'seconds' key")
    return wall, metrics


def _ratio(flee_s: float | None, corridor_s: float | None) -> float | None:
    if flee_s is None or corridor_s is None or corridor_s <= 0:
        return None
    return flee_s / corridor_s


def _fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:10.3f} s"


def _verdict(ratio: float | None, minimum: float, aim: float) -> str:
    if ratio is None:
        return "n/a"
    if ratio >= aim:
        return "meets aim"
    if ratio >= minimum:
        return "meets minimum"
    return "BELOW MINIMUM"


def _report(
    flee: Timings, corridor: Timings, args: argparse.Namespace, settings: Path
) -> dict[str, Any]:
    loop_ratio = _ratio(flee.best_loop(), corridor.best_loop())
    process_ratio = _ratio(flee.best_process(), corridor.best_process())
    n = args.repeats
    _say()
    _say(f"Case {args.case}  days={args.days or 'full'}  fastest of {n}")
    _say(f"{'':24}{'Flee 3.1':>14}{'Corridor':>14}")
    _say(f"{'simulation loop':24}{_fmt_s(flee.best_loop()):>14}{_fmt_s(corridor.best_loop()):>14}")
    _say(
        f"{'whole process':24}{_fmt_s(flee.best_process()):>14}"
        f"{_fmt_s(corridor.best_process()):>14}"
    )
    flee_agents = flee.extra.get("runs", [{}])[-1].get("agents", "—")
    corridor_agents = corridor.extra.get("metrics", [{}])[-1].get("agents_peak", "—")
    _say(f"{'agents at the end':24}{flee_agents!s:>14}{corridor_agents!s:>14}")
    per_agent = None
    if isinstance(flee_agents, int) and isinstance(corridor_agents, int) and loop_ratio:
        per_agent = loop_ratio * corridor_agents / flee_agents
        _say(f"{'loop ratio per agent':24}{per_agent:13.1f}x  (same workload, scaled by agents)")
    _say()
    for label, ratio, minimum, aim in (
        ("loop ratio", loop_ratio, LOOP_MIN, LOOP_AIM),
        ("process ratio", process_ratio, PROCESS_MIN, PROCESS_AIM),
    ):
        shown = "n/a" if ratio is None else f"{ratio:8.1f}x"
        _say(
            f"{label:16}{shown:>10}   target >= {minimum:.0f}x, aim {aim:.0f}x: "
            f"{_verdict(ratio, minimum, aim)}"
        )
    record: dict[str, Any] = {
        "case": str(args.case),
        "settings": str(settings),
        "days": args.days,
        "repeats": n,
        "flee": flee.as_dict(),
        "corridor": corridor.as_dict(),
        "loop_ratio": loop_ratio,
        "loop_ratio_per_agent": per_agent,
        "process_ratio": process_ratio,
        "targets": {
            "loop": {"min": LOOP_MIN, "aim": LOOP_AIM},
            "process": {"min": PROCESS_MIN, "aim": PROCESS_AIM},
        },
        "loop_ok": None if loop_ratio is None else loop_ratio >= LOOP_MIN,
        "process_ok": None if process_ratio is None else process_ratio >= PROCESS_MIN,
    }
    _say(json.dumps(record))
    return record


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    args.case = args.case.resolve()
    for sub in ("input", "observed"):
        if not (args.case / sub).is_dir():
            raise SystemExit(f"vs_flee: {args.case / sub} is not a directory; pass --case")
    settings = _settings_path(args.case, args.settings).resolve()

    flee_python: Path | None = None
    if not args.skip_flee:
        flee_python = _find_flee_python(args.flee_python)
        if flee_python is None:
            sys.stderr.write(
                "vs_flee: cannot import flee 3.1 "
                + (
                    f"with {args.flee_python}.\n"
                    if args.flee_python
                    else f"in {sys.executable} or {FALLBACK_FLEE_PYTHON}.\n"
                )
                + "Install the benchmark extra with:  pip install -e .[bench]\n"
                + "(or point --flee-python at an interpreter that has flee==3.1).\n"
            )
            return 2
        _note(f"Flee interpreter: {flee_python}")

    if not args.skip_corridor:
        _compile_corridor()
    flee = Timings()
    corridor = Timings()
    with tempfile.TemporaryDirectory(prefix="vs_flee-") as tmp:
        root = args.keep.resolve() if args.keep else Path(tmp)
        for i in range(args.repeats):
            if flee_python is not None:
                _note(f"Flee run {i + 1}/{args.repeats} ...")
                wall, rec = _run_flee(
                    flee_python,
                    args.case,
                    settings,
                    args.days,
                    args.flee_spawn_from,
                    root / f"flee-{i}",
                )
                flee.process_seconds.append(wall)
                flee.loop_seconds.append(float(rec["loop_seconds"]))
                flee.extra.setdefault("runs", []).append(rec)
                _note(
                    f"  process {wall:.2f} s, loop {rec['loop_seconds']:.2f} s, "
                    f"{rec['agents']} agents"
                )
            if not args.skip_corridor:
                _note(f"Corridor run {i + 1}/{args.repeats} (seed {i}) ...")
                wall, metrics = _run_corridor(
                    args.case, settings, args.days, i, root / f"corridor-{i}"
                )
                corridor.process_seconds.append(wall)
                corridor.loop_seconds.append(float(metrics["seconds"]))
                scalars = {
                    k: v for k, v in metrics.items() if isinstance(v, int | float | str | bool)
                }
                corridor.extra.setdefault("metrics", []).append(scalars)
                _note(f"  process {wall:.3f} s, loop {metrics['seconds']:.3f} s")

    record = _report(flee, corridor, args, settings)
    if args.check and (record["loop_ok"] is False or record["process_ok"] is False):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
