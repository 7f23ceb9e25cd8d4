#!/bin/bash
# Installation as GNU packages do it: `make install DESTDIR=D PREFIX=/usr`
# puts the daemon (mode 755) in D/usr/bin, libpipesfs (libpipesfs.a 644,
# libpipesfs.so.0.1 755 and its links libpipesfs.so.0 and libpipesfs.so)
# and pkgconfig/pipesfs.pc (644) in D/usr/lib, pipesfs.h and
# pipesfs_record.h (644) in D/usr/include, and the manual pages (644) in
# D/usr/share/man/man1 and man3, and nothing else (PREFIX defaults to
# /usr/local; LIBDIR and INCLUDEDIR move theirs, pipesfs.pc saying so).
# The installed daemon runs; the shared library's soname is
# libpipesfs.so.0 and it exports exactly the functions of pipesfs.h;
# examples/zerocopy-count.c and libpipesfs(3)'s example build against the
# staged installation with what its pipesfs.pc says (pkg-config, with
# PKG_CONFIG_SYSROOT_DIR), linked to the shared and to the static library,
# and run (usage: status 2; a directory outside pipesfs: status 1,
# "Not a directory", from the library).  Both pages render without a
# warning (man --warnings, groff -ww); pipesfs(1) documents every option,
# source type and filter `pipesfs --help` lists, and no other.  `make
# uninstall` with the same variables leaves no file behind.  The daemon and
# the libraries the tests run are installed as they are (INSTALL_PIPESFS,
# INSTALL_LIBPIPESFS: those next to the daemon, or in LIBPFS_DIR): this
# test builds nothing in the repository, so it never races a build, nor
# makes one with other flags.
. "$(dirname "$0")/lib.sh"
need_tool make install cmp
[ -x "$PIPESFS" ] || die "no pipesfs binary at $PIPESFS (build it first)"

D=$T/d
PAGE=man/pipesfs.1
PAGE3=man/libpipesfs.3
BIN=$PIPESFS
if [ "$(basename "$BIN")" != pipesfs ]; then	# install keeps the name
	mkdir -p "$T/bin" && cp "$BIN" "$T/bin/pipesfs" && BIN=$T/bin/pipesfs
fi
# The libraries of the daemon's build.
LIBPFS_DIR=$(cd "${LIBPFS_DIR:-$(dirname "$PIPESFS")}" && pwd) || die "no directory $LIBPFS_DIR"
VERSION=0.1
LIBA=$LIBPFS_DIR/libpipesfs.a
LIBSO=$LIBPFS_DIR/libpipesfs.so.$VERSION
for f in "$LIBA" "$LIBSO"; do
	[ -f "$f" ] || die "no $f (build it first, or name its directory in LIBPFS_DIR)"
done

# mk_to DESTDIR TARGET [VAR=VALUE...]: make in the repository, quiet,
# without what a calling make passes down (SAN=1, -j and its jobserver);
# output in $T/make.out.  mk: into $D.
mk_to() {
	local dest=$1
	shift
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make -s -C "$REPO" "$@" DESTDIR="$dest" INSTALL_PIPESFS="$BIN" \
		INSTALL_LIBPIPESFS="$LIBA $LIBSO" >"$T/make.out" 2>&1
}
mk() { mk_to "$D" "$@"; }
files_in() { [ -d "$1" ] && (cd "$1" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort); }
files_in_d() { files_in "$D"; }

# ---- the default PREFIX -------------------------------------------------------
mk -n install || die "make -n install failed: $(cat "$T/make.out")"
for dir in bin lib include lib/pkgconfig share/man/man3; do
	grep -q "$D/usr/local/$dir/" "$T/make.out" ||
		bad "make install does not default to PREFIX=/usr/local ($dir): $(cat "$T/make.out")"
done

