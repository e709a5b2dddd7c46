#!/bin/sh
# Gateway Engine release package installer (gateway-engine/install.sh).
#
# Runs, in order: 1. init setup (systemd unit gwe-supervisor.service, or SysV script
# /etc/init.d/gwe-supervisor when systemd is absent) and the default configuration (only files
# that are absent: re-running keeps the existing configuration); 2. pre_install_commands.sh if
# present; 3. every tarball of apps_to_install/ through `gwe -I` (the OTA install pipeline);
# 4. the engine itself (gwe, gwe-run, and gwe-engine/gwe-supervisord/gdc/gwe-hub when shipped; a
# previous engine is kept as gwe.prev (and gwe-engine.prev) and restored by gwe-run if the new one
# fails); 5. post_install_commands.sh if
# present; 6. "Installation Summary and Self Test", logged with everything else to
# gwe_install_<DATE_TIME>.log.
#
# Every path can be overridden through the environment (defaults in brackets):
#   DESTDIR [] (staging root prefixed to every written file; nothing is run then),
#   PREFIX [/usr/local], BINDIR [$PREFIX/bin], GWE_CONFIG_DIR [/etc/gwe],
#   GWE_STATE_DIR [/var/lib/gwe], GWE_LOG_DIR [/var/log/gwe],
#   SUPERVISOR_CONF [$GWE_CONFIG_DIR/supervisord.conf],
#   SUPERVISOR_INCLUDE_DIR [$GWE_CONFIG_DIR/conf.d], SUPERVISOR_SOCKET [/tmp/supervisord.sock],
#   INIT_SYSTEM [auto|systemd|sysv|none], SYSTEMD_UNIT_DIR [/etc/systemd/system],
#   INITD_DIR [/etc/init.d], ENABLE_SERVICE [auto|0|1] (enable and start the service; auto: when
#   root, no DESTDIR and the init system is present), GWE_SERVER_URL [] (server_url of a new
#   Engine.config), GWE_OTA_HEALTH_WINDOW [] (ota_health_window of a new Engine.config, seconds),
#   GWE_IFACE [eth0], GWE_INSTALL_LOG_DIR [this directory].
set -u
here=$(cd "$(dirname "$0")" && pwd)
VERSION=$(cat "$here/VERSION")
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
GWE_CONFIG_DIR=${GWE_CONFIG_DIR:-/etc/gwe}
GWE_STATE_DIR=${GWE_STATE_DIR:-/var/lib/gwe}
GWE_LOG_DIR=${GWE_LOG_DIR:-/var/log/gwe}
SUPERVISOR_CONF=${SUPERVISOR_CONF:-$GWE_CONFIG_DIR/supervisord.conf}
SUPERVISOR_INCLUDE_DIR=${SUPERVISOR_INCLUDE_DIR:-$GWE_CONFIG_DIR/conf.d}
SUPERVISOR_SOCKET=${SUPERVISOR_SOCKET:-/tmp/supervisord.sock}
SUPERVISOR_URL="unix://$SUPERVISOR_SOCKET"
INIT_SYSTEM=${INIT_SYSTEM:-auto}
SYSTEMD_UNIT_DIR=${SYSTEMD_UNIT_DIR:-/etc/systemd/system}
INITD_DIR=${INITD_DIR:-/etc/init.d}
ENABLE_SERVICE=${ENABLE_SERVICE:-auto}
GWE_SERVER_URL=${GWE_SERVER_URL:-}
GWE_IFACE=${GWE_IFACE:-eth0}
GWE_OTA_HEALTH_WINDOW=${GWE_OTA_HEALTH_WINDOW:-}
GWE_INSTALL_LOG_DIR=${GWE_INSTALL_LOG_DIR:-$here}
LOG="$GWE_INSTALL_LOG_DIR/gwe_install_$(date +%Y%m%d_%H%M%S).log"
PKG_GWE="$here/bin/gwe"

