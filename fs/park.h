/* SPDX-License-Identifier: BSD-3-Clause
 * Parked requests: a read or poll with nothing to answer yet does not hold
 * a thread.  Its owner puts it on the parker's list; the parker owns an
 * eventfd that the rings (and anything else that may end the wait, such as
 * a FUSE interrupt) write, and on each wakeup asks every parked item to
 * answer what it can.  The parker knows nothing of what it parks.
 */
#ifndef FS_PARK_H
#define FS_PARK_H

#include <stdbool.h>

struct fs_parked {
	/* Answer what can be answered now (called without the parker's
	 * lock); true once nothing is parked any more. */
	bool (*retry)(struct fs_parked *p);
	/* The parker's reference, taken by fs_park_add's caller, let go. */
	void (*put)(struct fs_parked *p);
	bool on_list;			/* the owner's lock */
};

int fs_park_start(void);
void fs_park_stop(void);	/* every item still parked is put */

/* The eventfd the parker waits on: what a parked item listens with. */
int fs_park_eventfd(void);

/* Park p, with a reference the caller took for the parker, unless it is
 * parked already (then the reference is put at once).  Called with the
 * owner's lock held; wakes the parker, which retries soon. */
void fs_park_add(struct fs_parked *p);

/* Make the parker retry everything soon.  Async-signal and lock free. */
void fs_park_kick(void);

#endif
