#!/usr/bin/env bash
# Install everything and run the service on the embedded defaults (data under ./var).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/svp serve --demo "$@"
