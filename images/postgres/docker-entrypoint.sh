#!/usr/bin/env bash
# Entry point of the locally built postgres:15 image. It implements the interface documented for the
# official image ("How to extend this image" / "Environment Variables" of the Docker Official Image):
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default postgres),
#   POSTGRES_DB (default $POSTGRES_USER), POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR,
#   POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), PGDATA, the *_FILE variants of the secrets,
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz run once on an empty data directory,
#   started as root it fixes the data directory's ownership and re-executes itself as `postgres`.
# Written for this project; not a copy of the official script.
set -Eeuo pipefail

# VAR_FILE=/run/secrets/x  ->  VAR=<content of the file>
file_env() {
	local var=$1 def=${2:-} fvar="${1}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!fvar:-}" ]; then
		echo >&2 "error: both $var and $fvar are set (but are exclusive)"
		exit 1
	fi
	local val=$def
	if [ -n "${!var:-}" ]; then
		val=${!var}
	elif [ -n "${!fvar:-}" ]; then
		val=$(<"${!fvar}")
	fi
	export "$var"="$val"
	unset "$fvar"
}

prepare_dirs() {
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql
	chmod 03775 /var/run/postgresql || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		chmod 700 "$POSTGRES_INITDB_WALDIR" || :
	fi
	if [ "$(id -u)" = 0 ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
		if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		fi
	fi
}

check_env() {
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
		cat >&2 <<-'EOM'
			Error: Database is uninitialized and superuser password is not specified.
			       Specify a non-empty POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or set
			       POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password.
		EOM
		exit 1
	fi
}

init_db() {
	local pwfile
	pwfile=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	local args=(--username="$POSTGRES_USER" --pwfile="$pwfile")
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		args+=(--waldir "$POSTGRES_INITDB_WALDIR")
	fi
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list by contract
	initdb "${args[@]}" ${POSTGRES_INITDB_ARGS:-} || { rm -f "$pwfile"; exit 1; }
	rm -f "$pwfile"
	# listen on every address, like the official image's postgresql.conf.sample
	sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$PGDATA/postgresql.conf"
	grep -q "^listen_addresses = '\*'" "$PGDATA/postgresql.conf" || echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
	local method=${POSTGRES_HOST_AUTH_METHOD:-}
	if [ -z "$method" ]; then
		method=$(postgres -C password_encryption -D "$PGDATA" 2>/dev/null || echo scram-sha-256)
	fi
	printf '\nhost all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"
}

psql_as() { PGPASSWORD="${POSTGRES_PASSWORD:-}" psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" "$@"; }

run_init_files() {
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		case "$f" in
			*.sh)
				# shellcheck disable=SC1090  # the init scripts are the user's
				if [ -x "$f" ]; then echo "$0: running $f"; "$f"; else echo "$0: sourcing $f"; . "$f"; fi ;;
			*.sql) echo "$0: running $f"; psql_as --dbname "$POSTGRES_DB" -f "$f" ;;
			*.sql.gz) echo "$0: running $f"; gunzip -c "$f" | psql_as --dbname "$POSTGRES_DB" ;;
			*.sql.xz) echo "$0: running $f"; xzcat "$f" | psql_as --dbname "$POSTGRES_DB" ;;
			*) echo "$0: ignoring $f" ;;
		esac
	done
}

first_start() {
	# a server on the Unix socket only, while the database is set up
	PGUSER=$POSTGRES_USER PGPASSWORD="${POSTGRES_PASSWORD:-}" \
		pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
	if [ "$POSTGRES_DB" != postgres ]; then
		local exists
		exists=$(psql_as --dbname postgres -tA -v db="$POSTGRES_DB" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
		if [ -z "$exists" ]; then
			psql_as --dbname postgres -v db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
		fi
	fi
	run_init_files
	PGUSER=$POSTGRES_USER pg_ctl -D "$PGDATA" -m fast -w stop
	echo
	echo 'PostgreSQL init process complete; ready for start up.'
	echo
}

main() {
	# `docker run postgres -c x=y` means `postgres -c x=y`
	if [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi
	if [ "$1" = postgres ] && [ "${2:-}" != --help ] && [ "${2:-}" != --version ]; then
		file_env POSTGRES_PASSWORD
		file_env POSTGRES_USER postgres
		file_env POSTGRES_DB "$POSTGRES_USER"
		file_env POSTGRES_INITDB_ARGS
		prepare_dirs
		if [ "$(id -u)" = 0 ]; then
			exec gosu postgres "${BASH_SOURCE[0]}" "$@"
		fi
		if [ ! -s "$PGDATA/PG_VERSION" ]; then
			check_env
			init_db
			first_start
		else
			echo
			echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
			echo
		fi
	fi
	exec "$@"
}

main "$@"
