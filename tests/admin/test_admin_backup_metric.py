"""`/metrics` tells when the newest readable backup was made, for the alert on stale backups."""

from __future__ import annotations

import re
from pathlib import Path

from admin_helpers import client_for

from admin.config import AdminConfig
from knowledge.runtime import Knowledge
from knowledge.store import backup

METRIC = re.compile(r"^svp_backup_last_success_timestamp_seconds (\S+)$", re.MULTILINE)


def _scraped(knowledge: Knowledge, folder: Path) -> float:
    config = AdminConfig(metrics_token="s3cret", backup_dir=folder)
    with client_for(knowledge, config) as client:
        response = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200
    found = METRIC.search(response.text)
    assert found, response.text
    return float(found.group(1))


def test_the_metric_is_the_creation_time_of_the_newest_archive(
        admin_knowledge: Knowledge, database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    assert _scraped(admin_knowledge, folder) == 0.0
    archive = backup.create(database_url=database_url, backup_dir=folder)
    assert _scraped(admin_knowledge, folder) == archive.manifest.created_at.timestamp()
    (folder / "svp-backup-29991231-235959.tar").write_bytes(b"not an archive")
    assert _scraped(admin_knowledge, folder) == archive.manifest.created_at.timestamp()
