/* SPDX-License-Identifier: BSD-3-Clause
 * bpf=EXPR: frames matching a tcpdump filter expression.
 *
 * libpcap compiles the expression (optimised) for each link type the stage
 * sees: at init for Ethernet, which reports syntax errors; for any other
 * link type when its first frame arrives, under a lock, into a small table
 * that is read-only from then on.  DPDK's rte_bpf runs the programs, JIT
 * compiled where it can.  rte_bpf_convert() allocates with rte_malloc, so
 * the first program starts EAL (eal.h); if EAL cannot start, libpcap's own
 * interpreter runs every program.
 *
 * The result must be libpcap's (bpf_filter(), what `tcpdump -r` runs)
 * packet for packet.  rte_bpf sees a frame as a one-segment mbuf; where
 * its semantics differ, the converted program is changed before loading
 * (see harden()), and libpcap runs what rte_bpf cannot:
 *  - programs with a loop (`protochain`), programs rte_bpf_convert()
 *    refuses (constant offsets in Linux's ancillary-data range) or
 *    rte_bpf_load() rejects;
 *  - frames of 64 KiB or more: an mbuf segment's data_len is 16 bits.
 *
 * PFS_BPF_ENGINE=interpreter (no JIT) or =libpcap in the environment picks
 * a slower engine, for tests and for ruling rte_bpf out when debugging.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "filters/eal.h"
#include "filters/filter.h"
#include "filters/limits.h"
#include "filters/log.h"
#include "filters/pcapio.h"
#include "filters/pkt.h"

#define LT_ENC 109		/* OpenBSD's IPsec: an AF_ value first, like NULL */
#define MAX_OFF UINT16_MAX	/* frames rte_bpf runs on are no longer */
/* mbuf fields: pkt_len bounds rte_bpf's loads, so it is the captured
 * length; `len` (libpcap: the wire length) reads this one instead. */
#define WIRE_LEN_FIELD offsetof(struct rte_mbuf, hash.rss)

enum engine { JIT, INTERPRETER, LIBPCAP, NONE };
static const char *const engine_names[] = {
	[JIT] = "rte_bpf jit", [INTERPRETER] = "rte_bpf interpreter",
	[LIBPCAP] = "libpcap", [NONE] = "none",
};

struct prog {
	uint16_t link_type;
	bool swapped;			/* for frames of the other byte order */
	enum engine engine;		/* NONE: EXPR does not compile for it */
	struct bpf_program cbpf;	/* libpcap's, run when rte_bpf cannot */
	struct rte_bpf *ebpf;
	uint64_t (*jit)(void *);
	char why[PFS_ERR_LEN];		/* why not rte_bpf, or no program */
};

struct bpf_stage {
	char *expr;
	enum engine best;		/* the best engine allowed */
	pthread_mutex_t lock;		/* taken to add a program */
	_Atomic uint32_t nprogs;	/* published (release) when complete */
	struct prog progs[PFS_BPF_MAX_PROGS];
	bool full;			/* said so in the log (lock) */
};

/* Per producer: the counters. */
struct bpf_count {
	uint64_t matched, not_matched, no_program, libpcap_frames;
};

static const char *const counters[] = {
	"matched", "not_matched", "no_program", "libpcap_frames", NULL,
};

/* ---- eBPF from rte_bpf_convert(), made to agree with libpcap ---- */

static bool is_load(const struct ebpf_insn *i, uint8_t mode)
{
	return BPF_CLASS(i->code) == BPF_LD && BPF_MODE(i->code) == mode;
}

/* A packet load at a constant offset past MAX_OFF fails in libpcap (the
 * frame is shorter); in rte_bpf its 32-bit offset arithmetic can wrap and
 * read outside the frame. */
static bool load_fails(const struct ebpf_insn *i)
{
	return (is_load(i, BPF_ABS) || is_load(i, BPF_IND)) && (uint32_t)i->imm > MAX_OFF;
}

static bool is_shift_x(const struct ebpf_insn *i)
{
	return i->code == (BPF_ALU | BPF_LSH | BPF_X) || i->code == (BPF_ALU | BPF_RSH | BPF_X);
}

