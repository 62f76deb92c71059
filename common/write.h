/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Output files and temporaries: the one writer of the project (common/write.c).
 *
 * Output files: a regular file (or a new path) is written to a temporary file beside it
 * and renamed into place (whole or nothing); a path that is an existing non-regular file
 * (character device, FIFO, /dev/stdout) is written through; a symlink is resolved first
 * and its target written by the same rules (the link itself stays). A directory is an
 * error. Write errors (ENOSPC, EIO, short writes) are errors naming the path.
 *
 * Temporaries (files and whole directory trees) are registered so that the CLI's
 * SIGINT/SIGTERM handler can remove them with async-signal-safe calls only.
 */
#ifndef CMN_WRITE_H
#define CMN_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "cvmforge/cvmforge.h"

enum {
	CMN_W_EXCL    = 1u << 0, /* refuse if the path exists (keys), even a dangling link */
	CMN_W_PRIVATE = 1u << 1, /* mode 0600 from the first byte, whatever the umask */
	CMN_W_DURABLE = 1u << 2, /* fsync the file, and the directory after the rename */
};

/* Write len bytes of buf to path as one output file. `what` names it in errors
 * ("lock file", "event log"): "cannot write WHAT 'PATH': REASON". */
int cmn_write_file(cvmf_ctx *ctx, const char *what, const char *path,
		   const void *buf, size_t len, unsigned flags);

struct cmn_out;                 /* a streaming output with the same rules */
int cmn_out_open(cvmf_ctx *ctx, const char *what, const char *path, unsigned flags,
		 struct cmn_out **ret);
/* All of buf, or an error (the output stays open: commit or abort it). */
int cmn_out_write(struct cmn_out *o, const void *buf, size_t len);
/* The descriptor to write to directly (a temporary file, or the device/FIFO itself). */
int cmn_out_fd(const struct cmn_out *o);
/* Flush, fsync if DURABLE, rename into place; frees o. On failure the temporary
 * is removed as well. */
int cmn_out_commit(struct cmn_out *o);
void cmn_out_abort(struct cmn_out *o);   /* removes the temporary; frees o; NULL ok */

/* Temporaries removed on SIGINT/SIGTERM (the CLI installs the handler). A slot id >= 0,
 * or a negative CVMF_E_* code when the table is full or the path too long (the
 * temporary then just is not removed on a signal). */
int cmn_tmp_register(const char *path, bool is_dir);
void cmn_tmp_unregister(int slot);   /* a negative slot is ignored */
/* Remove every registered temporary (directories with all they hold). Only
 * async-signal-safe calls (open, openat, getdents64, unlinkat, close): callable from a
 * signal handler. */
void cmn_tmp_remove_all(void);
/* Remove a file or a whole directory tree, links not followed; async-signal-safe.
 * 0, or -1 with errno set. */
int cmn_rmtree(const char *path);

/*
 * Locked temporary directories: PARENT/PREFIXxxxxxxxxxx (ten letters or digits, mode
 * 0700), held under flock(LOCK_EX) on the directory itself for the owner's whole life and
 * registered for removal on a signal. It is created as PREFIXxxxxxxxxxx.new, locked, then
 * renamed, so a directory with the swept name is never unlocked while its owner lives.
 * (Ten, not mkdtemp's six: the unlocked directories of older versions are never swept.)
 */
int cmn_tmpdir_create(cvmf_ctx *ctx, const char *parent, const char *prefix, char **ret_path);
/* Drop the registration and the lock of a directory made by cmn_tmpdir_create
 * (after removing it, or once it is no longer temporary). Unknown paths are ignored. */
void cmn_tmp_release(const char *path);
/* cmn_rmtree, then cmn_tmp_release. */
int cmn_tmpdir_remove(const char *path);
/* Remove the leftovers of killed runs: directories PARENT/PREFIXxxxxxxxxxx owned by this
 * user that no live process holds locked (taken with LOCK_NB). Returns how many. */
int cmn_tmpdir_sweep(const char *parent, const char *prefix);

#endif
