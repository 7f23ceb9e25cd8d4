/* SPDX-License-Identifier: BSD-3-Clause
 * pipesfs: live packet streams and filter stages as files.  See README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "source.h"

#define MAX_SOURCES 32
#define MAX_GRAPH_PATHS 64

struct options {
	const char *sources[MAX_SOURCES];
	int nsources;
	const char *graph[MAX_GRAPH_PATHS];
	int ngraph;
	uint64_t ring_bytes;
	const char *mountpoint;
	const char *group;
	int foreground, debug;
	char fuse_opts[1024];
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: pipesfs [options] MOUNTPOINT\n"
"\n"
"Live packet streams and filter stages as files and directories.\n"
"\n"
"  -s, --source SPEC   add a source (repeatable):\n"
"        pcap:FILE[,name=DIR][,loop][,start=now]   replay a pcap or pcapng file\n"
"        iface:NAME[,name=DIR]                     live capture (not built yet)\n"
"        dpdk:DEVARGS[,name=DIR]                   any DPDK device (not built yet)\n"
"  -g, --graph PATH    create this node path (like mkdir -p) at start; repeatable\n"
"      --ring-size N   data ring size per producer (default 64M; K, M, G)\n"
"      --group NAME    with -o allow_other: let this group read\n"
"  -f                  stay in the foreground\n"
"  -d                  debug: foreground, log to stderr, FUSE debug output\n"
"  -o OPT[,OPT...]     FUSE mount options (allow_other, ...)\n"
"  -h, --help          this text;  -V, --version  the version\n"
"\n"
"Every node directory holds all, new, pcap, filter and stats; `mkdir NODE/SPEC`\n"
"adds a stage (ip ip6 arp vlan tcp udp icmp icmp6 port=N host=A net=CIDR, or\n"
"a plain name for a pass-through node).  `fusermount3 -u MOUNTPOINT` unmounts.\n");
}

/* 64M, 512K, 1G, or plain bytes; a power of two of at least 64K. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20
		  : *end == 'G' || *end == 'g' ? 30 : 0;
	if (shift)
		end++;
	if (errno || end == s || *end || v == 0 || v > (1ull << 40) >> shift)
		return -EINVAL;
	v <<= shift;
	if (v < 65536 || (v & (v - 1)))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "graph", required_argument, NULL, 'g' },
		{ "ring-size", required_argument, NULL, 'r' },
		{ "group", required_argument, NULL, 'G' },
		{ "workers", required_argument, NULL, 'w' },
		{ "eal", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	o->ring_bytes = 64ull << 20;
	while ((c = getopt_long(argc, argv, "s:g:fdo:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (o->nsources == MAX_SOURCES)
				return fprintf(stderr, "pipesfs: too many sources\n"), -1;
			o->sources[o->nsources++] = optarg;
			break;
		case 'g':
			if (o->ngraph == MAX_GRAPH_PATHS)
				return fprintf(stderr, "pipesfs: too many -g paths\n"), -1;
			o->graph[o->ngraph++] = optarg;
			break;
		case 'r':
			if (parse_size(optarg, &o->ring_bytes))
				return fprintf(stderr, "pipesfs: --ring-size %s: want a power of two"
					       " of at least 64K (e.g. 64M)\n", optarg), -1;
			break;
		case 'G': o->group = optarg; break;
		case 'w':
		case 'e':
			break;	/* live capture options: accepted, used by live sources */
		case 'f': o->foreground = 1; break;
		case 'd': o->foreground = o->debug = 1; break;
		case 'o':
			if (strlen(o->fuse_opts) + strlen(optarg) + 2 > sizeof(o->fuse_opts))
				return fprintf(stderr, "pipesfs: -o options too long\n"), -1;
			if (o->fuse_opts[0])
				strcat(o->fuse_opts, ",");
			strcat(o->fuse_opts, optarg);
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("pipesfs 0.1\n"); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "pipesfs: %s\n", optind < argc ? "one MOUNTPOINT only"
							  : "no MOUNTPOINT given");
		usage(stderr);
		return -1;
	}
	o->mountpoint = argv[optind];
	return 0;
}