/* What rte_bpf_convert() makes of `ld len` / `ldx len`. */
static bool is_len(const struct ebpf_insn *i)
{
	return i->code == (BPF_LDX | BPF_MEM | BPF_W) && i->src_reg == EBPF_REG_6 &&
	       i->off == offsetof(struct rte_mbuf, pkt_len);
}

/* The x86 JIT encodes `test` with an 8-bit immediate, which x86 does not
 * have, for a jset whose constant fits in 8 bits: the code after it is
 * garbage.  Every jset gets its constant through a register instead. */
static bool is_jset_k(const struct ebpf_insn *i)
{
	return i->code == (BPF_JMP | BPF_JSET | BPF_K);
}

static bool is_jump(const struct ebpf_insn *i)
{
	return BPF_CLASS(i->code) == BPF_JMP && BPF_OP(i->code) != EBPF_CALL &&
	       BPF_OP(i->code) != EBPF_EXIT;
}

/* How many instructions instruction i becomes. */
static uint32_t grown(const struct ebpf_insn *i)
{
	if (is_load(i, BPF_IND))
		return 2;			/* jgt X, MAX_OFF, reject; load */
	if (is_jset_k(i))
		return 2;			/* r9 = K; jset A, r9 */
	return is_shift_x(i) ? 3 : 1;		/* shift; jlt X, 32, +1; A = 0 */
}

/* Point the jump at `o` (at position at) to position to. */
static bool aim(struct ebpf_insn *o, int64_t at, int64_t to)
{
	int64_t off = to - at - 1;
	o->off = (int16_t)off;
	return off >= INT16_MIN && off <= INT16_MAX;
}

/* Write instruction `in[i]`, grown, at out + start[i]. */
static bool rewrite(const struct ebpf_insn *in, uint32_t n, uint32_t i,
		    const uint32_t *start, uint32_t reject, struct ebpf_insn *out)
{
	const struct ebpf_insn *x = &in[i];
	struct ebpf_insn *o = out + start[i];

	o[0] = *x;
	if (load_fails(x))	/* still fails, but without wrapping */
		o[0].imm = MAX_OFF;
	if (is_load(x, BPF_IND)) {
		o[1] = o[0];
		/* rte_bpf_convert() indexes `ld [x + k]` of sizes B and W by A:
		 * it takes BPF_SRC() of the opcode, which for loads is a size
		 * bit (set for H only).  X is r7 in converted programs. */
		o[1].src_reg = EBPF_REG_7;
		o[0] = (struct ebpf_insn){ .code = BPF_JMP | BPF_JGT | BPF_K,
					   .dst_reg = EBPF_REG_7, .imm = MAX_OFF };
		return aim(o, start[i], reject);
	}
	if (is_shift_x(x)) {	/* libpcap: 0 when shifting by 32 or more */
		o[1] = (struct ebpf_insn){ .code = BPF_JMP | EBPF_JLT | BPF_K,
					   .dst_reg = x->src_reg, .off = 1, .imm = 32 };
		o[2] = (struct ebpf_insn){ .code = BPF_ALU | EBPF_MOV | BPF_K,
					   .dst_reg = x->dst_reg };
	} else if (is_len(x)) {
		o[0].off = WIRE_LEN_FIELD;
	} else if (is_jump(x)) {
		int64_t to = (int64_t)i + 1 + x->off;
		if (to < 0 || to >= n)
			return false;
		if (is_jset_k(x)) {	/* r9: unused by converted programs */
			o[0] = (struct ebpf_insn){ .code = EBPF_ALU64 | EBPF_MOV | BPF_K,
						   .dst_reg = EBPF_REG_9, .imm = x->imm };
			o[1] = (struct ebpf_insn){ .code = BPF_JMP | BPF_JSET | BPF_X,
						   .dst_reg = x->dst_reg, .src_reg = EBPF_REG_9 };
			return aim(o + 1, start[i] + 1, start[to]);
		}
		return aim(o, start[i], start[to]);
	}
	return true;
}

/*
 * The converted program, changed where rte_bpf and libpcap differ:
 *  - `ld [x + k]` is indexed by X (rte_bpf_convert() gets sizes B and W
 *    wrong);
 *  - a packet load whose offset (constant, or X plus a constant) passes
 *    MAX_OFF fails, as in libpcap, before rte_bpf's offset arithmetic
 *    can wrap (it would read outside the frame);
 *  - a shift by X of 32 or more gives 0, as in libpcap (the CPU would
 *    take X modulo 32);
 *  - `len` reads the wire length (WIRE_LEN_FIELD);
 *  - jset takes its constant from a register (see is_jset_k()).
 * An X past MAX_OFF jumps to a `return 0` added at the end.  Returns the
 * new instructions (malloc) and their number, or NULL.
 */
