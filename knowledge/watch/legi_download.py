"""Fetch the LEGI archives DILA publishes that a folder lacks, with legi.py's downloader."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from knowledge.errors import InvalidInput

logger = logging.getLogger(__name__)


def download(*, url: str, directory: Path) -> list[Path]:
    """Download the archives listed at `url` that `directory` lacks; return the new files."""
    if not url.startswith(("https://", "http://")):
        raise InvalidInput(f"Adresse des archives LEGI invalide : {url}")
    directory.mkdir(parents=True, exist_ok=True)
    before = {path.name for path in directory.iterdir()}
    from legi import download as legi_download

    chatter = io.StringIO()
    saved = legi_download.DILA_HTTP_URL, legi_download.DILA_LEGI_DIR
    # legi builds the index address from two module constants: point them at the setting.
    legi_download.DILA_HTTP_URL, legi_download.DILA_LEGI_DIR = url.rstrip("/"), ""
    try:
        with contextlib.redirect_stderr(chatter):
            legi_download.download_legi_via_http(str(directory))
    except Exception as error:  # requests' and legi's errors alike: one line for the operator
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise InvalidInput(f"Téléchargement des archives LEGI impossible ({url}) : "
                           f"{reason}") from error
    finally:
        legi_download.DILA_HTTP_URL, legi_download.DILA_LEGI_DIR = saved
    logger.info("legi.py download: %s", chatter.getvalue()[-1000:])
    return sorted(path for path in directory.iterdir()
                  if path.name not in before and not path.name.endswith(".part"))
