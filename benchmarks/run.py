"""Benchmark runner: every measurement in a fresh subprocess, engines in alternation, median of N.

    python -m benchmarks.run --engines streamscope --size small               # make bench
    python -m benchmarks.run --compare --size full                            # make bench-compare
    python -m benchmarks.run --engines streamscope,ray --workloads W1,W5:sort --repeat 5

Why this shape: the machines are shared and noisy, so engines are interleaved round by round
(each round in a rotated order) instead of one engine's repeats back to back, every measurement
gets a fresh process (no warm caches carried over, a crash or a deadlock costs one measurement,
not the run), and each has a timeout after which its whole process tree is killed and the
measurement is recorded as ``timeout``. ``--compare`` runs every engine in the peers' environment
(.bench-venv, created by benchmarks/setup_peers.sh) and writes the table into docs/benchmarks.md.

Output: ``benchmarks/results/<timestamp>.jsonl`` (one line per measurement, written as it
finishes) and ``<timestamp>.md`` (the table, ratios and goal verdicts from benchmarks/report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import report

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
PEERS_PY = ROOT / ".bench-venv" / "bin" / "python"
RESULT_PREFIX = "BENCH_RESULT "
TABLE_BEGIN = "<!-- BENCH-TABLE:BEGIN (written by python -m benchmarks.run --compare) -->"
TABLE_END = "<!-- BENCH-TABLE:END -->"

ALL_ENGINES = ("streamscope", "ray", "pandas", "polars", "duckdb", "plain")
# Named explicitly only (not part of --compare): streamscope's executor on a local Ray (W1, W2).
EXTRA_ENGINES = ("streamscope-ray",)
PEER_ONLY = {"ray", "polars", "duckdb", "streamscope-ray"}  # not installed in the project's .venv


@dataclass(frozen=True)
class Workload:
    id: str
    script: str
    engines: tuple
    variants: tuple = ("",)
    data: bool = False  # needs benchmarks/datagen output
    timeout_s: float = 300.0


WORKLOADS = {
    "W0": Workload("W0", "w0_cold_start.py", ALL_ENGINES, timeout_s=120),
    "W1": Workload("W1", "w1_row_udfs.py", ALL_ENGINES + EXTRA_ENGINES),
    "W2": Workload("W2", "w2_parquet_etl.py", ("streamscope", "ray", "pandas", "polars", "duckdb") + EXTRA_ENGINES,
                   data=True),
    "W3": Workload("W3", "w3_batch_inference.py", ("streamscope", "ray", "plain"), ("half", "default"), data=True),
    "W4": Workload("W4", "w4_larger_than_memory.py", ("streamscope", "ray", "plain")),
    "W5": Workload("W5", "w5_shuffles.py", ("streamscope", "ray", "pandas", "polars", "duckdb"),
                   ("sort", "shuffle", "groupby")),
    "W6": Workload("W6", "w6_observability.py", ("streamscope",), ("off", "on"), data=True, timeout_s=600),
}
DEFAULT_WORKLOADS = ("W0", "W1", "W2", "W3", "W4", "W5", "W6")

# (workload, variant, engine) -> (time limit s, repeats): Ray Data deadlocks on 2 cores when the
# W3 actors keep their default 1 CPU; one bounded try records that, repeating it only burns time.
# streamscope must not deadlock there: it gets a bounded limit too, and any measurement that timed
# out is not tried again in later rounds (a hang costs its limit once, not once per round).
SPECIAL = {("W3", "default", "ray"): (60.0, 1), ("W3", "default", "streamscope"): (120.0, 3)}
# Measurements that do not apply: plain has no actors to give a default num_cpus.
SKIP = {("W3", "default", "plain")}


def plan(workloads: list[str], engines: list[str]) -> list[tuple[Workload, str, str]]:
    """[(workload, variant, engine)] for the engines each workload applies to, in table order."""
    out = []
    for spec in workloads:
        wid, _, only_variant = spec.partition(":")
        if wid not in WORKLOADS:
            raise SystemExit(f"unknown workload {wid!r}; choose from {', '.join(WORKLOADS)}")
        w = WORKLOADS[wid]
        variants = [only_variant] if only_variant else list(w.variants)
        for v in variants:
            if v not in w.variants:
                raise SystemExit(f"{wid} has no variant {v!r}; choose from {', '.join(w.variants)}")
            for e in engines:
                if e in w.engines and (wid, v, e) not in SKIP:
                    out.append((w, v, e))
    return out


def descendants(pid: int) -> dict:
    """{pid: psutil.Process} of every live descendant. Keeping the Process objects (not bare pids)
    matters: psutil checks a process's start time before signalling it, so a pid reused by some
    unrelated process after ours exited is never killed."""
    import psutil

    try:
        return {p.pid: p for p in psutil.Process(pid).children(recursive=True)}
    except psutil.Error:
        return {}


def kill_procs(procs) -> None:
    import psutil

    killed = []
    for p in procs:
        try:
            if p.is_running():
                p.kill()
                killed.append(p)
        except psutil.Error:
            pass
    psutil.wait_procs(killed, timeout=5)


def measure(py: str, w: Workload, variant: str, engine: str, size: str, timeout_s: float,
            data_root: str | None = None) -> dict:
    """One measurement in a fresh process; always returns a record (errors included)."""
    cmd = [py, str(BENCH / "workloads" / w.script), "--engine", engine, "--size", size]
    if variant:
        cmd += ["--variant", variant]
    if data_root:
        cmd += ["--data-root", data_root]
    cmd += ["--time-limit", str(timeout_s)]
    load_before = os.getloadavg()[0]  # the machine is shared: the table reports how busy it was
    env = dict(os.environ, BENCH_LAUNCH_TIME=repr(time.time()), PYTHONUNBUFFERED="1")
    # Output goes to files, not pipes: an engine that logs a lot (Ray does) would fill a pipe's
    # buffer while we are not reading it and block, which would look like a hang.
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True, env=env, cwd=str(ROOT),
                                start_new_session=True)
        seen: dict = {}
        deadline = t0 + timeout_s + 30  # the script's own watchdog fires first; this is the backstop
        timed_out = False
        while True:
            try:
                proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                seen.update(descendants(proc.pid))
                if time.perf_counter() > deadline:
                    timed_out = True
                    seen.update(descendants(proc.pid))
                    try:
                        os.killpg(proc.pid, 9)
                    except OSError:
                        pass
                    proc.kill()
                    proc.wait()
                    break
        process_wall = time.perf_counter() - t0
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read(), err_f.read()
    kill_procs(seen.values())  # engine daemons that outlived their parent (Ray's raylet, workers, ...)
    record = None
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            record = json.loads(line[len(RESULT_PREFIX):])
    if record is None:
        tail = (stderr or stdout or "").strip().splitlines()[-3:]
        record = {
            "workload": w.id, "variant": variant, "engine": engine, "size": size, "ok": False,
            "error": "timeout" if timed_out else f"no result line (exit {proc.returncode}): {' | '.join(tail)}"[:1000],
            "wall_s": None, "rows": None, "rows_per_s": None, "peak_rss_tree_bytes": None,
            "spilled_bytes": None,
        }
    record["process_wall_s"] = process_wall
    record["loadavg_1m_before"] = load_before
    record["loadavg_1m_after"] = os.getloadavg()[0]
    record["exit_code"] = proc.returncode
    record["timeout_s"] = timeout_s
    return record


def machine() -> dict:
    import psutil

    return {
        "cpu_count": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / (1 << 30), 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
    }


def engine_versions(py: str) -> dict:
    code = (
        "import importlib.metadata as m, json\n"
        "out = {}\n"
        "for n in ('streamscope', 'ray', 'pandas', 'polars', 'duckdb', 'pyarrow', 'numpy', 'torch'):\n"
        "    try: out[n] = m.version(n)\n"
        "    except Exception: pass\n"
        "print(json.dumps(out))\n"
    )
    try:
        return json.loads(subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=60).stdout)
    except Exception:
        return {}


def ensure_peers() -> str:
    """Create or refresh .bench-venv; the script returns at once when it is up to date."""
    if not PEERS_PY.exists():
        print("[bench] creating the peers' environment (.bench-venv) ...", flush=True)
    subprocess.run(["bash", str(BENCH / "setup_peers.sh")], check=True, cwd=str(ROOT))
    return str(PEERS_PY)


def header(info: dict, versions: dict, command: str, size: str, repeat: int, started: str,
           records: list = ()) -> str:
    ver = ", ".join(f"{k} {v}" for k, v in versions.items())
    loads = [r[k] for r in records for k in ("loadavg_1m_before", "loadavg_1m_after") if r.get(k) is not None]
    load = (f" 1-minute load average during the run: {min(loads):.1f}-{max(loads):.1f} "
            f"on {info['cpu_count']} CPUs (other work shares the machine).") if loads else ""
    return (
        f"Run {started}, size `{size}`, median of {repeat} (engines alternated, each measurement a fresh process).\n\n"
        f"Machine: {info['cpu_count']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, "
        f"Python {info['python']}, {info['platform']}.{load}\n\n"
        f"Versions: {ver}.\n\n"
        f"Command: `{command}`\n"
    )


def write_docs(section: str) -> None:
    """Replace the table between the markers in docs/benchmarks.md (append the markers if absent)."""
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    block = f"{TABLE_BEGIN}\n{section}\n{TABLE_END}"
    if TABLE_BEGIN in text and TABLE_END in text:
        pre, rest = text.split(TABLE_BEGIN, 1)
        post = rest.split(TABLE_END, 1)[1]
        text = pre + block + post
    else:
        text = text.rstrip("\n") + "\n\n## Latest results\n\n" + block + "\n"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engines", default=None, help="comma list (default: streamscope; with --compare: all)")
    ap.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                    help="comma list of W0..W6, optionally WORKLOAD:variant (W5:sort)")
    ap.add_argument("--size", default="small", choices=("tiny", "small", "full", "xl"))
    ap.add_argument("--repeat", type=int, default=None, help="measurements per cell (default 3)")
    ap.add_argument("--compare", action="store_true",
                    help="all engines, in the peers' venv, and write docs/benchmarks.md")
    ap.add_argument("--python", default=None, help="interpreter for the measurements")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="start no new round past this (rounds already run still count); default 27 with --compare")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--from-jsonl", default=None, metavar="PATH",
                    help="run nothing: rebuild the table from a results file (with --compare: into the docs)")
    args = ap.parse_args(argv)
    if args.from_jsonl:
        return rebuild(Path(args.from_jsonl), args.compare)

    engines = args.engines.split(",") if args.engines else (list(ALL_ENGINES) if args.compare else ["streamscope"])
    for e in engines:
        if e not in ALL_ENGINES + EXTRA_ENGINES:
            raise SystemExit(f"unknown engine {e!r}; choose from {', '.join(ALL_ENGINES + EXTRA_ENGINES)}")
    repeat = args.repeat or 3
    max_minutes = args.max_minutes if args.max_minutes is not None else (27.0 if args.compare else None)
    py = args.python or (ensure_peers() if args.compare or PEER_ONLY & set(engines) else sys.executable)
    cells = plan(args.workloads.split(","), engines)
    if not cells:
        raise SystemExit("nothing to run: no workload applies to those engines")

    if any(w.data for w, _, _ in cells):
        size = "full" if args.size == "xl" else args.size
        gen = [py, "-m", "benchmarks.datagen", "--size", size]
        if args.data_root:
            gen += ["--root", args.data_root]
        subprocess.run(gen, check=True, cwd=str(ROOT))

    started = time.strftime("%Y%m%d-%H%M%S")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    jsonl = out_dir / f"{started}.jsonl"
    command = "python -m benchmarks.run " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    t_start = time.perf_counter()
    records = []
    timed_out: set = set()
    print(f"[bench] {len(cells)} measurements x {repeat} rounds with {py}; results -> {jsonl}", flush=True)
    with jsonl.open("w") as f:
        longest_round = 0.0
        for rnd in range(repeat):
            t_round = time.perf_counter()
            elapsed_min = (t_round - t_start) / 60
            # the next round is predicted from the longest so far, plus 10 % for a busier machine
            if rnd and max_minutes and elapsed_min + 1.1 * longest_round / 60 > max_minutes:
                print(f"[bench] stopping after {rnd} rounds: another would pass --max-minutes={max_minutes}", flush=True)
                break
            for w, v, e in cells:
                limit, reps = SPECIAL.get((w.id, v, e), (w.timeout_s, repeat))
                if rnd >= reps or (w.id, v, e) in timed_out:
                    continue
                rec = measure(py, w, v, e, args.size, limit, args.data_root)
                rec.update(round=rnd, run=started, python=py, command=command)
                records.append(rec)
                if rec.get("error") == "timeout":
                    timed_out.add((w.id, v, e))
                f.write(json.dumps(rec, sort_keys=True, default=str) + "\n")
                f.flush()
                status = f"{rec['wall_s']:.3f} s" if rec.get("ok") else f"FAILED {str(rec.get('error'))[:100]}"
                print(f"[bench] round {rnd + 1}/{repeat} {w.id}{':' + v if v else ''} {e}: {status}", flush=True)
            cells = _rotate(cells)
            longest_round = max(longest_round, time.perf_counter() - t_round)

    rounds_run = max((r["round"] for r in records), default=0) + 1
    summary = report.summarize(records)
    section = header(machine(), engine_versions(py), command, args.size, rounds_run, started, records) + "\n" + report.markdown(summary)
    md = out_dir / f"{started}.md"
    md.write_text(section)
    print("\n" + section)
    if args.compare:
        write_docs(section)
        print(f"[bench] wrote {DOCS.relative_to(ROOT)}")
    print(f"[bench] {jsonl.relative_to(ROOT) if jsonl.is_relative_to(ROOT) else jsonl} and {md.name}; "
          f"{(time.perf_counter() - t_start) / 60:.1f} min")
    return 0


def rebuild(jsonl: Path, to_docs: bool) -> int:
    """The table of an earlier run, from its JSON lines (machine facts are this machine's)."""
    records = report.read_jsonl(jsonl.read_text().splitlines())
    if not records:
        raise SystemExit(f"{jsonl}: no records")
    first = records[0]
    py = first.get("python") or sys.executable
    command = first.get("command") or "(not recorded)"
    rounds = max(r.get("round", 0) for r in records) + 1
    section = header(machine(), engine_versions(py), command, first.get("size", "?"), rounds,
                     first.get("run", jsonl.stem), records) + "\n" + report.markdown(report.summarize(records))
    jsonl.with_suffix(".md").write_text(section)
    print(section)
    if to_docs:
        write_docs(section)
        print(f"[bench] wrote {DOCS.relative_to(ROOT)}")
    return 0


def _rotate(cells: list) -> list:
    """Rotate the engine order inside each (workload, variant) group, keeping the groups in place."""
    out, i = [], 0
    while i < len(cells):
        j = i
        while j < len(cells) and cells[j][:2] == cells[i][:2]:
            j += 1
        group = cells[i:j]
        out += group[1:] + group[:1]
        i = j
    return out


if __name__ == "__main__":
    sys.exit(main())
