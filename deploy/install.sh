#!/usr/bin/env bash
# deploy/install.sh — installs AgentLive next to your nginx and PostgreSQL.
# Run as root from a checkout; `deploy/install.sh --help` lists the options.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/.." && pwd -P)

PREFIX=/usr/local
SYSCONFDIR=/etc
RUNDIR=/run
SYSTEMD_DIR=/etc/systemd/system
BIN_DIR=""
SERVICE_USER=agentlive
WEB_GROUP=www-data
ONLY=""

usage() {
    cat <<EOF
Usage: deploy/install.sh [options]

Installs, as root:
  PREFIX/bin/agentlive-{api,relay,daemon}     built with swift build -c release
  PREFIX/share/agentlive/sql                  what \`agentlive-api migrate\` applies
  PREFIX/share/agentlive/web                  the page (only what it serves)
  SYSTEMD_DIR/agentlive-*.service, .socket    the units, paths rendered
  SYSCONFDIR/nginx/agentlive-*.conf           the snippets you include, paths rendered
  SYSCONFDIR/agentlive/env                    from env.example, only if absent (0640)
  the system user "$SERVICE_USER"             that the services and migrate run as
Running it again upgrades the files in place (it keeps SYSCONFDIR/agentlive/env);
then follow README's "Upgrading".

Options (defaults in brackets):
  --prefix DIR        [$PREFIX]
  --sysconfdir DIR    [$SYSCONFDIR]
  --rundir DIR        [$RUNDIR]  the API socket is RUNDIR/agentlive/api.sock
  --systemd-dir DIR   [$SYSTEMD_DIR]
  --bin-dir DIR       take the binaries from DIR instead of building them
  --user NAME         [$SERVICE_USER]  system user and PostgreSQL role
  --web-group NAME    [$WEB_GROUP]  nginx's group: the only other one that may open the API socket
  --only PART         one of: bin sql web units nginx env user
EOF
}

while (($#)); do
    case $1 in
        --prefix) PREFIX=$2; shift 2 ;;
        --sysconfdir) SYSCONFDIR=$2; shift 2 ;;
        --rundir) RUNDIR=$2; shift 2 ;;
        --systemd-dir) SYSTEMD_DIR=$2; shift 2 ;;
        --bin-dir) BIN_DIR=$2; shift 2 ;;
        --user) SERVICE_USER=$2; shift 2 ;;
        --web-group) WEB_GROUP=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }
wanted() { [[ -z $ONLY || $ONLY == "$1" ]]; }

SHARE=$PREFIX/share/agentlive

# The repo's deploy files name the default paths; an install elsewhere rewrites them.
render() { # source → destination, mode
    local esc_prefix esc_etc esc_run
    esc_prefix=$(printf '%s' "$PREFIX" | sed 's/[\\|&]/\\&/g')
    esc_etc=$(printf '%s' "$SYSCONFDIR" | sed 's/[\\|&]/\\&/g')
    esc_run=$(printf '%s' "$RUNDIR" | sed 's/[\\|&]/\\&/g')
    sed -e "s|/usr/local/|$esc_prefix/|g" -e "s|/etc/agentlive/|$esc_etc/agentlive/|g" \
        -e "s|/etc/nginx/agentlive-|$esc_etc/nginx/agentlive-|g" -e "s|/run/agentlive/|$esc_run/agentlive/|g" \
        -e "s|^User=agentlive$|User=$SERVICE_USER|" -e "s|^Group=agentlive$|Group=$SERVICE_USER|" \
        -e "s|^SocketGroup=www-data$|SocketGroup=$WEB_GROUP|" "$1" >"$2.new"
    chmod "$3" "$2.new"
    mv -f "$2.new" "$2"
}

install_bin() {
    local from=$BIN_DIR
    if [[ -z $from ]]; then
        command -v swift >/dev/null || PATH=/opt/swift/usr/bin:$PATH
        say "building (swift build -c release)"
        (cd "$REPO" && swift build -c release --product agentlive-api && swift build -c release --product agentlive-relay &&
            swift build -c release --product agentlive-daemon) >&2
        from=$REPO/.build/release
    fi
    mkdir -p "$PREFIX/bin"
    local name
    for name in agentlive-api agentlive-relay agentlive-daemon; do
        [[ -x $from/$name ]] || die "no $from/$name"
        install -m 0755 "$from/$name" "$PREFIX/bin/$name.new"
        mv -f "$PREFIX/bin/$name.new" "$PREFIX/bin/$name" # a running process keeps the old file
    done
    say "binaries in $PREFIX/bin"
}

# A folder replaced whole, so that files removed from the release go too.
replace_dir() { # source-populating function, destination
    local dest=$2 tmp
    mkdir -p "$(dirname "$dest")"
    tmp=$(mktemp -d "$dest.new.XXXXXX")
    "$1" "$tmp"
    chmod -R a+rX,go-w "$tmp"
    chmod 0755 "$tmp"
    rm -rf "$dest.old"
    [[ -e $dest ]] && mv "$dest" "$dest.old"
    mv "$tmp" "$dest"
    rm -rf "$dest.old"
}

# shellcheck disable=SC2317 # called through replace_dir
copy_sql() {
    mkdir -p "$1/migrations" "$1/definitions"
    cp "$REPO"/sql/migrations/*.sql "$1/migrations/"
    cp "$REPO"/sql/definitions/*.sql "$1/definitions/"
}

# shellcheck disable=SC2317 # called through replace_dir
copy_web() { "$REPO/deploy/copy-web.sh" "$1"; }

install_units() {
    mkdir -p "$SYSTEMD_DIR"
    local unit
    for unit in "$REPO"/deploy/systemd/*.service "$REPO"/deploy/systemd/*.socket; do
        render "$unit" "$SYSTEMD_DIR/$(basename "$unit")" 0644
    done
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system && $SYSTEMD_DIR == /etc/systemd/system ]]; then
        systemctl daemon-reload
    fi
    say "units in $SYSTEMD_DIR"
}

install_nginx() {
    mkdir -p "$SYSCONFDIR/nginx"
    local f
    for f in agentlive-upstreams.conf agentlive-locations.conf; do
        render "$REPO/deploy/nginx/$f" "$SYSCONFDIR/nginx/$f" 0644
    done
    say "nginx snippets in $SYSCONFDIR/nginx (include them: README, Deploying)"
}

install_env() {
    mkdir -p "$SYSCONFDIR/agentlive"
    if [[ -e $SYSCONFDIR/agentlive/env ]]; then
        say "kept $SYSCONFDIR/agentlive/env"
        return
    fi
    render "$REPO/deploy/systemd/env.example" "$SYSCONFDIR/agentlive/env" 0640
    chgrp "$SERVICE_USER" "$SYSCONFDIR/agentlive/env" 2>/dev/null || true
    say "wrote $SYSCONFDIR/agentlive/env"
}

install_user() {
    if ! id "$SERVICE_USER" >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin --comment "AgentLive" "$SERVICE_USER"
        say "created system user $SERVICE_USER"
    fi
}

[[ $EUID -eq 0 ]] || die "run as root (it installs system files and may create a user)"
wanted user && install_user
wanted bin && install_bin
wanted sql && { replace_dir copy_sql "$SHARE/sql"; say "SQL in $SHARE/sql"; }
wanted web && { replace_dir copy_web "$SHARE/web"; say "page in $SHARE/web"; }
wanted units && install_units
wanted nginx && install_nginx
wanted env && install_env
exit 0
