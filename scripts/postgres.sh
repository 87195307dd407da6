#!/usr/bin/env bash
# Start a local PostgreSQL for the office's PostgreSQL tests and print its SQLAlchemy URL.
# Installs the server when missing (as root or with sudo). Loopback/socket only.
set -euo pipefail
bash "$(dirname "$0")/sysdeps.sh" postgresql >&2
ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -z "$ver" ]; then
  echo "postgres.sh: no PostgreSQL cluster found after install" >&2; exit 1
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; AS_PG="runuser -u postgres --"; else SUDO="sudo"; AS_PG="sudo -u postgres"; fi
$SUDO pg_ctlcluster "$ver" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q >&2 -h /var/run/postgresql && break
  sleep 0.5
done
me=$(id -un)
$AS_PG psql -q -h /var/run/postgresql -tc "select 1 from pg_roles where rolname='$me'" | grep -q 1 \
  || $AS_PG createuser -h /var/run/postgresql -s "$me"
psql -q -h /var/run/postgresql -d postgres -tc "select 1 from pg_database where datname='gatepass_test'" | grep -q 1 \
  || createdb -h /var/run/postgresql gatepass_test
echo "postgresql+psycopg:///gatepass_test?host=/var/run/postgresql"
