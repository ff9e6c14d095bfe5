"""Wall time of a cold ``lettermon check`` of an unchanged letter, against urlwatch.

Both tools check the same local page (479 signatures, newest first, served with an ETag
by a letter site in another process), each from a fresh process as cron would start it,
each with its state already filled by a first run, so both send a conditional GET and get
a 304. urlwatch runs with its own temporary ``--urls``, ``--config``, ``--cache`` and
``--hooks`` files. Both start from compiled bytecode, as installed wheels do. Timing uses
hyperfine when installed (``--warmup 3``), else a loop of N runs timed with
``time.perf_counter``. Then the commands run interleaved (A, B, A, B...), which spreads a
busy machine's background load evenly over them, with wall and CPU time.
Goal: side by side, lettermon's median wall time at most 1.5 x urlwatch's.

Then ``python -X importtime`` shows what start-up costs: the top imports of
``import lettermon.cli`` and of a whole ``lettermon check`` of the unchanged letter.

Exit status 1 if the goal is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness as h

GOAL_RATIO = 1.5


def urlwatch_cmd(workdir: Path) -> list[str]:
    exe = Path(sys.executable).with_name("urlwatch")
    return [str(exe) if exe.exists() else "urlwatch",
            "--urls", str(workdir / "urls.yaml"), "--config", str(workdir / "urlwatch.yaml"),
            "--cache", str(workdir / "cache.db"), "--hooks", str(workdir / "hooks.py")]


def time_commands(commands: dict[str, list[str]], runs: int, workdir: Path
                  ) -> tuple[str, dict[str, dict[str, float]]]:
    """Median, mean, stddev, min and max seconds per command."""
    hyperfine = shutil.which("hyperfine")
    if hyperfine:
        out = workdir / "hyperfine.json"
        cmd = [hyperfine, "--warmup", "3", "--runs", str(runs), "--shell=none",
               "--export-json", str(out), "--style", "none"]
        for name, command in commands.items():
            cmd += ["--command-name", name, " ".join(command)]
        subprocess.run(cmd, check=True, env=h.clean_env(), stdout=subprocess.DEVNULL)
        results = json.loads(out.read_text())["results"]
        return "hyperfine", {r["command"]: {k: r[k] for k in
                                            ("median", "mean", "stddev", "min", "max")}
                             for r in results}
    stats: dict[str, dict[str, float]] = {}
    for name, command in commands.items():
        for _ in range(2):  # warm-up
            subprocess.run(command, env=h.clean_env(), stdout=subprocess.DEVNULL, check=True)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, env=h.clean_env(), stdout=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - started)
        stats[name] = {"median": statistics.median(times), "mean": statistics.mean(times),
                       "stddev": statistics.stdev(times), "min": min(times),
                       "max": max(times)}
    return f"perf_counter loop, N={runs}", stats


def interleaved(commands: dict[str, list[str]], runs: int) -> dict[str, dict[str, float]]:
    """A, B, A, B, ...: median wall and median CPU (user + sys, from wait4) per command.

    Interleaving spreads any background load evenly over the commands, and CPU time
    hardly depends on it, so this cross-checks the wall-time comparison on a busy machine.
    """
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            run = h.run_measured(command)
            walls[name].append(run.wall)
            cpus[name].append(run.cpu)
    return {name: {"wall": statistics.median(walls[name]), "cpu": statistics.median(cpus[name])}
            for name in commands}


Entry = tuple[str, int, int]  # module, self us, cumulative us


def import_times(args: list[str], repeat: int = 5) -> tuple[float, list[Entry]]:
    """Every import of the run whose total import time is the median of ``repeat`` runs."""
    runs = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, "-X", "importtime", *args], env=h.clean_env(),
                              capture_output=True, text=True, check=False)
        entries = []
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cumulative, name = line.removeprefix("import time:").split("|")
            entries.append((name.strip(), int(self_us), int(cumulative)))
        runs.append((sum(e[1] for e in entries), entries))
    runs.sort(key=lambda run: run[0])
    total, entries = runs[len(runs) // 2]
    return total / 1e6, entries


def print_imports(title: str, total: float, entries: list[Entry], top: int) -> None:
    """Time per top-level package (sum of its modules' own time), then lettermon's modules
    by cumulative time (what importing each one pulls in)."""
    packages: dict[str, list[int]] = {}
    for name, own, _ in entries:
        root = name.split(".")[0]
        slot = packages.setdefault(root, [0, 0])
        slot[0] += own
        slot[1] += 1
    print(f"\n{title}: {total * 1000:.0f} ms of imports in all (median of 5 runs)\n")
    h.print_table(["package", "own time, all its modules", "modules"],
                  [[root, f"{own / 1000:.1f} ms", n] for root, (own, n) in
                   sorted(packages.items(), key=lambda item: -item[1][0])[:top]])
    ours = sorted((e for e in entries if e[0].startswith("lettermon")), key=lambda e: -e[2])
    print()
    h.print_table(["lettermon module", "cumulative (incl. what it imports)", "self"],
                  [[name, f"{cum / 1000:.1f} ms", f"{own / 1000:.1f} ms"]
                   for name, own, cum in ours[:10]])


def compile_bytecode() -> None:
    """Compile lettermon's modules, as ``pip install`` does for an installed wheel.

    An editable install run with ``PYTHONDONTWRITEBYTECODE`` set would otherwise compile
    every module from source on every start, while urlwatch (a wheel) starts from bytecode.
    """
    import compileall

    import lettermon

    compileall.compile_dir(str(Path(lettermon.__file__).parent), quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--signatures", type=int, default=479)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--compare", metavar="EXE", type=Path,
                        help="another build's lettermon script (an older checkout's "
                             "venv/bin/lettermon, its bytecode compiled): timed beside the "
                             "others, with a database of its own")
    args = parser.parse_args()

    compile_bytecode()
    with h.ServerProcess(args.signatures) as server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = h.write_config(workdir / "lettermon.toml", server.url,
                                database=workdir / "lettermon.sqlite3")
        (workdir / "urls.yaml").write_text(f"url: {server.url}\n", encoding="utf-8")
        lettermon = h.lettermon_cmd("check", "--config", str(config))
        urlwatch = urlwatch_cmd(workdir)
        for command in (lettermon, urlwatch, lettermon, urlwatch):  # fill state, then check
            subprocess.run(command, env=h.clean_env(), stdout=subprocess.DEVNULL,
                           cwd=workdir, check=True)
        server.reset_requests()
        subprocess.run(lettermon, env=h.clean_env(), stdout=subprocess.DEVNULL, check=True)
        lettermon_log = server.requests()
        server.reset_requests()
        subprocess.run(urlwatch, env=h.clean_env(), stdout=subprocess.DEVNULL, check=True)
        urlwatch_log = server.requests()
        commands = {"lettermon check": lettermon, "urlwatch": urlwatch,
                    "python -c pass": [sys.executable, "-c", "pass"]}
        if args.compare:
            other = h.write_config(workdir / "compare.toml", server.url,
                                   database=workdir / "compare.sqlite3")
            compared = [str(args.compare), "check", "--config", str(other)]
            subprocess.run(compared, env=h.clean_env(), stdout=subprocess.DEVNULL, check=True)
            commands[f"compared: {args.compare}"] = compared
        method, stats = time_commands(commands, args.runs, workdir)
        cross = interleaved(commands, args.runs)
        check_imports = import_times([str(Path(lettermon[0])), *lettermon[1:]]) \
            if Path(lettermon[0]).exists() else None

    ratio = stats["lettermon check"]["median"] / stats["urlwatch"]["median"]
    lm, uw = cross["lettermon check"], cross["urlwatch"]
    side_by_side = lm["wall"] / uw["wall"]
    ok = side_by_side <= GOAL_RATIO
    print(f"Cold check of an unchanged letter ({args.signatures} signatures, ETag), "
          f"{method}\n")
    print(f"requests of one run: lettermon {lettermon_log}, urlwatch {urlwatch_log}\n")
    h.print_table(["command", "median", "mean ± sd", "min", "max"], [
        [name, f"{s['median'] * 1000:.0f} ms",
         f"{s['mean'] * 1000:.0f} ± {s['stddev'] * 1000:.0f} ms",
         f"{s['min'] * 1000:.0f} ms", f"{s['max'] * 1000:.0f} ms"]
        for name, s in stats.items()])
    print(f"\nlettermon / urlwatch (medians): {ratio:.2f} x")
    print(f"\nCross-check, the commands interleaved, N={args.runs} each (medians)\n")
    h.print_table(["command", "wall", "CPU (user + sys)"],
                  [[name, f"{c['wall'] * 1000:.0f} ms", f"{c['cpu'] * 1000:.0f} ms"]
                   for name, c in cross.items()])
    print(f"lettermon / urlwatch: wall {side_by_side:.2f} x, CPU {lm['cpu'] / uw['cpu']:.2f} x; "
          f"goal <= {GOAL_RATIO:g} x (wall, side by side): {h.verdict(ok)}")

    total, entries = import_times(["-c", "import lettermon.cli"])
    print_imports('python -X importtime -c "import lettermon.cli"', total, entries, args.top)
    if check_imports is not None:
        print_imports("python -X importtime lettermon check (unchanged letter, whole run)",
                      *check_imports, args.top)
    print(f"\noverall: {h.verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
