/* SPDX-License-Identifier: BSD-3-Clause
 * DPDK's EAL on demand (see eal.h).
 */
#include "filters/eal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "filters/log.h"

#define BASE_MB 64		/* without hugepages: rte_malloc users (bpf) */

/* A growing, NULL-terminated list of words, each its own copy. */
struct words {
	char **v;
	int n, cap;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int state = 1;			/* 1: not tried; 0: running; -errno */
static char runtime_dir[PATH_MAX];
static struct words eal_argv;		/* kept until exit: EAL may point into it */
static char **eal_argv_given;		/* what EAL got: it reorders the array */

/*
 * What DPDK prints goes to the daemon's log, not to the user's terminal:
 * its log messages through a stream of ours, and what EAL prints itself
 * while it starts (getopt's complaints, its usage text) through a file
 * that stdout and stderr point to meanwhile.  The first error is kept, for
 * a one-line summary (pfs_eal_said).
 */
static struct {
	pthread_mutex_t lock;	/* first_error: any thread may log */
	char first_error[PFS_LOG_LINE];
	bool capturing;		/* stdout and stderr go to files */
} said = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* While captured, a log message goes to stderr's file too, marked, so
 * that what DPDK said stays in the order it said it (the log may copy
 * itself to stderr, and would read itself back). */
#define MARK '\001'

static void heard(const char *line, bool error)
{
	if (!line[0])
		return;
	pfs_log("DPDK: %s", line);
	pthread_mutex_lock(&said.lock);
	if (error && !said.first_error[0])
		snprintf(said.first_error, sizeof(said.first_error), "%s", line);
	pthread_mutex_unlock(&said.lock);
}

/* DPDK's log stream. */
static ssize_t log_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	bool error = rte_log_cur_msg_loglevel() <= (int)RTE_LOG_ERR;
	char *text = strndup(buf, size);
	for (char *save = NULL, *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save))
		if (said.capturing)
			dprintf(2, "%c%c%s\n", MARK, error ? 'E' : 'I', l);
		else
			heard(l, error);
	free(text);
	return (ssize_t)size;
}

static FILE *log_stream(void)
{
	static FILE *f;
	if (!f && (f = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = log_write })))
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/* Where stdout and stderr (descriptors 1 and 2) go while EAL starts. */
struct capture {
	int file[3];		/* [1], [2]: files they go to, or -1 */
	int saved[3];		/* [1], [2]: what they were, or -1 */
};

static void capture_begin(struct capture *c)
{
	fflush(stdout);
	fflush(stderr);
	said.capturing = true;
	for (int fd = 1; fd <= 2; fd++) {
		c->file[fd] = memfd_create("pipesfs-eal-output", MFD_CLOEXEC);
		c->saved[fd] = c->file[fd] < 0 ? -1 : dup(fd);
		if (c->saved[fd] < 0 || dup2(c->file[fd], fd) != fd)
			said.capturing = false;
	}
}

/* What was printed into descriptor fd's file, into the log. */
static void captured(struct capture *c, int fd, bool error)
{
	FILE *f = c->file[fd] >= 0 && lseek(c->file[fd], 0, SEEK_SET) == 0
		  ? fdopen(c->file[fd], "r") : NULL;
	char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == MARK && line[1])
			heard(line + 2, line[1] == 'E');
		else
			heard(line, error);
	}
	free(line);
	if (f)
		fclose(f);
	else if (c->file[fd] >= 0)
		close(c->file[fd]);
}

/* Back to the terminal, and what was said meanwhile into the log: what
 * went to stderr (getopt's complaint about a bad --eal word, DPDK's
 * messages), an error when EAL failed; then stdout (EAL's usage text). */
static void capture_end(struct capture *c, bool failed)
{
	fflush(stdout);
	fflush(stderr);
	for (int fd = 1; fd <= 2; fd++)
		if (c->saved[fd] >= 0) {
			dup2(c->saved[fd], fd);
			close(c->saved[fd]);
		}
	said.capturing = false;
	captured(c, 2, failed);
	captured(c, 1, false);
}

const char *pfs_eal_said(void)
{
	pthread_mutex_lock(&said.lock);
	const char *first = said.first_error;
	pthread_mutex_unlock(&said.lock);
	return first;
}

