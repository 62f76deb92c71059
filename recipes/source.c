/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sources (docs/recipe.md): file:PATH and deb:PACKAGE[=VERSION]:/PATH, and
 * the path rule recipes apply to every path they name.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/parse.h"
#include "common/path.h"
#include "recipes/recipe_int.h"

char *rcp_xstrndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* A path in a recipe: absolute, "." and ".." refused, empty components
 * dropped ("/a//b/" is "/a/b"), by the rule of common/path.h. NULL with
 * *why set when refused (or out of memory, why NULL). */
char *rcp_path(const char *s, bool root_ok, const char **why)
{
	char *out = NULL;
	enum cmn_path_err e = cmn_path_norm(s, CMN_PATH_ABSOLUTE | (root_ok ? CMN_PATH_ROOT_OK : 0),
					    &out);
	*why = e && e != CMN_PATH_E_NOMEM ? cmn_path_strerror(e) : NULL;
	return e ? NULL : out;
}

/* [EPOCH:]UPSTREAM[-REVISION]: what Debian allows, starting with a digit. */
static bool valid_deb_version(const char *s, size_t n)
{
	if (!n || !isdigit((unsigned char)s[0]))
		return false;
	const char *colon = memchr(s, ':', n);
	if (colon) {
		for (const char *p = s; p < colon; p++)
			if (!isdigit((unsigned char)*p))
				return false;
		if (colon + 1 == s + n || !isdigit((unsigned char)colon[1]))
			return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".+~:-", s[i]))
			return false;
	return true;
}

static char *join_path(const char *dir, const char *p)
{
	char *out = NULL;
	if (p[0] == '/' || !dir || !*dir || !strcmp(dir, "."))
		return strdup(p);
	size_t l = strlen(dir);
	if (asprintf(&out, "%s%s%s", dir, dir[l - 1] == '/' ? "" : "/", p) < 0)
		return NULL;
	return out;
}

void rcp_source_clear(struct rcp_source *s)
{
	if (!s)
		return;
	free(s->text);
	free(s->path);
	free(s->package);
	free(s->version);
	memset(s, 0, sizeof(*s));
}

int rcp_source_parse(cvmf_ctx *ctx, const char *where, const char *dir, const char *text,
		     struct rcp_source *ret)
{
	struct rcp_source s = { 0 };
	const char *why;
	if (!strncmp(text, "file:", 5)) {
		s.kind = RCP_SRC_FILE;
		if (!text[5])
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: 'file:' needs a path", where);
		s.path = join_path(dir, text + 5);
		if (!s.path)
			goto oom;
	} else if (!strncmp(text, "deb:", 4)) {
		s.kind = RCP_SRC_DEB;
		const char *p = text + 4, *pend = p + strcspn(p, "=:"), *path;
		if (!cmn_deb_package_ok(p, (size_t)(pend - p)))
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: '%.*s' is not a Debian package name ([a-z0-9][a-z0-9+.-]+) in '%s'",
					  where, (int)(pend - p), p, text);
		if (*pend == '=') {
			const char *v = pend + 1, *vend = strstr(v, ":/");
			if (!vend)
				return cmn_error(ctx, CVMF_E_FORMAT,
						  "%s: '%s' has no ':/PATH' after the version (deb:PACKAGE[=VERSION]:/PATH)",
						  where, text);
			if (!valid_deb_version(v, (size_t)(vend - v)))
				return cmn_error(ctx, CVMF_E_FORMAT,
						  "%s: '%.*s' is not a Debian version ([EPOCH:]UPSTREAM[-REVISION], starting with a digit) in '%s'",
						  where, (int)(vend - v), v, text);
			s.version = rcp_xstrndup(v, (size_t)(vend - v));
			if (!s.version)
				goto oom;
			path = vend + 1;
		} else if (pend[0] == ':' && pend[1] == '/') {
			path = pend + 1;
		} else {
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: '%s' is not deb:PACKAGE[=VERSION]:/PATH", where, text);
		}
		s.package = rcp_xstrndup(p, (size_t)(pend - p));
		if (!s.package)
			goto oom;
		s.path = rcp_path(path, false, &why);
		if (!s.path) {
			rcp_source_clear(&s);
			if (!why)
				goto oom;
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: the path in '%s' %s", where, text,
					  why);
		}
	} else {
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: '%s' is not a source (file:PATH or deb:PACKAGE[=VERSION]:/PATH)",
				  where, text);
	}
	s.text = strdup(text);
	if (!s.text)
		goto oom;
	*ret = s;
	return 0;
oom:
	rcp_source_clear(&s);
	return rcp_nomem(ctx);
}

int rcp_source_at(struct pstate *ps, unsigned line, const char *text, struct rcp_source *out)
{
	char where[300];
	snprintf(where, sizeof(where), "%s:%u", ps->name, line);
	rcp_source_clear(out);
	int r = rcp_source_parse(ps->ctx, where, ps->dir, text, out);
	if (!r)
		out->line = line;
	return r;
}
