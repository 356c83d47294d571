"""Running the real `svp` command line in a child process, for the CLI tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path


def run_svp(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real `svp` command line in a child process."""
    return subprocess.run([sys.executable, "-m", "svp", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def import_demo_entries(ids: Collection[str], *, demo_data: Path, env: dict[str, str],
                        cwd: Path) -> None:
    """Import some real entries of the demo base with `svp kb import` (few: quick to embed)."""
    with demo_data.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    subset = cwd / "entries.jsonl"
    subset.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n"
                              for record in records if record["id"] in ids), encoding="utf-8")
    result = run_svp("kb", "import", str(subset), env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
