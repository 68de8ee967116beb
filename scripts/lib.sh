# Shared by scripts/demo and scripts/test: what dovewarden needs on Debian 12.
# shellcheck shell=bash

# What building dovewarden and running scripts/demo need.
DW_BUILD_PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	dovecot-core dovecot-imapd dovecot-lmtpd dovecot-pop3d dovecot-dev
	libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libexpected-dev
	libcli11-dev nlohmann-json3-dev libcpp-httplib-dev prometheus-cpp-dev
	libboost-dev libboost-test-dev libsqlite3-dev libhiredis-dev libpq-dev libcurl4-openssl-dev libssl-dev
	libjemalloc-dev
	python3 procps
)

# What scripts/test needs besides.
DW_PACKAGES=(
	"${DW_BUILD_PACKAGES[@]}"
	debhelper
	redis-server redis-sentinel postgresql
	python3-zmq python3-msgpack curl jq
	clang-format bear
	# scripts/tidy: clang-tidy 22, from bookworm-security; it takes less
	# than half the CPU time of Debian 12's own clang-tidy 14
	clang-tidy-22
	# promtool, for the alert rules in contrib/prometheus and their tests
	prometheus
	# make check renders the man pages (scripts/check-reference)
	groff-base man-db
	# the libFuzzer harnesses (fuzz/): clang and its runtimes, libFuzzer among them
	clang libclang-rt-14-dev
	# a headless browser for the status page's test (tests/integration/test_status_page.py)
	chromium chromium-driver python3-selenium
	# the packages' checks: lintian, and dovewardend under its unit's
	# restrictions (scripts/hardened-daemon)
	lintian bubblewrap strace systemd
)

# What scripts/dovecot-2.4 needs to build Debian 13's Dovecot from source.
DW_DOVECOT24_BUILD_PACKAGES=(
	build-essential autoconf automake libtool pkg-config gettext bison flex
	libssl-dev zlib1g-dev libsqlite3-dev curl xz-utils patch
)

# What scripts/debian13-packages needs on the host to make a Debian 13 root.
DW_DEBIAN13_HOST_PACKAGES=(debootstrap python3)

# Install what is missing (DW_PACKAGES, or the packages named);
# apt-get update at most once per run.
dw_install_packages() {
	local missing=()
	local pkg
	[ $# -gt 0 ] || set -- "${DW_PACKAGES[@]}"
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Configure and build in the source tree, with configure's options given.
# A tree configured before keeps its options; it is configured again only
# to add a given option it lacks.
dw_build() {
	local -a configured
	local option
	if [ ! -x configure ]; then
		autoreconf -fi
	fi
	if [ ! -f Makefile ]; then
		./configure --with-dovecot=/usr/lib/dovecot --prefix=/usr \
			--sysconfdir=/etc --localstatedir=/var "$@"
	else
		# config.status quotes them for the shell
		eval "configured=($(./config.status --config))"
		for option in "$@"; do
			if ! printf '%s\n' "${configured[@]}" | grep -qxF -- "$option"; then
				./configure "${configured[@]}" "$@"
				break
			fi
		done
	fi
	make -j"$(nproc)"
}

# dw_build with its output in the file $1 and one line of progress on the
# terminal instead: a first build prints hundreds of lines, and a failure
# shows the end of the file.
dw_build_with_progress() {
	local log=$1 total built=0 line rc=0
	shift
	total=$(find shared plugin daemon cli -name '*.c' -o -name '*.cpp' | wc -l)
	echo "building dovewarden (the plugin, dovewardend and dovewarden); its output goes to $log"
	set +e
	set -o pipefail
	(set -e; dw_build "$@") 2>&1 | tee "$log" | while IFS= read -r line; do
		case "$line" in
		"  CC "* | "  CXX "*)
			built=$((built + 1))
			if [ -t 1 ]; then
				printf '\r  compiled %d of about %d files' "$built" "$total"
			elif [ $((built % 50)) -eq 0 ]; then
				printf '  compiled %d of about %d files\n' "$built" "$total"
			fi
			;;
		esac
	done
	rc=$?
	set -e
	[ -t 1 ] && printf '\n'
	if [ "$rc" -ne 0 ]; then
		tail -n 30 "$log" >&2
		echo "the build failed; its whole output is in $log" >&2
		return "$rc"
	fi
	echo "built"
}

# A copy of the tree as git knows it in $1, for a build configured otherwise
# than this one (a tree configured in place cannot also be built VPATH).
dw_copy_tree() {
	mkdir -p "$1"
	git ls-files -z | xargs -0 cp --parents -t "$1"
}

# Dovecot 2.4 (scripts/dovecot-2.4: from its cache, or built now) and the
# plugin built from this tree in $1 and installed into its prefix: Dovecot's
# config process reads settings modules only from its own module dir. The
# daemon needs no build of its own. Further arguments go to configure.
# Prints the prefix.
dw_dovecot24_with_plugin() {
	local src=$1 prefix
	shift
	prefix=$(scripts/dovecot-2.4 | tail -n1)
	[ -x "$prefix/sbin/dovecot" ]
	dw_copy_tree "$src"
	(
		cd "$src"
		autoreconf -fi
		./configure --with-dovecot="$prefix/lib/dovecot" --prefix="$prefix" "$@"
		make -j"$(nproc)" -C shared
		make -j"$(nproc)" -C plugin
		make -C plugin install
	) >&2
	echo "$prefix"
}
