/* SPDX-License-Identifier: BSD-3-Clause
 * Filter specs from mkdir and `filter` writes, parsed on a thread of their
 * own: a bpf= expression can take seconds to compile, and the user who
 * typed it may give up (Ctrl-C).  The request then ends with EINTR at
 * once, and the stage is thrown away when the compile ends.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/log.h"
#include "fs/fs.h"

/* How often a waiting request looks for an interrupt. */
#define INTERRUPT_POLL_NS (20 * 1000 * 1000)

/* Parses at once: more wait their turn, and one given up meanwhile is
 * never started, so Ctrl-C'd compiles cannot pile up on the CPUs. */
#define PARSES_AT_ONCE 2
static struct {
	pthread_mutex_t lock;
	pthread_cond_t free;
	unsigned running;
} turns = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

struct parse_job {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	char *spec;
	bool dirname;
	struct pfs_stage *st;
	bool done;		/* the parse has ended */
	bool abandoned;		/* nobody waits for it any more */
};

static void job_free(struct parse_job *j)
{
	pthread_cond_destroy(&j->done_cond);
	pthread_mutex_destroy(&j->lock);
	free(j->spec);
	free(j);
}

static bool abandoned(struct parse_job *j)
{
	pthread_mutex_lock(&j->lock);
	bool gone = j->abandoned;
	pthread_mutex_unlock(&j->lock);
	return gone;
}

/* The job's turn: false if it was given up while it waited. */
static bool turn_take(struct parse_job *j)
{
	pthread_mutex_lock(&turns.lock);
	while (turns.running == PARSES_AT_ONCE && !abandoned(j))
		pthread_cond_wait(&turns.free, &turns.lock);
	bool go = !abandoned(j);
	turns.running += go;
	pthread_mutex_unlock(&turns.lock);
	return go;
}

static void turn_give(void)
{
	pthread_mutex_lock(&turns.lock);
	turns.running--;
	pthread_cond_broadcast(&turns.free);
	pthread_mutex_unlock(&turns.lock);
}

static void *parse(void *arg)
{
	struct parse_job *j = arg;
	struct pfs_stage *st = NULL;
	if (turn_take(j)) {
		st = pfs_stage_parse(j->spec, j->dirname);
		turn_give();
	}
	pthread_mutex_lock(&j->lock);
	j->st = st;
	j->done = true;
	bool abandoned = j->abandoned;
	pthread_cond_signal(&j->done_cond);
	pthread_mutex_unlock(&j->lock);
	if (abandoned) {
		pfs_stage_free(st);
		job_free(j);
	}
	return NULL;
}

static struct parse_job *job_start(const char *spec, bool dirname)
{
	struct parse_job *j = calloc(1, sizeof(*j));
	if (!j || !(j->spec = strdup(spec))) {
		free(j);
		return NULL;
	}
	j->dirname = dirname;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->done_cond, NULL);
	pthread_attr_t attr;
	pthread_t thread;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&thread, &attr, parse, j);
	pthread_attr_destroy(&attr);
	if (rc) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* Wait for the job, or for req to be interrupted (then leave the job to
 * free itself).  Returns true when the parse ended. */
static bool job_wait(struct parse_job *j, fuse_req_t req)
{
	pthread_mutex_lock(&j->lock);
	while (!j->done && !fuse_req_interrupted(req)) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += INTERRUPT_POLL_NS;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&j->done_cond, &j->lock, &t);
	}
	bool done = j->done;
	j->abandoned = !done;
	pthread_mutex_unlock(&j->lock);
	if (!done) {	/* wake it if it waits for its turn: it ends at once */
		pthread_mutex_lock(&turns.lock);
		pthread_cond_broadcast(&turns.free);
		pthread_mutex_unlock(&turns.lock);
	}
	return done;
}

int fs_spec_parse(fuse_req_t req, const char *spec, bool dirname, struct pfs_stage **st)
{
	struct parse_job *j = job_start(spec, dirname);
	if (!j)
		return -ENOMEM;
	if (!job_wait(j, req)) {
		pfs_log("'%.64s': interrupted while being set up: not applied", spec);
		return -EINTR;
	}
	*st = j->st;
	job_free(j);
	return *st ? 0 : -EINVAL;
}
