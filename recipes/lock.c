/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RECIPE.lock: the digests and package versions `cvmforge build --lock`
 * resolved, one INI section per input, named by its identity. Read with the
 * INI layer of ini.c (full section names, line numbers); written sorted
 * by id through the one writer (common/write.h): a temporary file in the same
 * directory and a rename.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/write.h"
#include "recipes/recipe.h"

#define LOCK_MAX_SIZE (64u << 20)

enum lkey { L_SHA256, L_VERSION, L_DEB_SHA256, L_DEB_FILE, N_LKEYS };
static const char *const lkey_names[N_LKEYS] = { "sha256", "version", "deb-sha256", "deb-file" };

struct lstate {
	cvmf_ctx *ctx;
	const char *name;
	struct rcp_lock *l;
	bool in_section;
	unsigned key_line[N_LKEYS];
};

static int lerr(struct lstate *st, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int lerr(struct lstate *st, unsigned line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cmn_error(st->ctx, CVMF_E_FORMAT, "%s:%u: %s", st->name, line, msg);
}

static void entry_clear(struct rcp_lock_entry *e)
{
	free(e->id);
	free(e->version);
	free(e->deb_file);
}

struct rcp_lock *rcp_lock_new(const char *path)
{
	struct rcp_lock *l = calloc(1, sizeof(*l));
	if (l && path && !(l->path = strdup(path))) {
		free(l);
		return NULL;
	}
	return l;
}

void rcp_lock_free(struct rcp_lock *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		entry_clear(&l->v[i]);
	free(l->v);
	free(l->path);
	free(l);
}

const struct rcp_lock_entry *rcp_lock_find(const struct rcp_lock *l, const char *id)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (!strcmp(l->v[i].id, id))
			return &l->v[i];
	return NULL;
}

