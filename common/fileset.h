/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files made durable together (common/fileset.c), for a writer that puts many
 * files on disk at once and needs an order between groups of them (the
 * transparency log's batches, log/store.c). The files of a set are written
 * either in place (files nothing refers to yet) or to temporaries beside their
 * names. One round (cmn_fileset_sync) fsyncs every file of one or more sets,
 * and every directory that got a new entry, in parallel on a pool of threads,
 * so the device sees the flushes together instead of one after another. A
 * commit (cmn_fileset_commit) then renames a set's temporaries over their
 * names, in order, and fsyncs their directories in a second round. Whatever a
 * round synced is on the disk before anything renamed after it.
 */
#ifndef CMN_FILESET_H
#define CMN_FILESET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cvmforge/cvmforge.h"

struct cmn_pending {
	char *tmp;                      /* NULL: written in place */
	char *path;
	int fd;
	const char *tag;                /* passed to commit's callback after its rename */
};

struct cmn_fileset {
	struct cmn_pending *f;
	size_t nf;
	char **dirs;                    /* directories to fsync */
	size_t nd;
};

/* The fsync threads, kept by a writer for its life (a pool without threads,
 * when none could start, does the work on the caller's thread). */
struct cmn_syncpool;
struct cmn_syncpool *cmn_syncpool_new(void);
void cmn_syncpool_free(struct cmn_syncpool *p);

/* Write a whole file, its fd kept for the next cmn_fileset_sync: in place
 * (a new file at path: whatever was there, a leftover or a planted link, is
 * removed first), or to a temporary beside path (.tmp-PID-NAME), renamed over
 * it by cmn_fileset_commit. Missing parent directories are created (mode
 * 0755) and, like path's own directory when in place, fsync'd in the round. */
int cmn_fileset_put(cvmf_ctx *ctx, struct cmn_fileset *s, const char *path, const void *buf,
		    size_t len, mode_t mode, bool in_place, const char *tag);
/* One round: fsync every file of the sets (their fds are then closed) and
 * every directory they named, in parallel. */
int cmn_fileset_sync(cvmf_ctx *ctx, struct cmn_syncpool *p, struct cmn_fileset *const *sets,
		     size_t nsets);
/* Rename the set's temporaries over their names, in the order they were
 * put, calling renamed(tag) after each; then fsync their directories. Frees
 * the set. */
int cmn_fileset_commit(cvmf_ctx *ctx, struct cmn_syncpool *p, struct cmn_fileset *s,
		       void (*renamed)(const char *tag));
/* Close, remove the temporaries not renamed, free. */
void cmn_fileset_free(struct cmn_fileset *s);

#endif
