"""The shipped Prometheus alert rules: valid for promtool, in French, on metrics the app exposes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from deploy_helpers import ALERTS, running_svp_web, tool

EXPECTED = {"SvpWebDown", "SvpBotSilent", "SvpMailSilent", "SvpMailInboxBacklog",
            "SvpInboxBacklog", "SvpOutboxFailures", "SvpBackupTooOld", "SvpDiskAlmostFull"}
_SVP_METRIC = re.compile(r"\b(svp_[a-z0-9_]+)\b")


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run([tool("promtool"), "check", "rules", str(ALERTS)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_tells_the_operator_in_french_what_to_do() -> None:
    rules = _rules()
    assert {rule["alert"] for rule in rules} == EXPECTED
    for rule in rules:
        notes = rule["annotations"]
        assert notes["summary"] and rule["labels"]["severity"] in {"warning", "critical"}
        # What to do: a command to run or a place to look, in French.
        assert re.search(r"systemctl|journalctl|du -sh", notes["description"]), rule["alert"]
        assert re.search(r"\b(Vérifiez|Regardez|Voyez|Cherchez)\b", notes["description"])


def test_disk_alert_watches_the_mount_of_the_data_folder() -> None:
    disk = next(rule for rule in _rules() if rule["alert"] == "SvpDiskAlmostFull")
    assert "node_filesystem_avail_bytes" in disk["expr"] and "/var/lib/svp" in disk["expr"]
    assert "< 0.10" in disk["expr"]


@pytest.mark.slow
def test_every_svp_metric_of_the_rules_is_exposed_by_the_app(tmp_path: Path) -> None:
    named = {name for rule in _rules() for name in _SVP_METRIC.findall(rule["expr"])}
    with running_svp_web(tmp_path / "data") as web:
        response = httpx.get(f"{web.address}/metrics", timeout=30,
                             headers={"Authorization": f"Bearer {web.metrics_token}"})
    assert response.status_code == 200
    exposed = {re.split(r"[{ ]", line, maxsplit=1)[0]
               for line in response.text.splitlines() if line and not line.startswith("#")}
    assert named and named <= exposed, f"not exposed by /metrics: {sorted(named - exposed)}"
