/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the parts of the recipe parser share (recipes/recipe.c, source.c,
 * entry.c): the key table, the lines collected from the INI layer, and the
 * helpers that report errors with the recipe's FILE:LINE. Internal to
 * recipes/.
 */
#ifndef RCP_RECIPE_INT_H
#define RCP_RECIPE_INT_H

#include "recipes/recipe.h"

enum section { S_IMAGE, S_FIRMWARE, S_KERNEL, S_INITRD, S_CMDLINE, S_SNP, S_TDX, N_SECTIONS };

enum key {
	K_NAME, K_VERSION, K_EPOCH,
	K_FW_SOURCE, K_FW_SHA256, K_FW_RELEASE,
	K_KERNEL_SOURCE, K_KERNEL_SHA256,
	K_INITRD_SOURCE, K_INITRD_SHA256, K_COMPRESSION, K_LEVEL,
	K_TREE, K_FILE, K_DIR, K_SYMLINK, K_DEVICE,
	K_CMDLINE,
	K_SNP_HASHES, K_SNP_VCPUS, K_SNP_CPUS, K_SNP_VMMS, K_SNP_FEATURES, K_SNP_MEMORY,
	K_TDX_MEMORY, K_TDX_ORDER, K_TDX_LAYOUT, K_TDX_QEMU, K_TDX_PATCH, K_TDX_STUB_CC,
	K_TDX_ACPI, K_TDX_ACPI_SHA256,
	N_KEYS
};

/* Every key of every section (recipes/recipe.c); rcp_key_docs() returns it. */
extern const struct rcp_key_doc rcp_key_table[N_KEYS];

/* One key line of the recipe with its continuation lines joined. */
struct item {
	int key;
	unsigned line;
	char *value;
	size_t len, cap;
};

/* The parse of one recipe. */
struct pstate {
	cvmf_ctx *ctx;
	const char *name;
	const char *dir;
	struct rcp_recipe *r;
	struct item *items;
	size_t n, cap;
	int sec;                        /* the current section, -1 for none */
	unsigned sec_line[N_SECTIONS];
	unsigned key_line[N_KEYS];      /* first line of each key */
	size_t key_item[N_KEYS];
	/* sha256 keys apply to their source after every line is read */
	struct pin { bool have; uint8_t d[32]; unsigned line; } pin[N_KEYS];
};

/* "NAME:LINE: message" (or "NAME: message" for line 0) as CVMF_E_FORMAT. */
int rcp_perr(struct pstate *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int rcp_nomem(cvmf_ctx *ctx);
/* Plain decimal digits, at most max. */
bool rcp_parse_dec(const char *s, uint64_t max, uint64_t *ret);
char *rcp_xstrndup(const char *s, size_t n);

/* ---- sources (recipes/source.c) ---- */
/* A path in a recipe (common/path.h): absolute, "." and ".." refused,
 * empty components dropped. NULL with *why set when refused (or out of
 * memory, why NULL). */
char *rcp_path(const char *s, bool root_ok, const char **why);
/* rcp_source_parse at "NAME:LINE", into out (cleared first). */
int rcp_source_at(struct pstate *ps, unsigned line, const char *text, struct rcp_source *out);

/* ---- the entry lines of [initrd] (recipes/entry.c) ---- */
int rcp_add_entry(struct pstate *ps, const struct item *it);
void rcp_entry_clear(struct rcp_entry *e);
/* Two lines creating the same path: the later of the earliest such pair. */
int rcp_check_dup_dests(struct pstate *ps);

#endif
