#!/bin/bash
# Installation as GNU packages do it: `make install DESTDIR=D PREFIX=/usr`
# puts the daemon (mode 755) in D/usr/bin and its manual page (644) in
# D/usr/share/man/man1, and nothing else (PREFIX defaults to /usr/local);
# the installed daemon runs; the page renders without a warning
# (man --warnings, groff -ww) and documents every option, source type and
# filter `pipesfs --help` lists, and no other; `make uninstall` with the
# same variables leaves no file behind.  The daemon the tests run is
# installed as it is (INSTALL_PIPESFS): this test builds nothing, so it
# never races a build, nor makes one with other flags.
. "$(dirname "$0")/lib.sh"
need_tool make install cmp
[ -x "$PIPESFS" ] || die "no pipesfs binary at $PIPESFS (build it first)"

D=$T/d
PAGE=man/pipesfs.1
BIN=$PIPESFS
if [ "$(basename "$BIN")" != pipesfs ]; then	# install keeps the name
	mkdir -p "$T/bin" && cp "$BIN" "$T/bin/pipesfs" && BIN=$T/bin/pipesfs
fi

# mk TARGET [VAR=VALUE...]: make in the repository, quiet, without what a
# calling make passes down (SAN=1, -j and its jobserver); output in
# $T/make.out.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make -s -C "$REPO" "$@" DESTDIR="$D" INSTALL_PIPESFS="$BIN" >"$T/make.out" 2>&1
}
files_in_d() { [ -d "$D" ] && (cd "$D" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort); }

# ---- the default PREFIX -------------------------------------------------------
mk -n install || die "make -n install failed: $(cat "$T/make.out")"
grep -q "$D/usr/local/bin/" "$T/make.out" ||
	bad "make install does not default to PREFIX=/usr/local: $(cat "$T/make.out")"

# ---- install --------------------------------------------------------------------
mtime=$(stat -c %Y "$BIN")
mk install PREFIX=/usr || die "make install failed: $(cat "$T/make.out")"
check_eq "installed files" "usr/bin/pipesfs usr/share/man/man1/pipesfs.1" "$(files_in_d | xargs)"
check_eq "mode of bin/pipesfs" 755 "$(stat -c %a "$D/usr/bin/pipesfs" 2>&1)"
check_eq "mode of man1/pipesfs.1" 644 "$(stat -c %a "$D/usr/share/man/man1/pipesfs.1" 2>&1)"
cmp -s "$BIN" "$D/usr/bin/pipesfs" || bad "the installed daemon is not $BIN"
cmp -s "$REPO/$PAGE" "$D/usr/share/man/man1/pipesfs.1" || bad "the installed page is not $PAGE"
check_eq "mtime of $BIN after make install (nothing built)" "$mtime" "$(stat -c %Y "$BIN")"

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

# ---- the page renders without a warning ------------------------------------------------
# In a subshell, so that without man only this check is skipped.
render() {
	need_tool man groff
	local rc=0
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$IPAGE" \
		>"$T/page.txt" 2>"$T/man.err" || rc=$?
	[ "$rc" -eq 0 ] || { echo "FAIL: man -l $IPAGE: status $rc" >&2; rc=1; }
	[ -s "$T/man.err" ] && { echo "FAIL: man --warnings:" >&2; sed 's/^/    /' "$T/man.err" >&2; rc=1; }
	grep -q '^PIPESFS(1)' "$T/page.txt" || { echo "FAIL: man rendered no PIPESFS(1) page" >&2; rc=1; }
	groff -man -ww -z "$IPAGE" 2>"$T/groff.err" || rc=1
	[ -s "$T/groff.err" ] && { echo "FAIL: groff -man -ww:" >&2; sed 's/^/    /' "$T/groff.err" >&2; rc=1; }
	exit "$rc"
}
rc=0
(render) || rc=$?
case $rc in
0) ;;
77) say "man is not installed: the page's rendering is not checked" ;;
*) PFS_FAILED=1 ;;
esac

# ---- uninstall ------------------------------------------------------------------------------
mk uninstall PREFIX=/usr || bad "make uninstall failed: $(cat "$T/make.out")"
check_eq "files left after make uninstall" "" "$(files_in_d | xargs)"

exit "$PFS_FAILED"
