/* SPDX-License-Identifier: BSD-3-Clause
 * DPDK's EAL on demand: started at most once per process, by the first
 * thing that needs it (rte_bpf_convert() allocates with rte_malloc), so a
 * mount that replays files never starts it unless a stage needs it.
 */
#ifndef FILTERS_EAL_H
#define FILTERS_EAL_H

/*
 * Start EAL if it is not running yet; thread-safe and idempotent.  The
 * arguments are ours (a private file prefix, no telemetry, quiet logs; no
 * shared files: `--no-huge --no-shconf -m 64` without free hugepages,
 * `--in-memory` with them; `--no-pci` unless the extra arguments allow a
 * device; one lcore, the caller's first CPU, unless they name lcores),
 * then the argc extra arguments.  The extra arguments of any call after
 * the first are ignored.  Returns 0 if EAL runs (started now, earlier, or
 * by someone else), -errno if it cannot start (for the rest of the
 * process's life: EAL cannot be retried).  EAL is cleaned up at exit.
 */
int pfs_eal_init(int argc, char **argv_extra);

#endif
