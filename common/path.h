/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Path normalisation, one rule for recipes, package members and initrd
 * entries. A path is split at '/' into components, and:
 *
 *   - absolute paths: a leading '/' is allowed, and required with
 *     CMN_PATH_ABSOLUTE; either way the result is absolute;
 *   - empty components ("a//b", a trailing '/') are dropped, or refused
 *     with CMN_PATH_CANONICAL (the path must already be in normal form);
 *   - "." and ".." are refused; with CMN_PATH_RESOLVE (paths inside a
 *     package, where tar writes "./usr" and symlinks say "../lib"), "." is
 *     dropped and ".." removes the component before it, lexically, and may
 *     not climb above the root;
 *   - the root itself ("/", or nothing left) is refused unless
 *     CMN_PATH_ROOT_OK.
 *
 * The result is "/" or "/a/b": one '/' before each component, none at the
 * end. Nothing touches the file system: links are not followed.
 */
#ifndef CMN_PATH_H
#define CMN_PATH_H

enum {
	CMN_PATH_ABSOLUTE  = 1u << 0,  /* refuse a path without a leading '/' */
	CMN_PATH_ROOT_OK   = 1u << 1,  /* the root itself is a valid result */
	CMN_PATH_RESOLVE   = 1u << 2,  /* drop ".", resolve ".." within the root */
	CMN_PATH_CANONICAL = 1u << 3,  /* refuse empty components */
};

/* Why a path was refused (0: it was not). */
enum cmn_path_err {
	CMN_PATH_OK = 0,
	CMN_PATH_E_RELATIVE,    /* "is not absolute" */
	CMN_PATH_E_DOT,         /* "has a '.' component" */
	CMN_PATH_E_DOTDOT,      /* "has a '..' component" */
	CMN_PATH_E_ABOVE,       /* "climbs above the root" (CMN_PATH_RESOLVE) */
	CMN_PATH_E_EMPTY,       /* "has an empty component" (CMN_PATH_CANONICAL) */
	CMN_PATH_E_ROOT,        /* "is the root directory" */
	CMN_PATH_E_NOMEM,
};

/* The normal form of `in` (malloc'd) in *ret, or the reason it is refused
 * (ret untouched). */
enum cmn_path_err cmn_path_norm(const char *in, unsigned flags, char **ret);
/* The reasons above as phrases completing "PATH ...". */
const char *cmn_path_strerror(enum cmn_path_err e);

#endif
