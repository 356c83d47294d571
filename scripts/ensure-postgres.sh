#!/usr/bin/env bash
# Make sure the PostgreSQL server of the given URL answers; start the local cluster if not.
set -euo pipefail
url="$1"
check() { "$(dirname "$0")/../.venv/bin/python" - "$url" <<'PY'
import sys
import psycopg
from sqlalchemy.engine import make_url
u = make_url(sys.argv[1])
try:
    psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                    password=u.password, dbname="postgres", connect_timeout=3).close()
except Exception as error:
    print(f"{error}".strip().splitlines()[0] if str(error).strip() else repr(error))
    sys.exit(1)
PY
}
if check >/dev/null; then
    exit 0
fi
echo "PostgreSQL ne répond pas : démarrage du cluster local"
if ls /etc/postgresql >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
for _ in $(seq 1 30); do
    if check >/dev/null; then exit 0; fi
    sleep 1
done
echo "Erreur : PostgreSQL injoignable ($url) : $(check || true)" >&2
exit 1
