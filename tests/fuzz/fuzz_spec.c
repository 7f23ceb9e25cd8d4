/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target: filter specs and names, as the daemon takes them from
 * mkdir, mv and `filter` writes (pfs_stage_parse, pfs_name_is_spec and
 * the graph's mkdir, rename and set_filter, filters/graph/), every
 * filter's init with any argument string, and `bpf=` expressions
 * compiled as the daemon compiles them (filters/bpf.c: libpcap, then
 * rte_bpf, its JIT or interpreter, or libpcap's interpreter), run on
 * frames against libpcap.
 *
 * Input: an options byte, the text up to the first NUL byte (or the
 * end), then (after the NUL) frames for bpf=.
 *   options bits 0-4  the filter (of pfs_filters, mod their number) whose
 *                     init gets the text as arguments
 *   options bit 5     ... or no arguments (NULL) instead
 *   options bits 6-7  the engine bpf= prefers (PFS_BPF_ENGINE): the JIT,
 *                     the rte_bpf interpreter, libpcap's, the JIT
 *   each frame        a link type byte ([x % 7] of Ethernet, raw IP,
 *                     Linux cooked, SLL2, loopback, IPv4, IPv6), a byte of
 *                     bytes more on the wire, 2 bytes of length, its bytes
 *
 * Every input:
 *  1. init of the chosen filter with the text: 0, or -EINVAL with a
 *     message in err (NUL-terminated, not empty); after 0, its
 *     per-producer state is made and freed, its stats are `key: value`
 *     lines, every child it asks for has a name and a spec that parses
 *     (http: method=GET ...), and fini frees everything (the leak check).
 *     Without an init a filter takes no arguments: then nothing is called.
 *  2. The text as a `filter` write (NAME ARGS or NAME=ARGS) and as a
 *     directory name (NAME or NAME=ARGS, a plain NAME being a pass-through
 *     node): pfs_stage_parse succeeds exactly when the named filter's init
 *     takes the arguments (a plain name: always, as a directory name); a
 *     refusal says why in the log.  mkdir of the text under a node makes a
 *     node whose spec is the text (or `pass` for a plain name) when the
 *     name is allowed and the spec parses, else fails with EINVAL and
 *     makes nothing; writing its own spec back into its `filter` keeps it,
 *     another spec is EINVAL for a node named after its filter and taken by
 *     one with a plain name; mv to a plain name keeps the filter, and back
 *     to its spec name runs that spec again; rmdir takes it away.  A plain
 *     node takes any spec written that parses; a node named as the spec
 *     would be (pfs_spec_dirname: `port 80` makes `port=80`) takes the
 *     spec written.
 *  3. bpf= with the text as its expression (what follows `bpf=` or
 *     `bpf `, if the text starts so): init succeeds exactly when libpcap
 *     compiles the expression for an Ethernet capture file (and it is at
 *     most 2 KiB); then each frame matches exactly when libpcap's own
 *     program, compiled as `tcpdump -r` does for a capture file of its
 *     link type (pcap_compile on pcap_fopen_offline of such a file's
 *     header), passes it (pcap_offline_filter): rte_bpf, its JIT and the
 *     changes bpf.c makes to its programs run them as libpcap does; a
 *     link type the expression does not compile for matches nothing.  A matching frame is handed on
 *     unchanged.  EAL starts, once, at the first program rte_bpf loads.
 *
 * The graph frees what it lets go of after a grace period, on liburcu's
 * call_rcu thread, so inputs end with more allocations than frees, and
 * libFuzzer's leak check after each (a scan of the heap, 30 ms) would
 * take most of the time: `make fuzz` runs this target with
 * -detect_leaks=0 (FUZZ_FLAGS_fuzz_spec), and LeakSanitizer's check at
 * exit finds what init, fini or the graph lost.
 */
#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>

#include "filters/graph/graph.h"
#include "filters/graph/internal.h"	/* pfs_spec_dirname, pfs_name_ok */
#include "filters/log.h"
#include "tests/fuzz/fuzz.h"

#define MAX_TEXT 4096

/* Link types of frames for bpf= (NULL's AF is in the byte order of the
 * capture, which a frame does not say: left out) */
static const uint16_t bpf_links[] = { 1, 101, 113, 276, 108, 228, 229 };
enum { NBPF_LINKS = sizeof bpf_links / sizeof *bpf_links };

static size_t nfilters(void)
{
	size_t n = 0;
	while (pfs_filters[n])
		n++;
	return n;
}

/* ---- 1. init with any arguments ---- */

static bool err_ok(const char *err, size_t len)
{
	return memchr(err, 0, len) && err[0];
}

/* `key: value` lines, each ended. */
static void check_stats(const struct pfs_filter *f, void *conf)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	FZ_CHECK(out, "open_memstream");
	if (f->stats)
		f->stats(conf, out);
	FZ_CHECK(fclose(out) == 0 && text, "stats");
	FZ_CHECK(strlen(text) == len, "%s: stats with a NUL byte", f->name);
	for (char *l = text; *l;) {
		char *nl = strchr(l, '\n'), *colon = strstr(l, ": ");
		FZ_CHECK(nl && colon && colon < nl && colon > l, "%s: stats line `%s`", f->name, l);
		l = nl + 1;
	}
	free(text);
}

static void check_children(const struct pfs_filter *f, void *conf)
{
	char name[PFS_CHILD_NAME], spec[PFS_CHILD_NAME];

	for (size_t i = 0; f->child; i++) {
		memset(name, 0xa5, sizeof name);
		memset(spec, 0xa5, sizeof spec);
		if (!f->child(conf, i, name, spec, sizeof name))
			break;
		FZ_CHECK(memchr(name, 0, sizeof name) && memchr(spec, 0, sizeof spec),
			 "%s: child %zu not NUL-terminated", f->name, i);
		FZ_CHECK(name[0] && !strchr(name, '/'), "%s: child %zu named `%s`", f->name, i,
			 name);
		struct pfs_stage *st = pfs_stage_parse(spec, false);
		FZ_CHECK(st, "%s: child %s's spec `%s` does not parse", f->name, name, spec);
		pfs_stage_free(st);
	}
}

/* init(args): 0 or -EINVAL, checked; with 0, the rest of its life. */
static int init_filter(const struct pfs_filter *f, const char *args)
{
	char err[PFS_ERR_LEN];
	void *conf = NULL;

	if (!f->init)
		return args ? -EINVAL : 0;
	memset(err, 0x5a, sizeof err);
	int rc = f->init(&conf, args, err, sizeof err);
	FZ_CHECK(rc == 0 || rc == -EINVAL, "%s: init returned %d", f->name, rc);
	if (rc) {
		FZ_CHECK(err_ok(err, sizeof err), "%s: refused without a reason", f->name);
		FZ_CHECK(conf == NULL, "%s: refused, yet made a configuration", f->name);
		return rc;
	}
	void *ps = NULL;
	if (f->pstate_size) {
		ps = calloc(1, f->pstate_size);
		FZ_CHECK(ps, "out of memory");
		if (f->pstate_init)
			FZ_CHECK(f->pstate_init(conf, ps) == 0, "%s: pstate_init", f->name);
	}
	check_stats(f, conf);
	check_children(f, conf);
	if (ps && f->pstate_fini)
		f->pstate_fini(conf, ps);
	free(ps);
	if (f->fini)
		f->fini(conf);
	return 0;
}

/* ---- 2. specs and names ---- */

/* Would pfs_stage_parse(text, dirname) take it, by the grammar and the
 * filters' init alone?  *plain: it names a pass-through node. */
static bool spec_ok(const char *text, bool dirname, bool *plain)
{
	size_t len = strcspn(text, dirname ? "=" : "= \t");
	const char *args = text[len] ? text + len + 1 : NULL;
	char name[64];

	*plain = false;
	if (len == 0 || (len >= sizeof name && (!dirname || args)))
		return false;
	snprintf(name, sizeof name, "%.*s", len < sizeof name ? (int)len : 0, text);
	const struct pfs_filter *f = pfs_filter_find(name);
	if (!f) {
		*plain = dirname && !args;
		return *plain;
	}
	return init_filter(f, args) == 0;
}

static struct pfs_stage *parse(const char *text, bool dirname)
{
	uint64_t logged = pfs_log_size();
	struct pfs_stage *st = pfs_stage_parse(text, dirname);
	if (!st)
		FZ_CHECK(pfs_log_size() > logged, "`%s` refused without a line in the log", text);
	return st;
}

static struct pfs_node *top, *plain_node;

static struct pfs_node *child_of(struct pfs_node *dir, const char *name)
{
	struct pfs_entry *e = pfs_node_entry(dir, name);
	return e && !pfs_entry_link(e) ? pfs_entry_node(e) : NULL;
}

static void set_filter(struct pfs_node *n, const char *spec, int want)
{
	char *text = strdup(spec);	/* spec may be the stage's, replaced here */
	FZ_CHECK(text, "out of memory");
	struct pfs_stage *st = parse(text, false);
	int rc = st ? pfs_node_set_filter(n, st) : -EINVAL;
	FZ_CHECK(rc == want, "%s/filter: `%s`: %d, expected %d", pfs_node_name(n), text, rc, want);
	free(text);
}

/* rmdir of dir/name, its child nodes first (http makes some). */
static void rm_tree(struct pfs_node *dir, const char *name)
{
	struct pfs_node *n = child_of(dir, name);
	FZ_CHECK(n, "no node `%s`", name);
	while (pfs_node_entries(n)) {
		char *c = strdup(pfs_entry_name(pfs_node_entries(n)));
		FZ_CHECK(c, "out of memory");
		rm_tree(n, c);
		free(c);
	}
	FZ_CHECK(pfs_node_rmdir(dir, name) == 0, "rmdir `%s`", name);
}

static bool names_a_file(const char *name)
{
	static const char *const files[] = { "all", "new", "pcap", "pcapng", "filter", "stats",
					      "log", ".socket" };
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		if (!strcmp(name, files[i]))
			return true;
	return false;
}

/* The text as a directory name: mkdir, filter writes, mv, rmdir. */
static void as_dirname(const char *text)
{
	bool plain;
	bool parses = spec_ok(text, true, &plain);
	bool name_ok = text[0] && strcmp(text, ".") && strcmp(text, "..") &&
		       strlen(text) <= NAME_MAX && !strchr(text, '/');
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		name_ok &= *c >= 0x20 && *c != 0x7f;
	if (names_a_file(text))		/* the daemon refuses those (fs/ops.c) */
		return;

	struct pfs_node *n = NULL;
	pfs_graph_lock();
	int rc = pfs_node_mkdir(top, text, NULL, &n);
	FZ_CHECK(rc == (name_ok && parses ? 0 : -EINVAL), "mkdir `%s`: %d, name %s, spec %s",
		 text, rc, name_ok ? "ok" : "refused", parses ? "parses" : "refused");
	if (rc) {
		FZ_CHECK(!pfs_node_entries(top), "a failed mkdir left `%s`",
			 pfs_entry_name(pfs_node_entries(top)));
		pfs_graph_unlock();
		return;
	}
	FZ_CHECK(n && child_of(top, text) == n, "mkdir `%s`: no such child", text);
	FZ_CHECK(!strcmp(pfs_node_spec(n), plain ? "pass" : text), "mkdir `%s`: spec `%s`", text,
		 pfs_node_spec(n));
	FZ_CHECK(pfs_name_is_spec(text) == !plain, "`%s`: plain %d, a spec %d", text, plain,
		 pfs_name_is_spec(text));

	/* its own spec written back; another one */
	set_filter(n, pfs_node_spec(n), 0);
	const char *other = !strcmp(pfs_node_spec(n), "udp") ? "tcp" : "udp";
	set_filter(n, other, plain ? 0 : -EINVAL);
	FZ_CHECK(!strcmp(pfs_node_spec(n), plain ? other : text), "`%s`: spec now `%s`", text,
		 pfs_node_spec(n));

	/* mv to a plain name keeps the filter; back to the name, its spec */
	const char *spec = plain ? other : text;
	const char *tmp = strcmp(text, "fz-plain") ? "fz-plain" : "fz-plain2";
	FZ_CHECK(pfs_node_rename(top, text, top, tmp, NULL) == 0, "mv `%s` %s", text, tmp);
	FZ_CHECK(child_of(top, tmp) == n && !strcmp(pfs_node_spec(n), spec),
		 "mv `%s` %s: spec `%s`", text, tmp, pfs_node_spec(n));
	FZ_CHECK(pfs_node_rename(top, tmp, top, text, NULL) == 0, "mv %s `%s`", tmp, text);
	FZ_CHECK(child_of(top, text) == n && !strcmp(pfs_node_spec(n), spec),
		 "mv %s `%s`: spec `%s`", tmp, text, pfs_node_spec(n));
	rm_tree(top, text);
	FZ_CHECK(!pfs_node_entries(top), "rmdir `%s` left something", text);
	pfs_graph_unlock();
}

/* The text as written into `filter`. */
static void as_filter_write(const char *text)
{
	bool plain;
	bool parses = spec_ok(text, false, &plain);
	struct pfs_stage *st = parse(text, false);

	FZ_CHECK(!plain && !!st == parses, "`%s` as a filter: %s, expected %s", text,
		 st ? "parses" : "refused", parses ? "to parse" : "refused");
	pfs_stage_free(st);
	if (!parses)
		return;
	/* a plain node takes it */
	pfs_graph_lock();
	set_filter(plain_node, text, 0);
	FZ_CHECK(!strcmp(pfs_node_spec(plain_node), text), "spec `%s`", pfs_node_spec(plain_node));
	set_filter(plain_node, "pass", 0);
	pfs_graph_unlock();

	/* so does a node named after it.  Not compared: arguments with a
	 * '/' (other arguments in a name: net=10.0.0.0_8 is net's own way),
	 * and arguments that start with a blank (`bpf  tcp`: the write's
	 * arguments are ` tcp`, the name's `tcp`; `bpf  ` is bpf with the
	 * expression ` `, which matches everything, `bpf=` no spec) */
	char *dir = pfs_spec_dirname(text);
	FZ_CHECK(dir, "out of memory");
	size_t len = strcspn(text, "= \t");
	bool blank = (text[len] == ' ' || text[len] == '\t') &&
		     (text[len + 1] == ' ' || text[len + 1] == '\t');
	bool name_ok = !strchr(text, '/') && !blank && !names_a_file(dir) && pfs_name_ok(dir);
	struct pfs_node *n = NULL;
	pfs_graph_lock();
	if (name_ok && pfs_node_mkdir(top, dir, NULL, &n) == 0) {
		FZ_CHECK(pfs_name_is_spec(dir), "`%s` (from `%s`) is no spec", dir, text);
		set_filter(n, text, 0);
		FZ_CHECK(!strcmp(pfs_node_spec(n), text), "`%s`/filter: spec `%s`", dir,
			 pfs_node_spec(n));
		rm_tree(top, dir);
	} else {
		FZ_CHECK(!name_ok, "`%s` parses, `%s` does not", text, dir);
	}
	pfs_graph_unlock();
	free(dir);
}

/* ---- 3. bpf= against libpcap ---- */

/* libpcap's programs for an expression, by link type, compiled as
 * needed. */
struct progs {
	struct bpf_program bp[NBPF_LINKS];
	int state[NBPF_LINKS];		/* 0: not yet, 1: compiled, -1: failed */
};

/* A pcap_t reading a capture file of link type lt (in our byte order),
 * as `tcpdump -r` compiles for: some expressions mean other things for
 * files than for live captures (on loopback, `ip6` takes the BSDs'
 * AF_INET6 values). */
static pcap_t *savefile(uint16_t lt, uint8_t *h)
{
	char why[PCAP_ERRBUF_SIZE];
	uint32_t magic = 0xa1b2c3d4, zone = 0, sigfigs = 0, snap = 262144, link = lt;
	uint16_t major = 2, minor = 4;

	memcpy(h, &magic, 4);
	memcpy(h + 4, &major, 2);
	memcpy(h + 6, &minor, 2);
	memcpy(h + 8, &zone, 4);
	memcpy(h + 12, &sigfigs, 4);
	memcpy(h + 16, &snap, 4);
	memcpy(h + 20, &link, 4);
	FILE *f = fmemopen(h, 24, "r");
	FZ_CHECK(f, "fmemopen");
	pcap_t *pc = pcap_fopen_offline(f, why);
	FZ_CHECK(pc, "link type %u: %s", lt, why);
	return pc;
}

static int libpcap_verdict(struct progs *p, const char *expr, int k, const uint8_t *b,
			   uint32_t caplen, uint32_t wire)
{
	struct pcap_pkthdr h = { .caplen = caplen, .len = wire };

	if (!p->state[k]) {
		uint8_t hdr[24];
		pcap_t *pc = savefile(bpf_links[k], hdr);
		p->state[k] = pcap_compile(pc, &p->bp[k], expr, 1, PCAP_NETMASK_UNKNOWN) ? -1 : 1;
		pcap_close(pc);
	}
	return p->state[k] > 0 && pcap_offline_filter(&p->bp[k], &h, b) != 0;
}

static bool libpcap_compiles(const char *expr)
{
	uint8_t hdr[24];
	pcap_t *pc = savefile(1, hdr);
	struct bpf_program bp;

	bool ok = pcap_compile(pc, &bp, expr, 1, PCAP_NETMASK_UNKNOWN) == 0;
	if (ok)
		pcap_freecode(&bp);
	pcap_close(pc);
	return ok;
}

static void bpf(const char *expr, struct fz *z)
{
	char err[PFS_ERR_LEN] = "";
	struct progs progs = { 0 };
	struct fz_inst in = { .f = pfs_filter_find("bpf") };

	int rc = in.f->init(&in.conf, expr, err, sizeof err);
	bool want = *expr && strlen(expr) <= PFS_BPF_MAX_EXPR && libpcap_compiles(expr);
	FZ_CHECK((rc == 0) == want, "bpf=%s: %d (%s), libpcap %s", expr, rc, err,
		 want ? "compiles it" : "does not");
	if (rc)
		return;
	in.pstate = calloc(1, in.f->pstate_size);
	FZ_CHECK(in.pstate, "out of memory");
	while (fz_more(z)) {
		uint8_t k = fz_u8(z) % NBPF_LINKS, more = fz_u8(z);
		size_t len;
		const uint8_t *b = fz_bytes(z, fz_u16(z), &len);
		struct pfs_desc d = {
			.seq = 1, .pos = 4096, .len = (uint32_t)len, .wire_len = (uint32_t)len + more,
			.link_type = bpf_links[k], .kind = PFS_KIND_FRAME,
		};
		struct fz_out o;
		fz_out_init(&o);
		fz_run(&in, &o, &d, b);
		FZ_CHECK(o.n <= 1 && o.allocs == 0, "bpf handed on %zu records", o.n);
		if (o.n)
			FZ_CHECK(o.recs[0].in_place && !memcmp(&o.recs[0].d, &d, sizeof d) &&
					 !memcmp(o.recs[0].bytes, b, len),
				 "bpf changed the record it handed on");
		int theirs = libpcap_verdict(&progs, expr, k, b, (uint32_t)len, d.wire_len);
		FZ_CHECK((int)o.n == theirs, "bpf=%s, link type %u, %zu bytes (%u on the wire): "
			 "ours %zu, libpcap %d", expr, d.link_type, len, d.wire_len, o.n, theirs);
		fz_out_fini(&o);
	}
	fz_inst_close(&in);
	for (int k = 0; k < NBPF_LINKS; k++)
		if (progs.state[k] > 0)
			pcap_freecode(&progs.bp[k]);
}

/* ---- the input ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const engines[] = { NULL, "interpreter", "libpcap", NULL };
	static size_t nf;
	struct fz z = { data, size };
	char text[MAX_TEXT + 1];

	if (!top) {
		FZ_CHECK(pfs_graph_init(1u << 16, 1ull << 30) == 0, "pfs_graph_init");
		pfs_graph_thread_register();
		pfs_graph_lock();
		FZ_CHECK(pfs_node_mkdir(pfs_graph_root(), "fz", NULL, &top) == 0, "mkdir fz");
		FZ_CHECK(pfs_node_mkdir(pfs_graph_root(), "fz-any", NULL, &plain_node) == 0,
			 "mkdir fz-any");
		pfs_graph_unlock();
		nf = nfilters();
	}
	uint8_t opt = fz_u8(&z);
	const uint8_t *nul = memchr(z.p, 0, z.n);
	size_t tlen;
	const uint8_t *t = fz_bytes(&z, nul ? (size_t)(nul - z.p) : z.n, &tlen);
	if (tlen > MAX_TEXT)
		return -1;		/* not kept: longer than any name or expression */
	memcpy(text, t, tlen);
	text[tlen] = 0;
	fz_u8(&z);			/* the NUL */

	const char *engine = engines[opt >> 6];
	if (engine)
		setenv("PFS_BPF_ENGINE", engine, 1);
	else
		unsetenv("PFS_BPF_ENGINE");

	init_filter(pfs_filters[(opt & 31) % nf], opt & 0x20 ? NULL : text);
	as_filter_write(text);
	as_dirname(text);
	bool named = !strncmp(text, "bpf", 3) && (text[3] == '=' || text[3] == ' ' ||
						   text[3] == '\t');
	bpf(named ? text + 4 : text, &z);
	return 0;
}
