/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recipes: what `cvmforge build` is asked to make (docs/recipe.md).
 *
 * An INI file in the style of systemd units and mkosi, parsed with libinih.
 * Every error names the file and the line. Internal to libcvmforge.
 */
#ifndef CVMF_RECIPE_H
#define CVMF_RECIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/internal.h"

/* Where an input's bytes come from. */
enum rcp_source_kind {
	RCP_SRC_FILE,   /* file:PATH, relative to the recipe's directory */
	RCP_SRC_DEB,    /* deb:PACKAGE[=VERSION]:/PATH-IN-PACKAGE */
};

struct rcp_source {
	enum rcp_source_kind kind;
	char *text;             /* as written in the recipe: "deb:busybox-static:/bin/busybox" */
	char *path;             /* FILE: the path resolved against the recipe's directory
	                           (absolute when the recipe path is); DEB: the absolute
	                           path inside the package ("/bin/busybox") */
	char *package;          /* DEB only */
	char *version;          /* DEB only; NULL when the recipe does not pin it */
	bool have_sha256;       /* pinned in the recipe itself */
	uint8_t sha256[32];
	unsigned line;          /* where it was written */
};

/* One line of the [initrd] section. */
enum rcp_entry_kind {
	RCP_ENT_TREE,           /* tree = DIR [dest=/PREFIX]: a file: directory, walked */
	RCP_ENT_FILE,           /* file = SOURCE:/DEST [mode=0755] [uid=N] [gid=N] [sha256=HEX] */
	RCP_ENT_DIR,            /* dir = /DEST [mode=0755] [uid=N] [gid=N] */
	RCP_ENT_SYMLINK,        /* symlink = /DEST -> TARGET [uid=N] [gid=N] */
	RCP_ENT_CHAR,           /* device = /DEST c MAJOR MINOR [mode=0600] [uid=N] [gid=N] */
	RCP_ENT_BLOCK,          /* device = /DEST b MAJOR MINOR ... */
};

struct rcp_entry {
	enum rcp_entry_kind kind;
	struct rcp_source src;  /* TREE, FILE (TREE: always RCP_SRC_FILE, a directory) */
	char *dest;             /* absolute, normalised ("/bin/busybox"); TREE: the prefix, "/" default */
	char *target;           /* SYMLINK: stored as written */
	bool have_mode;
	unsigned mode;          /* permission bits, <= 07777 */
	unsigned uid, gid;      /* 0 unless stated */
	unsigned major, minor;  /* CHAR, BLOCK */
	unsigned line;
};

enum rcp_compress { RCP_ZSTD, RCP_GZIP, RCP_NONE };

/* [snp]: the launch matrix to measure. Lists keep the recipe's order. */
struct rcp_snp {
	bool enabled;
	unsigned line;              /* of the section header */
	bool kernel_hashes;         /* kernel-hashes = yes (default) | no */
	unsigned *vcpus; size_t n_vcpus;             /* vcpus = 1,2,4-8 (default 1) */
	char **cpu_types; size_t n_cpu_types;        /* cpu-types = EPYC-v4,EPYC-Milan-v2 (default EPYC-v4) */
	enum cvmf_vmm *vmms; size_t n_vmms;          /* vmm-types = QEMU,ec2,gce (default QEMU) */
	uint64_t *guest_features; size_t n_guest_features;  /* guest-features = 0x1 (default 0x1) */
	uint64_t memory;            /* memory = 2G: only for the launch script (default 2G) */
};

/* [tdx]: every combination of memory size and page order is measured. */
struct rcp_tdx {
	bool enabled;
	unsigned line;
	uint64_t *memory; size_t n_memory;           /* memory = 2G,4G (default 2G) */
	enum cvmf_tdx_page_order *orders; size_t n_orders;  /* page-order = single-pass,two-pass */
	bool have_layout;                            /* ovmf-event-layout = pre-2024.11 | 2024.11 */
	enum cvmf_tdx_layout layout;                 /* default: from [firmware] release */
	unsigned qemu_version;      /* qemu-version = 9.2 (major*100+minor; default 902) */
	bool have_kernel_patch;     /* kernel-header-patch = yes|no (default: the QEMU/OVMF rule) */
	bool kernel_patch;
	bool stub_cc;               /* stub-cc = yes (default) | no */
	bool have_acpi;             /* acpi-tables = SOURCE (QEMU's etc/acpi/tables): RTMR0 */
	struct rcp_source acpi;
};

struct rcp_recipe {
	char *path;                 /* as given */
	char *dir;                  /* its directory, for file: sources */
	uint8_t sha256[32];         /* of the recipe file's bytes */

	/* [image] */
	char *name;                 /* [A-Za-z0-9._+~-], not starting with '.' or '-' */
	char *version;              /* same alphabet */
	uint64_t source_date_epoch; /* decimal, <= 253402300799 */

	/* [firmware] source = ..., sha256 = ..., release = 2022.11 */
	struct rcp_source firmware;
	unsigned ovmf_release;      /* YYYYMM; 0 when not given */

	/* [kernel] source = ..., sha256 = ... */
	struct rcp_source kernel;

	/* [initrd] compression = zstd|gzip|none, level = N, and entry lines;
	 * or source = SOURCE for a prebuilt initrd (then no entry lines). */
	bool have_initrd;
	bool initrd_prebuilt;
	struct rcp_source initrd;   /* when prebuilt */
	enum rcp_compress compression;   /* default zstd */
	int level;                  /* default: zstd 3, gzip 9 */
	struct rcp_entry *entries; size_t n_entries;

