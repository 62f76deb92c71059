/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The INI layer of recipes and lock files (recipes/recipe.h): libinih does
 * the splitting; the reader below feeds it one line at a time from memory
 * and keeps the line number, the full section name (inih keeps 49
 * characters) and the previous key, following inih's own rules for
 * comments, headers and continuation lines.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <ini.h>

#include "recipes/recipe.h"

struct ini_state {
	cvmf_ctx *ctx;
	const char *name;
	const char *p;              /* what is left of the text */
	size_t left;
	unsigned line;              /* of the line last handed to inih */
	int err;                    /* the first error; its message is in ctx */
	unsigned err_line;
	rcp_ini_fn fn;
	void *user;
	bool full;                  /* the last line filled inih's buffer exactly */
	int last_num;
	bool cont;                  /* the current line continues prev_key */
	char section[RCP_MAX_LINE + 1];
	char prev_key[RCP_MAX_LINE + 1];   /* "" after a header */
	char value[RCP_MAX_LINE + 1];      /* a continuation line without its comment */
};

static int ini_fail(struct ini_state *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ini_fail(struct ini_state *st, int err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st->err = cmn_error(st->ctx, err, "%s:%u: %s", st->name, st->line, msg);
	st->err_line = st->line;
	return st->err;
}

/* The end of s (n bytes) at the first of `chars` or at an inline comment:
 * ';' after whitespace, as inih's ini_find_chars_or_comment. */
static size_t find_chars_or_comment(const char *s, size_t n, const char *chars)
{
	bool was_space = false;
	size_t i;
	for (i = 0; i < n; i++) {
		if (chars && strchr(chars, s[i]))
			break;
		if (was_space && s[i] == ';')
			break;
		was_space = isspace((unsigned char)s[i]);
	}
	return i;
}

static size_t rstrip_len(const char *s, size_t n)
{
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return n;
}

/* Where the first invalid UTF-8 sequence or control character starts, or n. */
static size_t bad_byte(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return i;
			i++;
			continue;
		}
		size_t k;
		unsigned min, cp;
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1, min = 0x80, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2, min = 0x800, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return i;
		}
		if (n - i <= k)
			return i;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += k + 1;
	}
	return n;
}

bool rcp_ini_text_ok(const char *s)
{
	size_t n = strlen(s);
	return bad_byte((const unsigned char *)s, n) == n;
}

/* Follow inih's reading of one line (without its '\n'): note headers and
 * keys, and call the callback for a header. */
