"""Benchmark of the whole pipeline at 1x and 10x the published size (run by hand: make bench).

For each size, on the seeded sample (`unitylv synth`, cached under data/bench/):
- a full `unitylv release` from an empty work folder: wall time and the peak resident memory of
  the whole process tree (the CLI and its worker processes, summed, sampled every 0.1 s);
- a full `unitylv derive` from an empty work folder, then the same derive again after one
  study's curve changed (what the sensor starts): the second re-derives one bucket only.
Sizes are printed side by side with the ratios the design promises (10x/1x at most 12;
one changed study at most 10% of a full derive). Pass sizes as arguments (default: 1 10).
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "bench"
STUDIES_1X = 100
SAMPLE_SECONDS = 0.1


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants, summed (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1]) * 1024
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def run_measured(args: list[str]) -> tuple[float, int]:
    """(wall seconds, peak process-tree RSS bytes) of `unitylv ARGS` in a subprocess."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "assets.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(SAMPLE_SECONDS):
            peak = max(peak, tree_rss_bytes(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"unitylv {' '.join(args)} failed:\n{stderr.decode()[-2000:]}")
    return seconds, peak


def sample_source(scale: int) -> Path:
    """The seeded sample at `scale` times the published size, generated once."""
    source = CACHE / f"{scale}x" / "source"
    if not (source / "UnityLV_multiX_annotations.json").is_file():
        source.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "assets.cli",
                "synth",
                "--out",
                str(source),
                "--studies",
                str(STUDIES_1X * scale),
                "--overwrite",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return source


def one_study_changed(source: Path, into: Path) -> Path:
    """A copy of the source (images hard-linked) whose first study's first curve moved 2 px.

    Only that record's bytes change: the file is written back in the generator's compact
    form, checked to give the original bytes when nothing is edited (a reformatted file
    changes every record's text, and every bucket's records are validated again).
    """
    shutil.copytree(source, into, copy_function=os.link)
    annotations = into / "UnityLV_multiX_annotations.json"
    original = annotations.read_bytes()
    document = json.loads(original)
    if compact_json(document) != original:
        raise SystemExit(f"{annotations} is not in the generator's compact form")
    first_image = next(iter(document))
    curves = document[first_image]
    user = next(iter(curves))
    curves[user][0] = [x + 2.0 for x in curves[user][0]]
    annotations.unlink()  # a new file: the hard-linked original stays as it was
    annotations.write_bytes(compact_json(document))
    return into


def compact_json(document: object) -> bytes:
    """JSON as `unitylv synth` writes it."""
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def bench(scale: int, release_only: bool = False) -> dict[str, float]:
    source = sample_source(scale)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        base = Path(tmp)
        release_s, release_rss = run_measured(
            [
                "release",
                "--version",
                "1.0.0",
                "--date",
                "2024-01-01",
                "--source",
                str(source),
                "--releases",
                str(base / "releases"),
                "--work",
                str(base / "work_release"),
            ]
        )
        if release_only:
            subprocess.run(["chmod", "-R", "u+w", str(base)], check=False)
            return {"release_s": release_s, "release_rss_mb": release_rss / 2**20}
        derive_s, derive_rss = run_measured(
            ["derive", "--source", str(source), "--work", str(base / "work")]
        )
        changed = one_study_changed(source, base / "changed")
        again_s, _ = run_measured(
            ["derive", "--source", str(changed), "--work", str(base / "work")]
        )
        subprocess.run(["chmod", "-R", "u+w", str(base)], check=False)
    return {
        "release_s": release_s,
        "release_rss_mb": release_rss / 2**20,
        "derive_s": derive_s,
        "derive_rss_mb": derive_rss / 2**20,
        "one_study_s": again_s,
    }


def main() -> None:
    """Sizes as arguments (default 1 10); `--release-only` times the full release alone (for
    100x, where a full derive and the edited copy of the annotations would take an hour more)."""
    release_only = "--release-only" in sys.argv
    scales = [int(a) for a in sys.argv[1:] if a != "--release-only"] or [1, 10]
    console = Console()
    console.print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"UNITYLV_WORKERS={os.environ.get('UNITYLV_WORKERS', 'one per core')}"
    )
    results = {scale: bench(scale, release_only) for scale in scales}
    table = Table("measure", *(f"{s}x ({STUDIES_1X * s} studies)" for s in scales))
    rows = [
        ("full release, wall s", "release_s", "{:.1f}"),
        ("full release, peak RSS of the process tree, MB", "release_rss_mb", "{:.0f}"),
        ("full derive, wall s", "derive_s", "{:.1f}"),
        ("full derive, peak RSS, MB", "derive_rss_mb", "{:.0f}"),
        ("derive after one study changed, wall s", "one_study_s", "{:.1f}"),
    ]
    for label, key, fmt in rows[:2] if release_only else rows:
        table.add_row(label, *(fmt.format(results[s][key]) for s in scales))
    if not release_only:
        table.add_row(
            "one changed study / full derive",
            *(f"{results[s]['one_study_s'] / results[s]['derive_s']:.0%}" for s in scales),
        )
    console.print(table)
    for small, big in itertools.pairwise(scales):
        ratio = results[big]["release_s"] / results[small]["release_s"]
        console.print(f"release time {big}x / {small}x: {ratio:.1f} (linear: {big // small})")


if __name__ == "__main__":
    main()
