#!/usr/bin/env bash
# Install everything and run the service on the embedded defaults (data under ./var).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
# The key sealing secrets at rest (var/secret.key, mode 0600), drawn once unless SVP_SECRET_KEY
# is set: back it up with the database (docs/security.md).
.venv/bin/svp secrets init
exec .venv/bin/svp serve --demo "$@"
