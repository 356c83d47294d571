"""Running the real `svp` command line in a child process, for the CLI tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_svp(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real `svp` command line in a child process."""
    return subprocess.run([sys.executable, "-m", "svp", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)