# ---- install --------------------------------------------------------------------
mtime=$(stat -c %Y "$BIN" "$LIBA" "$LIBSO" | xargs)
mk install PREFIX=/usr || die "make install failed: $(cat "$T/make.out")"
L=$D/usr/lib
check_eq "installed files" "usr/bin/pipesfs usr/include/pipesfs.h usr/include/pipesfs_record.h \
usr/lib/libpipesfs.a usr/lib/libpipesfs.so usr/lib/libpipesfs.so.0 usr/lib/libpipesfs.so.$VERSION \
usr/lib/pkgconfig/pipesfs.pc usr/share/man/man1/pipesfs.1 usr/share/man/man3/libpipesfs.3" \
	"$(files_in_d | xargs)"
for f in bin/pipesfs:755 lib/libpipesfs.so.$VERSION:755 lib/libpipesfs.a:644 \
	include/pipesfs.h:644 include/pipesfs_record.h:644 lib/pkgconfig/pipesfs.pc:644 \
	share/man/man1/pipesfs.1:644 share/man/man3/libpipesfs.3:644; do
	check_eq "mode of ${f%:*}" "${f#*:}" "$(stat -c %a "$D/usr/${f%:*}" 2>&1)"
done
check_eq "lib/libpipesfs.so.0" "symbolic link to libpipesfs.so.$VERSION" \
	"$(stat -c %F "$L/libpipesfs.so.0" 2>&1) to $(readlink "$L/libpipesfs.so.0")"
check_eq "lib/libpipesfs.so" "symbolic link to libpipesfs.so.0" \
	"$(stat -c %F "$L/libpipesfs.so" 2>&1) to $(readlink "$L/libpipesfs.so")"
for f in "$BIN":bin/pipesfs "$LIBA":lib/libpipesfs.a "$LIBSO":lib/libpipesfs.so.$VERSION \
	"$REPO/include/pipesfs.h":include/pipesfs.h \
	"$REPO/include/pipesfs_record.h":include/pipesfs_record.h \
	"$REPO/$PAGE":share/man/man1/pipesfs.1 "$REPO/$PAGE3":share/man/man3/libpipesfs.3; do
	cmp -s "${f%:*}" "$D/usr/${f#*:}" || bad "the installed ${f#*:} is not ${f%:*}"
done
check_eq "mtimes of $BIN $LIBA $LIBSO after make install (nothing built)" "$mtime" \
	"$(stat -c %Y "$BIN" "$LIBA" "$LIBSO" | xargs)"

# shellcheck disable=SC2016
check_eq "pipesfs.pc's directories" 'prefix=/usr libdir=${prefix}/lib includedir=${prefix}/include' \
	"$(grep -E '^(prefix|libdir|includedir)=' "$L/pkgconfig/pipesfs.pc" | xargs)"

# ---- the installed daemon ------------------------------------------------------------
IBIN=$D/usr/bin/pipesfs
IPAGE=$D/usr/share/man/man1/pipesfs.1
rc=0
"$IBIN" --help >"$T/help" 2>"$T/help.err" || rc=$?
check_eq "exit status of the installed pipesfs --help" 0 "$rc"
check_eq "first line of --help" "usage: pipesfs [options] MOUNTPOINT" "$(head -n 1 "$T/help")"
[ -s "$T/help.err" ] && bad "pipesfs --help wrote on stderr: $(head -3 "$T/help.err")"
# The page's title line names the version --version prints.
check_eq "version in the page's .TH" "$("$IBIN" --version)" \
	"$(awk '/^\.TH / { n = split($0, f, "\""); print f[2]; exit }' "$IPAGE")"

