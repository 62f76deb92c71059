/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one JSON layer of libcvmforge, over jansson. Internal, not installed.
 *
 * Three text forms, one each:
 *
 * - Reading (cmn_json_parse, cmn_json_read_file): strict RFC 8259 as jansson
 *   reads it, plus duplicate keys refused and \u0000 refused. Errors read
 *   "WHAT 'PATH':LINE:COLUMN: message" for files, "WHAT:LINE:COLUMN: message"
 *   for buffers (line and column 1-based, as jansson counts them).
 *
 * - Canonical bytes (cmn_json_canonical), for signing and hashing:
 *     * object keys sorted bytewise (unsigned memcmp order), each key once;
 *     * compact: no whitespace at all, separators "," and ":";
 *     * strings are UTF-8, escaped only where JSON requires it: '"' as \",
 *       '\' as \\, U+0008 U+0009 U+000A U+000C U+000D as \b \t \n \f \r and
 *       the other control characters below U+0020 as \u00XX (uppercase hex);
 *       everything else, '/' and non-ASCII included, is written as is;
 *     * numbers are integers only (-2^63 .. 2^63-1, plain decimal, no
 *       leading zeros, no '+', no exponent); a real anywhere is refused;
 *     * true, false, null as such; no trailing newline.
 *   The same document (the same values, whatever the key order it was built
 *   or parsed in) always gives the same bytes.
 *
 * - Human-readable files (cmn_json_write_file): sorted keys, 2-space indent,
 *   ", " and ": " separators as jansson writes them, non-ASCII escaped as
 *   \uXXXX, uppercase hex (so the files are ASCII), one trailing newline. manifest.json and
 *   measurements.json (docs/build.md) are written this way; the bytes of those
 *   files are part of an image's reproducibility and must not change.
 *
 * Paths inside a document, in error messages and in cmn_json_get*(), are
 * written "inputs[3].sha256": member names joined by '.', array indexes in
 * brackets. Member names containing '.' or '[' cannot be addressed this way.
 */
#ifndef CMN_JSON_H
#define CMN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cvmforge/cvmforge.h"

/* A new JSON string of the lowercase hex of b[0..n); NULL when out of memory. */
json_t *cmn_json_hex(const uint8_t *b, size_t n);
/* "0x1f": lowercase, no leading zeros ("0x0" for 0). NULL when out of memory. */
json_t *cmn_json_hex_u64(uint64_t v);
/* {"size": d->size, "sha256": hex, "sha384": hex}: a file in manifest.json,
 * measurements.json and the measure verbs' reports. NULL when out of memory. */
json_t *cmn_json_digest(const struct cvmf_file_digest *d);
/* A JSON string of s when it is valid UTF-8, else (and for NULL) null: file
 * paths in reports, which are bytes. Never NULL but when out of memory. */
json_t *cmn_json_string_or_null(const char *s);
/* A byte string that is usually text (a kernel command line):
 * {"value": the string if it is valid UTF-8 without NUL, else null,
 *  "hex": the lowercase hex of its bytes}. NULL when out of memory. */
json_t *cmn_json_text(const void *s, size_t len);

/* Parse buf[0..len) as one JSON value (any type). Errors:
 * "WHAT:LINE:COLUMN: message" (CVMF_E_FORMAT). */
int cmn_json_parse(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
		   json_t **ret);
/* Read and parse a regular file of at most max bytes. A file that cannot be
 * opened is "cannot open WHAT 'PATH': reason" (CVMF_E_IO); bad JSON is
 * "WHAT 'PATH':LINE:COLUMN: message" (CVMF_E_FORMAT). */
int cmn_json_read_file(cvmf_ctx *ctx, const char *what, const char *path, size_t max,
		       json_t **ret);

/* The canonical bytes of v (see above), malloc'd and NUL-terminated; *ret_len
 * excludes the NUL. A real number is refused (CVMF_E_INVAL, naming its path). */
int cmn_json_canonical(cvmf_ctx *ctx, const json_t *v, char **ret, size_t *ret_len);

/* The human-readable text of v (see above), malloc'd, with its newline. */
int cmn_json_pretty(cvmf_ctx *ctx, const json_t *v, char **ret, size_t *ret_len);
/* Write cmn_json_pretty(v) to path through the common writer (common/write.h):
 * whole or nothing for a regular file; write_flags are its CMN_W_* flags. */
int cmn_json_write_file(cvmf_ctx *ctx, const char *what, const char *path,
			const json_t *v, unsigned write_flags);

/* The JSON type name with an article, for messages: "an integer", "a string",
 * "null", "a real", "an object", "an array", "a boolean". */
const char *cmn_json_type_name(const json_t *v);

/* Look up PATH ("inputs[3].sha256", "" for root itself) under root.
 * want is a json_type, or -1 for any type. Errors (CVMF_E_FORMAT):
 * "WHAT: PATH: missing" and "WHAT: PATH: expected an array, got an integer".
 * *ret is borrowed from root. */
int cmn_json_get(cvmf_ctx *ctx, const char *what, const json_t *root, const char *path,
		 int want, json_t **ret);
/* A string member; *ret is borrowed. */
int cmn_json_get_str(cvmf_ctx *ctx, const char *what, const json_t *root, const char *path,
		     const char **ret);
/* A non-negative integer member no larger than max. */
int cmn_json_get_u64(cvmf_ctx *ctx, const char *what, const json_t *root, const char *path,
		     uint64_t max, uint64_t *ret);
/* A string of exactly 2n lowercase hex digits, decoded into out[0..n).
 * key is a path under obj as above; errors name WHAT and the path. */
int cmn_json_get_hex(cvmf_ctx *ctx, const char *what, const json_t *obj, const char *key,
		     uint8_t *out, size_t n);

/* ---- document shapes ----
 * A static description of what a document may hold, checked in one call with
 * an error naming the document and the JSON path of the first violation:
 * "manifest.json: inputs: expected an array, got an integer",
 * "manifest.json: outputs.vmlinuz.sha256: expected 64 lowercase hex digits, got 3 characters",
 * "measurements.json: snp.measurements[2]: missing member 'launch-digest'". */
struct cmn_json_member;
struct cmn_json_shape {
	int type;              /* a json_type (JSON_TRUE for a boolean), or -1 for any value */
	bool nullable;         /* null is accepted too */
	bool nonneg;           /* integers: >= 0 */
	size_t hex;            /* strings: exactly this many bytes as lowercase hex; 0: any */
	/* objects: the members it may have (ended by a NULL name); others are
	 * checked against `each` when set, refused when `closed`, else accepted */
	const struct cmn_json_member *members;
	bool closed;
	const struct cmn_json_shape *each;   /* arrays: every item; objects: see above */
};
struct cmn_json_member {
	const char *name;
	const struct cmn_json_shape *shape;
	bool optional;
};
int cmn_json_check(cvmf_ctx *ctx, const char *what, const json_t *v,
		   const struct cmn_json_shape *shape);

#endif