static struct ebpf_insn *harden(const struct ebpf_insn *in, uint32_t n, uint32_t *nout)
{
	uint32_t *start = malloc((n + 1) * sizeof *start), m = 0;
	struct ebpf_insn *out = NULL;
	bool rejects = false;

	if (!start)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		start[i] = m;
		m += grown(&in[i]);
		rejects |= is_load(&in[i], BPF_IND);
	}
	start[n] = m;
	out = calloc(m + 2, sizeof *out);
	for (uint32_t i = 0; out && i < n; i++)
		if (!rewrite(in, n, i, start, m, out)) {
			free(out);
			out = NULL;
		}
	free(start);
	/* only when used: rte_bpf_load() refuses unreachable instructions */
	if (out && rejects) {
		out[m++] = (struct ebpf_insn){ .code = BPF_ALU | EBPF_MOV | BPF_K };
		out[m++] = (struct ebpf_insn){ .code = BPF_JMP | EBPF_EXIT };
	}
	*nout = m;
	return out;
}

/* ---- programs ---- */

/* A capture file's global header: link_type, our byte order or not. */
static void file_header(uint8_t h[PFS_PCAP_GLOBAL_LEN], uint16_t link_type, bool swapped)
{
	/* magic, major, minor, thiszone, sigfigs, snaplen, linktype */
	static const uint8_t fields[] = { 4, 2, 2, 4, 4, 4, 4 };

	pfs_pcap_global_header(h, &(struct pfs_pcap_view){ .link_type = link_type });
	for (size_t i = 0, at = 0; swapped && i < sizeof fields; at += fields[i++])
		for (uint8_t *a = h + at, *b = a + fields[i] - 1; a < b; a++, b--) {
			uint8_t t = *a;
			*a = *b;
			*b = t;
		}
}

/*
 * Compile as `tcpdump -r` does: for a capture file.  libpcap maps the
 * file's LINKTYPE_* to its DLT_*, and some expressions mean other things
 * for files than for live captures (on NULL, `ip6` is the BSDs' AF_INET6
 * values, not Linux's); on NULL and ENC it compiles the AF_ value in the
 * byte order of the file.  The upper bits of a file's link type field (FCS
 * length) change nothing libpcap compiles: a record's 16-bit link type is
 * all it needs.
 */
static int compile(const char *expr, uint16_t link_type, bool swapped,
		   struct bpf_program *bp, char *err, size_t errlen)
{
	uint8_t h[PFS_PCAP_GLOBAL_LEN];
	char why[PCAP_ERRBUF_SIZE];
	FILE *f;
	pcap_t *pc;
	int rc;

	file_header(h, link_type, swapped);
	if (!(f = fmemopen(h, sizeof h, "r")) || !(pc = pcap_fopen_offline(f, why))) {
		snprintf(err, errlen, "%s", f ? why : strerror(errno));
		if (f)
			fclose(f);
		return -EINVAL;
	}
	rc = pcap_compile(pc, bp, expr, 1, PCAP_NETMASK_UNKNOWN);
	if (rc)
		snprintf(err, errlen, "%s", pcap_geterr(pc));
	pcap_close(pc);		/* and f */
	return rc ? -EINVAL : 0;
}

/* NULL and ENC frames start with an AF_ value in the byte order of the
 * machine that captured them: one that reads larger than 16 bits is in the
 * other byte order (pkt.c reads them so too). */
static bool swapped_frame(uint16_t link_type, const uint8_t *frame, uint32_t caplen)
{
	uint32_t af;

	if ((link_type != PFS_LT_NULL && link_type != LT_ENC) || caplen < 4)
		return false;
	memcpy(&af, frame, 4);
	return af > 0xffff;
}

/* libpcap implements `protochain` with a loop; rte_bpf runs none (and
 * rte_bpf_convert() would say so on stderr). */
