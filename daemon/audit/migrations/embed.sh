#!/bin/sh
# embed.sh SRCDIR FILE...: writes, to stdout, the C++ source that holds the
# SQL migration files given (audit/migrations/DIALECT/NNNN_NAME.sql, under
# SRCDIR), for audit/Migrations.cpp: the schema is built into dovewardend,
# so it needs no files at run time.
set -e
srcdir=$1
shift
echo '// generated from daemon/audit/migrations/ by embed.sh: do not edit'
echo '#include "audit/Migrations.hpp"'
echo
echo 'namespace dovewarden::audit::embedded {'
echo
echo 'const std::vector<MigrationFile> k_migration_files{'
for relative in "$@"; do
	file=$srcdir/$relative
	if grep -q ')dwsql"' "$file"; then
		echo "embed.sh: $file holds the delimiter )dwsql\"" >&2
		exit 1
	fi
	dialect=$(basename "$(dirname "$file")")
	name=$(basename "$file")
	printf '    {"%s", "%s", R"dwsql(' "$dialect" "$name"
	cat "$file"
	printf ')dwsql"},\n'
done
echo '};'
echo
echo '} // namespace dovewarden::audit::embedded'
