/* SPDX-License-Identifier: Apache-2.0 */
/*
 * [repositories] (docs/recipe.md#repositories): the Debian repositories a
 * recipe's deb: inputs resolve from, one line each, as apt's one-line
 * sources with Signed-By, and mkosi's Mirror=/Release=/Repositories=:
 *
 *   repository = NAME URI SUITE COMPONENT... signed-by=KEYRING [check-valid-until=no]
 *
 * and the check that every deb: source naming a repository (deb:PKG@NAME)
 * names a declared one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/parse.h"
#include "recipes/recipe_int.h"

#define REPO_WORDS 40

void rcp_repo_clear(struct rcp_repo *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->uri);
	free(p->suite);
	for (size_t i = 0; i < p->n_components; i++)
		free(p->components[i]);
	free(p->components);
	free(p->keyring);
	memset(p, 0, sizeof(*p));
}

/* Words of an apt sources line: no quotes, no brackets, printable ASCII. */
static bool word_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || strchr("[]\"'#", *s))
			return false;
	return true;
}

static bool uri_ok(const char *s)
{
	return word_ok(s) && (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) ||
			      !strncmp(s, "file:/", 6));
}

int rcp_add_repo(struct pstate *ps, const struct item *it)
{
	struct rcp_recipe *r = ps->r;
	struct rcp_repo p = { 0 };
	char *tok[REPO_WORDS + 1];
	char *s = strdup(it->value);
	int rc = 0;
	if (!s)
		return rcp_nomem(ps->ctx);
	size_t n = 0;
	for (char *q = s;;) {
		while (*q == ' ' || *q == '\t')
			q++;
		if (!*q || n > REPO_WORDS)
			break;
		tok[n++] = q;
		while (*q && *q != ' ' && *q != '\t')
			q++;
		if (*q)
			*q++ = '\0';
	}
	p.line = it->line;
	if (n > REPO_WORDS) {
		rc = rcp_perr(ps, it->line, "'repository' has more than %d words", REPO_WORDS);
		goto out;
	}
	if (n < 4 || strchr(tok[0], '=') || strchr(tok[1], '=') || strchr(tok[2], '=') ||
	    strchr(tok[3], '=')) {
		rc = rcp_perr(ps, it->line,
			      "'repository' must be NAME URI SUITE COMPONENT... signed-by=KEYRING");
		goto out;
	}
	if (!cmn_deb_package_ok(tok[0], strlen(tok[0]))) {
		rc = rcp_perr(ps, it->line,
			      "repository name '%s' must be [a-z0-9][a-z0-9+.-]+ (as a package name)",
			      tok[0]);
		goto out;
	}
	for (size_t i = 0; i < r->n_repos; i++)
		if (!strcmp(r->repos[i].name, tok[0])) {
			rc = rcp_perr(ps, it->line, "repository '%s' already declared on line %u",
				      tok[0], r->repos[i].line);
			goto out;
		}
	size_t ul = strlen(tok[1]);
	while (ul > 1 && tok[1][ul - 1] == '/')
		tok[1][--ul] = '\0';   /* one form: no trailing '/' */
	if (!uri_ok(tok[1])) {
		rc = rcp_perr(ps, it->line,
			      "repository '%s': '%s' is not an http://, https:// or file:/ URI", tok[0],
			      tok[1]);
		goto out;
	}
	if (!word_ok(tok[2]) || tok[2][0] == '/' || strstr(tok[2], "..")) {
		rc = rcp_perr(ps, it->line, "repository '%s': '%s' is not a suite (bookworm, sid, trixie-updates)",
			      tok[0], tok[2]);
		goto out;
	}
	if (!(p.name = strdup(tok[0])) || !(p.uri = strdup(tok[1])) || !(p.suite = strdup(tok[2])) ||
	    !(p.components = calloc(n, sizeof(char *)))) {
		rc = rcp_nomem(ps->ctx);
		goto out;
	}
	p.check_valid_until = true;
	bool have_cvu = false;
	for (size_t i = 3; i < n; i++) {
		char *eq = strchr(tok[i], '=');
		if (!eq) {
			if (p.keyring || have_cvu) {
				rc = rcp_perr(ps, it->line, "repository '%s': component '%s' after an option",
					      tok[0], tok[i]);
				goto out;
			}
			if (!word_ok(tok[i]) || tok[i][0] == '/' || strstr(tok[i], "..")) {
				rc = rcp_perr(ps, it->line, "repository '%s': '%s' is not a component (main, contrib, ...)",
					      tok[0], tok[i]);
				goto out;
			}
			for (size_t j = 0; j < p.n_components; j++)
				if (!strcmp(p.components[j], tok[i])) {
					rc = rcp_perr(ps, it->line, "repository '%s' lists component '%s' twice",
						      tok[0], tok[i]);
					goto out;
				}
			if (!(p.components[p.n_components++] = strdup(tok[i]))) {
				rc = rcp_nomem(ps->ctx);
				goto out;
			}
			continue;
		}
		*eq = '\0';
		const char *v = eq + 1;
		if (!strcmp(tok[i], "signed-by")) {
			const char *why = NULL;
			if (p.keyring) {
				rc = rcp_perr(ps, it->line, "option 'signed-by' given twice");
				goto out;
			}
			if (!*v || !word_ok(v)) {
				rc = rcp_perr(ps, it->line, "repository '%s': 'signed-by' needs a keyring file",
					      tok[0]);
				goto out;
			}
			char *joined = NULL;
			if (v[0] != '/' && asprintf(&joined, "%s/%s", ps->dir ? ps->dir : ".", v) < 0) {
				rc = rcp_nomem(ps->ctx);
				goto out;
			}
			/* Relative to the recipe's directory, as file: sources are. */
			if (joined && joined[0] != '/') {
				p.keyring = joined;
			} else {
				p.keyring = rcp_path(joined ? joined : v, false, &why);
				free(joined);
				if (!p.keyring) {
					rc = why ? rcp_perr(ps, it->line, "repository '%s': signed-by '%s' %s",
							    tok[0], v, why)
						 : rcp_nomem(ps->ctx);
					goto out;
				}
			}
		} else if (!strcmp(tok[i], "check-valid-until")) {
			if (have_cvu) {
				rc = rcp_perr(ps, it->line, "option 'check-valid-until' given twice");
				goto out;
			}
			have_cvu = true;
			if (!strcmp(v, "no"))
				p.check_valid_until = false;
			else if (strcmp(v, "yes")) {
				rc = rcp_perr(ps, it->line, "'check-valid-until' must be yes or no, not '%s'", v);
				goto out;
			}
		} else {
			rc = rcp_perr(ps, it->line,
				      "unknown option '%s' in 'repository' (options: signed-by=, check-valid-until=)",
				      tok[i]);
			goto out;
		}
	}
	if (!p.n_components) {
		rc = rcp_perr(ps, it->line, "repository '%s' names no component (main, ...)", tok[0]);
		goto out;
	}
	if (!p.keyring) {
		rc = rcp_perr(ps, it->line,
			      "repository '%s' has no signed-by=KEYRING: the keyring that signs its Release file "
			      "(Debian's: /usr/share/keyrings/debian-archive-keyring.gpg)", tok[0]);
		goto out;
	}
	struct rcp_repo *v = realloc(r->repos, (r->n_repos + 1) * sizeof(*v));
	if (!v) {
		rc = rcp_nomem(ps->ctx);
		goto out;
	}
	r->repos = v;
	r->repos[r->n_repos++] = p;
	memset(&p, 0, sizeof(p));
out:
	rcp_repo_clear(&p);
	free(s);
	return rc;
}

