#!/usr/bin/env bash
# Install, or upgrade in place, the SVP assistant on a Debian 12 or 13 server, as root, from
# the checkout this script belongs to (docs/exploitation.md, « Installation sur un serveur »).
#   sudo scripts/install-server.sh --server-name svp.example.org    the first time
#   sudo scripts/install-server.sh                                  later: upgrade in place
# Re-running keeps every value of /etc/svp/svp.env (secrets included) and adds missing keys.
#
# The defaults are the real paths. For tests only, these variables move or skip parts:
#   SVP_PREFIX (/opt/svp: venv in PREFIX/venv), SVP_ETC_DIR (/etc/svp), SVP_STATE_DIR
#   (/var/lib/svp), SVP_UNIT_DIR (/etc/systemd/system), SVP_NGINX_DIR (/etc/nginx),
#   SVP_BIN_DIR (/usr/local/sbin), SVP_LETSENCRYPT_DIR (/etc/letsencrypt/live),
#   SVP_USER (svp), SVP_DB_NAME (svp), SVP_DB_USER (svp), SVP_SKIP_APT=1, SVP_SKIP_USER=1
#   (the user SVP_USER must exist), SVP_SKIP_SYSTEMD=1 (never call systemctl).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${SVP_PREFIX:-/opt/svp}"
venv="$prefix/venv"
etc_dir="${SVP_ETC_DIR:-/etc/svp}"
env_file="$etc_dir/svp.env"
state_dir="${SVP_STATE_DIR:-/var/lib/svp}"
unit_dir="${SVP_UNIT_DIR:-/etc/systemd/system}"
nginx_dir="${SVP_NGINX_DIR:-/etc/nginx}"
bin_dir="${SVP_BIN_DIR:-/usr/local/sbin}"
letsencrypt_dir="${SVP_LETSENCRYPT_DIR:-/etc/letsencrypt/live}"
svc_user="${SVP_USER:-svp}"
db_name="${SVP_DB_NAME:-svp}"
db_user="${SVP_DB_USER:-svp}"
upstream="127.0.0.1:8000"
units=(svp-web.service svp-bot.service svp-mail.service svp-backup.service svp-backup.timer
       svp-retention.service svp-retention.timer svp-veille.service svp-veille.timer)

say() { printf '%s\n' "$*"; }
fail() { printf 'Erreur : %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<'EOF'
Utilisation : sudo scripts/install-server.sh [--server-name NOM]
  --server-name NOM   nom DNS du serveur (obligatoire la première fois, puis mémorisé
                      dans /etc/svp/svp.env sous SVP_SERVER_NAME)
EOF
}

server_name=""
while [ $# -gt 0 ]; do
    case "$1" in
        --server-name) [ $# -ge 2 ] || fail "--server-name attend un nom."; server_name="$2"; shift 2 ;;
        --server-name=*) server_name="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; fail "option inconnue : $1" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || fail "lancez ce script en root (sudo scripts/install-server.sh)."
{ [ -f "$repo/pyproject.toml" ] && [ -d "$repo/deploy" ]; } \
    || fail "$repo n'est pas une copie du projet (pyproject.toml, deploy/ manquants)."

# --- the env file: KEY=value lines, read by systemd (as root) and by the `svp` wrapper ------

env_get() {  # value of KEY in the env file, empty if absent
    [ -f "$env_file" ] || return 0
    awk -v key="$1" 'index($0, key "=") == 1 { value = substr($0, length(key) + 2) }
                     END { if (value != "") print value }' "$env_file"
}

env_has() { [ -f "$env_file" ] && grep -q "^$1=" "$env_file"; }

env_set() {  # add KEY=value, or replace the value if KEY is there
    local tmp
    tmp="$(mktemp "$env_file.XXXXXX")"
    if env_has "$1"; then
        KEY="$1" VALUE="$2" awk 'index($0, ENVIRON["KEY"] "=") == 1 {
            print ENVIRON["KEY"] "=" ENVIRON["VALUE"]; next } { print }' "$env_file" > "$tmp"
    else
        cat "$env_file" > "$tmp"
        printf '%s=%s\n' "$1" "$2" >> "$tmp"
    fi
    chmod 0600 "$tmp"
    mv "$tmp" "$env_file"
}

env_default() {  # add KEY=value only if KEY is absent; say so
    if ! env_has "$1"; then
        env_set "$1" "$2"
        added_keys+=("$1")
    fi
}

random_token() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }

remembered_name="$(env_get SVP_SERVER_NAME)"
if [ -z "$server_name" ]; then
    server_name="$remembered_name"
    [ -n "$server_name" ] || { usage >&2; fail "--server-name est obligatoire la première fois."; }