# ---- the page documents what --help lists, and nothing else ------------------------
# tags SECTION: the page's .TP tags in SECTION (its subsections included),
# as plain text: macro name, font and spacing escapes and quotes gone.
tags() {
	awk -v want="$1" '
		/^\.SH / { sec = $0; sub(/^\.SH +/, "", sec); gsub(/"/, "", sec); next }
		sec == want && /^\.TP/ { tag = 1; next }
		tag { print; tag = 0 }' "$IPAGE" |
		sed -E 's/^\.[A-Z]+ //; s/\\f[BIRP]//g; s/\\[%&|]//g; s/\\-/-/g; s/"//g'
}
tags OPTIONS >"$T/tags.options"
tags FILTERS >"$T/tags.filters"

# Long options: every --word of --help, each a tag of OPTIONS; short
# options: those that start a line of --help (and -V, after -h's).
grep -oE -- '--[a-z][a-z-]+' "$T/help" | LC_ALL=C sort -u >"$T/help.long"
grep -oE -- '(^  |;  )-[a-zA-Z]' "$T/help" | grep -oE -- '-[a-zA-Z]' | LC_ALL=C sort -u >"$T/help.short"
grep -oE -- '--[a-z][a-z-]+' "$T/tags.options" | LC_ALL=C sort -u >"$T/page.long"
grep -oE -- '(^|[ ,])-[a-zA-Z]([ ,]|$)' "$T/tags.options" | grep -oE -- '-[a-zA-Z]' |
	LC_ALL=C sort -u >"$T/page.short"
[ "$(wc -l <"$T/help.long")" -ge 9 ] || bad "too few long options in --help: $(xargs <"$T/help.long")"
check_eq "long options: --help against the page's OPTIONS" "$(xargs <"$T/help.long")" "$(xargs <"$T/page.long")"
check_eq "short options: --help against the page's OPTIONS" "$(xargs <"$T/help.short")" "$(xargs <"$T/page.short")"

# Source types: each usage --help prints (pcap:FILE[,name=DIR]...) is a tag.
sed -n '/^  -s, --source/,/^  -g/p' "$T/help" | awk '$1 ~ /^[a-z]+:/ { print $1 }' >"$T/help.sources"
[ -s "$T/help.sources" ] || bad "no source types in --help"
while read -r usage; do
	grep -qxF -- "$usage" "$T/tags.options" || bad "the page's OPTIONS has no tag $usage (--help's source type)"
done <"$T/help.sources"

# Filters: the names --help lists (as t_readme reads them), against the
# names of the page's FILTERS tags (ip, ip6, arp, vlan; port=N, port=N-M; ...).
sed -n '/pass-through node:$/,/^`fusermount3/p' "$T/help" | awk '/^  [^ ]/ { print $1 }' |
	sed 's/=.*//' | LC_ALL=C sort -u >"$T/help.filters"
sed 's/, */\n/g' "$T/tags.filters" | sed -E 's/[= ].*//' | grep . | LC_ALL=C sort -u >"$T/page.filters"
[ "$(wc -l <"$T/help.filters")" -ge 17 ] || bad "too few filters in --help: $(xargs <"$T/help.filters")"
check_eq "filters: --help against the page's FILTERS" "$(xargs <"$T/help.filters")" "$(xargs <"$T/page.filters")"

# ---- the library, as a program built against the staged installation uses it -------
# In a subshell, so that without a compiler or pkg-config only these checks
# are skipped.
client() {
	need_tool cc pkg-config readelf nm
	# pkg-config as a cross build would run it: D is the system's root.
	pc() {
		PKG_CONFIG_SYSROOT_DIR=$D PKG_CONFIG_LIBDIR=$L/pkgconfig \
			PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
			pkg-config "$@" pipesfs
	}
	check_eq "pkg-config --modversion pipesfs" "$VERSION" "$(pc --modversion 2>&1)"
	check_eq "pkg-config --cflags --libs pipesfs" "-I$D/usr/include -L$L -lpipesfs" \
		"$(pc --cflags --libs 2>&1 | xargs)"
	check_eq "pkg-config --static --libs pipesfs" "-L$L -lpipesfs -pthread" \
		"$(pc --static --libs 2>&1 | xargs)"

	check_eq "soname of libpipesfs.so.$VERSION" "[libpipesfs.so.0]" \
		"$(readelf -d "$L/libpipesfs.so.$VERSION" | awk '/\(SONAME\)/ { print $NF }')"
	# Exported: exactly the functions pipesfs.h declares.
	grep -oE '\bpipesfs_[a-z_]+\(' "$D/usr/include/pipesfs.h" | tr -d '(' |
		LC_ALL=C sort -u >"$T/api"
	nm -D --defined-only "$L/libpipesfs.so.$VERSION" | awk '$2 != "A" { print $3 }' |
		sed 's/@.*//' | LC_ALL=C sort -u >"$T/exported"
	[ "$(wc -l <"$T/api")" -ge 8 ] || bad "too few functions in pipesfs.h: $(xargs <"$T/api")"
	check_eq "symbols libpipesfs.so exports" "$(xargs <"$T/api")" "$(xargs <"$T/exported")"

	# A library built with sanitizers needs them in the program too.
	# (grep reads all the input, never failing its writer with pipefail.)
	local san=()
	nm "$LIBA" 2>/dev/null | grep ' U __asan_' >/dev/null && san=("-fsanitize=address,undefined")
	# libpipesfs(3)'s example, as the page shows it.
	sed -n '/^\.SH EXAMPLES/,/^\.SH/p' "$D/usr/share/man/man3/libpipesfs.3" |
		awk '/^\.EE/ { exit } go { print } /^\.EX/ { go = 1 }' |
		sed -e 's/\\e/\\/g; s/\\-/-/g; s/\\(aq/'"'"'/g' >"$T/count.c"
	grep -q pipesfs_open "$T/count.c" || bad "no example program in libpipesfs(3)"

	# prog NAME SOURCE SHARED|STATIC: built, linked as said, runs.
	prog() {
		local exe=$T/$1 src=$2 how=$3 rc=0 libs
		if [ "$how" = shared ]; then
			libs=$(pc --libs)
		else	# only libpipesfs static, as libpipesfs(3) says
			libs="-Wl,-Bstatic $(pc --static --libs) -Wl,-Bdynamic"
		fi
		# shellcheck disable=SC2046,SC2086
		cc -std=c11 -Wall -Wextra -Werror "${san[@]}" -o "$exe" "$src" $(pc --cflags) $libs \
			>"$T/cc.out" 2>&1 || { bad "$1: cc $src ($how) failed: $(head -20 "$T/cc.out")"; return; }
		readelf -d "$exe" | grep 'NEEDED.*\[libpipesfs\.so\.0\]' >/dev/null && rc=1
		check_eq "$1 needs libpipesfs.so.0" "$([ "$how" = shared ] && echo yes || echo no)" \
			"$([ "$rc" = 1 ] && echo yes || echo no)"
		rc=0
		LD_LIBRARY_PATH=$L "$exe" >"$T/out" 2>"$T/err" || rc=$?
		check_eq "$1 without arguments: exit status" 2 "$rc"
		grep -q '^usage: ' "$T/err" || bad "$1 printed no usage: $(cat "$T/err")"
		# A directory in no pipesfs mount: the library's pipesfs_open says so.
		rc=0
		LD_LIBRARY_PATH=$L "$exe" "$T" >"$T/out" 2>"$T/err" || rc=$?
		check_eq "$1 $T: exit status" 1 "$rc"
		grep -q "$T: Not a directory" "$T/err" || bad "$1 $T: $(cat "$T/err")"
		if [ "$how" = shared ]; then	# the staged library is the one it ran
			LD_LIBRARY_PATH=$L ldd "$exe" 2>&1 | grep "libpipesfs.so.0 => $L/libpipesfs.so.0 " >/dev/null ||
				bad "$1 does not load $L/libpipesfs.so.0: $(LD_LIBRARY_PATH=$L ldd "$exe" 2>&1)"
		fi
	}
	prog zerocopy-count "$REPO/examples/zerocopy-count.c" shared
	prog zerocopy-count.static "$REPO/examples/zerocopy-count.c" static
	prog count "$T/count.c" shared
	prog count.static "$T/count.c" static
	exit "$PFS_FAILED"
}
rc=0
(client) || rc=$?
case $rc in
0) ;;
77) say "no compiler, pkg-config or binutils: programs are not built against the library" ;;
*) PFS_FAILED=1 ;;
esac