	/* [cmdline] value = ...; continuation lines are joined with one space */
	char *cmdline;              /* "" when absent */

	struct rcp_snp snp;
	struct rcp_tdx tdx;
};

/* Parse and validate a recipe. Errors are CVMF_E_FORMAT ("FILE:LINE: ...")
 * or CVMF_E_IO, with the message in ctx. */
int rcp_load(cvmf_ctx *ctx, const char *path, struct rcp_recipe **ret);
/* The same from memory; `name` is used in messages and `dir` for file:. */
int rcp_parse(cvmf_ctx *ctx, const char *name, const char *dir, const char *text,
	      size_t len, struct rcp_recipe **ret);
void rcp_free(struct rcp_recipe *r);

/* Parse one source string ("file:..." or "deb:..."); for reuse by the lock. */
int rcp_source_parse(cvmf_ctx *ctx, const char *where, const char *dir, const char *text,
		     struct rcp_source *ret);
void rcp_source_clear(struct rcp_source *s);

/* Every key of every section, for `build --help` and docs/recipe.md. */
struct rcp_key_doc {
	const char *section;
	const char *key;
	const char *value;      /* "SOURCE", "yes|no", "LIST", ... */
	const char *help;       /* one line, with the default */
};
size_t rcp_key_docs(const struct rcp_key_doc **ret);

/* ---- the INI layer shared by recipe.c and lock.c (recipes/ini.c) ----
 * libinih underneath, with an in-memory reader that numbers the lines and
 * refuses what inih would mangle: lines over RCP_MAX_LINE characters (inih
 * would split them), NUL bytes, control characters and invalid UTF-8.
 * inih keeps only 49 characters of a section name; the full name is passed
 * here. The callback gets every section header (key == NULL) and every
 * key = value line; an indented line continuing the previous key comes with
 * continuation set, the same key and the line's text. Its inline comment
 * (whitespace, then ';') is removed as on a key line. The callback returns 0
 * or a CVMF_E_* code with the message already in ctx; the first error ends
 * the parse. A syntax error inih finds (a '[' without ']', a line without
 * '=') is CVMF_E_FORMAT "NAME:LINE: ...". */
#define RCP_MAX_LINE 199

struct rcp_ini_item {
	const char *section;    /* "" before the first header */
	const char *key;        /* NULL: the header of `section` */
	const char *value;
	unsigned line;
	bool continuation;
};
typedef int (*rcp_ini_fn)(cvmf_ctx *ctx, void *user, const struct rcp_ini_item *it);
int rcp_ini_parse(cvmf_ctx *ctx, const char *name, const char *text, size_t len,
		  rcp_ini_fn fn, void *user);
/* Whether s is text a line may hold: UTF-8 without control characters
 * other than tab. */
bool rcp_ini_text_ok(const char *s);

/* ---- lock files (recipes/lock.c) ----
 * RECIPE.lock, written by `cvmforge build --lock`: one INI section per pinned
 * input, named by its identity (the source text, or "tree:DIR" for a tree,
 * pinned by builder/build.c's digest over the tree's entries):
 *
 *   [deb:busybox-static:/bin/busybox]
 *   sha256 = <hex>              the input's bytes
 *   version = 1:1.35.0-4+deb12u1+b1   DEB: the resolved package version
 *   deb-sha256 = <hex>          DEB: the .deb file
 *   deb-file = busybox-static_1.35.0-4+deb12u1+b1_amd64.deb
 */
struct rcp_lock_entry {
	char *id;
	bool have_sha256;
	uint8_t sha256[32];
	char *version;          /* or NULL */
	bool have_deb_sha256;
	uint8_t deb_sha256[32];
	char *deb_file;         /* or NULL */
	unsigned line;          /* of the [ID] header */
	/* of each key, 0 when absent (or set by rcp_lock_set) */
	unsigned sha256_line, version_line, deb_sha256_line, deb_file_line;
};
struct rcp_lock {
	char *path;
	struct rcp_lock_entry *v;
	size_t n, cap;
};
/* A missing file is an empty lock (not an error); anything malformed is
 * CVMF_E_FORMAT with "FILE:LINE: ...". */
int rcp_lock_load(cvmf_ctx *ctx, const char *path, struct rcp_lock **ret);
struct rcp_lock *rcp_lock_new(const char *path);
void rcp_lock_free(struct rcp_lock *l);
const struct rcp_lock_entry *rcp_lock_find(const struct rcp_lock *l, const char *id);
/* Add or replace an entry (all fields copied). */
int rcp_lock_set(cvmf_ctx *ctx, struct rcp_lock *l, const struct rcp_lock_entry *e);
/* Write it sorted by id, through a temporary file and rename. */
int rcp_lock_write(cvmf_ctx *ctx, const struct rcp_lock *l);
/* The same, stopped before the rename: the caller commits or aborts the output
 * (cmn_out_commit / cmn_out_abort, common/write.h). */
struct cmn_out;
int rcp_lock_stage(cvmf_ctx *ctx, const struct rcp_lock *l, struct cmn_out **ret);
/* The same as rcp_lock_load from memory; `path` is kept and used in messages. */
int rcp_lock_parse(cvmf_ctx *ctx, const char *path, const char *text, size_t len,
		   struct rcp_lock **ret);

#endif