static int push(struct words *w, const char *word)
{
	if (w->n + 1 >= w->cap) {
		int cap = w->cap ? 2 * w->cap : 16;
		char **v = realloc(w->v, (size_t)cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	if (!(w->v[w->n] = strdup(word)))
		return -ENOMEM;
	w->v[++w->n] = NULL;
	return 0;
}

static void words_free(struct words *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	*w = (struct words){ 0 };
}

/* The user's --eal string, split at blanks. */
static int split(const char *s, struct words *w)
{
	char *copy = strdup(s ? s : ""), *save = NULL;
	int rc = copy ? 0 : -ENOMEM;
	for (char *t = copy ? strtok_r(copy, " \t", &save) : NULL; t && rc == 0;
	     t = strtok_r(NULL, " \t", &save))
		rc = push(w, t);
	free(copy);
	return rc;
}

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
static bool has_opt(int argc, char *const *args, const char *const *names)
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
	words_free(&eal_argv);
	free(eal_argv_given);
}

/* The sources' device words, less their `-m MB`, which add up into *mb. */
static int add_devices(struct words *a, int ndevs, char *const *devs, long *mb)
{
	int rc = 0;
	for (int i = 0; i < ndevs && rc == 0; i++) {
		if (strcmp(devs[i], "-m") == 0 && i + 1 < ndevs)
			*mb += strtol(devs[++i], NULL, 10);
		else
			rc = push(a, devs[i]);
	}
	return rc;
}

/* Push every word of a NULL-terminated list. */
static int push_all(struct words *a, const char *const *list)
{
	int rc = 0;
	for (; *list && rc == 0; list++)
		rc = push(a, *list);
	return rc;
}

/* Our words, the devices', the user's (see eal.h). */
static int build(struct words *a, int ndevs, char *const *devs,
		 const struct words *user, const cpu_set_t *cpus)
{
	static const char *const allow[] = { "-a", "--allow", "-b", "--block", NULL };
	static const char *const lcores[] = { "-l", "-c", "--lcores", NULL };
	static const char *const memory[] = { "-m", "--socket-mem", NULL };
	static const char *const huge[] = { "--in-memory", NULL };	/* no hugepage files */
	static const char *const no_huge[] = { "--no-huge", "--no-shconf", NULL };
	char prefix[64], mem[32], lcore[32];
	long mb = BASE_MB;

	snprintf(prefix, sizeof prefix, "--file-prefix=pipesfs-%d", (int)getpid());
	const char *const ours[] = { "pipesfs", prefix, "--no-telemetry",
				     "--log-level=lib.*:error", NULL };
	int rc = push_all(a, ours);
	if (rc == 0)
		rc = add_devices(a, ndevs, devs, &mb);
	bool hugepages = hugepages_free();
	if (rc == 0)
		rc = push_all(a, hugepages ? huge : no_huge);
	snprintf(mem, sizeof mem, "%ld", mb);
	const char *const memory_words[] = { "-m", mem, NULL };
	if (rc == 0 && !hugepages && !has_opt(user->n, user->v, memory))
		rc = push_all(a, memory_words);
	if (rc == 0 && !has_opt(a->n, a->v, allow) && !has_opt(user->n, user->v, allow))
		rc = push(a, "--no-pci");
	/* Without lcores named, EAL would start a thread on every core. */
	snprintf(lcore, sizeof lcore, "-l%d", first_cpu(cpus));
	if (rc == 0 && !has_opt(user->n, user->v, lcores))
		rc = push(a, lcore);
	for (int i = 0; i < user->n && rc == 0; i++)
		rc = push(a, user->v[i]);
	return rc;
}

static int start(int ndevs, char *const *devs, const char *user_words)
{
	struct words user = { 0 };
	cpu_set_t cpus;

	if (pthread_getaffinity_np(pthread_self(), sizeof cpus, &cpus) != 0)
		return -EIO;
	int rc = split(user_words, &user);
	if (rc == 0)
		rc = build(&eal_argv, ndevs, devs, &user, &cpus);
	words_free(&user);
	if (rc) {
		words_free(&eal_argv);
		return rc;
	}
	/* EAL permutes the array it is given (getopt), so it gets a copy and
	 * the strings are freed from ours.  On failure both stay: EAL may
	 * point into them still. */
	eal_argv_given = malloc(((size_t)eal_argv.n + 1) * sizeof(char *));
	if (!eal_argv_given) {
		words_free(&eal_argv);
		return -ENOMEM;
	}
	memcpy(eal_argv_given, eal_argv.v, ((size_t)eal_argv.n + 1) * sizeof(char *));
	rte_openlog_stream(log_stream());
	struct capture c;
	capture_begin(&c);
	rc = rte_eal_init(eal_argv.n, eal_argv_given);
	capture_end(&c, rc < 0);
	/* EAL pins its caller to the main lcore; our caller is no worker. */
	pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
	if (rc < 0)
		return rte_errno > 0 ? -rte_errno : -EIO;
	snprintf(runtime_dir, sizeof runtime_dir, "%s", rte_eal_get_runtime_dir());
	atexit(cleanup);
	return 0;
}

int pfs_eal_init(int ndevs, char *const *devs, const char *user)
{
	pthread_mutex_lock(&lock);
	if (state > 0)	/* someone may have started EAL outside this file */
		state = rte_lcore_count() > 0 ? 0 : start(ndevs, devs, user);
	int rc = state;
	pthread_mutex_unlock(&lock);
	return rc;
}
