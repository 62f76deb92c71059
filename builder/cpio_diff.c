/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Comparing two initrds entry by entry, for reproducibility debugging: the
 * first field that differs is what a user needs to find the cause (an
 * mtime: SOURCE_DATE_EPOCH; an ino: ordering; data: the input itself).
 *
 * Inputs are untrusted (this is fuzzed): both sides are read with
 * libarchive from memory, with only the decompressor their magic names
 * (zstd or gzip, no external programs) and only the cpio reader. Entries
 * are numbered from 1 in messages; paths are quoted with non-printable
 * bytes escaped, so a message is always one line.
 */
#include <stdio.h>
#include <stdlib.h>

#include <archive.h>
#include <archive_entry.h>

#include "builder/builder.h"

#define DATA_CHUNK (64u * 1024u)

enum kind { K_RAW, K_ZSTD, K_GZIP };

static const char *kind_name(enum kind k)
{
	return k == K_ZSTD ? "zstd" : k == K_GZIP ? "gzip" : "none";
}

static enum kind detect(const uint8_t *p, size_t len)
{
	if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return K_ZSTD;
	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return K_GZIP;
	return K_RAW;
}

/* 'path' with control and non-ASCII bytes as \xNN, cut after ~120 bytes. */
static const char *quote(char out[512], const char *s)
{
	size_t o = 0;
	out[o++] = '\'';
	if (!s)
		s = "";
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i >= 120) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'')
			o += (size_t)snprintf(out + o, 8, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

struct side {
	const char *name;       /* "A" or "B" */
	enum kind kind;
	struct archive *a;
	uint8_t *buf;           /* DATA_CHUNK */
};

static int side_open(cvmf_ctx *ctx, struct side *s, const uint8_t *p, size_t len, bool raw_format)
{
	s->kind = detect(p, len);
	s->a = archive_read_new();
	s->buf = malloc(DATA_CHUNK);
	if (!s->a || !s->buf)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	int r = ARCHIVE_OK;
	if (s->kind == K_ZSTD)
		r = archive_read_support_filter_zstd(s->a);
	else if (s->kind == K_GZIP)
		r = archive_read_support_filter_gzip(s->a);
	if (r != ARCHIVE_OK)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED, "initrd %s: libarchive cannot read %s: %s",
				  s->name, kind_name(s->kind), archive_error_string(s->a));
	if (raw_format)
		r = archive_read_support_format_raw(s->a);
	else
		r = archive_read_support_format_cpio(s->a);
	if (r != ARCHIVE_OK)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED, "initrd %s: %s", s->name,
				  archive_error_string(s->a));
	/* An empty buffer still needs a valid pointer. */
	static const uint8_t empty[1];
	if (archive_read_open_memory(s->a, len ? p : empty, len) != ARCHIVE_OK) {
		const char *m = archive_error_string(s->a);
		return cmn_error(ctx, CVMF_E_FORMAT, "initrd %s (%s): not a cpio archive: %s",
				  s->name, kind_name(s->kind), m ? m : "unreadable");
	}
	return 0;
}

static void side_close(struct side *s)
{
	if (s->a)
		archive_read_free(s->a);
	free(s->buf);
	s->a = NULL;
	s->buf = NULL;
}

/* Next header: 1 with an entry, 0 at the end, or a CVMF_E_* code. */
static int next(cvmf_ctx *ctx, struct side *s, size_t idx, struct archive_entry **e)
{
	int r = archive_read_next_header(s->a, e);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
		return 1;
	const char *m = archive_error_string(s->a);
	return cmn_error(ctx, CVMF_E_FORMAT, "initrd %s (%s): cannot read entry %zu: %s", s->name,
			  kind_name(s->kind), idx, m ? m : "malformed header");
}

