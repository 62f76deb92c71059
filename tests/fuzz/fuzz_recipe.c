/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the recipe parser, the lock-file parser and
 * rcp_source_parse(), all fed the same bytes. Recipes come from whoever
 * hands you an image to rebuild, so they are hostile input.
 *
 * Besides ASan/UBSan findings it checks that:
 *   - a failure leaves no result and a message naming the file;
 *   - a recipe that parses honours the contract of recipe.h: the required
 *     keys are set, DEST paths are absolute and normalised, modes fit,
 *     lists are non-empty, duplicate-free and in range when a platform is on;
 *   - a lock that parses has distinct ids that rcp_lock_find() finds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recipes/recipe.h"
#include "tests/fuzz/fuzz.h"

static void check_failed(cvmf_ctx *ctx, int r, const char *name)
{
	CHECK(r < 0);
	const char *m = cvmf_ctx_errmsg(ctx);
	CHECK(m[0]);
	if (r == CVMF_E_FORMAT)
		CHECK(!strncmp(m, name, strlen(name)));
}

static void check_dest(const char *d, bool root_ok)
{
	CHECK(d && d[0] == '/');
	CHECK(root_ok || d[1]);
	CHECK(!strstr(d, "//") && !strstr(d, "/./") && !strstr(d, "/../"));
	size_t n = strlen(d);
	CHECK(n == 1 || d[n - 1] != '/');
	CHECK(!(n >= 2 && !strcmp(d + n - 2, "/.")) && !(n >= 3 && !strcmp(d + n - 3, "/..")));
}

static void check_source(const struct rcp_source *s)
{
	CHECK(s->text && s->path);
	if (s->kind == RCP_SRC_DEB) {
		CHECK(s->package && strlen(s->package) >= 2);
		check_dest(s->path, false);
	} else {
		CHECK(s->kind == RCP_SRC_FILE && !s->package && !s->version && s->path[0]);
	}
}

static void check_recipe(const struct rcp_recipe *r)
{
	CHECK(r->name && r->name[0] && r->name[0] != '.' && r->name[0] != '-');
	CHECK(r->version && r->version[0]);
	CHECK(r->source_date_epoch <= 253402300799ull);
	CHECK(r->cmdline);
	check_source(&r->firmware);
	check_source(&r->kernel);
	if (r->initrd_prebuilt) {
		CHECK(r->have_initrd && !r->n_entries);
		check_source(&r->initrd);
	}
	if (r->have_initrd && !r->initrd_prebuilt) {
		CHECK(r->n_entries);
		if (r->compression == RCP_ZSTD)
			CHECK(r->level >= 1 && r->level <= 19);
		else if (r->compression == RCP_GZIP)
			CHECK(r->level >= 1 && r->level <= 9);
		else
			CHECK(r->level == 0);
	}
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct rcp_entry *e = &r->entries[i];
		check_dest(e->dest, e->kind == RCP_ENT_TREE || e->kind == RCP_ENT_DIR);
		CHECK(e->mode <= 07777);
		if (e->kind == RCP_ENT_TREE || e->kind == RCP_ENT_FILE)
			check_source(&e->src);
		if (e->kind == RCP_ENT_SYMLINK)
			CHECK(e->target && e->target[0]);
		/* Quadratic: only the first entries (inputs may be 1 MiB). */
		for (size_t j = 0; j < i && i < 2048; j++)
			if (e->kind != RCP_ENT_TREE && r->entries[j].kind != RCP_ENT_TREE)
				CHECK(strcmp(e->dest, r->entries[j].dest));
	}
	if (r->snp.enabled) {
		CHECK(r->snp.n_vcpus && r->snp.n_cpu_types && r->snp.n_vmms &&
		      r->snp.n_guest_features);
		for (size_t i = 0; i < r->snp.n_vcpus; i++) {
			CHECK(r->snp.vcpus[i] >= 1 && r->snp.vcpus[i] <= CVMF_MAX_VCPUS);
			for (size_t j = 0; j < i && i < 2048; j++)
				CHECK(r->snp.vcpus[i] != r->snp.vcpus[j]);
		}
		for (size_t i = 0; i < r->snp.n_cpu_types; i++)
			CHECK(cvmf_cpu_type_find(r->snp.cpu_types[i]));
		CHECK(r->snp.memory >= (32u << 20) && r->snp.memory % 4096 == 0);
	}
	if (r->tdx.enabled) {
		CHECK(r->tdx.n_memory && r->tdx.n_orders && r->tdx.qemu_version);
		for (size_t i = 0; i < r->tdx.n_memory; i++)
			CHECK(r->tdx.memory[i] >= (32u << 20) && r->tdx.memory[i] % 4096 == 0);
	}
	if (r->tdx.have_acpi)
		check_source(&r->tdx.acpi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cvmf_ctx *ctx;
	if (!ctx) {
		ctx = cvmf_ctx_new();
		if (!ctx)
			__builtin_trap();
	}
	const char *text = (const char *)data;

	struct rcp_recipe *r = NULL;
	int rc = rcp_parse(ctx, "fuzz.recipe", "/dir", text, size, &r);
	if (rc) {
		CHECK(r == NULL);
		check_failed(ctx, rc, "fuzz.recipe");
	} else {
		check_recipe(r);
		rcp_free(r);
	}

	struct rcp_lock *l = NULL;
	rc = rcp_lock_parse(ctx, "fuzz.lock", text, size, &l);
	if (rc) {
		CHECK(l == NULL);
		check_failed(ctx, rc, "fuzz.lock");
	} else {
		for (size_t i = 0; i < l->n; i++) {
			CHECK(l->v[i].id && l->v[i].id[0]);
			CHECK(rcp_lock_find(l, l->v[i].id) == &l->v[i]);
		}
		rcp_lock_free(l);
	}

	/* The bytes up to the first NUL or newline as one source string. */
	char buf[256];
	size_t n = 0;
	while (n < size && n < sizeof(buf) - 1 && data[n] && data[n] != '\n') {
		buf[n] = (char)data[n];
		n++;
	}
	buf[n] = '\0';
	struct rcp_source s;
	rc = rcp_source_parse(ctx, "W", "/dir", buf, &s);
	if (rc) {
		check_failed(ctx, rc, "W");
	} else {
		check_source(&s);
		CHECK(!strcmp(s.text, buf));
		rcp_source_clear(&s);
	}
	return 0;
}
