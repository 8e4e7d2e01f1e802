"""Running `unitylv` as a user does: a subprocess in a folder of the test's choosing."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def unitylv(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """`unitylv ARGS` run from `cwd` (wide terminal: tables are not wrapped)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "400"}
    return subprocess.run(
        [sys.executable, "-m", "assets.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