static void ini_classify(struct ini_state *st, const char *line, size_t n)
{
	const char *s = line;
	if (st->line == 1 && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	while (s < line + n && isspace((unsigned char)*s))
		s++;
	size_t len = rstrip_len(s, (size_t)(line + n - s));
	st->cont = false;
	if (!len || *s == ';' || *s == '#')
		return;
	if (st->prev_key[0] && s > line) {
		st->cont = true;
		size_t e = find_chars_or_comment(s, len, NULL);
		e = rstrip_len(s, e);
		memcpy(st->value, s, e);
		st->value[e] = '\0';
		return;
	}
	if (*s == '[') {
		size_t e = find_chars_or_comment(s + 1, len - 1, "]");
		if (e == len - 1 || s[1 + e] != ']')
			return;     /* inih reports the line */
		/* inih ignores what follows the ']': only a comment may. */
		const char *rest = s + 2 + e;
		size_t rn = len - 2 - e, c = find_chars_or_comment(rest, rn, NULL);
		if (rstrip_len(rest, c)) {
			ini_fail(st, CVMF_E_FORMAT, "text after the section header's ']'");
			return;
		}
		memcpy(st->section, s + 1, e);
		st->section[e] = '\0';
		st->prev_key[0] = '\0';
		struct rcp_ini_item it = { st->section, NULL, NULL, st->line, false };
		int r = st->fn(st->ctx, st->user, &it);
		if (r) {
			st->err = r;
			st->err_line = st->line;
		}
		return;
	}
	size_t e = find_chars_or_comment(s, len, "=:");
	if (e == len)
		return;     /* inih reports the line */
	if (s[e] == ':') {
		ini_fail(st, CVMF_E_FORMAT, "expected 'key = value' (':' is not a separator)");
		return;
	}
	size_t k = rstrip_len(s, e);
	memcpy(st->prev_key, s, k);
	st->prev_key[k] = '\0';
}

/* An fgets() over the text for ini_parse_stream: one whole line per call. */
static char *ini_read(char *buf, int num, void *stream)
{
	struct ini_state *st = stream;
	/* A newer inih drains the rest of a line that filled its buffer with
	 * smaller reads: that line was whole. */
	if (st->full && num < st->last_num) {
		st->full = false;
		return NULL;
	}
	st->full = false;
	st->last_num = num;
	if (st->err || !st->left || num < 2)
		return NULL;
	const char *nl = memchr(st->p, '\n', st->left);
	size_t n = nl ? (size_t)(nl - st->p) : st->left;
	size_t adv = nl ? n + 1 : n;
	size_t len = n && st->p[n - 1] == '\r' ? n - 1 : n;
	st->line++;
	size_t bad = bad_byte((const unsigned char *)st->p, len);
	if (bad < len) {
		unsigned char c = (unsigned char)st->p[bad];
		if (!c)
			ini_fail(st, CVMF_E_FORMAT, "NUL byte in column %zu", bad + 1);
		else if (c < 0x80)
			ini_fail(st, CVMF_E_FORMAT, "control character 0x%02x in column %zu", c,
				 bad + 1);
		else
			ini_fail(st, CVMF_E_FORMAT, "not UTF-8 text (byte 0x%02x in column %zu)", c,
				 bad + 1);
		return NULL;
	}
	size_t max = (size_t)num - 1 < RCP_MAX_LINE ? (size_t)num - 1 : RCP_MAX_LINE;
	if (len > max) {
		ini_fail(st, CVMF_E_FORMAT,
			 "line longer than %zu characters (continue a long value on indented lines)",
			 max);
		return NULL;
	}
	memcpy(buf, st->p, len);
	st->p += adv;
	st->left -= adv;
	ini_classify(st, buf, len);
	if (st->err)
		return NULL;
	size_t out = len;
	if (out < (size_t)num - 1)
		buf[out++] = '\n';
	else
		st->full = true;
	buf[out] = '\0';
	return buf;
}

static int ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct ini_state *st = user;
	if (st->err)
		return 1;
	/* inih truncates long names: use ours when they extend its. */
	const char *sec = strncmp(st->section, section, strlen(section)) ? section : st->section;
	const char *key = strncmp(st->prev_key, name, strlen(name)) ? name : st->prev_key;
	struct rcp_ini_item it = { sec, key, st->cont ? st->value : value, st->line, st->cont };
	int r = st->fn(st->ctx, st->user, &it);
	if (r) {
		st->err = r;
		st->err_line = st->line;
	}
	return 1;
}

int rcp_ini_parse(cvmf_ctx *ctx, const char *name, const char *text, size_t len,
		  rcp_ini_fn fn, void *user)
{
	struct ini_state *st = calloc(1, sizeof(*st));
	if (!st)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	st->ctx = ctx;
	st->name = name;
	st->p = text;
	st->left = len;
	st->fn = fn;
	st->user = user;
	int r = ini_parse_stream(ini_read, st, ini_line, st);
	int rc = st->err;
	if (r > 0 && (!rc || (unsigned)r < st->err_line)) {
		/* inih's syntax error: find the line to say what it is. */
		const char *p = text, *end = text + len;
		for (int i = 1; i < r && p < end; i++) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		}
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p == '[')
			rc = cmn_error(ctx, CVMF_E_FORMAT,
					"%s:%d: section header without a closing ']' (or with a ';' comment inside)",
					name, r);
		else
			rc = cmn_error(ctx, CVMF_E_FORMAT,
					"%s:%d: expected '[section]', 'key = value' or a comment", name, r);
	} else if (!rc && r < 0) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "%s: the INI parser failed (%d)", name, r);
	}
	free(st);
	return rc;
}