mkdir -p "$GWE_INSTALL_LOG_DIR" || exit 1
: > "$LOG" || exit 1
SUMMARY=""
FAILED=0
say() { echo "$*"; echo "$*" >> "$LOG"; }
run() { # run CMD...: its output goes to the terminal and the log; returns its status
    out=$("$@" 2>&1); rc=$?
    [ -n "$out" ] && say "$out"
    return $rc
}
result() { # result PASS|FAIL|WARN|SKIP TEXT
    SUMMARY="$SUMMARY[$1] $2
"
    [ "$1" = FAIL ] && FAILED=$((FAILED + 1))
    return 0
}
# dest PATH: where PATH is written (under DESTDIR).
dest() { echo "$DESTDIR$1"; }
write_if_absent() { # write_if_absent PATH TEXT
    if [ -e "$(dest "$1")" ]; then
        say "  kept existing $1"
    else
        mkdir -p "$(dirname "$(dest "$1")")" && printf '%s' "$2" > "$(dest "$1")" && say "  wrote $1"
    fi
}

say "Gateway Engine $VERSION installer, $(date)"
say "log: $LOG"

if [ "$INIT_SYSTEM" = auto ]; then
    if [ -d /run/systemd/system ]; then INIT_SYSTEM=systemd; else INIT_SYSTEM=sysv; fi
fi
if [ "$ENABLE_SERVICE" = auto ]; then
    ENABLE_SERVICE=0
    if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ]; then
        case "$INIT_SYSTEM" in
        systemd) [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && ENABLE_SERVICE=1 ;;
        sysv) [ "$INITD_DIR" = /etc/init.d ] && ENABLE_SERVICE=1 ;;
        esac
    fi
fi

# ---- 1. init setup and default configuration ----
say "== 1. init setup ($INIT_SYSTEM) and configuration"
case "$INIT_SYSTEM" in
systemd)
    UNIT="$SYSTEMD_UNIT_DIR/gwe-supervisor.service"
    mkdir -p "$(dest "$SYSTEMD_UNIT_DIR")" && cat > "$(dest "$UNIT")" <<UNIT_EOF
[Unit]
Description=Gateway Engine supervisor (runs the engine and the gateway's apps)
After=network.target

[Service]
ExecStart=$BINDIR/gwe supervisord -n -c $SUPERVISOR_CONF
ExecReload=$BINDIR/gwe ctl -c $SUPERVISOR_CONF -s $SUPERVISOR_URL reload
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT_EOF
    [ $? = 0 ] && say "  wrote $UNIT" && result PASS "init: systemd unit $UNIT" || result FAIL "init: cannot write $UNIT"
    ;;
sysv)
    INITD="$INITD_DIR/gwe-supervisor"
    mkdir -p "$(dest "$INITD_DIR")" && cat > "$(dest "$INITD")" <<INITD_EOF
#!/bin/sh
### BEGIN INIT INFO
# Provides:          gwe-supervisor
# Required-Start:    \$network \$remote_fs
# Required-Stop:     \$network \$remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Gateway Engine supervisor
### END INIT INFO
GWE=$BINDIR/gwe
CONF=$SUPERVISOR_CONF
URL=$SUPERVISOR_URL
case "\$1" in
start) "\$GWE" ctl -c "\$CONF" -s "\$URL" pid >/dev/null 2>&1 || nohup "\$GWE" supervisord -n -c "\$CONF" >/dev/null 2>&1 & ;;
stop) "\$GWE" ctl -c "\$CONF" -s "\$URL" shutdown ;;
restart) "\$0" stop; sleep 2; "\$0" start ;;
reload) "\$GWE" ctl -c "\$CONF" -s "\$URL" reload ;;
status) "\$GWE" ctl -c "\$CONF" -s "\$URL" status ;;
*) echo "usage: \$0 start|stop|restart|reload|status"; exit 2 ;;
esac
INITD_EOF
    if [ $? = 0 ]; then chmod 755 "$(dest "$INITD")"; say "  wrote $INITD"; result PASS "init: SysV script $INITD"; else result FAIL "init: cannot write $INITD"; fi
    ;;
none) result SKIP "init: INIT_SYSTEM=none" ;;
*) result FAIL "init: unknown INIT_SYSTEM=$INIT_SYSTEM" ;;
esac
for d in "$GWE_CONFIG_DIR" "$GWE_STATE_DIR" "$GWE_LOG_DIR" "$SUPERVISOR_INCLUDE_DIR" "$BINDIR"; do
    mkdir -p "$(dest "$d")"
