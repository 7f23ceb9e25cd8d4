/* SPDX-License-Identifier: BSD-3-Clause
 * pipesfs: live packet streams and filter stages as files.  See README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "filters/eal.h"
#include "filters/filter.h"
#include "filters/limits.h"
#include "filters/log.h"
#include "filters/pcapio.h"
#include "filters/sources/source.h"
#include "fs/fs.h"

#define SOURCE_ERR_LEN 256	/* a source's one-line error */
#define EXIT_USAGE 2		/* the command line is wrong (1: anything else) */

struct options {
	const char **sources;		/* -s specs, as given */
	size_t nsources;
	unsigned workers;		/* 0: the default */
	const char *eal;
	const char **graph;
	size_t ngraph;
	uint64_t ring_bytes;
	uint64_t ring_budget;
	const char *mountpoint;
	const char *group;
	int foreground, debug;
	const char **fuse_opts;		/* each -o, as given */
	size_t nfuse_opts;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: pipesfs [options] MOUNTPOINT\n"
"\n"
"Live packet streams and filter stages as files and directories.\n"
"\n"
"  -s, --source SPEC   add a source (repeatable):\n");
	for (const struct pfs_source_type *const *k = pfs_source_types; *k; k++)
		fprintf(f, "        %-41s %s\n", (*k)->usage, (*k)->summary);
	fprintf(f,
"  -g, --graph PATH    create this node path (like mkdir -p) at start, from a\n"
"                      source's directory (SOURCE/ip/tcp); repeatable\n"
"      --ring-size N   data ring size per producer, a power of two of at least 64K\n"
"                      (default 64M; K, M, G); a ring records are copied into\n"
"                      (a written node's, a source's) is at least twice its\n"
"                      largest record: 512K (records up to 256K; more for\n"
"                      D-Bus, EBHSCR, USBPcap); an iface: worker's kernel\n"
"                      ring too (at least 1M)\n"
"      --ring-budget N memory all rings may take together (default: half of\n"
"                      the RAM); a node or write needing more fails with ENOMEM\n"
"      --workers N     packet workers per live source, at most one per CPU\n"
"                      pipesfs may use, more is capped (default: those\n"
"                      CPUs - 1, >= 1)\n"
"      --eal ARGS      extra DPDK EAL arguments (dpdk: sources)\n"
"      --group NAME    with -o allow_other: let this group read\n"
"  -f                  stay in the foreground\n"
"  -d                  debug: foreground, log to stderr, FUSE debug output\n"
"  -o OPT[,OPT...]     FUSE mount options (allow_other, ...)\n"
"  -h, --help          this text;  -V, --version  the version\n"
"\n"
"Every node directory holds all, new, pcap, pcapng, filter and stats.  `mkdir NODE/SPEC`\n"
"adds a stage; a plain name that is no filter makes a pass-through node:\n");
	for (const struct pfs_filter *const *flt = pfs_filters; *flt; flt++)
		fprintf(f, strlen((*flt)->usage) > 14 ? "  %s\n  %14s %s\n" : "  %-14s%s %s\n",
			(*flt)->usage, "", (*flt)->summary);
	fprintf(f, "`fusermount3 -u MOUNTPOINT` unmounts.  See README.md.\n");
}

/* 64M, 512K, 1G, 1T or plain bytes, not 0. */
static int parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20
		  : *end == 'G' || *end == 'g' ? 30 : *end == 'T' || *end == 't' ? 40 : 0;
	if (shift)
		end++;
	if (errno || end == s || *end || v == 0 || v > (1ull << 50) >> shift)
		return -EINVAL;
	*out = v << shift;
	return 0;
}

/* --ring-size: a power of two of at least 64K, at most 1T. */
static int parse_size(const char *s, uint64_t *out)
{
	uint64_t v;
	if (parse_bytes(s, &v) || v < 65536 || v > (1ull << 40) || (v & (v - 1)))
		return -EINVAL;
	*out = v;
	return 0;
}

/* The default --ring-budget: half of the machine's memory. */
static uint64_t half_the_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 2 : 1ull << 30;
}

