#!/bin/sh
# embed.sh FILE: writes, to stdout, the C++ source that holds the status page
# (daemon/admin/status-page/status.html), for admin/StatusPage.cpp: the page
# is built into dovewardend, so it needs no files at run time.
set -e
file=$1
if grep -q ')dwpage"' "$file"; then
	echo "embed.sh: $file holds the delimiter )dwpage\"" >&2
	exit 1
fi
echo '// generated from daemon/admin/status-page/ by embed.sh: do not edit'
echo '#include "admin/StatusPage.hpp"'
echo
echo 'namespace dovewarden::admin::embedded {'
echo
printf 'const std::string_view k_status_page = R"dwpage('
cat "$file"
printf ')dwpage";\n'
echo
echo '} // namespace dovewarden::admin::embedded'
