/* SPDX-License-Identifier: Apache-2.0 */
/* The one JSON layer: hex values, reading with line:column errors, canonical
 * and human-readable output, typed field access by path (common/json.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/internal.h"
#include "common/json.h"
#include "common/write.h"

json_t *cmn_json_hex(const uint8_t *b, size_t n)
{
	if (n > (SIZE_MAX - 1) / 2)
		return NULL;
	char stackbuf[2 * 64 + 1];
	char *h = n <= 64 ? stackbuf : malloc(2 * n + 1);
	if (!h)
		return NULL;
	cvmf_hex(b, n, h);
	json_t *v = json_stringn_nocheck(h, 2 * n);
	if (h != stackbuf)
		free(h);
	return v;
}

json_t *cmn_json_hex_u64(uint64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "0x%" PRIx64, v);
	return json_string_nocheck(s);
}

json_t *cmn_json_digest(const struct cvmf_file_digest *d)
{
	json_t *o = json_object(), *s256 = cmn_json_hex(d->sha256, 32),
	       *s384 = cmn_json_hex(d->sha384, 48), *size = json_integer((json_int_t)d->size);
	int bad = !o || json_object_set_new(o, "size", size) ||
		  json_object_set_new(o, "sha256", s256) || json_object_set_new(o, "sha384", s384);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *cmn_json_string_or_null(const char *s)
{
	json_t *v = s ? json_string(s) : NULL;   /* NULL when not UTF-8 */
	return v ? v : json_null();
}

json_t *cmn_json_text(const void *s, size_t len)
{
	if (!s)
		s = "";
	json_t *o = json_object(), *hex = cmn_json_hex(s, len);
	/* json_stringn() refuses invalid UTF-8 but would keep a NUL byte. */
	json_t *val = memchr(s, 0, len) ? NULL : json_stringn(s, len);
	if (!o || !hex || json_object_set_new(o, "value", val ? val : json_null()) ||
	    json_object_set_new(o, "hex", hex)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int parse_error(cvmf_ctx *ctx, const char *what, const char *path,
		       const json_error_t *e)
{
	int code = json_error_code(e) == json_error_out_of_memory ? CVMF_E_NOMEM : CVMF_E_FORMAT;
	if (path)
		return cmn_error(ctx, code, "%s '%s':%d:%d: %s", what, path, e->line, e->column,
				  e->text);
	return cmn_error(ctx, code, "%s:%d:%d: %s", what, e->line, e->column, e->text);
}

static int parse(cvmf_ctx *ctx, const char *what, const char *path, const void *buf,
		 size_t len, json_t **ret)
{
	json_error_t e;
	json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (!v)
		return parse_error(ctx, what, path, &e);
	*ret = v;
	return 0;
}

int cmn_json_parse(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
		   json_t **ret)
{
	return parse(ctx, what, NULL, buf, len, ret);
}

int cmn_json_read_file(cvmf_ctx *ctx, const char *what, const char *path, size_t max,
		       json_t **ret)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = cmn_read_file(ctx, what, path, max, &buf, &len);
	if (!rc)
		rc = parse(ctx, what, path, buf, len, ret);
	free(buf);
	return rc;
}

/* Refuse reals anywhere in v; path is the location so far, for the message. */
static int check_integers(cvmf_ctx *ctx, const json_t *v, char *path, size_t cap, size_t at)
{
	int rc = 0;
	if (json_is_real(v))
		return cmn_error(ctx, CVMF_E_INVAL,
				  "canonical JSON: %s: a real number (only integers are allowed)",
				  at ? path : "(the document)");
	if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach((json_t *)v, k, m) {
			int n = snprintf(path + at, cap - at, "%s%s", at ? "." : "", k);
			size_t next = n < 0 || (size_t)n >= cap - at ? cap - 1 : at + (size_t)n;
			if ((rc = check_integers(ctx, m, path, cap, next)))
				break;
			path[at] = 0;
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			int n = snprintf(path + at, cap - at, "[%zu]", i);
			size_t next = n < 0 || (size_t)n >= cap - at ? cap - 1 : at + (size_t)n;
			if ((rc = check_integers(ctx, json_array_get(v, i), path, cap, next)))
				break;
			path[at] = 0;
		}
	}
	return rc;
}

int cmn_json_canonical(cvmf_ctx *ctx, const json_t *v, char **ret, size_t *ret_len)
{
	char path[256] = "";
	int rc = check_integers(ctx, v, path, sizeof(path), 0);
	if (rc)
		return rc;
	/* JSON_SORT_KEYS sorts by the key bytes (memcmp, then length). */
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!s)
		return cmn_error(ctx, CVMF_E_NOMEM, "canonical JSON: cannot encode the document");
	*ret_len = strlen(s);
	*ret = s;
	return 0;
}

