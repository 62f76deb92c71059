/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The entry lines of [initrd] (docs/recipe.md): file, tree, dir, symlink and
 * device, each split into words and checked; and the check that no two
 * lines create the same path.
 */
#include <stdio.h>
#include <stdlib.h>

#include "recipes/recipe_int.h"

static bool parse_octal(const char *s, unsigned max, unsigned *ret)
{
	unsigned v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '7' || v > max)
			return false;
		v = v * 8 + (unsigned)(*s - '0');
	}
	if (v > max)
		return false;
	*ret = v;
	return true;
}

/* The whitespace-separated tokens of s (modified in place). */
static size_t tokenize(char *s, char **tok, size_t max)
{
	size_t n = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return n;
		if (n == max)
			return n + 1;
		tok[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
}

enum opt { O_MODE = 1, O_UID = 2, O_GID = 4, O_SHA256 = 8, O_DEST = 16 };

static int entry_options(struct pstate *ps, const struct item *it, struct rcp_entry *e,
			 char **tok, size_t n, unsigned allowed)
{
	static const char *const names[] = { "mode", "uid", "gid", "sha256", "dest" };
	const char *what = rcp_key_table[it->key].key;
	unsigned seen = 0;
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(tok[i], '=');
		size_t kl = eq ? (size_t)(eq - tok[i]) : 0;
		unsigned o = 0;
		for (unsigned j = 0; j < CMN_ARRAY_SIZE(names) && eq; j++)
			if (strlen(names[j]) == kl && !strncmp(tok[i], names[j], kl))
				o = 1u << j;
		if (!(o & allowed)) {
			char opts[64] = "";
			for (unsigned j = 0; j < CMN_ARRAY_SIZE(names); j++)
				if (allowed & (1u << j)) {
					size_t l = strlen(opts);
					snprintf(opts + l, sizeof(opts) - l, "%s%s=", l ? ", " : "",
						 names[j]);
				}
			if (!eq)
				return rcp_perr(ps, it->line, "unexpected '%s' in '%s' (options: %s)",
					    tok[i], what, opts);
			return rcp_perr(ps, it->line, "unknown option '%.*s' in '%s' (options: %s)",
				    (int)kl, tok[i], what, opts);
		}
		if (seen & o)
			return rcp_perr(ps, it->line, "option '%.*s' given twice", (int)kl, tok[i]);
		seen |= o;
		const char *v = eq + 1;
		uint64_t u;
		const char *why;
		switch (o) {
		case O_MODE:
			if (!parse_octal(v, 07777, &e->mode))
				return rcp_perr(ps, it->line, "mode '%s' is not octal 0..07777", v);
			e->have_mode = true;
			break;
		case O_UID:
		case O_GID:
			if (!rcp_parse_dec(v, 0xfffffffeu, &u))
				return rcp_perr(ps, it->line, "%s '%s' is not a number 0..4294967294",
					    o == O_UID ? "uid" : "gid", v);
			*(o == O_UID ? &e->uid : &e->gid) = (unsigned)u;
			break;
		case O_SHA256:
			if (strlen(v) != 64 || cvmf_unhex(v, e->src.sha256, 32))
				return rcp_perr(ps, it->line, "sha256 must be 64 hex digits, not '%s'", v);
			e->src.have_sha256 = true;
			break;
		case O_DEST:
			free(e->dest);
			e->dest = rcp_path(v, true, &why);
			if (!e->dest)
				return why ? rcp_perr(ps, it->line, "dest '%s' %s", v, why) : rcp_nomem(ps->ctx);
			break;
		}
	}
	return 0;
}

static int dest_at(struct pstate *ps, const struct item *it, const char *s, bool root_ok,
		   struct rcp_entry *e)
{
	const char *why;
	e->dest = rcp_path(s, root_ok, &why);
	if (!e->dest)
		return why ? rcp_perr(ps, it->line, "'%s': '%s' %s", rcp_key_table[it->key].key, s, why)
			   : rcp_nomem(ps->ctx);
	return 0;
}

