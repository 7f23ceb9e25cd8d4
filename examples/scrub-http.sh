#!/bin/bash
# A scrubbing pipeline: requests whose URI holds `..` (path traversal) are
# removed whole by a shell filter, and what is left is written into a node
# of its own, whose method children frame the clean stream again.
#
# usage: examples/scrub-http.sh SOURCE
#          the whole pipeline, on a mount of its own: SOURCE is iface:eth0
#          (live: until Ctrl-C) or pcap:FILE (ends at the file's end);
#          prints the clean GET requests (httpclean/get), as on the wire
#        examples/scrub-http.sh --filter
#          the filter alone, for a mount of yours (README.md): a request
#          stream (`cat NODE/http/all`) on stdin, the same stream without
#          the requests whose URI holds `..` on stdout
set -euo pipefail
[ $# -eq 1 ] || { sed -n 6,13p "$0" >&2; exit 2; }

# SCRUB: a request stream in, the same stream out without the requests
# whose request-target holds `..`.  `cat http/all` is a valid request
# stream, so framing it again is simple: a header section, then a body of
# Content-Length bytes or in chunks (RFC 9112 §6).  Perl, for its byte
# exact reads; each request is printed (or not) as soon as it is whole.
scrub() {
	perl -e '
		$| = 1;
		my $b = "";
		sub body_end {		# where the request from 0 ends, or -1
			my ($head_end, $fields) = @_;
			if ($fields =~ /^transfer-encoding:.*chunked\s*$/mi) {
				my $at = $head_end;
				while ((my $nl = index($b, "\n", $at)) >= 0) {
					my ($size) = substr($b, $at, $nl - $at) =~ /^([0-9a-f]+)/i;
					$at = $nl + 1;
					if (hex($size) == 0) {	# trailer fields, to an empty line
						while ((my $e = index($b, "\n", $at)) >= 0) {
							my $line = substr($b, $at, $e - $at);
							$at = $e + 1;
							return $at if $line eq "" || $line eq "\r";
						}
						return -1;
					}
					$at += hex($size) + 2;	# the data, its CRLF
				}
				return -1;
			}
			my ($len) = $fields =~ /^content-length:\s*(\d+)/mi;
			my $end = $head_end + ($len // 0);
			return $end <= length($b) ? $end : -1;
		}
		while (sysread(STDIN, my $more, 1 << 20)) {
			$b .= $more;
			while ($b =~ /\r?\n\r?\n/) {
				my $head_end = $+[0];
				my $fields = substr($b, 0, $head_end);
				my $end = body_end($head_end, $fields);
				last if $end < 0;
				my ($target) = $fields =~ /^\S+ (\S+)/;
				print substr($b, 0, $end) unless $target =~ /\.\./;
				$b = substr($b, $end);
			}
		}'
}

if [ "$1" = --filter ]; then
	scrub
	exit
fi

. "$(dirname "$0")/mount.sh" "$1"
mkdir -p "$MNT/s1/http"
# httpclean: a node of its own, running http, so it has the method
# children (get, post, ...).  What is written into a node goes to its
# children, and they frame the written stream themselves.
mkdir "$MNT/httpclean"
echo http >"$MNT/httpclean/filter"
# the README's pipeline, as printed there: the scrubbing in the
# background, the clean GETs printed as they come (get waits for what is
# written into httpclean; it ends when the pipeline does)
# shellcheck disable=SC2002
cat "$MNT/s1/http/all" | scrub >"$MNT/httpclean/all" &
cat "$MNT/httpclean/get/all"
wait