static int check_one(struct pstate *ps, const struct rcp_source *s)
{
	if (s->kind != RCP_SRC_DEB || !s->repo)
		return 0;
	if (rcp_repo_find(ps->r, s->repo))
		return 0;
	char names[300] = "";
	for (size_t i = 0; i < ps->r->n_repos; i++) {
		size_t l = strlen(names);
		snprintf(names + l, sizeof(names) - l, "%s%s", i ? ", " : "", ps->r->repos[i].name);
	}
	return rcp_perr(ps, s->line, "'%s' names repository '%s', which [repositories] does not declare (%s)",
			s->text, s->repo, names[0] ? names : "it declares none");
}

int rcp_check_repos(struct pstate *ps)
{
	struct rcp_recipe *r = ps->r;
	int rc = check_one(ps, &r->firmware);
	if (!rc)
		rc = check_one(ps, &r->kernel);
	if (!rc && r->initrd_prebuilt)
		rc = check_one(ps, &r->initrd);
	if (!rc && r->tdx.have_acpi)
		rc = check_one(ps, &r->tdx.acpi);
	for (size_t i = 0; i < r->n_entries && !rc; i++)
		if (r->entries[i].kind == RCP_ENT_FILE)
			rc = check_one(ps, &r->entries[i].src);
	return rc;
}

const struct rcp_repo *rcp_repo_find(const struct rcp_recipe *r, const char *name)
{
	for (size_t i = 0; r && name && i < r->n_repos; i++)
		if (!strcmp(r->repos[i].name, name))
			return &r->repos[i];
	return NULL;
}