static int parse_entry(struct pstate *ps, const struct item *it, struct rcp_entry *e)
{
	char *buf = strdup(it->value);
	char *tok[16];
	int r = 0;
	if (!buf)
		return rcp_nomem(ps->ctx);
	size_t n = tokenize(buf, tok, CMN_ARRAY_SIZE(tok));
	const char *what = rcp_key_table[it->key].key;
	e->line = it->line;
	if (n > CMN_ARRAY_SIZE(tok)) {
		r = rcp_perr(ps, it->line, "too many words in '%s'", what);
		goto out;
	}
	if (!n) {
		r = rcp_perr(ps, it->line, "'%s' needs a value: %s = %s", what, what,
			 rcp_key_table[it->key].value);
		goto out;
	}
	switch (it->key) {
	case K_FILE: {
		e->kind = RCP_ENT_FILE;
		char *sep = NULL;
		for (char *p = strstr(tok[0], ":/"); p; p = strstr(p + 1, ":/"))
			sep = p;
		if (!sep || sep == tok[0]) {
			r = rcp_perr(ps, it->line, "'file' needs SOURCE:/DEST, as in file:init:/init, not '%s'",
				 tok[0]);
			goto out;
		}
		*sep = '\0';
		if ((r = dest_at(ps, it, sep + 1, false, e)) ||
		    (r = rcp_source_at(ps, it->line, tok[0], &e->src)))
			goto out;
		r = entry_options(ps, it, e, tok + 1, n - 1, O_MODE | O_UID | O_GID | O_SHA256);
		break;
	}
	case K_TREE: {
		e->kind = RCP_ENT_TREE;
		char *text = NULL;
		if (!strncmp(tok[0], "deb:", 4)) {
			r = rcp_perr(ps, it->line, "'tree' takes a host directory (DIR or file:DIR), not '%s'",
				 tok[0]);
			goto out;
		}
		if (asprintf(&text, "%s%s", strncmp(tok[0], "file:", 5) ? "file:" : "", tok[0]) < 0) {
			r = rcp_nomem(ps->ctx);
			goto out;
		}
		r = rcp_source_at(ps, it->line, text, &e->src);
		free(text);
		if (r || (r = entry_options(ps, it, e, tok + 1, n - 1, O_DEST | O_UID | O_GID)))
			goto out;
		/* The source as written. */
		free(e->src.text);
		if (!(e->src.text = strdup(tok[0]))) {
			r = rcp_nomem(ps->ctx);
			goto out;
		}
		if (!e->dest && !(e->dest = strdup("/")))
			r = rcp_nomem(ps->ctx);
		break;
	}
	case K_DIR:
		e->kind = RCP_ENT_DIR;
		if (!(r = dest_at(ps, it, tok[0], true, e)))
			r = entry_options(ps, it, e, tok + 1, n - 1, O_MODE | O_UID | O_GID);
		break;
	case K_SYMLINK:
		e->kind = RCP_ENT_SYMLINK;
		if (n < 3 || strcmp(tok[1], "->")) {
			r = rcp_perr(ps, it->line, "'symlink' needs /DEST -> TARGET");
			goto out;
		}
		if ((r = dest_at(ps, it, tok[0], false, e)))
			goto out;
		if (!(e->target = strdup(tok[2]))) {
			r = rcp_nomem(ps->ctx);
			goto out;
		}
		r = entry_options(ps, it, e, tok + 3, n - 3, O_UID | O_GID);
		break;
	case K_DEVICE: {
		uint64_t ma, mi;
		if (n < 4 || (strcmp(tok[1], "c") && strcmp(tok[1], "b"))) {
			r = rcp_perr(ps, it->line, "'device' needs /DEST c|b MAJOR MINOR");
			goto out;
		}
		e->kind = tok[1][0] == 'c' ? RCP_ENT_CHAR : RCP_ENT_BLOCK;
		if (!rcp_parse_dec(tok[2], 4095, &ma) || !rcp_parse_dec(tok[3], 1048575, &mi)) {
			r = rcp_perr(ps, it->line,
				 "device numbers '%s %s' are not MAJOR 0..4095 and MINOR 0..1048575",
				 tok[2], tok[3]);
			goto out;
		}
		e->major = (unsigned)ma;
		e->minor = (unsigned)mi;
		if (!(r = dest_at(ps, it, tok[0], false, e)))
			r = entry_options(ps, it, e, tok + 4, n - 4, O_MODE | O_UID | O_GID);
		break;
	}
	}
out:
	free(buf);
	return r;
}

void rcp_entry_clear(struct rcp_entry *e)
{
	rcp_source_clear(&e->src);
	free(e->dest);
	free(e->target);
}

int rcp_add_entry(struct pstate *ps, const struct item *it)
{
	struct rcp_recipe *r = ps->r;
	struct rcp_entry *v = realloc(r->entries, (r->n_entries + 1) * sizeof(*v));
	if (!v)
		return rcp_nomem(ps->ctx);
	r->entries = v;
	struct rcp_entry *e = &v[r->n_entries];
	memset(e, 0, sizeof(*e));
	int rc = parse_entry(ps, it, e);
	if (rc) {
		rcp_entry_clear(e);
		return rc;
	}
	r->n_entries++;
	return 0;
}

static int cmp_dest(const void *a, const void *b)
{
	const struct rcp_entry *x = *(const struct rcp_entry *const *)a,
			       *y = *(const struct rcp_entry *const *)b;
	int c = strcmp(x->dest, y->dest);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Two lines creating the same path: the later of the earliest such pair. */
int rcp_check_dup_dests(struct pstate *ps)
{
	struct rcp_recipe *r = ps->r;
	const struct rcp_entry **v = calloc(r->n_entries + 1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return rcp_nomem(ps->ctx);
	for (size_t i = 0; i < r->n_entries; i++)
		if (r->entries[i].kind != RCP_ENT_TREE)
			v[n++] = &r->entries[i];
	qsort(v, n, sizeof(*v), cmp_dest);
	const struct rcp_entry *first = NULL, *second = NULL;
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i]->dest, v[i - 1]->dest) &&
		    (i < 2 || strcmp(v[i]->dest, v[i - 2]->dest)) &&
		    (!second || v[i]->line < second->line)) {
			first = v[i - 1];
			second = v[i];
		}
	free(v);
	if (second)
		return rcp_perr(ps, second->line, "'%s' is already created on line %u", second->dest,
			    first->line);
	return 0;
}