/* Append to a growing list of arguments (-s, -g). */
static int add_arg(const char ***list, size_t *n, const char *arg)
{
	const char **v = realloc(*list, (*n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	*list = v;
	v[(*n)++] = arg;
	return 0;
}

/* getopt's '?' (unknown) or ':' (no argument), in one line. */
static int bad_option(int c, const char *arg)
{
	char shortopt[3] = { '-', (char)optopt, '\0' };
	const char *opt = strncmp(arg, "--", 2) == 0 ? arg : shortopt;
	fprintf(stderr, "pipesfs: %.*s: %s (pipesfs --help lists the options)\n",
		(int)strcspn(opt, "="), opt, c == ':' ? "needs an argument" : "unknown option");
	return -1;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "graph", required_argument, NULL, 'g' },
		{ "ring-size", required_argument, NULL, 'r' },
		{ "ring-budget", required_argument, NULL, 'b' },
		{ "group", required_argument, NULL, 'G' },
		{ "workers", required_argument, NULL, 'w' },
		{ "eal", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	o->ring_bytes = 64ull << 20;
	o->ring_budget = half_the_memory();
	opterr = 0;	/* one line of our own instead, below */
	while ((c = getopt_long(argc, argv, ":s:g:fdo:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'g':
			if (add_arg(c == 's' ? &o->sources : &o->graph,
				    c == 's' ? &o->nsources : &o->ngraph, optarg))
				return fprintf(stderr, "pipesfs: out of memory\n"), -1;
			break;
		case 'r':
			if (parse_size(optarg, &o->ring_bytes))
				return fprintf(stderr, "pipesfs: --ring-size %s: want a power of two"
					       " of at least 64K (e.g. 64M)\n", optarg), -1;
			break;
		case 'b':
			if (parse_bytes(optarg, &o->ring_budget))
				return fprintf(stderr, "pipesfs: --ring-budget %s: want a size"
					       " (e.g. 8G)\n", optarg), -1;
			break;
		case 'G': o->group = optarg; break;
		case 'w': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || end == optarg || n < 1 || n > PFS_MAX_WORKERS)
				return fprintf(stderr, "pipesfs: --workers %s: want 1 to %d\n",
					       optarg, PFS_MAX_WORKERS), -1;
			o->workers = (unsigned)n;
			break;
		}
		case 'e': o->eal = optarg; break;
		case 'f': o->foreground = 1; break;
		case 'd': o->foreground = o->debug = 1; break;
		case 'o':
			if (add_arg(&o->fuse_opts, &o->nfuse_opts, optarg))
				return fprintf(stderr, "pipesfs: out of memory\n"), -1;
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("pipesfs 0.1\n"); exit(0);
		default: return bad_option(c, argv[optind - 1]);
		}
	}
	opterr = 1;	/* for EAL's getopt: it names a bad --eal word */
	if (optind != argc - 1) {
		fprintf(stderr, "pipesfs: %s (usage: pipesfs [options] MOUNTPOINT;"
			" pipesfs --help lists the options)\n",
			optind < argc ? "one MOUNTPOINT only" : "no MOUNTPOINT given");
		return -1;
	}
	o->mountpoint = argv[optind];
	return 0;
}

/* Every ring is a descriptor (a memfd), one per producer at every node it
 * reaches: as servers do, take the hard open-file limit as the soft one.
 * Returns the soft limit as it was. */
static rlim_t raise_nofile(void)
{
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
		return RLIM_INFINITY;
	rlim_t was = lim.rlim_cur;
	lim.rlim_cur = lim.rlim_max;
	if (was < lim.rlim_max && setrlimit(RLIMIT_NOFILE, &lim) != 0)
		pfs_log("cannot raise the open-file limit: %s", strerror(errno));
	return was;
}

/* What the limits are: in the log, once it can go to stderr as well. */
static void log_limits(rlim_t nofile_was, uint64_t ring_bytes)
{
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
		lim.rlim_cur = nofile_was;
	if (lim.rlim_cur == nofile_was)
		pfs_log("open-file limit: %llu", (unsigned long long)lim.rlim_cur);
	else
		pfs_log("open-file limit: %llu (raised from %llu)",
			(unsigned long long)lim.rlim_cur, (unsigned long long)nofile_was);
	if (ring_bytes < 2 * PFS_PCAP_MAX_RECORD)
		pfs_log("--ring-size %lluK: rings that records are copied into are %uK,"
			" twice the largest record", (unsigned long long)ring_bytes >> 10,
			2 * PFS_PCAP_MAX_RECORD >> 10);
}

/* A -s source opened, or the exit status: EXIT_USAGE for a spec of no
 * known type, 1 for one the system refuses (a missing file, ...). */
static int make_source(const char *spec, struct pfs_source **out)
{
	char err[SOURCE_ERR_LEN] = "";
	if ((*out = pfs_source_open(spec, err, sizeof(err))))
		return 0;
	fprintf(stderr, "pipesfs: -s %s: %s\n", spec, err);
	for (const struct pfs_source_type *const *k = pfs_source_types; *k; k++)
		if (!strncmp(spec, (*k)->prefix, strlen((*k)->prefix)))
			return 1;
	return EXIT_USAGE;
}

/* -g paths start at a source: a first name that is none is a typo more
 * likely than a wish for a top-level node (mkdir makes those).  0, or
 * EXIT_USAGE with a line naming the sources there are. */
static int check_paths(const struct options *o, struct pfs_source **sources)
{
	for (size_t i = 0; i < o->ngraph; i++) {
		const char *first = o->graph[i] + strspn(o->graph[i], "/");
		size_t len = strcspn(first, "/");
		bool found = false;
		for (size_t k = 0; k < o->nsources && !found; k++)
			found = strlen(sources[k]->name) == len &&
				!strncmp(sources[k]->name, first, len);
		if (found)
			continue;
		fprintf(stderr, "pipesfs: -g %s: no source named '%.*s' (", o->graph[i],
			(int)len, first);
		for (size_t k = 0; k < o->nsources; k++)
			fprintf(stderr, "%s%s", k ? ", " : "sources: ", sources[k]->name);
		fprintf(stderr, "%s); a -g path starts at a source's directory\n",
			o->nsources ? "" : "no -s source given");
		return EXIT_USAGE;
	}
	return 0;
}

/* --eal goes to DPDK, which only dpdk: sources start: without one it
 * would be silently ignored.  0, or EXIT_USAGE with a line. */
static int check_eal(const struct options *o, struct pfs_source **sources)
{
	bool eal = false;
	for (size_t k = 0; k < o->nsources; k++)
		eal |= sources[k]->type->needs_eal;
	if (!o->eal || eal)
		return 0;
	fprintf(stderr, "pipesfs: --eal %s: no source uses DPDK (only dpdk: sources do;"
		" iface: captures without it)\n", o->eal);
	return EXIT_USAGE;
}

/* The message of the log's last line: why the graph refused. */
static void last_logged(char *msg, size_t cap)
{
	char buf[PFS_LOG_LINE];
	uint64_t size = pfs_log_size();
	size_t n = pfs_log_read(size > sizeof(buf) - 1 ? size - (sizeof(buf) - 1) : 0, buf,
				sizeof(buf) - 1);
	while (n && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	char *line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	char *text = strchr(line, ' ');	/* after the time stamp */
	snprintf(msg, cap, "%s", text ? text + 1 : line);
}

/* -g PATH: mkdir -p below the mount root. */
static int make_path(const char *path)
{
	char *copy = strdup(path), *save = NULL;
	struct pfs_node *n = pfs_graph_root();
	int rc = copy ? 0 : -ENOMEM;
	for (char *c = copy ? strtok_r(copy, "/", &save) : NULL; c && rc == 0;
	     c = strtok_r(NULL, "/", &save)) {
		struct pfs_entry *e = pfs_node_entry(n, c);
		if (e)
			n = pfs_entry_node(e);
		else
			rc = pfs_node_mkdir(n, c, NULL, &n);
	}
	free(copy);
	char why[PFS_LOG_LINE] = "";
	if (rc == -EINVAL)
		last_logged(why, sizeof(why));
	if (rc)
		fprintf(stderr, "pipesfs: -g %s: %s\n", path, why[0] ? why : strerror(-rc));
	return rc;
}

/* Is mnt the root of a FUSE mount already (pipesfs mounted there)?  A
 * second mount would hide the first, and take two unmounts to undo. */
static bool fuse_mounted(const char *mnt)
{
	struct statx sx;
	struct statfs sf;
	return statx(AT_FDCWD, mnt, 0, STATX_BASIC_STATS, &sx) == 0 &&
	       (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) &&
	       statfs(mnt, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

static int setup_config(const struct options *o)
{
	static char mnt[PATH_MAX];
	struct stat st;
	int err = !realpath(o->mountpoint, mnt) || stat(mnt, &st) != 0 ? errno
		  : !S_ISDIR(st.st_mode) ? ENOTDIR : fuse_mounted(mnt) ? EBUSY : 0;
	if (err) {
		fprintf(stderr, "pipesfs: mount point %s: %s%s\n", o->mountpoint,
			err == EBUSY ? "already a FUSE mount" : strerror(err),
			err == ENOENT ? " (make the directory first)"
			: err == EBUSY || err == ENOTCONN ? " (fusermount3 -u it first)" : "");
		return -1;
	}
	fs_cfg.mountpoint = mnt;
	fs_cfg.uid = getuid();
	fs_cfg.gid = getgid();
	fs_cfg.dir_mode = 0750;
	fs_cfg.file_mode = 0640;
	if (o->group) {
		struct group *gr = getgrnam(o->group);
		if (!gr) {
			fprintf(stderr, "pipesfs: --group %s: no such group\n", o->group);
			return -1;
		}
		fs_cfg.gid = gr->gr_gid;
	}
	clock_gettime(CLOCK_REALTIME, &fs_cfg.mounted);
	return 0;
}

/* With allow_other, the kernel checks permissions from mode bits. */
static bool allows_others(const struct options *o)
{
	for (size_t i = 0; i < o->nfuse_opts; i++)
		if (strstr(o->fuse_opts[i], "allow_other"))
			return true;
	return false;
}

static struct fuse_session *make_session(const struct options *o, const char *argv0)
{
	struct fuse_args fargs = FUSE_ARGS_INIT(0, NULL);
	fs_cfg.allow_other = allows_others(o);
	bool ok = fuse_opt_add_arg(&fargs, argv0) == 0 &&
		  fuse_opt_add_arg(&fargs, "-ofsname=pipesfs,subtype=pipesfs") == 0 &&
		  (!allows_others(o) || fuse_opt_add_arg(&fargs, "-odefault_permissions") == 0) &&
		  (!o->debug || fuse_opt_add_arg(&fargs, "-d") == 0);
	for (size_t i = 0; ok && i < o->nfuse_opts; i++)
		ok = fuse_opt_add_arg(&fargs, "-o") == 0 &&
		     fuse_opt_add_arg(&fargs, o->fuse_opts[i]) == 0;
	struct fuse_session *se = ok ? fuse_session_new(&fargs, &fs_ops, sizeof(fs_ops), NULL)
				     : NULL;
	fuse_opt_free_args(&fargs);
	if (se && fuse_session_mount(se, fs_cfg.mountpoint) != 0) {
		fuse_session_destroy(se);
		se = NULL;
	}
	return se;
}

/* Fork into the background now, before DPDK or any thread starts.  The
 * parent waits for the child's word that the mount is up (or why not) and
 * exits with it, so errors still reach the terminal and the exit status. */
static int fork_to_background(void)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char status = 1;
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

/* Tell the waiting parent its exit status; detach from the terminal. */
static void report(int status_fd, int status)
{
	if (status_fd < 0)
		return;
	char byte = (char)status;
	if (write(status_fd, &byte, 1) != 1 || status)
		return;
	close(status_fd);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	if (chdir("/") != 0)
		pfs_log("chdir /: %s", strerror(errno));
}

/* After the fork: DPDK's EAL if a source needs it, then every source's
 * device. */
static int start_sources(const struct options *o, struct pfs_source **sources)
{
	char err[SOURCE_ERR_LEN];
	int rc = pfs_sources_start(sources, o->nsources, o->eal, err, sizeof(err));
	/* DPDK's own words, when it said why (its getopt names us too). */
	const char *said = pfs_eal_said();
	if (!strncmp(said, "pipesfs: ", 9))
		said += 9;
	if (rc && said[0])
		fprintf(stderr, "pipesfs: %s; DPDK said: %s (%spipesfs -d shows all it said)\n",
			err, said, o->eal ? "check --eal; " : "");
	else if (rc)
		fprintf(stderr, "pipesfs: %s\n", err);
	return rc;
}

/* Sources and -g paths into the graph. */
static int build_graph(const struct options *o, struct pfs_source **sources)
{
	int rc = 0;
	pfs_graph_lock();
	for (size_t i = 0; i < o->nsources && rc == 0; i++) {
		rc = pfs_source_add_node(sources[i]);
		if (rc)
			fprintf(stderr, "pipesfs: -s %s: the name '%s' is taken or not allowed\n",
				o->sources[i], sources[i]->name);
	}
	for (size_t i = 0; i < o->ngraph && rc == 0; i++)
		rc = make_path(o->graph[i]);
	pfs_graph_unlock();
	return rc;
}

/* The device of what is mounted at mountpoint now, 0 if nothing can be
 * stat'ed there.  AT_STATX_DONT_SYNC: the device comes from the mount's
 * superblock and no FUSE daemon is asked (ours included, which may be the
 * one that would have to answer).  Not /proc/self/mountinfo: a read of it
 * while other mounts come and go can miss lines, and a mount missed so
 * once made a daemon stop serving a mount that was there. */
static dev_t mount_dev(const char *mountpoint)
{
	struct statx sx;
	if (statx(AT_FDCWD, mountpoint, AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) != 0)
		return 0;
	return makedev(sx.stx_dev_major, sx.stx_dev_minor);
}

/* Cut the connection, as `echo 1 > /sys/fs/fuse/connections/N/abort`
 * (mounting fusectl there if nobody has): every request still open, from
 * readers of a detached mount, ends at once. */
static void abort_connection(int conn)
{
	char path[64];
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%d/abort", conn);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL) == 0)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1)
		pfs_log("cannot abort FUSE connection %d: %s", conn, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * `fusermount3 -u -z` under load detaches the mount, but open files keep
 * the connection, and a reader of a live source would keep the daemon
 * alive for ever.  Once the mount is gone, stop serving: readers then get
 * ENOTCONN and the daemon exits as after a plain unmount.
 */
static struct {
	pthread_t loop_thread;
	dev_t dev;		/* our mount's device: its minor is our FUSE
				 * connection's number */
	bool stop;		/* the loop has ended: stop watching */
	bool detached;		/* the mount went away under us */
} watch;

/* The mount point is looked at again when the kernel says the mount table
 * changed (mountinfo polls POLLPRI, see proc(5)), and every 200 ms where
 * it cannot say. */
static void *watch_mount(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "pfs-mountwatch");
	struct pollfd p = { .fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC),
			    .events = POLLPRI };
	bool changed = true;
	while (watch.dev && !__atomic_load_n(&watch.stop, __ATOMIC_ACQUIRE)) {
		if (changed && mount_dev(fs_cfg.mountpoint) != watch.dev) {
			pfs_log("%s was unmounted: stopping", fs_cfg.mountpoint);
			__atomic_store_n(&watch.detached, true, __ATOMIC_RELEASE);
			/* libfuse's handler ends the loop that thread waits in */
			pthread_kill(watch.loop_thread, SIGTERM);
			break;
		}
		/* The wait also bounds how late a stop is seen. */
		changed = p.fd < 0 || poll(&p, 1, 200) != 0;
	}
	if (p.fd >= 0)
		close(p.fd);
	return NULL;
}

static int serve(struct fuse_session *se, const struct options *o,
		 struct pfs_source **sources)
{
	pthread_t watcher;
	watch.loop_thread = pthread_self();
	watch.dev = mount_dev(fs_cfg.mountpoint);
	int rc = fs_park_start();
	bool watching = rc == 0 && pthread_create(&watcher, NULL, watch_mount, NULL) == 0;
	/* Without its socket the mount still serves files: log says why. */
	bool clients = rc == 0 && fs_clients_start() == 0;
	for (size_t i = 0; i < o->nsources && rc == 0; i++)
		rc = pfs_source_launch(sources[i]);
	pfs_log("mounted on %s with %zu source(s)", fs_cfg.mountpoint, o->nsources);
	struct fuse_loop_config loop = { .clone_fd = 0, .max_idle_threads = 16 };
	if (rc == 0)
		rc = fuse_session_loop_mt(se, &loop);
	/* The watcher is joined before the signal handlers go, so its signal
	 * can never meet the default action. */
	__atomic_store_n(&watch.stop, true, __ATOMIC_RELEASE);
	if (watching)
		pthread_join(watcher, NULL);
	if (clients)
		fs_clients_stop();
	/* Unmounted lazily: a clean end.  With the connection cut, libfuse
	 * knows there is nothing left to unmount. */
	if (watch.detached) {
		rc = 0;
		abort_connection((int)minor(watch.dev));
	}
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	return rc;
}

static void options_free(struct options *o)
{
	free(o->sources);
	free(o->graph);
	free(o->fuse_opts);
}

int main(int argc, char **argv)
{
	rlim_t nofile_was = raise_nofile();	/* before anything opens a file */
	/* libfuse gives each worker thread a request buffer of about 1 MiB,
	 * and workers come and go with readers.  With glibc's sliding mmap
	 * threshold, freed buffers raise it, later ones come from the
	 * per-thread arenas, and the arenas fragment: the heap grew without
	 * end under reader churn (t_soak).  A fixed threshold keeps every
	 * such buffer an mmap of its own, returned to the system when freed. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	struct options o = { 0 };
	if (parse_args(argc, argv, &o) || setup_config(&o)) {
		options_free(&o);
		return EXIT_USAGE;
	}
	pfs_log_to_stderr(o.debug);
	log_limits(nofile_was, o.ring_bytes);
	pfs_sources_set_workers(o.workers);
	if (pfs_graph_init(o.ring_bytes, o.ring_budget) != 0) {
		options_free(&o);
		return 1;
	}
	struct pfs_source **sources = calloc(o.nsources + 1, sizeof(*sources));
	int status = sources ? 0 : 1;
	/* Files open (and interfaces are checked) before the fork: relative
	 * paths work, and mistakes are reported at once. */
	for (size_t i = 0; i < o.nsources && status == 0; i++)
		status = make_source(o.sources[i], &sources[i]);
	if (status == 0)
		status = check_paths(&o, sources);
	if (status == 0)
		status = check_eal(&o, sources);
	int status_fd = status || o.foreground ? -1 : fork_to_background();
	/* Every thread, DPDK's included, starts after the fork. */
	pfs_graph_thread_register();
	struct fuse_session *se = NULL;
	if (status == 0 && start_sources(&o, sources) != 0)
		status = 1;
	if (status == 0 && build_graph(&o, sources) != 0)
		status = EXIT_USAGE;
	if (status == 0 && (!(se = make_session(&o, argv[0])) || fuse_set_signal_handlers(se)))
		status = 1;
	report(status_fd, status);
	int rc = status ? status : serve(se, &o, sources) ? 1 : 0;
	for (size_t i = 0; sources && i < o.nsources; i++)
		pfs_source_free(sources[i]);
	free(sources);
	options_free(&o);
	if (se) {
		fs_park_stop();
		fs_open_release_all();
	}
	pfs_graph_fini();
	pfs_graph_thread_unregister();
	if (se)
		fuse_session_destroy(se);
	return rc;
}