done
server_line=""
[ -n "$GWE_SERVER_URL" ] && server_line="server_url = $GWE_SERVER_URL
"
[ -n "$GWE_OTA_HEALTH_WINDOW" ] && server_line="${server_line}ota_health_window = $GWE_OTA_HEALTH_WINDOW
"
write_if_absent "$GWE_CONFIG_DIR/Engine.config" "[engine]
${server_line}supervisor_url = $SUPERVISOR_URL
state_dir = $GWE_STATE_DIR
supervisor_include_dir = $SUPERVISOR_INCLUDE_DIR
app_log_dir = $GWE_LOG_DIR
audit_db = $GWE_STATE_DIR/ifaces.db
"
write_if_absent "$GWE_CONFIG_DIR/Gateway.cfg" "[device]
cik = ''
model = ''
vendor = ''
uuid = ''
iface = $GWE_IFACE
"
write_if_absent "$SUPERVISOR_CONF" "[unix_http_server]
file = $SUPERVISOR_SOCKET

[supervisord]
logfile = $GWE_LOG_DIR/supervisord.log
pidfile = $GWE_STATE_DIR/supervisord.pid
childlogdir = $GWE_LOG_DIR

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = $SUPERVISOR_URL

[program:gwe]
command = $BINDIR/gwe-run
environment = GWE_CONFIG_DIR=\"$GWE_CONFIG_DIR\",GWE_BIN=\"$BINDIR/gwe\",GWE_BINDIR=\"$BINDIR\",GWE_SUPERVISOR_URL=\"$SUPERVISOR_URL\"
priority = 1
autorestart = true
startretries = 10
redirect_stderr = true
stdout_logfile = $GWE_LOG_DIR/gwe.log
stdout_logfile_maxbytes = 1MB
stdout_logfile_backups = 2

