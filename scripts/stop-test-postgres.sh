#!/usr/bin/env bash
# Stops every PostgreSQL cluster under a test folder, then removes the
# folder: scripts/test.sh runs it when it exits, however it exits, so that
# clusters that tests started (server/postgres/pgtest.StartCluster) and
# could not stop themselves (a go test timeout, Ctrl-C) are not left
# running.
#
#   scripts/stop-test-postgres.sh DIR
set -uo pipefail
root=${1:?usage: stop-test-postgres.sh DIR}
case "$root" in
/ | "" | /tmp | /tmp/) echo "stop-test-postgres.sh: refusing to remove $root" >&2; exit 2 ;;
esac
[ -d "$root" ] || exit 0

bin=${PULSE_TEST_PG_BIN:-}
if [ -z "$bin" ]; then
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		[ -x "$d/pg_ctl" ] && { bin=$d; break; }
	done
fi
pg_ctl=${bin:+$bin/}pg_ctl

# A data folder is one with a postmaster.pid: its server runs, or crashed.
while IFS= read -r pid_file; do
	data=$(dirname "$pid_file")
	as=()
	if [ "$(id -u)" -eq 0 ]; then
		# pg_ctl refuses to run as root: run it as the cluster's owner.
		as=(runuser -u "$(stat -c %U "$data")" --)
	fi
	(cd "$data" && "${as[@]}" "$pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1) ||
		echo "stop-test-postgres.sh: could not stop the cluster in $data (already down?)" >&2
done < <(find "$root" -name postmaster.pid -type f 2>/dev/null)
rm -rf "$root"