/* Fill s->buf as far as the entry's data goes: bytes read, or an error. */
static la_ssize_t fill(cvmf_ctx *ctx, struct side *s, size_t idx, const char *path)
{
	size_t got = 0;
	while (got < DATA_CHUNK) {
		la_ssize_t n = archive_read_data(s->a, s->buf + got, DATA_CHUNK - got);
		if (n < 0) {
			char q[512];
			const char *m = archive_error_string(s->a);
			return cmn_error(ctx, CVMF_E_FORMAT, "initrd %s (%s): entry %zu %s: %s",
					  s->name, kind_name(s->kind), idx, quote(q, path),
					  m ? m : "cannot read the data");
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (la_ssize_t)got;
}

static const char *ftype(mode_t t)
{
	switch (t) {
	case AE_IFREG: return "file";
	case AE_IFDIR: return "directory";
	case AE_IFLNK: return "symlink";
	case AE_IFCHR: return "character device";
	case AE_IFBLK: return "block device";
	case AE_IFIFO: return "FIFO";
	case AE_IFSOCK: return "socket";
	}
	return "unknown type";
}

/* Compare two headers; a description of the first difference into ret. */
static bool header_differs(size_t i, struct archive_entry *x, struct archive_entry *y, char *ret,
			   size_t retlen)
{
	char q[512], q2[512], q3[512];
	const char *px = archive_entry_pathname(x), *py = archive_entry_pathname(y);
	px = px ? px : "";
	py = py ? py : "";
	if (strcmp(px, py)) {
		snprintf(ret, retlen, "entry %zu: %s vs %s (different paths)", i, quote(q, px),
			 quote(q2, py));
		return true;
	}
	const char *p = quote(q, px);
	mode_t tx = archive_entry_filetype(x), ty = archive_entry_filetype(y);
#define DIFF(cond, ...)                                            \
	do {                                                       \
		if (cond) {                                        \
			snprintf(ret, retlen, "entry %zu %s: " __VA_ARGS__); \
			return true;                               \
		}                                                  \
	} while (0)
	DIFF(tx != ty, "type %s vs %s", i, p, ftype(tx), ftype(ty));
	unsigned mx = archive_entry_mode(x) & 07777, my = archive_entry_mode(y) & 07777;
	DIFF(mx != my, "mode %04o vs %04o", i, p, mx, my);
	la_int64_t ux = archive_entry_uid(x), uy = archive_entry_uid(y);
	DIFF(ux != uy, "uid %lld vs %lld", i, p, (long long)ux, (long long)uy);
	la_int64_t gx = archive_entry_gid(x), gy = archive_entry_gid(y);
	DIFF(gx != gy, "gid %lld vs %lld", i, p, (long long)gx, (long long)gy);
	unsigned nx = archive_entry_nlink(x), ny = archive_entry_nlink(y);
	DIFF(nx != ny, "nlink %u vs %u", i, p, nx, ny);
	la_int64_t ix = archive_entry_ino64(x), iy = archive_entry_ino64(y);
	DIFF(ix != iy, "ino %lld vs %lld", i, p, (long long)ix, (long long)iy);
	time_t tmx = archive_entry_mtime(x), tmy = archive_entry_mtime(y);
	DIFF(tmx != tmy, "mtime %lld vs %lld", i, p, (long long)tmx, (long long)tmy);
	la_int64_t sx = archive_entry_size(x), sy = archive_entry_size(y);
	DIFF(sx != sy, "size %lld vs %lld", i, p, (long long)sx, (long long)sy);
	unsigned long rmx = (unsigned long)archive_entry_rdevmajor(x),
		      rmy = (unsigned long)archive_entry_rdevmajor(y),
		      rnx = (unsigned long)archive_entry_rdevminor(x),
		      rny = (unsigned long)archive_entry_rdevminor(y);
	DIFF(rmx != rmy || rnx != rny, "rdev %lu:%lu vs %lu:%lu", i, p, rmx, rnx, rmy, rny);
	unsigned long dmx = (unsigned long)archive_entry_devmajor(x),
		      dmy = (unsigned long)archive_entry_devmajor(y),
		      dnx = (unsigned long)archive_entry_devminor(x),
		      dny = (unsigned long)archive_entry_devminor(y);
	DIFF(dmx != dmy || dnx != dny, "dev %lu:%lu vs %lu:%lu", i, p, dmx, dnx, dmy, dny);
	const char *lx = archive_entry_symlink(x), *ly = archive_entry_symlink(y);
	DIFF((lx == NULL) != (ly == NULL) || (lx && strcmp(lx, ly)), "symlink target %s vs %s", i,
	     p, quote(q2, lx), quote(q3, ly));
	const char *hx = archive_entry_hardlink(x), *hy = archive_entry_hardlink(y);
	DIFF((hx == NULL) != (hy == NULL) || (hx && strcmp(hx, hy)), "hardlink to %s vs %s", i,
	     p, hx ? "another entry" : "nothing", hy ? "another entry" : "nothing");
#undef DIFF
	return false;
}

/* The entries' data: 1 (and ret) at the first differing byte, 0 or error. */
static int data_differs(cvmf_ctx *ctx, struct side *sa, struct side *sb, size_t i,
			const char *path, char *ret, size_t retlen)
{
	uint64_t off = 0;
	for (;;) {
		la_ssize_t na = fill(ctx, sa, i, path);
		if (na < 0)
			return (int)na;
		la_ssize_t nb = fill(ctx, sb, i, path);
		if (nb < 0)
			return (int)nb;
		size_t n = (size_t)(na < nb ? na : nb);
		if (memcmp(sa->buf, sb->buf, n) || na != nb) {
			size_t k = 0;
			while (k < n && sa->buf[k] == sb->buf[k])
				k++;
			char q[512];
			snprintf(ret, retlen, "entry %zu %s: data differs at byte %llu", i,
				 quote(q, path), (unsigned long long)(off + k));
			return 1;
		}
		if (na == 0)
			return 0;
		off += (uint64_t)n;
	}
}

/*
 * The guard. libarchive's cpio reader allocates a newc header's name size
 * (8 hex digits, up to 4 GiB) before it knows whether that many bytes
 * follow, so a 110-byte header could make it reserve gigabytes. Before
 * the entries are read, each uncompressed stream is scanned for anything
 * that looks like a newc header, wherever it starts (the reader resyncs
 * after garbage), and one declaring a name above NAME_MAX_GUARD is
 * refused. What cannot be decompressed is not scanned: the cpio reader
 * stops at the same place.
 */
#define NAME_MAX_GUARD (1u << 20)
#define NEWC_HDR 110
#define NEWC_NAMESIZE_OFF 94

static bool is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Headers that start at p[0 .. len - NEWC_HDR]; base: p's stream offset. */
static int scan_headers(cvmf_ctx *ctx, const struct side *s, const uint8_t *p, size_t len,
			uint64_t base)
{
	for (size_t i = 0; i + NEWC_HDR <= len;) {
		const uint8_t *m = memmem(p + i, len - i - (NEWC_HDR - 5), "07070", 5);
		if (!m)
			break;
		i = (size_t)(m - p);
		if (m[5] == '1' || m[5] == '2') {
			size_t k = 6;
			while (k < NEWC_HDR && is_hex(m[k]))
				k++;
			unsigned long long ns = 0;
			for (size_t j = 0; j < 8 && k == NEWC_HDR; j++) {
				uint8_t c = m[NEWC_NAMESIZE_OFF + j];
				ns = ns * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
			}
			if (k == NEWC_HDR && ns > NAME_MAX_GUARD)
				return cmn_error(ctx, CVMF_E_FORMAT,
						  "initrd %s (%s): a newc header at byte %llu declares a %llu-byte name (more than %u)",
						  s->name, kind_name(s->kind),
						  (unsigned long long)(base + i), ns, NAME_MAX_GUARD);
		}
		i++;
	}
	return 0;
}

static int guard(cvmf_ctx *ctx, const char *name, const uint8_t *p, size_t len)
{
	struct side s = { .name = name };
	if (detect(p, len) == K_RAW)
		return scan_headers(ctx, &s, p, len, 0);
	struct archive_entry *e;
	int r = side_open(ctx, &s, p, len, true);
	if (!r && archive_read_next_header(s.a, &e) != ARCHIVE_OK)
		goto out;   /* nothing to decompress: nothing for the reader either */
	size_t have = 0;
	uint64_t base = 0;
	while (!r) {
		la_ssize_t n = archive_read_data(s.a, s.buf + have, DATA_CHUNK - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		if (have < DATA_CHUNK)
			continue;
		r = scan_headers(ctx, &s, s.buf, have, base);
		/* Keep the bytes a header starting there would still need. */
		memmove(s.buf, s.buf + have - (NEWC_HDR - 1), NEWC_HDR - 1);
		base += have - (NEWC_HDR - 1);
		have = NEWC_HDR - 1;
	}
	if (!r)
		r = scan_headers(ctx, &s, s.buf, have, base);
out:
	side_close(&s);
	return r;
}

/* Both archives have the same entries: compare the decompressed streams. */
static int stream_differs(cvmf_ctx *ctx, const uint8_t *a, size_t alen, const uint8_t *b,
			  size_t blen, char *ret, size_t retlen)
{
	struct side sa = { .name = "A" }, sb = { .name = "B" };
	struct archive_entry *e;
	int r = side_open(ctx, &sa, a, alen, true);
	if (!r)
		r = side_open(ctx, &sb, b, blen, true);
	if (!r && (r = next(ctx, &sa, 1, &e)) == 1)
		r = next(ctx, &sb, 1, &e);
	if (r == 1) {
		uint64_t off = 0;
		for (;;) {
			la_ssize_t na = fill(ctx, &sa, 1, "(stream)");
			la_ssize_t nb = na < 0 ? 0 : fill(ctx, &sb, 1, "(stream)");
			if (na < 0 || nb < 0) {
				r = (int)(na < 0 ? na : nb);
				break;
			}
			size_t n = (size_t)(na < nb ? na : nb), k = 0;
			while (k < n && sa.buf[k] == sb.buf[k])
				k++;
			if (k < n) {
				snprintf(ret, retlen,
					 "the cpio entries are identical but the uncompressed streams differ at byte %llu (trailer, padding or a concatenated archive)",
					 (unsigned long long)(off + k));
				break;
			}
			off += n;
			if (na != nb) {
				snprintf(ret, retlen,
					 "the cpio entries are identical but the uncompressed streams differ in length: %s is %llu bytes, the other is longer (trailer, padding or a concatenated archive)",
					 na < nb ? "A" : "B", (unsigned long long)off);
				break;
			}
			if (na == 0) {
				if (sa.kind != sb.kind)
					snprintf(ret, retlen,
						 "compressed bytes differ (%s vs %s) but the cpio archives are identical",
						 kind_name(sa.kind), kind_name(sb.kind));
				else
					snprintf(ret, retlen,
						 "compressed bytes differ but the cpio archives are identical");
				break;
			}
		}
	}
	if (r > 0)
		r = 1;
	else if (r == 0)   /* an empty stream on one side: cannot happen after a cpio read */
		r = cmn_error(ctx, CVMF_E_FORMAT, "initrd: the uncompressed stream is empty");
	side_close(&sa);
	side_close(&sb);
	return r;
}

int bld_cpio_diff(cvmf_ctx *ctx, const uint8_t *a, size_t alen, const uint8_t *b,
		  size_t blen, char *ret, size_t retlen)
{
	char msg[1024] = "";
	struct side sa = { .name = "A" }, sb = { .name = "B" };
	int r = guard(ctx, "A", a, alen);
	if (!r)
		r = guard(ctx, "B", b, blen);
	if (!r)
		r = side_open(ctx, &sa, a, alen, false);
	if (!r)
		r = side_open(ctx, &sb, b, blen, false);
	size_t i = 0;
	while (!r) {
		struct archive_entry *ea = NULL, *eb = NULL;
		i++;
		int ha = next(ctx, &sa, i, &ea);
		if (ha < 0) {
			r = ha;
			break;
		}
		int hb = next(ctx, &sb, i, &eb);
		if (hb < 0) {
			r = hb;
			break;
		}
		if (!ha && !hb)
			break;
		if (ha != hb) {
			char q[512];
			struct archive_entry *e = ha ? ea : eb;
			snprintf(msg, sizeof(msg), "entry %zu %s only in %s (%s has %zu entries)", i,
				 quote(q, archive_entry_pathname(e)), ha ? "A" : "B", ha ? "B" : "A",
				 i - 1);
			r = 1;
			break;
		}
		if (header_differs(i, ea, eb, msg, sizeof(msg))) {
			r = 1;
			break;
		}
		const char *p = archive_entry_pathname(ea);
		char *path = strdup(p ? p : "");
		if (!path) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			break;
		}
		r = data_differs(ctx, &sa, &sb, i, path, msg, sizeof(msg));
		free(path);
	}
	side_close(&sa);
	side_close(&sb);
	if (!r && (alen != blen || (alen && memcmp(a, b, alen))))
		r = stream_differs(ctx, a, alen, b, blen, msg, sizeof(msg));
	if (r >= 0 && ret && retlen)
		snprintf(ret, retlen, "%s", r ? msg : "");
	return r;
}