[include]
files = $SUPERVISOR_INCLUDE_DIR/*.conf
"
result PASS "configuration in $GWE_CONFIG_DIR (existing files kept)"

# ---- 2. pre_install_commands.sh ----
run_hook() { # run_hook NAME
    if [ -f "$here/$1" ]; then
        say "== $1"
        if run sh "$here/$1"; then result PASS "$1"; else result FAIL "$1 exited with $rc"; fi
    else
        result SKIP "$1 (none)"
    fi
}
run_hook pre_install_commands.sh

# ---- 3. apps_to_install/ ----
say "== 3. apps_to_install"
set -- "$here"/apps_to_install/*.tar.gz
if [ ! -e "$1" ]; then
    result SKIP "apps_to_install (none)"
elif [ -n "$DESTDIR" ]; then
    result WARN "apps_to_install not installed: staged install (DESTDIR); run gwe -I on the gateway"
else
    # The pipeline updates the supervisor: start one for the install when none answers.
    temp_sv=""
    if ! "$PKG_GWE" ctl -c "$SUPERVISOR_CONF" -s "$SUPERVISOR_URL" pid >/dev/null 2>&1; then
        nohup "$PKG_GWE" supervisord -n -c "$SUPERVISOR_CONF" >> "$LOG" 2>&1 &
        temp_sv=$!
        i=0
        until "$PKG_GWE" ctl -c "$SUPERVISOR_CONF" -s "$SUPERVISOR_URL" pid >/dev/null 2>&1; do
            i=$((i + 1)); [ $i -gt 200 ] && break; sleep 0.1 2>/dev/null || sleep 1
        done
        say "  started a supervisor for the install (pid $temp_sv)"
    fi
    if run env GWE_CONFIG_DIR="$GWE_CONFIG_DIR" "$PKG_GWE" -I "$@"; then
        result PASS "apps_to_install: $# installed"
    else
        result FAIL "apps_to_install: gwe -I failed (see above)"
    fi
    if [ -n "$temp_sv" ]; then
        "$PKG_GWE" ctl -c "$SUPERVISOR_CONF" -s "$SUPERVISOR_URL" shutdown >/dev/null 2>&1 || kill "$temp_sv" 2>/dev/null
        wait "$temp_sv" 2>/dev/null
        say "  stopped the install's supervisor"
    fi
fi

# ---- 4. the engine ----
say "== 4. engine $VERSION into $BINDIR"
B=$(dest "$BINDIR")
engine_ok=1
if [ -e "$B/gwe" ] && ! cmp -s "$B/gwe" "$here/bin/gwe"; then
    rm -f "$B/gwe.prev.tmp"
    { ln "$B/gwe" "$B/gwe.prev.tmp" 2>/dev/null || cp -p "$B/gwe" "$B/gwe.prev.tmp"; } &&
        mv -f "$B/gwe.prev.tmp" "$B/gwe.prev" && rm -f "$B/gwe.failures" &&
        say "  previous engine kept as $BINDIR/gwe.prev (restored by gwe-run if the new one fails)"
    rm -f "$B/gwe-engine.prev"
    if [ -e "$B/gwe-engine" ]; then
        { ln "$B/gwe-engine" "$B/gwe-engine.prev.tmp" 2>/dev/null || cp -p "$B/gwe-engine" "$B/gwe-engine.prev.tmp"; } &&
            mv -f "$B/gwe-engine.prev.tmp" "$B/gwe-engine.prev"
    fi
fi
# A gwe-engine of another build is never run (gwe checks), but it is not left lying around.
[ -f "$here/bin/gwe-engine" ] || rm -f "$B/gwe-engine"
for f in gwe-engine gwe gwe-run gwe-supervisord gdc gwe-hub; do
    [ -f "$here/bin/$f" ] || continue
    if cp "$here/bin/$f" "$B/$f.new" && chmod 755 "$B/$f.new" && mv -f "$B/$f.new" "$B/$f"; then
        say "  installed $BINDIR/$f"
    else
        engine_ok=0
    fi
done
if [ $engine_ok = 1 ]; then result PASS "engine installed in $BINDIR"; else result FAIL "engine: cannot install into $BINDIR"; fi

# ---- 5. post_install_commands.sh ----
run_hook post_install_commands.sh

if [ "$ENABLE_SERVICE" = 1 ]; then
    say "== starting the supervisor"
    if [ "$INIT_SYSTEM" = systemd ]; then
        run systemctl daemon-reload && run systemctl enable gwe-supervisor.service &&
            run systemctl restart gwe-supervisor.service
    else
        command -v update-rc.d >/dev/null 2>&1 && run update-rc.d gwe-supervisor defaults
        run "$INITD_DIR/gwe-supervisor" restart
    fi
    if [ $? = 0 ]; then result PASS "service started"; else result FAIL "service did not start"; fi
fi

# ---- 6. summary and self test ----
if [ -z "$DESTDIR" ]; then
    v=$("$BINDIR/gwe" --version 2>&1)
    if [ "$v" = "$VERSION" ]; then result PASS "self test: $BINDIR/gwe --version = $v"; else result FAIL "self test: $BINDIR/gwe --version said '$v', expected $VERSION"; fi
    if GWE_CONFIG_DIR="$GWE_CONFIG_DIR" "$BINDIR/gwe" --engine-conf >/dev/null 2>&1; then result PASS "self test: Engine.config readable"; else result FAIL "self test: gwe --engine-conf failed"; fi
    if GWE_CONFIG_DIR="$GWE_CONFIG_DIR" "$BINDIR/gwe" --gateway-cfg >/dev/null 2>&1; then result PASS "self test: Gateway.cfg readable"; else result FAIL "self test: gwe --gateway-cfg failed"; fi
    if "$BINDIR/gwe-run" --version >/dev/null 2>&1; then result PASS "self test: gwe-run starts the engine"; else result FAIL "self test: gwe-run --version failed"; fi
fi
say ""
say "Installation Summary and Self Test"
say "=================================="
say "Gateway Engine $VERSION, $(date)"
printf '%s' "$SUMMARY" | while IFS= read -r line; do say "$line"; done
if [ $FAILED = 0 ]; then say "RESULT: OK"; else say "RESULT: $FAILED step(s) FAILED"; fi
say "log: $LOG"
[ $FAILED = 0 ]