int cmn_json_pretty(cvmf_ctx *ctx, const json_t *v, char **ret, size_t *ret_len)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII |
				       JSON_ENCODE_ANY);
	if (!s)
		return cmn_error(ctx, CVMF_E_NOMEM, "cannot encode JSON");
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);
	if (!t) {
		free(s);
		return cmn_error(ctx, CVMF_E_NOMEM, "cannot encode JSON");
	}
	t[n] = '\n';
	t[n + 1] = 0;
	*ret = t;
	*ret_len = n + 1;
	return 0;
}

int cmn_json_write_file(cvmf_ctx *ctx, const char *what, const char *path,
			const json_t *v, unsigned write_flags)
{
	char *s = NULL;
	size_t n = 0;
	int rc = cmn_json_pretty(ctx, v, &s, &n);
	if (!rc)
		rc = cmn_write_file(ctx, what, path, s, n, write_flags);
	free(s);
	return rc;
}

const char *cmn_json_type_name(const json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static const char *want_name(int want)
{
	switch (want) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static bool type_ok(const json_t *v, int want)
{
	if (want < 0)
		return true;
	if (want == JSON_TRUE || want == JSON_FALSE)
		return json_is_boolean(v);
	return (int)json_typeof(v) == want;
}

/* "WHAT: inputs[3]" for "inputs[3].sha256" cut at len, or "WHAT" at the root. */
static const char *prefix(const char *what, const char *path, size_t len, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%.*s", what, len ? ": " : "", (int)len, path);
	return buf;
}

int cmn_json_get(cvmf_ctx *ctx, const char *what, const json_t *root, const char *path,
		 int want, json_t **ret)
{
	const json_t *cur = root;
	const char *p = path;
	char pb[768];
	while (*p) {
		size_t done = (size_t)(p - path);   /* the path of cur */
		if (*p == '[') {
			char *end;
			errno = 0;
			unsigned long long i = strtoull(p + 1, &end, 10);
			if (p[1] < '0' || p[1] > '9' || *end != ']' || errno)
				return cmn_error(ctx, CVMF_E_INVAL, "%s: bad JSON path '%s'", what,
						  path);
			p = end + 1;
			if (!json_is_array(cur))
				return cmn_error(ctx, CVMF_E_FORMAT, "%s: expected an array, got %s",
						  prefix(what, path, done, pb, sizeof(pb)),
						  cmn_json_type_name(cur));
			if (i >= json_array_size(cur))
				return cmn_error(ctx, CVMF_E_FORMAT, "%s: missing",
						  prefix(what, path, (size_t)(p - path), pb, sizeof(pb)));
			cur = json_array_get(cur, (size_t)i);
			continue;
		}
		if (*p == '.' && p != path)
			p++;
		size_t n = strcspn(p, ".[");
		if (!n)
			return cmn_error(ctx, CVMF_E_INVAL, "%s: bad JSON path '%s'", what, path);
		if (!json_is_object(cur))
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: expected an object, got %s",
					  prefix(what, path, done, pb, sizeof(pb)),
					  cmn_json_type_name(cur));
		cur = json_object_getn(cur, p, n);
		p += n;
		if (!cur)
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: missing",
					  prefix(what, path, (size_t)(p - path), pb, sizeof(pb)));
	}
	if (!type_ok(cur, want))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: expected %s, got %s",
				  prefix(what, path, strlen(path), pb, sizeof(pb)), want_name(want),
				  cmn_json_type_name(cur));
	*ret = (json_t *)cur;
	return 0;
}

int cmn_json_get_str(cvmf_ctx *ctx, const char *what, const json_t *root, const char *path,
		     const char **ret)
{
	json_t *v;
	int rc = cmn_json_get(ctx, what, root, path, JSON_STRING, &v);
	if (!rc)
		*ret = json_string_value(v);
	return rc;
}

int cmn_json_get_u64(cvmf_ctx *ctx, const char *what, const json_t *root, const char *path,
		     uint64_t max, uint64_t *ret)
{
	json_t *v;
	int rc = cmn_json_get(ctx, what, root, path, JSON_INTEGER, &v);
	if (rc)
		return rc;
	json_int_t i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s: %" JSON_INTEGER_FORMAT
				  " is out of range (0 to %" PRIu64 ")", what, path, i, max);
	*ret = (uint64_t)i;
	return 0;
}

