#!/usr/bin/env bash
# Install the project into a project-local virtualenv (.venv).
#   scripts/install.sh          runtime only
#   scripts/install.sh test     runtime, the sentence-transformers backend and test tools
# Re-running is cheap: nothing is reinstalled while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Erreur : Python 3.11 ou plus récent est nécessaire ($python)." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "Création de l'environnement virtuel .venv"
    "$python" -m venv .venv
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp=".venv/.svp-installed-${extras:-base}"
digest="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
    exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is pinned to the CPU build (torch==2.13.0): an unpinned one is a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet -e "$spec"
# Legilibre's LEGI reader, without its hunspell dependency (a C extension built against
# libhunspell, used only by its spelling checks, which the regulatory watch does not run).
.venv/bin/python -m pip install --quiet --no-deps "legi==0.6"
echo "$digest" > "$stamp"
echo "Installation terminée (${extras:-service})."
