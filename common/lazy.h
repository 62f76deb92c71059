/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lazy loading of the heavy libraries that only some verbs use.
 *
 * libcurl (downloads) and libarchive (tar, cpio, .deb) pull in ~38 shared
 * objects between them (GnuTLS, Kerberos, LDAP, ICU, libxml2, libstdc++...).
 * Linked normally, every run of cvmforge pays for loading and relocating
 * them, even `cvmforge --version`. They are therefore not linked: the first
 * call of any of their functions dlopen()s the library and resolves every
 * function the project uses with dlsym, once; verbs that never call them
 * never load them.
 *
 * The rest of the code is unchanged: it includes <curl/curl.h> or
 * <archive.h> and calls curl_easy_init(), archive_read_new()... as usual.
 * Those names are defined in common/lazy_curl.c and common/lazy_archive.c
 * as trampolines with the libraries' own prototypes (the library headers
 * are included there, so the compiler checks every signature); each one
 * forwards to the real function through a pointer resolved at load time.
 * The trampolines have hidden visibility: libcvmforge.so does not export
 * them and never interposes on a program's own libcurl or libarchive.
 *
 * When a library cannot be loaded (not installed, or too old to have one of
 * the functions listed), nothing crashes: the functions that begin a
 * session return their documented failure value, which callers already
 * handle (they check it before using the library further):
 *     archive_read_new, archive_write_new, archive_entry_new  -> NULL
 *     curl_easy_init, curl_slist_append, curl_easy_escape     -> NULL
 *     curl_global_init                                         -> CURLE_FAILED_INIT
 * and the reason is kept: cmn_lazy_error() returns it, curl_easy_strerror()
 * and archive_version_string() return it too, and cmn_lazy_require() turns
 * it into a CVMF_E_IO error in a context ("libcurl (libcurl.so.4) could not
 * be loaded: ..."). Callers that want that message instead of their generic
 * "out of memory" call cmn_lazy_require() before starting a session. Other
 * functions return an error value (ARCHIVE_FATAL, CURLE_FAILED_INIT, -1,
 * NULL, 0) and do nothing; the free functions accept NULL without loading
 * the library, so cleanup paths cost nothing.
 *
 * Adding a library (e.g. libmicrohttpd for the log server):
 *   1. common/lazy_mhd.c: include <microhttpd.h>, list the functions used in
 *      an X-macro table as lazy_curl.c does (F for functions that
 *      return a value, V for void ones, M for hand-written ones such as
 *      variadic functions; see below), define the library object with
 *      CMN_LAZY_DEFINE_LIB, #define LIB to it and expand the table into
 *      trampolines with CMN_LAZY_TRAMPOLINES.
 *   2. Declare the library object below (extern struct cmn_lazy_lib
 *      cmn_lazy_mhd;).
 *   3. Makefile: add the package to LAZY_PKGS (headers from pkg-config,
 *      no -l flag).
 *   4. tests/unit/test_lazy.c: add it to the load tests.
 * Variadic functions cannot be forwarded generically: write them by hand
 * (kind M). Where the library has a va_list twin, forward to it (for
 * libmicrohttpd: MHD_start_daemon's trampoline does va_start and calls
 * MHD_start_daemon_va, which must then be in the table too); otherwise read
 * each argument with va_arg in its real type (see curl_easy_setopt), or
 * format once and pass "%s" (see archive_set_error).
 */
#ifndef CMN_LAZY_H
#define CMN_LAZY_H

#include <stdbool.h>

#include "cvmforge/cvmforge.h"

struct cmn_lazy_lib {
	const char *name;          /* "libcurl" */
	const char *soname;        /* "libcurl.so.4"; see cmn_lazy_set_soname */
	const char *const *syms;   /* the functions to resolve, in slot order */
	void **fns;                /* their addresses, filled at load */
	unsigned nsyms;
	/* state, written under the loader's lock */
	void *handle;              /* published with release semantics */
	bool tried;
	char why[384];
};

extern struct cmn_lazy_lib cmn_lazy_curl;     /* libcurl.so.4 */
extern struct cmn_lazy_lib cmn_lazy_archive;  /* libarchive.so.13 */
extern struct cmn_lazy_lib cmn_lazy_mhd;      /* libmicrohttpd.so.12 (log serve) */

/* Load lib if not yet tried. True when it is loaded and every listed
 * function was found; false (with the reason kept) otherwise. A failure is
 * remembered: later calls fail at once with the same reason. Thread-safe. */
bool cmn_lazy_load(struct cmn_lazy_lib *lib);

/* Load lib, or store "NAME (SONAME) could not be loaded: REASON" in ctx and
 * return CVMF_E_IO. */
int cmn_lazy_require(cvmf_ctx *ctx, struct cmn_lazy_lib *lib);

/* Whether lib is loaded (never loads it). */
bool cmn_lazy_loaded(const struct cmn_lazy_lib *lib);

/* Why lib could not be loaded, or NULL when it loaded or was not tried. */
const char *cmn_lazy_error(const struct cmn_lazy_lib *lib);

/* For tests: load lib from another file name. Refused (-1) once the
 * library is loaded; after a failed attempt it allows a new one. */
int cmn_lazy_set_soname(struct cmn_lazy_lib *lib, const char *soname);

/* ---- the trampoline machinery, for common/lazy_*.c only ---- */

/* The address of a resolved function; only valid after cmn_lazy_load()
 * returned true. */
#define CMN_LAZY_FN(lib, type, name) ((type)(lib).fns[CMN_LAZY_SYM_##name])

/* From a table TABLE(F, V, M) with
 *   F(ret, name, (params), (args), fail, skip)
 *                     a function returning ret; it returns fail without
 *                     calling (or loading) anything when the library cannot
 *                     be loaded or when the expression skip is true (free
 *                     functions given NULL: skip is `!a`, fail the success
 *                     value; otherwise skip is 0)
 *   V(name, (params), (args), skip)
 *                     a void function, likewise
 *   M(name)           a function written by hand (variadic ones)
 * CMN_LAZY_DEFINE_LIB defines the slot enum, the name table and the library
 * object, and CMN_LAZY_TRAMPOLINES the functions of kinds F and V. */
#define CMN_LAZY_ENUM_F(ret, name, params, args, fail, skip) CMN_LAZY_SYM_##name,
#define CMN_LAZY_ENUM_V(name, params, args, skip) CMN_LAZY_SYM_##name,
#define CMN_LAZY_ENUM_M(name) CMN_LAZY_SYM_##name,
#define CMN_LAZY_NAME_F(ret, name, params, args, fail, skip) #name,
#define CMN_LAZY_NAME_V(name, params, args, skip) #name,
#define CMN_LAZY_NAME_M(name) #name,

#define CMN_LAZY_DEFINE_LIB(var, TABLE, libname, default_soname)                  \
	enum { TABLE(CMN_LAZY_ENUM_F, CMN_LAZY_ENUM_V, CMN_LAZY_ENUM_M)             \
	       CMN_LAZY_NSYMS };                                                     \
	static const char *const var##_syms[] = {                                    \
		TABLE(CMN_LAZY_NAME_F, CMN_LAZY_NAME_V, CMN_LAZY_NAME_M)              \
	};                                                                           \
	static void *var##_fns[CMN_LAZY_NSYMS];                                      \
	struct cmn_lazy_lib var = {                                                  \
		.name = libname, .soname = default_soname, .syms = var##_syms,       \
		.fns = var##_fns, .nsyms = CMN_LAZY_NSYMS,                           \
	}

/* Trampolines are hidden: libcvmforge.so never exports the libraries' names. */
#define CMN_LAZY_HIDDEN __attribute__((visibility("hidden")))

/* LIB is the library object of the file that expands these. */
#define CMN_LAZY_TRAMP_F(ret, name, params, args, fail, skip)                       \
	CMN_LAZY_HIDDEN ret name params                                              \
	{                                                                            \
		if ((skip) || !cmn_lazy_load(&LIB))                                  \
			return fail;                                                 \
		return CMN_LAZY_FN(LIB, ret(*) params, name) args;                   \
	}
#define CMN_LAZY_TRAMP_V(name, params, args, skip)                                  \
	CMN_LAZY_HIDDEN void name params                                             \
	{                                                                            \
		if (!(skip) && cmn_lazy_load(&LIB))                                  \
			CMN_LAZY_FN(LIB, void(*) params, name) args;                 \
	}
#define CMN_LAZY_TRAMP_M(name)
#define CMN_LAZY_TRAMPOLINES(TABLE) TABLE(CMN_LAZY_TRAMP_F, CMN_LAZY_TRAMP_V, CMN_LAZY_TRAMP_M)

#endif