# ---- the pages render without a warning ------------------------------------------------
# In a subshell, so that without man only this check is skipped.
render() {
	need_tool man groff
	local rc=0 st page title
	for page in "$IPAGE":'PIPESFS(1)' "$D/usr/share/man/man3/libpipesfs.3":'LIBPIPESFS(3)'; do
		title=${page##*:} page=${page%:*} st=0
		LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$page" \
			>"$T/page.txt" 2>"$T/man.err" || st=$?
		[ "$st" -eq 0 ] || { echo "FAIL: man -l $page: status $st" >&2; rc=1; }
		[ -s "$T/man.err" ] && { echo "FAIL: man --warnings $page:" >&2; sed 's/^/    /' "$T/man.err" >&2; rc=1; }
		grep -qF "$title" <(head -n 1 "$T/page.txt") || { echo "FAIL: man rendered no $title page" >&2; rc=1; }
		groff -man -ww -z "$page" 2>"$T/groff.err" || rc=1
		[ -s "$T/groff.err" ] && { echo "FAIL: groff -man -ww $page:" >&2; sed 's/^/    /' "$T/groff.err" >&2; rc=1; }
	done
	exit "$rc"
}
rc=0
(render) || rc=$?
case $rc in
0) ;;
77) say "man is not installed: the pages' rendering is not checked" ;;
*) PFS_FAILED=1 ;;
esac

