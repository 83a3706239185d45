#!/usr/bin/env bash
# ember-reconcile from cron and systemd: make install puts the cron line and
# the service + timer under DESTDIR, and systemd-analyze verify accepts them.
. "$(dirname "$0")/../lib.sh"
command -v make >/dev/null || skip_all "make not found"
command -v systemd-analyze >/dev/null || skip_all "systemd-analyze not found"

R=$T_TMP/root P=$T_TMP/prefix
ok "make install with DESTDIR and PREFIX" make -s -C "$T_TOP" install BUILD="$(dirname "$EMBER")" DESTDIR="$R" PREFIX="$P"
U=$R$P/lib/systemd/system
ok "the service is installed" test -f "$U/ember-reconcile.service"
ok "the timer is installed" test -f "$U/ember-reconcile.timer"
ok "the cron line is installed" test -f "$R/etc/cron.d/ember-reconcile"
ok "the applet is installed" test -x "$R$P/bin/ember-reconcile"
like "the cron line: every 5 minutes, as root, quiet, from PREFIX" "$(cat "$R/etc/cron.d/ember-reconcile")" "*PATH=$P/bin:*
\*/5 \* \* \* \* root ember-reconcile -q"
like "the service runs the installed applet, quiet" "$(cat "$U/ember-reconcile.service")" "*ExecStart=$P/bin/ember-reconcile -q*"
like "with the state directory from an EnvironmentFile" "$(cat "$U/ember-reconcile.service")" "*EnvironmentFile=-/etc/default/ember*"
like "the timer: at boot and every 5 minutes" "$(cat "$U/ember-reconcile.timer")" "*OnBootSec=*OnUnitActiveSec=5min*WantedBy=timers.target*"
# verify looks for ExecStart's binary where it will be: PREFIX, not DESTDIR
ln -s "$R$P" "$P"
check "systemd-analyze verify: the service and the timer" 0 "" systemd-analyze verify "$U/ember-reconcile.service" "$U/ember-reconcile.timer"
is "with nothing to say" "$T_ERR" ""
sed 's|^ExecStart=.*|ExecStart=ember-reconcile -q|' "$U/ember-reconcile.service" >"$T_TMP/ember-reconcile.service"
check "verify refuses a broken unit (the check can fail)" 1 "" systemd-analyze verify "$T_TMP/ember-reconcile.service"
ok "make uninstall removes them" make -s -C "$T_TOP" uninstall DESTDIR="$R" PREFIX="$P"
ok "none left" test ! -e "$U/ember-reconcile.service" -a ! -e "$U/ember-reconcile.timer" -a ! -e "$R/etc/cron.d/ember-reconcile"

echo "1..$T_N"
[ "$T_FAILED" = 0 ]
