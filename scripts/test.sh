#!/usr/bin/env bash
# Install everything (test extras, Debian's Chromium) and run the whole test suite:
# lint, types, then pytest on SQLite and on the local PostgreSQL.
#   scripts/test.sh            the whole suite (what CI runs)
#   scripts/test.sh --quick    ruff, mypy and the tests not marked `slow`, on SQLite only
# Any other argument goes to pytest (e.g. a test file, -k, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
if [ "${1:-}" = "--quick" ]; then
    quick=true
    shift
fi
scripts/install.sh test

# The deployment tests (tests/deploy, quick lane included) check the shipped units, nginx
# site and alert rules with the real tools; the IMAP reader's tests (tests/mail) read a real
# Dovecot that tests/imap_server.py starts.
deploy_packages=()
command -v nginx >/dev/null 2>&1 || deploy_packages+=(nginx-light)
command -v systemd-analyze >/dev/null 2>&1 || deploy_packages+=(systemd)
command -v promtool >/dev/null 2>&1 || deploy_packages+=(prometheus)
command -v openssl >/dev/null 2>&1 || deploy_packages+=(openssl)
[ -x /usr/lib/dovecot/imap ] || deploy_packages+=(dovecot-imapd)
# The regulatory watch's tests read LEGI archives through libarchive (libarchive-c).
ldconfig -p 2>/dev/null | grep 'libarchive\.so\.13' >/dev/null || deploy_packages+=(libarchive13)
if [ ${#deploy_packages[@]} -gt 0 ]; then
    echo "Installation de ${deploy_packages[*]} (paquets Debian) pour les tests du déploiement et du courriel"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${deploy_packages[@]}" >/dev/null; }; then
        echo "Erreur : impossible d'installer ${deploy_packages[*]} (apt-get)." >&2
        exit 1
    fi
fi

if ! $quick && ! command -v chromium >/dev/null 2>&1; then
    echo "Installation de Chromium (paquet Debian) pour le test navigateur"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
            >/dev/null; }; then
        echo "Erreur : impossible d'installer chromium (apt-get)." >&2
        exit 1
    fi
fi

# axe-core checks the help centre's accessibility in the browser test (npm registry).
AXE_DIR=.cache/axe-core
if ! $quick && [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
    echo "Installation d'axe-core (npm) pour le test d'accessibilité"
    if ! npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" axe-core@4.10.2 \
            >/dev/null; then
        echo "Erreur : impossible d'installer axe-core (npm)." >&2
        exit 1
    fi
fi
export SVP_AXE_JS="${SVP_AXE_JS:-$PWD/$AXE_DIR/node_modules/axe-core/axe.min.js}"

if $quick; then
    # SQLite only: no PostgreSQL, no browser, no child processes on stand-in servers.
    unset SVP_TEST_DATABASE_URL
    markers=(-m "not slow")
else
    export SVP_TEST_DATABASE_URL="${SVP_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
    scripts/ensure-postgres.sh "$SVP_TEST_DATABASE_URL"
    markers=()
fi

.venv/bin/ruff check .
.venv/bin/mypy
# Whole suite: three workers on two cores, since a test often waits (child processes,
# PostgreSQL) and a third fills the gaps (9 min 4 s with 2, 7 min 26 s with 3, 9 min 6 s
# with 4). Quick lane: pure CPU work, so two (1 min 58 s, against 2 min 22 s with 3).
if $quick; then default_workers=2; else default_workers=3; fi
workers="${SVP_TEST_WORKERS:-$default_workers}"
exec .venv/bin/pytest -p no:cacheprovider -n "$workers" "${markers[@]}" "$@"
