/* SPDX-License-Identifier: BSD-3-Clause
 * DPDK's EAL on demand (see eal.h).
 */
#include "eal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#define MAX_EXTRA 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int state = 1;			/* 1: not tried; 0: running; -errno */
static char runtime_dir[PATH_MAX];

static bool hugepages_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = 0;

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n > 0;
}

/* Is any of the options `names` (NULL-terminated) among args, alone or
 * with its value attached (`-l0`, `--lcores=0`)? */
static bool has_opt(int argc, char **args, const char *const *names)
{
	for (int i = 0; i < argc; i++)
		for (const char *const *n = names; *n; n++) {
			size_t len = strlen(*n);
			if (!strncmp(args[i], *n, len) &&
			    (!args[i][len] || (*n)[1] != '-' || args[i][len] == '='))
				return true;
		}
	return false;
}

static int first_cpu(const cpu_set_t *cpus)
{
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, cpus))
			return i;
	return 0;
}

static void cleanup(void)
{
	rte_eal_cleanup();
	rmdir(runtime_dir);	/* EAL leaves its (by now empty) runtime directory */
}

static int start(int argc, char **extra)
{
	static const char *const allow[] = { "-a", "--allow", "-b", "--block", NULL };
	static const char *const lcores[] = { "-l", "-c", "--lcores", NULL };
	static const char *const memory[] = { "-m", "--socket-mem", NULL };
	/* EAL may keep pointers into its arguments: they outlive the call. */
	static char prefix[64], lcore[32], *argv[MAX_EXTRA + 16];
	cpu_set_t cpus;
	int n = 0;

	if (argc < 0 || argc > MAX_EXTRA)
		return -E2BIG;
	snprintf(prefix, sizeof prefix, "--file-prefix=pipesfs-%d", (int)getpid());
	argv[n++] = "pipesfs";
	argv[n++] = prefix;
	argv[n++] = "--no-telemetry";
	argv[n++] = "--log-level=lib.*:error";
	if (hugepages_free()) {
		argv[n++] = "--in-memory";	/* no hugepage files left behind */
	} else {
		argv[n++] = "--no-huge";
		argv[n++] = "--no-shconf";
		if (!has_opt(argc, extra, memory)) {
			argv[n++] = "-m";
			argv[n++] = "64";
		}
	}
	if (!has_opt(argc, extra, allow))
		argv[n++] = "--no-pci";
	if (pthread_getaffinity_np(pthread_self(), sizeof cpus, &cpus) != 0)
		return -EIO;
	/* Without lcores named, EAL would start a thread on every core. */
	if (!has_opt(argc, extra, lcores)) {
		snprintf(lcore, sizeof lcore, "-l%d", first_cpu(&cpus));
		argv[n++] = lcore;
	}
	for (int i = 0; i < argc; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	int rc = rte_eal_init(n, argv);
	/* EAL pins its caller to the main lcore; our caller is no worker. */
	pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
	if (rc < 0)
		return rte_errno > 0 ? -rte_errno : -EIO;
	snprintf(runtime_dir, sizeof runtime_dir, "%s", rte_eal_get_runtime_dir());
	atexit(cleanup);
	return 0;
}

int pfs_eal_init(int argc, char **argv_extra)
{
	pthread_mutex_lock(&lock);
	if (state > 0)	/* a live source may have started EAL itself */
		state = rte_lcore_count() > 0 ? 0 : start(argc, argv_extra);
	int rc = state;
	pthread_mutex_unlock(&lock);
	return rc;
}
