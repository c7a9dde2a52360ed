#!/usr/bin/env bash
# Start a local PostgreSQL for the tests (Debian's postgresql package) and write its URL.
#
# Installs the package if missing, starts the cluster, creates (once) the role and database
# "traza_test" with a random password, and writes
#   postgresql://traza_test:<password>@127.0.0.1:<port>/traza_test
# to a 0600 file (default ~/.cache/traza/postgres-test.url, or $1). The password is passed to
# psql on stdin only, never on a command line. Prints the file's path. Idempotent.
set -euo pipefail
url_file="${1:-${HOME}/.cache/traza/postgres-test.url}"
role=traza_test
db=traza_test

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
as_postgres() { as_root runuser -u postgres -- "$@"; }

if ! command -v pg_lsclusters >/dev/null || [[ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi

# The newest installed version's first cluster (Debian creates "main" at install).
read -r version cluster port status _ < <(pg_lsclusters --no-header | sort -k1,1V | tail -1) || true
if [[ -z "${version:-}" ]]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  as_root pg_createcluster "$version" main >/dev/null
  read -r version cluster port status _ < <(pg_lsclusters --no-header | sort -k1,1V | tail -1) || true
fi
if [[ "$status" != online* ]]; then
  as_root pg_ctlcluster "$version" "$cluster" start
fi
for _ in $(seq 1 50); do
  as_postgres pg_isready -q -p "$port" && break
  sleep 0.2
done
as_postgres pg_isready -q -p "$port" || { echo "PostgreSQL $version/$cluster did not start" >&2; exit 1; }

umask 077
mkdir -p "$(dirname "$url_file")"
if [[ -s "$url_file" ]] && grep -q "@127.0.0.1:${port}/${db}\$" "$url_file"; then
  password=$(sed -E 's|^[^:]+://[^:]+:([^@]+)@.*$|\1|' "$url_file")
else
  password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
fi

# SQL on stdin: the password never appears in a process listing.
as_postgres psql -q -v ON_ERROR_STOP=1 -p "$port" -d postgres >/dev/null <<SQL
SELECT format('CREATE ROLE %I LOGIN', '${role}')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') \gexec
ALTER ROLE ${role} WITH LOGIN PASSWORD '${password}';
SELECT format('CREATE DATABASE %I OWNER %I', '${db}', '${role}')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '${db}') \gexec
SQL

tmp="${url_file}.tmp.$$"
printf 'postgresql://%s:%s@127.0.0.1:%s/%s\n' "$role" "$password" "$port" "$db" >"$tmp"
chmod 600 "$tmp"
mv -f "$tmp" "$url_file"
echo "$url_file"