static struct rcp_lock_entry *lock_push(struct rcp_lock *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct rcp_lock_entry *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	struct rcp_lock_entry *e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

static int lock_line(cvmf_ctx *ctx, void *user, const struct rcp_ini_item *it)
{
	struct lstate *st = user;
	(void)ctx;
	if (!it->key) {
		if (!it->section[0])
			return lerr(st, it->line, "empty section name: expected [ID]");
		struct rcp_lock_entry *e = lock_push(st->l);
		if (!e || !(e->id = strdup(it->section)))
			return cmn_error(st->ctx, CVMF_E_NOMEM, "out of memory");
		e->line = it->line;
		st->in_section = true;
		memset(st->key_line, 0, sizeof(st->key_line));
		return 0;
	}
	if (!st->in_section)
		return lerr(st, it->line, "'%s' is outside any [ID] section", it->key);
	if (it->continuation)
		return lerr(st, it->line, "'%s' does not take continuation lines", it->key);
	int k = -1;
	for (int i = 0; i < N_LKEYS; i++)
		if (!strcmp(it->key, lkey_names[i]))
			k = i;
	if (k < 0)
		return lerr(st, it->line,
			    "unknown key '%s' (keys: sha256, version, deb-sha256, deb-file)", it->key);
	if (st->key_line[k])
		return lerr(st, it->line, "duplicate key '%s' (first on line %u)", it->key,
			    st->key_line[k]);
	st->key_line[k] = it->line;
	struct rcp_lock_entry *e = &st->l->v[st->l->n - 1];
	unsigned *const field_line[N_LKEYS] = { &e->sha256_line, &e->version_line,
						&e->deb_sha256_line, &e->deb_file_line };
	*field_line[k] = it->line;
	const char *v = it->value;
	switch (k) {
	case L_SHA256:
	case L_DEB_SHA256: {
		uint8_t *d = k == L_SHA256 ? e->sha256 : e->deb_sha256;
		if (strlen(v) != 64 || cvmf_unhex(v, d, 32))
			return lerr(st, it->line, "'%s' must be 64 hex digits, not '%s'", it->key, v);
		*(k == L_SHA256 ? &e->have_sha256 : &e->have_deb_sha256) = true;
		return 0;
	}
	case L_VERSION:
	case L_DEB_FILE:
		if (!*v || strpbrk(v, " \t") || (k == L_DEB_FILE && strchr(v, '/')))
			return lerr(st, it->line, "'%s' must be one word%s, not '%s'", it->key,
				    k == L_DEB_FILE ? " without '/'" : "", v);
		char **dst = k == L_VERSION ? &e->version : &e->deb_file;
		if (!(*dst = strdup(v)))
			return cmn_error(st->ctx, CVMF_E_NOMEM, "out of memory");
		return 0;
	}
	return 0;
}

static int cmp_id_line(const void *a, const void *b)
{
	const struct rcp_lock_entry *x = *(const struct rcp_lock_entry *const *)a,
				    *y = *(const struct rcp_lock_entry *const *)b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* An id given twice: the later of the earliest such pair. */
static int check_dup_ids(struct lstate *st)
{
	struct rcp_lock *l = st->l;
	const struct rcp_lock_entry **v = calloc(l->n + 1, sizeof(*v));
	if (!v)
		return cmn_error(st->ctx, CVMF_E_NOMEM, "out of memory");
	for (size_t i = 0; i < l->n; i++)
		v[i] = &l->v[i];
	qsort(v, l->n, sizeof(*v), cmp_id_line);
	const struct rcp_lock_entry *first = NULL, *second = NULL;
	for (size_t i = 1; i < l->n; i++)
		if (!strcmp(v[i]->id, v[i - 1]->id) && (i < 2 || strcmp(v[i]->id, v[i - 2]->id)) &&
		    (!second || v[i]->line < second->line)) {
			first = v[i - 1];
			second = v[i];
		}
	int rc = second ? lerr(st, second->line, "[%s] is already on line %u", second->id,
			       first->line)
			: 0;
	free(v);
	return rc;
}

int rcp_lock_parse(cvmf_ctx *ctx, const char *path, const char *text, size_t len,
		   struct rcp_lock **ret)
{
	struct rcp_lock *l = rcp_lock_new(path);
	if (!l)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	struct lstate st = { .ctx = ctx, .name = path ? path : "lock", .l = l };
	int rc = rcp_ini_parse(ctx, st.name, text, len, lock_line, &st);
	if (!rc)
		rc = check_dup_ids(&st);
	if (rc) {
		rcp_lock_free(l);
		return rc;
	}
	*ret = l;
	return 0;
}

int rcp_lock_load(cvmf_ctx *ctx, const char *path, struct rcp_lock **ret)
{
	struct stat sb;
	if (stat(path, &sb) < 0 && errno == ENOENT) {
		struct rcp_lock *l = rcp_lock_new(path);
		if (!l)
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		*ret = l;
		return 0;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = cmn_read_file(ctx, "lock file", path, LOCK_MAX_SIZE, &buf, &len);
	if (rc)
		return rc == CVMF_E_NOMEM ? rc : CVMF_E_IO;
	rc = rcp_lock_parse(ctx, path, (const char *)buf, len, ret);
	free(buf);
	return rc;
}

/* Whether s survives a write and a read: one line of at most `max`
 * characters, trimmed, with no inline comment (and for an id, no ']'). */
static const char *unwritable(const char *s, size_t max, bool id)
{
	size_t n = strlen(s);
	if (!n)
		return "it is empty";
	if (n > max)
		return "it is too long for one line";
	if (!rcp_ini_text_ok(s))
		return "it is not UTF-8 text without control characters";
	if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
		return "it starts or ends with whitespace";
	for (size_t i = 1; i < n; i++)
		if (s[i] == ';' && (s[i - 1] == ' ' || s[i - 1] == '\t'))
			return "it has a ';' after whitespace (an INI comment)";
	if (id && strchr(s, ']'))
		return "it has a ']'";
	return NULL;
}

int rcp_lock_set(cvmf_ctx *ctx, struct rcp_lock *l, const struct rcp_lock_entry *e)
{
	/* Lines: "[ID]", "version = V", "deb-file = F". */
	const char *why = unwritable(e->id, RCP_MAX_LINE - 2, true);
	if (why)
		return cmn_error(ctx, CVMF_E_INVAL, "lock id '%s' cannot be written: %s", e->id, why);
	if (e->version && (why = unwritable(e->version, RCP_MAX_LINE - 10, false)))
		return cmn_error(ctx, CVMF_E_INVAL, "version '%s' of '%s' cannot be written: %s",
				  e->version, e->id, why);
	if (e->deb_file && (why = unwritable(e->deb_file, RCP_MAX_LINE - 11, false)))
		return cmn_error(ctx, CVMF_E_INVAL, "deb-file '%s' of '%s' cannot be written: %s",
				  e->deb_file, e->id, why);
	if (e->version && strpbrk(e->version, " \t"))
		return cmn_error(ctx, CVMF_E_INVAL, "version '%s' of '%s' has whitespace",
				  e->version, e->id);
	if (e->deb_file && strpbrk(e->deb_file, " \t/"))
		return cmn_error(ctx, CVMF_E_INVAL, "deb-file '%s' of '%s' is not a file name",
				  e->deb_file, e->id);
	struct rcp_lock_entry n = *e;
	n.id = strdup(e->id);
	n.version = e->version ? strdup(e->version) : NULL;
	n.deb_file = e->deb_file ? strdup(e->deb_file) : NULL;
	if (!n.id || (e->version && !n.version) || (e->deb_file && !n.deb_file)) {
		entry_clear(&n);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	struct rcp_lock_entry *old = (struct rcp_lock_entry *)rcp_lock_find(l, e->id);
	if (old) {
		entry_clear(old);
		*old = n;
		return 0;
	}
	struct rcp_lock_entry *slot = lock_push(l);
	if (!slot) {
		entry_clear(&n);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	*slot = n;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp((*(const struct rcp_lock_entry *const *)a)->id,
		      (*(const struct rcp_lock_entry *const *)b)->id);
}

int rcp_lock_stage(cvmf_ctx *ctx, const struct rcp_lock *l, struct cmn_out **ret)
{
	if (!l->path)
		return cmn_error(ctx, CVMF_E_INVAL, "the lock has no path to be written to");
	const struct rcp_lock_entry **v = calloc(l->n + 1, sizeof(*v));
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	struct cmn_out *o = NULL;
	int rc = 0;
	if (!v || !(f = open_memstream(&text, &len))) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l->n; i++)
		v[i] = &l->v[i];
	qsort(v, l->n, sizeof(*v), cmp_id);

	fputs("# Written by `cvmforge build --lock`: the digests and package versions it\n"
	      "# resolved for the recipe next to it. Sections are input ids: the source as\n"
	      "# written in the recipe, or tree:DIR for a tree.\n", f);
	for (size_t i = 0; i < l->n; i++) {
		const struct rcp_lock_entry *e = v[i];
		char hex[65];
		fprintf(f, "\n[%s]\n", e->id);
		if (e->have_sha256) {
			cvmf_hex(e->sha256, 32, hex);
			fprintf(f, "sha256 = %s\n", hex);
		}
		if (e->version)
			fprintf(f, "version = %s\n", e->version);
		if (e->have_deb_sha256) {
			cvmf_hex(e->deb_sha256, 32, hex);
			fprintf(f, "deb-sha256 = %s\n", hex);
		}
		if (e->deb_file)
			fprintf(f, "deb-file = %s\n", e->deb_file);
	}
	bool bad = ferror(f) != 0;
	if (fclose(f) != 0 || bad) {
		f = NULL;
		rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory writing '%s'", l->path);
		goto out;
	}
	f = NULL;
	if ((rc = cmn_out_open(ctx, "lock file", l->path, 0, &o)))
		goto out;
	if ((rc = cmn_out_write(o, text, len))) {
		cmn_out_abort(o);
		goto out;
	}
	*ret = o;
out:
	if (f)
		fclose(f);
	free(text);
	free(v);
	return rc;
}

int rcp_lock_write(cvmf_ctx *ctx, const struct rcp_lock *l)
{
	struct cmn_out *o = NULL;
	int rc = rcp_lock_stage(ctx, l, &o);
	return rc ? rc : cmn_out_commit(o);
}