int cmn_json_get_hex(cvmf_ctx *ctx, const char *what, const json_t *obj, const char *key,
		     uint8_t *out, size_t n)
{
	json_t *v;
	int rc = cmn_json_get(ctx, what, obj, key, JSON_STRING, &v);
	if (rc)
		return rc;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len != 2 * n)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: %s: expected %zu lowercase hex digits, got %zu characters",
				  what, key, 2 * n, len);
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: %s: character %zu is not a lowercase hex digit",
					  what, key, i + 1);
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(cmn_hexval(s[2 * i]) << 4 | cmn_hexval(s[2 * i + 1]));
	return 0;
}

/* The shape walk: path holds the location of v (at bytes long) for messages. */
struct check {
	cvmf_ctx *ctx;
	const char *what;
	char path[512];
	char loc[768];
};

/* "WHAT: PATH", or "WHAT" at the root, for messages. */
static const char *here(struct check *c, size_t at)
{
	snprintf(c->loc, sizeof(c->loc), "%s%s%s", c->what, at ? ": " : "", at ? c->path : "");
	return c->loc;
}

/* Append ".name" or "[i]" to the path; returns the new length. */
static size_t path_push(struct check *c, size_t at, const char *name, size_t index)
{
	size_t cap = sizeof(c->path);
	int n = name ? snprintf(c->path + at, cap - at, "%s%s", at ? "." : "", name)
		     : snprintf(c->path + at, cap - at, "[%zu]", index);
	return n < 0 || (size_t)n >= cap - at ? cap - 1 : at + (size_t)n;
}

static int check_value(struct check *c, size_t at, const json_t *v,
		       const struct cmn_json_shape *s)
{
	if (s->nullable && json_is_null(v))
		return 0;
	if (!type_ok(v, s->type))
		return cmn_error(c->ctx, CVMF_E_FORMAT, "%s: expected %s%s, got %s",
				  here(c, at), want_name(s->type), s->nullable ? " or null" : "",
				  cmn_json_type_name(v));
	int rc = 0;
	if (json_is_integer(v) && s->nonneg && json_integer_value(v) < 0)
		return cmn_error(c->ctx, CVMF_E_FORMAT, "%s: %" JSON_INTEGER_FORMAT
				  " is negative", here(c, at), json_integer_value(v));
	if (json_is_string(v) && s->hex) {
		const char *str = json_string_value(v);
		size_t len = json_string_length(v);
		if (len != 2 * s->hex)
			return cmn_error(c->ctx, CVMF_E_FORMAT,
					  "%s: expected %zu lowercase hex digits, got %zu characters",
					  here(c, at), 2 * s->hex, len);
		for (size_t i = 0; i < len; i++)
			if (!((str[i] >= '0' && str[i] <= '9') || (str[i] >= 'a' && str[i] <= 'f')))
				return cmn_error(c->ctx, CVMF_E_FORMAT,
						  "%s: character %zu is not a lowercase hex digit",
						  here(c, at), i + 1);
	}
	if (json_is_array(v) && s->each)
		for (size_t i = 0; !rc && i < json_array_size(v); i++) {
			size_t next = path_push(c, at, NULL, i);
			rc = check_value(c, next, json_array_get(v, i), s->each);
			c->path[at] = 0;
		}
	if (!json_is_object(v) || rc)
		return rc;
	for (const struct cmn_json_member *m = s->members; m && m->name && !rc; m++) {
		json_t *mv = json_object_get(v, m->name);
		if (!mv) {
			if (!m->optional)
				rc = cmn_error(c->ctx, CVMF_E_FORMAT, "%s: missing member '%s'",
						here(c, at), m->name);
			continue;
		}
		size_t next = path_push(c, at, m->name, 0);
		rc = check_value(c, next, mv, m->shape);
		c->path[at] = 0;
	}
	const char *k;
	json_t *mv;
	json_object_foreach((json_t *)v, k, mv) {
		if (rc)
			break;
		const struct cmn_json_member *m = s->members;
		while (m && m->name && strcmp(m->name, k))
			m++;
		if (m && m->name)
			continue;
		if (s->each) {
			size_t next = path_push(c, at, k, 0);
			rc = check_value(c, next, mv, s->each);
			c->path[at] = 0;
		} else if (s->closed) {
			rc = cmn_error(c->ctx, CVMF_E_FORMAT, "%s: unknown member '%s'",
					here(c, at), k);
		}
	}
	return rc;
}

int cmn_json_check(cvmf_ctx *ctx, const char *what, const json_t *v,
		   const struct cmn_json_shape *shape)
{
	struct check c = { .ctx = ctx, .what = what };
	return check_value(&c, 0, v, shape);
}
