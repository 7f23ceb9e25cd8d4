/* SPDX-License-Identifier: BSD-3-Clause
 * DPDK's EAL on demand: started at most once per process, by the first
 * thing that needs it (the live sources, after the fork; or a bpf stage:
 * rte_bpf_convert() allocates with rte_malloc), so a mount that replays
 * files never starts it unless a stage needs it.  This is the one place
 * that builds EAL's arguments.
 */
#ifndef FILTERS_EAL_H
#define FILTERS_EAL_H

/*
 * Start EAL if it is not running yet; thread-safe and idempotent.
 *
 * The arguments are ours (a private file prefix, no telemetry, quiet logs;
 * no shared files: `--no-huge --no-shconf -m MB` without free hugepages,
 * `--in-memory` with them; `--no-pci` unless a device is allowed; one
 * lcore, the caller's first CPU, unless the user names lcores), then the
 * ndevs words of the sources' devices (`-a PCI`, `--vdev=...`), then the
 * user's words (space-separated, may be NULL).
 *
 * A source asks for memory with `-m MB` among its device words: without
 * hugepages EAL gets 64 MB plus what every source asks, unless the user's
 * words set the memory; with hugepages EAL grows as needed.
 *
 * Every word is copied (EAL may keep pointers into its arguments).  The
 * arguments of any call after the first are ignored.  Returns 0 if EAL
 * runs (started now, earlier, or by someone else), -errno if it cannot
 * start (for the rest of the process's life: EAL cannot be retried).  EAL
 * is cleaned up at exit.
 */
int pfs_eal_init(int ndevs, char *const *devs, const char *user);

/*
 * DPDK's messages, and what EAL prints while it starts, go to the daemon's
 * log (never to the terminal).  The first error among them, one line ("" if
 * none): why EAL or a device would not start.
 */
const char *pfs_eal_said(void);

#endif