fi
[[ "$server_name" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] \
    || fail "nom de serveur invalide : « $server_name » (un nom DNS, ex. svp.example.org)."

# --- 1. Debian packages ---------------------------------------------------------------------

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if [ "${SVP_SKIP_APT:-0}" = 1 ]; then
    say "Paquets Debian : étape sautée (SVP_SKIP_APT=1)."
else
    missing=()
    for package in python3-venv openssl ca-certificates; do
        installed "$package" || missing+=("$package")
    done
    # Any flavour of the servers will do (postgresql-15, nginx-light...).
    compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
    command -v nginx >/dev/null 2>&1 || missing+=(nginx)
    # The regulatory watch reads the LEGI archives through libarchive (libarchive-c).
    ldconfig -p 2>/dev/null | grep 'libarchive\.so\.13' >/dev/null || missing+=(libarchive13)
    if [ ${#missing[@]} -gt 0 ]; then
        say "Installation des paquets Debian : ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        say "Paquets Debian : déjà installés."
    fi
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || fail "Python 3.11 ou plus récent est nécessaire (Debian 12 ou 13)."

# --- 2. the service user and folders --------------------------------------------------------

if [ "${SVP_SKIP_USER:-0}" = 1 ]; then
    getent passwd "$svc_user" >/dev/null || fail "l'utilisateur $svc_user n'existe pas."
elif ! getent passwd "$svc_user" >/dev/null; then
    useradd --system --user-group --home-dir "$state_dir" --no-create-home \
        --shell /usr/sbin/nologin --comment "SVP assistant" "$svc_user"
    say "Utilisateur système créé : $svc_user."
fi
svc_group="$(id -gn "$svc_user")"
install -d -m 0750 -o "$svc_user" -g "$svc_group" "$state_dir"
install -d -m 0755 -o root -g root "$etc_dir" "$prefix"
[ -d "$bin_dir" ] || install -d -m 0755 "$bin_dir"
# Everything the web workers write lives under the data folder (the units allow nothing else).
install -d -m 0750 -o "$svc_user" -g "$svc_group" "$state_dir/index" "$state_dir/backups"

# --- 3. PostgreSQL: role and database, only when the env file has no database yet -----------

psql_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"; }

if [ -n "$(env_get SVP_DATABASE_URL)" ]; then
    say "PostgreSQL : SVP_DATABASE_URL déjà réglée, base inchangée."
else
    db_password="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
    role_exists="$(psql_admin -At -d postgres -v role="$db_user" \
        <<< "SELECT 1 FROM pg_roles WHERE rolname = :'role';")"
    if [ "$role_exists" = 1 ]; then
        # The env file is new but the role is not: its password is unknown, so replace it.
        psql_admin -d postgres -v role="$db_user" -v password="$db_password" \
            <<< "ALTER ROLE :\"role\" WITH LOGIN PASSWORD :'password';"
        say "PostgreSQL : rôle $db_user existant, nouveau mot de passe."
    else
        psql_admin -d postgres -v role="$db_user" -v password="$db_password" \
            <<< "CREATE ROLE :\"role\" WITH LOGIN PASSWORD :'password';"
        say "PostgreSQL : rôle $db_user créé."
    fi
    db_exists="$(psql_admin -At -d postgres -v db="$db_name" \
        <<< "SELECT 1 FROM pg_database WHERE datname = :'db';")"
    if [ "$db_exists" != 1 ]; then
        psql_admin -d postgres -v db="$db_name" -v role="$db_user" \
            <<< "CREATE DATABASE :\"db\" OWNER :\"role\" ENCODING 'UTF8' TEMPLATE template0;"
        say "PostgreSQL : base $db_name créée."
    fi
    new_database_url="postgresql+psycopg://$db_user:$db_password@127.0.0.1:5432/$db_name"
fi

# --- 4. the env file ------------------------------------------------------------------------

added_keys=()
if [ ! -f "$env_file" ]; then
    (umask 077; cat > "$env_file" <<EOF
# Réglages du SVP (docs/exploitation.md), lus par les services systemd.
# Fichier secret : root seul le lit (0600). Après une modification :
#   systemctl restart svp-web svp-bot
# Bot Telegram : décommentez et renseignez, puis redémarrez.
#SVP_TELEGRAM_TOKEN=
#SVP_TELEGRAM_WEBHOOK_URL=https://$server_name/telegram/webhook
EOF
    )
    say "Fichier de réglages créé : $env_file."
fi
chown root:root "$env_file"
chmod 0600 "$env_file"
if [ -n "$server_name" ] && [ -n "$remembered_name" ] && [ "$server_name" != "$remembered_name" ]; then
    # An explicit new name replaces the old one, and the address derived from it.
    env_set SVP_SERVER_NAME "$server_name"
    if [ "$(env_get SVP_ADMIN_BASE_URL)" = "https://$remembered_name" ]; then
        env_set SVP_ADMIN_BASE_URL "https://$server_name"
    fi
    say "Nom du serveur changé : $remembered_name → $server_name."
fi
env_default SVP_SERVER_NAME "$server_name"
env_default SVP_ADMIN_BASE_URL "https://$server_name"
env_default SVP_DATA_DIR "$state_dir"
[ -n "${new_database_url:-}" ] && env_set SVP_DATABASE_URL "$new_database_url"
# A data folder that already seals secrets with its key file keeps it (docs/security.md).
[ -f "$state_dir/secret.key" ] || env_default SVP_SECRET_KEY "$(random_token)"
env_default SVP_METRICS_TOKEN "$(random_token)"
env_default SVP_TELEGRAM_WEBHOOK_SECRET "$(random_token)"
env_default SVP_SECURE_COOKIES true
env_default SVP_TRUSTED_PROXIES 127.0.0.1
cores="$(nproc 2>/dev/null || echo 2)"
workers=$(( cores < 2 ? 2 : (cores > 4 ? 4 : cores) ))
env_default SVP_WEB_WORKERS "$workers"
if [ ${#added_keys[@]} -gt 0 ]; then
    say "Réglages ajoutés à $env_file : ${added_keys[*]}."
else
    say "Réglages : $env_file inchangé."
fi
server_name="$(env_get SVP_SERVER_NAME)"

# --- 5. the virtualenv and the project ------------------------------------------------------

if [ ! -x "$venv/bin/python" ]; then
    say "Création de l'environnement Python : $venv"
    (umask 022; python3 -m venv "$venv")
fi
# Built from a copy, so the checkout gets no build/ folder (and may belong to anyone).
source_copy="$(mktemp -d)"
trap 'rm -rf "$source_copy"' EXIT
# Hidden folders (.git, .venv, caches), data, tests and benchmarks are not part of it.
tar -C "$repo" --exclude='./.*' --exclude=./var --exclude=./build --exclude=./tests \
    --exclude=./bench --exclude='*.egg-info' --exclude=__pycache__ -cf - . \
    | tar -C "$source_copy" -xf -
say "Installation du projet dans $venv (pip)..."
(umask 022; "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --upgrade "$source_copy")
static_dir="$("$venv/bin/python" -I -c 'from admin.pages import STATIC_DIR; print(STATIC_DIR.resolve())')"

# --- 6. the operator's `svp` command: the service's user, settings and folder ---------------

wrapper="$bin_dir/svp"
svp_command="svp"  # /usr/local/sbin is on sudo's path
[ "$bin_dir" = /usr/local/sbin ] || svp_command="$wrapper"
cat > "$wrapper.tmp" <<EOF
#!/usr/bin/env bash
# The SVP command line as the services run it: user $svc_user, settings of $env_file,
# folder $state_dir. Installed by scripts/install-server.sh.
#   sudo svp user add camille --role admin      sudo svp privacy purge --dry-run
set -euo pipefail
if [ "\$(id -u)" -ne 0 ]; then
    echo "Erreur : lancez « sudo svp ... » (les réglages de $env_file sont réservés à root)." >&2
    exit 1
fi
settings=()
while IFS= read -r line || [ -n "\$line" ]; do
    case "\$line" in ''|'#'*) continue ;; esac
    value="\${line#*=}"
    case "\$value" in
        \"*\") value="\${value#\"}"; value="\${value%\"}" ;;
        \'*\') value="\${value#\'}"; value="\${value%\'}" ;;
    esac
    settings+=("\${line%%=*}=\$value")
done < "$env_file"
cd "$state_dir"
exec runuser -u "$svc_user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$state_dir" \\
    LANG=C.UTF-8 "\${settings[@]}" "$venv/bin/svp" "\$@"
EOF
chmod 0755 "$wrapper.tmp"
mv "$wrapper.tmp" "$wrapper"

# --- 7. the database schema -----------------------------------------------------------------

say "Base de données : création ou mise à jour du schéma (svp init)."
"$wrapper" init

# --- 8. systemd units -----------------------------------------------------------------------

install -d -m 0755 "$unit_dir"
for unit in "${units[@]}"; do
    # The shipped units name the real paths; only overridden ones (tests) are rewritten.
    sed -e "s#/opt/svp/venv#$venv#g" -e "s#/etc/svp/svp.env#$env_file#g" \
        -e "s#/var/lib/svp#$state_dir#g" -e "s#^User=svp\$#User=$svc_user#" \
        -e "s#^Group=svp\$#Group=$svc_group#" "$repo/deploy/systemd/$unit" > "$unit_dir/$unit.tmp"
    chmod 0644 "$unit_dir/$unit.tmp"
    mv "$unit_dir/$unit.tmp" "$unit_dir/$unit"
done
say "Services systemd installés dans $unit_dir : ${units[*]}."

systemd_running=false
if [ "${SVP_SKIP_SYSTEMD:-0}" != 1 ] && [ -d /run/systemd/system ]; then
    systemd_running=true
fi

# --- 9. nginx: TLS certificate and site -----------------------------------------------------

if [ -f "$letsencrypt_dir/$server_name/fullchain.pem" ]; then
    tls_cert="$letsencrypt_dir/$server_name/fullchain.pem"
    tls_key="$letsencrypt_dir/$server_name/privkey.pem"
    say "Certificat TLS : celui de Let's Encrypt ($tls_cert)."
else
    tls_cert="$etc_dir/tls/selfsigned.crt"
    tls_key="$etc_dir/tls/selfsigned.key"
    if [ ! -f "$tls_cert" ] || [ ! -f "$tls_key" ]; then
        install -d -m 0700 "$etc_dir/tls"
        (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$server_name" \
            -addext "subjectAltName=DNS:$server_name" -keyout "$tls_key" -out "$tls_cert" \
            2>/dev/null)
        say "Certificat TLS provisoire (auto-signé) créé : $tls_cert."
    fi
fi
install -d -m 0755 "$nginx_dir/sites-available" "$nginx_dir/sites-enabled"
site="$nginx_dir/sites-available/svp.conf"
sed -e "s#__SVP_SERVER_NAME__#$server_name#g" -e "s#__SVP_TLS_CERT__#$tls_cert#g" \
    -e "s#__SVP_TLS_KEY__#$tls_key#g" -e "s#__SVP_STATIC_DIR__#$static_dir#g" \
    -e "s#__SVP_UPSTREAM__#$upstream#g" "$repo/deploy/nginx/svp.conf" > "$site.tmp"
chmod 0644 "$site.tmp"
mv "$site.tmp" "$site"
ln -sfn "$site" "$nginx_dir/sites-enabled/svp.conf"
nginx -t -q -c "$nginx_dir/nginx.conf" \
    || fail "la configuration nginx est refusée (nginx -t ci-dessus) ; corrigez-la puis relancez."
say "Site nginx installé : $site (configuration vérifiée)."

# --- 10. start ------------------------------------------------------------------------------

if $systemd_running; then
    systemctl daemon-reload
    systemctl enable --quiet nginx svp-web.service svp-bot.service svp-mail.service \
        svp-backup.timer svp-retention.timer
    systemctl start --quiet nginx svp-backup.timer svp-retention.timer
    # A restart, not a start: an upgrade must run the new code.
    systemctl restart svp-web.service svp-bot.service svp-mail.service
    systemctl reload nginx
    say "Services démarrés : svp-web, svp-bot (si SVP_TELEGRAM_TOKEN est réglé), svp-mail (si" \
        "SVP_MAIL_SMTP_HOST est réglé), minuteries."
    # The regulatory watch downloads the whole LEGI dump on its first run: the IT person
    # turns it on (docs/veille.md).
    say "Veille réglementaire : installée, à activer avec « systemctl enable --now" \
        "svp-veille.timer » (docs/veille.md)."
else
    say "systemd ne tourne pas ici : services ni activés ni démarrés, nginx non rechargé."
fi

cat <<EOF

Installation terminée : https://$server_name (réglages : $env_file).
Il vous reste à faire :
  1. le certificat HTTPS (le certificat actuel est auto-signé, sauf Let's Encrypt déjà là) :
       apt-get install -y certbot python3-certbot-nginx
       certbot --nginx -d $server_name
  2. le premier compte administrateur de l'administration web :
       sudo $svp_command user add VOTRE_IDENTIFIANT --role admin --name "Prénom Nom"
Bot Telegram : renseignez SVP_TELEGRAM_TOKEN (et SVP_TELEGRAM_WEBHOOK_URL) dans $env_file,
puis « systemctl restart svp-web svp-bot ».
Courriels (liens de connexion et réponses du centre d'aide) : renseignez SVP_MAIL_SMTP_HOST,
SVP_MAIL_SMTP_PORT, SVP_MAIL_SMTP_SECURITY, SVP_MAIL_FROM (et l'identifiant) dans $env_file,
puis « systemctl restart svp-web svp-mail ».
EOF