# ---- uninstall ------------------------------------------------------------------------------
mk uninstall PREFIX=/usr || bad "make uninstall failed: $(cat "$T/make.out")"
check_eq "files left after make uninstall" "" "$(files_in_d | xargs)"

# ---- LIBDIR and INCLUDEDIR elsewhere ----------------------------------------------------
# pipesfs.pc goes with the libraries and names both directories (under
# ${prefix} when they are).
D2=$T/d2
vars=(PREFIX=/opt/pfs LIBDIR=/opt/pfs/lib64 INCLUDEDIR=/usr/include/pfs)
mk_to "$D2" install "${vars[@]}" || die "make install ${vars[*]} failed: $(cat "$T/make.out")"
check_eq "files installed with ${vars[*]}" "opt/pfs/bin/pipesfs opt/pfs/lib64/libpipesfs.a \
opt/pfs/lib64/libpipesfs.so opt/pfs/lib64/libpipesfs.so.0 opt/pfs/lib64/libpipesfs.so.$VERSION \
opt/pfs/lib64/pkgconfig/pipesfs.pc opt/pfs/share/man/man1/pipesfs.1 \
opt/pfs/share/man/man3/libpipesfs.3 usr/include/pfs/pipesfs.h usr/include/pfs/pipesfs_record.h" \
	"$(files_in "$D2" | xargs)"
# shellcheck disable=SC2016
check_eq "pipesfs.pc's directories" 'prefix=/opt/pfs libdir=${prefix}/lib64 includedir=/usr/include/pfs' \
	"$(grep -E '^(prefix|libdir|includedir)=' "$D2/opt/pfs/lib64/pkgconfig/pipesfs.pc" | xargs)"
mk_to "$D2" uninstall "${vars[@]}" || bad "make uninstall ${vars[*]} failed: $(cat "$T/make.out")"
check_eq "files left after make uninstall ${vars[*]}" "" "$(files_in "$D2" | xargs)"

exit "$PFS_FAILED"