static struct pfs_source *make_source(const char *spec)
{
	char err[PFS_ERR_LEN] = "";
	struct pfs_source *s = NULL;
	if (strncmp(spec, "pcap:", 5) == 0)
		s = pfs_source_pcap_new(spec + 5, err, sizeof(err));
	else if (strncmp(spec, "iface:", 6) == 0 || strncmp(spec, "dpdk:", 5) == 0)
		snprintf(err, sizeof(err), "live capture is not built yet; replay a "
			 "capture file with pcap:FILE");
	else
		snprintf(err, sizeof(err), "unknown source kind (pcap:, iface:, dpdk:)");
	if (!s)
		fprintf(stderr, "pipesfs: -s %s: %s\n", spec, err);
	return s;
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
			n = e->node;
		else
			rc = pfs_node_mkdir(n, c, &n);
	}
	free(copy);
	if (rc)
		fprintf(stderr, "pipesfs: -g %s: %s\n", path, strerror(-rc));
	return rc;
}

static int setup_config(const struct options *o)
{
	static char mnt[PATH_MAX];
	if (!realpath(o->mountpoint, mnt)) {
		fprintf(stderr, "pipesfs: %s: %s\n", o->mountpoint, strerror(errno));
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

static struct fuse_session *make_session(const struct options *o, const char *argv0)
{
	char opts[1200];
	snprintf(opts, sizeof(opts), "fsname=pipesfs,subtype=pipesfs%s%s%s",
		 o->fuse_opts[0] ? "," : "", o->fuse_opts,
		 strstr(o->fuse_opts, "allow_other") ? ",default_permissions" : "");
	char *args[] = { (char *)argv0, "-o", opts, o->debug ? "-d" : NULL, NULL };
	struct fuse_args fargs = FUSE_ARGS_INIT(o->debug ? 4 : 3, args);
	struct fuse_session *se = fuse_session_new(&fargs, &fs_ops, sizeof(fs_ops), NULL);
	if (se && fuse_session_mount(se, fs_cfg.mountpoint) != 0) {
		fuse_session_destroy(se);
		se = NULL;
	}
	return se;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct pfs_source *sources[MAX_SOURCES] = { 0 };
	if (parse_args(argc, argv, &o) || setup_config(&o))
		return 2;
	pfs_log_to_stderr(o.debug);
	if (pfs_graph_init(o.ring_bytes) != 0)
		return 1;
	int rc = 0;
	pfs_graph_lock();
	for (int i = 0; i < o.nsources && rc == 0; i++) {
		sources[i] = make_source(o.sources[i]);
		rc = !sources[i] ? -EINVAL : pfs_graph_add_source(sources[i]);
		if (rc && sources[i])
			fprintf(stderr, "pipesfs: -s %s: a source named '%s' exists already\n",
				o.sources[i], sources[i]->name);
	}
	for (int i = 0; i < o.ngraph && rc == 0; i++)
		rc = make_path(o.graph[i]);
	pfs_graph_unlock();

	struct fuse_session *se = rc ? NULL : make_session(&o, argv[0]);
	if (se && fuse_set_signal_handlers(se) == 0 && fuse_daemonize(o.foreground) == 0) {
		/* Every thread starts after the fork into the background. */
		rcu_register_thread();
		rcu_thread_offline();
		rc = fs_park_start();
		for (int i = 0; i < o.nsources && rc == 0; i++)
			rc = pfs_source_launch(sources[i]);
		pfs_log("mounted on %s with %d source(s)", fs_cfg.mountpoint, o.nsources);
		struct fuse_loop_config loop = { .clone_fd = 0, .max_idle_threads = 16 };
		if (rc == 0)
			rc = fuse_session_loop_mt(se, &loop);
		fuse_session_unmount(se);
		fuse_remove_signal_handlers(se);
		for (int i = 0; i < o.nsources; i++)
			pfs_source_free(sources[i]);
		fs_park_stop();
		pfs_graph_lock();
		pfs_graph_fini();
		pfs_graph_unlock();
		rcu_unregister_thread();
	} else {
		rc = rc ? rc : -EIO;
	}
	if (se)
		fuse_session_destroy(se);
	return rc ? 1 : 0;
}