static bool jumps_back(const struct bpf_program *bp)
{
	for (u_int i = 0; i < bp->bf_len; i++)
		if (bp->bf_insns[i].code == (BPF_JMP | BPF_JA) &&
		    (int32_t)bp->bf_insns[i].k < 0)
			return true;
	return false;
}

/* Load p's program into rte_bpf; on failure p stays with libpcap. */
static void load(const struct bpf_stage *s, struct prog *p)
{
	if (jumps_back(&p->cbpf)) {
		snprintf(p->why, sizeof p->why, "a loop (protochain): rte_bpf runs none");
		return;
	}
	int rc = pfs_eal_init(0, NULL, NULL);
	if (rc) {
		snprintf(p->why, sizeof p->why, "DPDK EAL: %s", strerror(-rc));
		return;
	}
	struct rte_bpf_prm *prm = rte_bpf_convert(&p->cbpf);
	if (!prm) {
		snprintf(p->why, sizeof p->why, "rte_bpf_convert: %s", rte_strerror(rte_errno));
		return;
	}
	struct rte_bpf_prm hard = *prm;
	hard.ins = harden(prm->ins, prm->nb_ins, &hard.nb_ins);
	rte_free(prm);
	if (!hard.ins) {
		snprintf(p->why, sizeof p->why, "program too long for rte_bpf");
		return;
	}
	p->ebpf = rte_bpf_load(&hard);
	free((void *)hard.ins);		/* rte_bpf_load() copied it */
	if (!p->ebpf) {
		snprintf(p->why, sizeof p->why, "rte_bpf_load: %s", rte_strerror(rte_errno));
		return;
	}
	struct rte_bpf_jit jit;
	p->engine = INTERPRETER;
	if (s->best == JIT && rte_bpf_get_jit(p->ebpf, &jit) == 0 && jit.func) {
		p->jit = jit.func;
		p->engine = JIT;
	}
}

/* Compile for link_type (and byte order) into p.  -EINVAL (why in p->why)
 * when EXPR does not compile for it. */
static int prog_make(const struct bpf_stage *s, struct prog *p, uint16_t link_type,
		     bool swapped)
{
	p->link_type = link_type;
	p->swapped = swapped;
	p->engine = NONE;
	if (compile(s->expr, link_type, swapped, &p->cbpf, p->why, sizeof p->why))
		return -EINVAL;
	p->engine = LIBPCAP;
	if (s->best != LIBPCAP)
		load(s, p);
	return 0;
}

static const struct prog *find(struct bpf_stage *s, uint16_t link_type, bool swapped)
{
	uint32_t n = atomic_load_explicit(&s->nprogs, memory_order_acquire);

	for (uint32_t i = 0; i < n; i++)
		if (s->progs[i].link_type == link_type && s->progs[i].swapped == swapped)
			return &s->progs[i];
	return NULL;
}

/* The program for link_type, made on first use; NULL if the table is
 * full (frames of yet another link type then do not match). */
static const struct prog *prog_for(struct bpf_stage *s, uint16_t link_type, bool swapped)
{
	const struct prog *p = find(s, link_type, swapped);
	if (p)
		return p;
	pthread_mutex_lock(&s->lock);
	uint32_t n = atomic_load_explicit(&s->nprogs, memory_order_relaxed);
	if (!(p = find(s, link_type, swapped)) && n < PFS_BPF_MAX_PROGS) {
		prog_make(s, &s->progs[n], link_type, swapped);
		atomic_store_explicit(&s->nprogs, n + 1, memory_order_release);
		p = &s->progs[n];
	} else if (!p && !s->full) {
		s->full = true;
		pfs_log("bpf %.64s: frames of more than %d link types; those of link type %u "
			"and later new ones do not match (no_program)", s->expr, PFS_BPF_MAX_PROGS,
			link_type);
	}
	pthread_mutex_unlock(&s->lock);
	return p;
}

static bool run(struct bpf_count *c, const struct prog *p, const uint8_t *frame,
		uint32_t caplen, uint32_t wire_len)
{
	if (p->engine == LIBPCAP || caplen > MAX_OFF) {
		if (p->engine != LIBPCAP)
			pfs_count(&c->libpcap_frames, 1);
		return bpf_filter(p->cbpf.bf_insns, frame, wire_len, caplen) != 0;
	}
	struct rte_mbuf m = {
		.buf_addr = (void *)(uintptr_t)frame,	/* rte_bpf only reads */
		.data_len = (uint16_t)caplen, .pkt_len = caplen, .nb_segs = 1,
		.hash.rss = wire_len,			/* WIRE_LEN_FIELD */
	};
	return (p->jit ? p->jit(&m) : rte_bpf_exec(p->ebpf, &m)) != 0;
}

/* ---- the filter ---- */

static void fini(void *conf)
{
	struct bpf_stage *s = conf;
	uint32_t n = atomic_load(&s->nprogs);

	for (uint32_t i = 0; i < n; i++) {
		pcap_freecode(&s->progs[i].cbpf);
		rte_bpf_destroy(s->progs[i].ebpf);
	}
	pthread_mutex_destroy(&s->lock);
	free(s->expr);
	free(s);
}

static enum engine best_engine(void)
{
	const char *e = getenv("PFS_BPF_ENGINE");
	return !e ? JIT : !strcmp(e, "libpcap") ? LIBPCAP
	       : !strcmp(e, "interpreter") ? INTERPRETER : JIT;
}

static int init(void **conf, const char *args, char *err, size_t errlen)
{
	struct bpf_stage *s;

	*conf = NULL;
	if (!args || !*args) {
		snprintf(err, errlen, "bpf needs a tcpdump expression (usage: bpf=EXPR)");
		return -EINVAL;
	}
	if (strlen(args) > PFS_BPF_MAX_EXPR) {
		snprintf(err, errlen, "bpf: an expression of %zu bytes; at most %d compile in "
			 "reasonable time (split it over stages, or use net=)",
			 strlen(args), PFS_BPF_MAX_EXPR);
		return -EINVAL;
	}
	if (!(s = calloc(1, sizeof *s)) || !(s->expr = strdup(args))) {
		free(s);
		snprintf(err, errlen, "bpf: out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->best = best_engine();
	int rc = prog_make(s, &s->progs[0], PFS_LT_ETHERNET, false);
	atomic_store(&s->nprogs, 1);
	if (rc) {
		snprintf(err, errlen, "libpcap: %s", s->progs[0].why);
		fini(s);
		return rc;
	}
	*conf = s;
	return 0;
}

static void process(void *conf, void *pstate, const struct pfs_desc *d,
		    const uint8_t *data, struct pfs_out *out)
{
	struct bpf_stage *s = conf;
	struct bpf_count *c = pstate;
	const struct prog *p = NULL;
	bool hit = false;

	/* a narrowed frame (e.g. below `payload`) is matched as a whole */
	if (d->kind == PFS_KIND_FRAME && d->len <= UINT32_MAX - d->head_room) {
		const uint8_t *frame = data - d->head_room;
		uint32_t caplen = d->head_room + d->len;
		p = prog_for(s, d->link_type, swapped_frame(d->link_type, frame, caplen));
		if (p && p->engine != NONE)
			hit = run(c, p, frame, caplen, d->wire_len);
		else
			pfs_count(&c->no_program, 1);
	}
	pfs_count(hit ? &c->matched : &c->not_matched, 1);
	if (hit)
		out->emit(out, d, data);
}

/* Which engine runs the program of each link type seen, and why not a
 * better one. */
static void stats(void *conf, FILE *out)
{
	struct bpf_stage *s = conf;
	uint32_t np = atomic_load_explicit(&s->nprogs, memory_order_acquire);

	fprintf(out, "engine: %s\nprograms: %" PRIu32 "\n",
		engine_names[s->progs[0].engine], np);
	for (uint32_t i = 0; i < np; i++) {
		const struct prog *p = &s->progs[i];
		fprintf(out, "link_type_%u%s: %s", p->link_type,
			p->swapped ? "_swapped" : "", engine_names[p->engine]);
		/* why not rte_bpf, or why no program */
		fprintf(out, p->why[0] ? " (%s)\n" : "%s\n", p->why);
	}
}

const struct pfs_filter pfs_filter_bpf = {
	.name = "bpf", .usage = "bpf=EXPR",
	.summary = "frames matching a tcpdump filter expression (libpcap, run by rte_bpf)",
	.init = init, .fini = fini,
	.counters = counters, .pstate_size = sizeof(struct bpf_count),
	.process = process, .stats = stats,
};
