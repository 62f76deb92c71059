/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log in a plain directory (tlog.md §6): the static tree any web server
 * can serve, and a private state directory.
 *
 *   DIR/checkpoint                      the signed checkpoint, replaced atomically
 *   DIR/tile/<L>/<N>[.p/<W>]            hash tiles, immutable once committed
 *   DIR/tile/entries/<N>[.p/<W>]        entry bundles, immutable once committed
 *   DIR/.state/version                  "cvmforge-tlog 1"
 *   DIR/.state/config                   "origin NAME" and "key /abs/path" lines
 *   DIR/.state/treeState                "SIZE\nBASE64ROOT\n": the commit point
 *   DIR/.state/lastSigned               the last checkpoint signed
 *   DIR/.state/lock                     flock(2): one writer at a time
 *
 * An append (one batch, the writer below): entries are sequenced after the
 * committed size on the right edge of the tree, held in memory; the bundles
 * and tiles they touch are written in place (above the committed size nothing
 * refers to them; a crashed batch's leftovers are replaced); the root is taken
 * from the edge, signed in memory, and the commit's files (treeState,
 * lastSigned) are written to temporaries; all are fsync'd in one parallel
 * round with the directories that got new entries; the temporaries are
 * renamed (the commit) and their directory fsync'd; then the checkpoint is
 * published. A writer checks the whole tree against the state files when it
 * loads it, and reloads whenever the state files are not the ones it left.
 * The private key never lives in DIR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/key.h"
#include "common/fileset.h"
#include "common/write.h"
#include "common/encode.h"
#include "log/tlog.h"

#define STATE_VERSION "cvmforge-tlog 1\n"
#define LEVELS 8                        /* 8 levels of 8 bits cover 2^64 leaves */

/* Read a whole small file; *ret is NUL-terminated. -ENOENT-like: CVMF_E_IO. */
static int get_file(cvmf_ctx *ctx, const char *what, const char *path, size_t max,
		    uint8_t **ret, size_t *ret_len)
{
	uint8_t *b = NULL;
	size_t len = 0;
	int r = cmn_read_file(ctx, what, path, max, &b, &len);
	if (r)
		return r;
	uint8_t *nb = realloc(b, len + 1);
	if (!nb) {
		free(b);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	nb[len] = 0;
	*ret = nb;
	*ret_len = len;
	return 0;
}

static char *path_join(const char *dir, const char *rel)
{
	char *p = NULL;
	return asprintf(&p, "%s/%s", dir, rel) < 0 ? NULL : p;
}

/* ---- tiles on disk: the node reader ---- */

#define TILE_CACHE 16
struct tlg_tiles {
	char *dir;
	uint64_t size;
	cvmf_ctx *ctx;
	unsigned next;
	struct {
		bool used;
		int level;
		uint64_t index;
		unsigned width;
		uint8_t *data;          /* width * 32 bytes */
	} c[TILE_CACHE];
};

int tlg_tiles_new(cvmf_ctx *ctx, const char *dir, uint64_t size, struct tlg_tiles **ret)
{
	struct tlg_tiles *t = calloc(1, sizeof(*t));
	if (!t || !(t->dir = strdup(dir))) {
		free(t);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	t->size = size;
	t->ctx = ctx;
	*ret = t;
	return 0;
}

void tlg_tiles_free(struct tlg_tiles *t)
{
	if (!t)
		return;
	for (int i = 0; i < TILE_CACHE; i++)
		free(t->c[i].data);
	free(t->dir);
	free(t);
}

/* Tile (level, index) of the tree, width from its size; the partial file, or the
 * full tile truncated when the partial one is gone. */
static int tile_get(struct tlg_tiles *t, int level, uint64_t index, const uint8_t **ret,
		    unsigned *ret_width)
{
	unsigned w = tlg_tile_width(level, index, t->size);
	if (w == 0)
		return cmn_error(t->ctx, CVMF_E_INVAL, "log: tile %d/%llu is outside a tree of %llu",
				  level, (unsigned long long)index, (unsigned long long)t->size);
	for (int i = 0; i < TILE_CACHE; i++)
		if (t->c[i].used && t->c[i].level == level && t->c[i].index == index &&
		    t->c[i].width == w) {
			*ret = t->c[i].data;
			*ret_width = w;
			return 0;
		}
	char rel[128], *path = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int r = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		unsigned pw = attempt ? TLG_TILE_WIDTH : w;
		tlg_tile_path(rel, sizeof(rel), level, index, pw);
		free(path);
		if (!(path = path_join(t->dir, rel))) {
			r = cmn_error(t->ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		bool missing = false;
		r = tlg_fetch(t->ctx, "hash tile", path, TLG_TILE_WIDTH * TLG_HASH, &data, &len,
			      &missing);
		if (!r || !missing || attempt || w == TLG_TILE_WIDTH)
			break;
	}
	if (r)
		goto out;
	if (len < (size_t)w * TLG_HASH || len % TLG_HASH) {
		r = cmn_error(t->ctx, CVMF_E_FORMAT,
			       "hash tile '%s': %zu bytes, a tile of width %u has %u", path, len, w,
			       w * TLG_HASH);
		goto out;
	}
	unsigned slot = t->next++ % TILE_CACHE;
	free(t->c[slot].data);
	t->c[slot].used = true;
	t->c[slot].level = level;
	t->c[slot].index = index;
	t->c[slot].width = w;
	t->c[slot].data = data;
	data = NULL;
	*ret = t->c[slot].data;
	*ret_width = w;
out:
	free(data);
	free(path);
	return r;
}

int tlg_tiles_node(void *user, unsigned level, uint64_t index, uint8_t out[TLG_HASH])
{
	struct tlg_tiles *t = user;
	unsigned L = level / 8, r = level % 8;
	if (L >= LEVELS || index > (UINT64_MAX >> level))
		return CVMF_E_INVAL;
	uint64_t first = index << r;            /* the first hash at level L */
	const uint8_t *data = NULL;
	unsigned w = 0;
	int e = tile_get(t, (int)L, first >> 8, &data, &w);
	if (e)
		return e;
	unsigned start = (unsigned)(first & 255);
	if (start + (1u << r) > w)
		return cmn_error(t->ctx, CVMF_E_INVAL, "log: node %u/%llu is outside the tree",
				  level, (unsigned long long)index);
	return tlg_tile_subtree(data, start, r, out) ? CVMF_E_CRYPTO : 0;
}

/* Entry `i` of a bundle's bytes (NULL if the bundle is shorter). */
static int bundle_entries(cvmf_ctx *ctx, const char *what, const uint8_t *b, size_t len,
			  unsigned want, const uint8_t **starts, size_t *lens)
{
	size_t p = 0;
	for (unsigned i = 0; i < want; i++) {
		if (len - p < 2)
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: offset %zu: entry %u is missing",
					  what, p, i);
		size_t n = (size_t)b[p] << 8 | b[p + 1];
		if (len - p - 2 < n)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: offset %zu: entry %u of %zu bytes is cut short", what, p,
					  i, n);
		if (starts) {
			starts[i] = b + p + 2;
			lens[i] = n;
		}
		p += 2 + n;
	}
	if (p != len)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %zu bytes after entry %u", what, len - p,
				  want);
	return 0;
}

int tlg_bundle_cut(cvmf_ctx *ctx, const char *what, const uint8_t *b, size_t len, unsigned w,
		   size_t *ret_len)
{
	const uint8_t *starts[TLG_TILE_WIDTH];
	size_t lens[TLG_TILE_WIDTH];
	if (w < 1 || w > TLG_TILE_WIDTH)
		return cmn_error(ctx, CVMF_E_INVAL, "%s: no partial bundle of width %u", what, w);
	int r = bundle_entries(ctx, what, b, len, TLG_TILE_WIDTH, starts, lens);
	if (!r)
		*ret_len = (size_t)(starts[w - 1] + lens[w - 1] - b);
	return r;
}

static int read_bundle(cvmf_ctx *ctx, const char *dir, uint64_t bindex, unsigned w,
		       uint8_t **ret, size_t *ret_len, char **ret_path)
{
	char rel[128];
	tlg_tile_path(rel, sizeof(rel), TLG_LEVEL_ENTRIES, bindex, w);
	char *path = path_join(dir, rel);
	if (!path)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	int r = tlg_fetch(ctx, "entry bundle", path, (size_t)w * (TLG_MAX_ENTRY + 2) + 1,
			  ret, ret_len, NULL);
	if (r == 0 && ret_path)
		*ret_path = path;
	else
		free(path);
	return r;
}

int tlg_read_bundle(cvmf_ctx *ctx, const char *dir, uint64_t bindex, uint64_t size,
		    uint8_t **ret_buf, const uint8_t **starts, size_t *lens, unsigned *ret_w)
{
	unsigned w = tlg_tile_width(TLG_LEVEL_ENTRIES, bindex, size);
	uint8_t *b = NULL;
	size_t len = 0;
	char *path = NULL;
	if (w == 0)
		return cmn_error(ctx, CVMF_E_INVAL, "log: bundle %llu is outside a tree of %llu",
				  (unsigned long long)bindex, (unsigned long long)size);
	int r = read_bundle(ctx, dir, bindex, w, &b, &len, &path);
	if (r == CVMF_E_IO && w < TLG_TILE_WIDTH) {     /* partial gone: the full bundle */
		r = read_bundle(ctx, dir, bindex, TLG_TILE_WIDTH, &b, &len, &path);
		if (!r)   /* only the first w entries are ours */
			r = tlg_bundle_cut(ctx, path, b, len, w, &len);
	}
	if (!r)
		r = bundle_entries(ctx, path, b, len, w, starts, lens);
	if (!r) {
		*ret_buf = b;
		*ret_w = w;
		b = NULL;
	}
	free(b);
	free(path);
	return r;
}

int tlg_read_entry(cvmf_ctx *ctx, const char *dir, uint64_t index, uint64_t size,
		   uint8_t **ret, size_t *ret_len)
{
	if (index >= size)
		return cmn_error(ctx, CVMF_E_INVAL, "log: entry %llu is not below the size %llu",
				  (unsigned long long)index, (unsigned long long)size);
	uint8_t *b = NULL;
	const uint8_t *starts[256];
	size_t lens[256];
	unsigned w = 0;
	int r = tlg_read_bundle(ctx, dir, index >> 8, size, &b, starts, lens, &w);
	if (!r) {
		unsigned i = (unsigned)(index & 255);
		uint8_t *e = malloc(lens[i] ? lens[i] : 1);
		if (!e) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		} else {
			memcpy(e, starts[i], lens[i]);
			*ret = e;
			*ret_len = lens[i];
		}
	}
	free(b);
	return r;
}

/* ---- the log ---- */

struct tlg_log {
	char *dir;
	char *state;                    /* DIR/.state */
	char *origin;
	char *key_path;
	int lock_fd;
	uint64_t size;                  /* treeState */
	uint8_t root[TLG_HASH];
	uint64_t signed_size;           /* lastSigned */
	uint8_t signed_root[TLG_HASH];
	char *signed_note;
};

void tlg_log_close(struct tlg_log *l)
{
	if (!l)
		return;
	if (l->lock_fd >= 0)
		close(l->lock_fd);      /* releases the flock */
	free(l->dir);
	free(l->state);
	free(l->origin);
	free(l->key_path);
	free(l->signed_note);
	free(l);
}

const char *tlg_log_key_path(const struct tlg_log *l)
{
	return l->key_path;
}

static int state_path(cvmf_ctx *ctx, const struct tlg_log *l, const char *name, char **ret)
{
	if (!(*ret = path_join(l->state, name)))
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	return 0;
}

static int read_tree_state(cvmf_ctx *ctx, struct tlg_log *l)
{
	char *p = NULL;
	uint8_t *b = NULL;
	size_t len = 0;
	int r = state_path(ctx, l, "treeState", &p);
	if (!r)
		r = get_file(ctx, "log tree state", p, 256, &b, &len);
	if (r)
		goto out;
	/* Same three lines as a checkpoint text, origin first. */
	struct tlg_checkpoint c = { 0 };
	r = tlg_checkpoint_parse(ctx, p, (const char *)b, len, &c);
	if (r)
		goto out;
	if (strcmp(c.origin, l->origin) || c.n_ext) {
		tlg_checkpoint_clear(&c);
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: the origin is not the log's ('%s')", p,
			       l->origin);
		goto out;
	}
	l->size = c.size;
	memcpy(l->root, c.root, TLG_HASH);
	tlg_checkpoint_clear(&c);
out:
	free(b);
	free(p);
	return r;
}

static int read_last_signed(cvmf_ctx *ctx, struct tlg_log *l)
{
	char *p = NULL;
	uint8_t *b = NULL;
	size_t len = 0;
	struct tlg_note *n = NULL;
	struct tlg_checkpoint c = { 0 };
	int r = state_path(ctx, l, "lastSigned", &p);
	if (!r)
		r = get_file(ctx, "last signed checkpoint", p, TLG_MAX_NOTE, &b, &len);
	if (!r)
		r = tlg_note_parse(ctx, p, b, len, &n);
	if (!r)
		r = tlg_checkpoint_parse(ctx, p, n->text, n->text_len, &c);
	if (r)
		goto out;
	if (strcmp(c.origin, l->origin)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: origin '%s' is not the log's ('%s')", p,
			       c.origin, l->origin);
		goto out;
	}
	l->signed_size = c.size;
	memcpy(l->signed_root, c.root, TLG_HASH);
	l->signed_note = (char *)b;
	b = NULL;
out:
	tlg_checkpoint_clear(&c);
	tlg_note_free(n);
	free(b);
	free(p);
	return r;
}

static int read_config(cvmf_ctx *ctx, struct tlg_log *l)
{
	char *p = NULL;
	uint8_t *b = NULL;
	size_t len = 0;
	int r = state_path(ctx, l, "version", &p);
	if (!r)
		r = get_file(ctx, "log version", p, 64, &b, &len);
	if (r) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "'%s' is not a cvmforge log (no %s)", l->dir, p);
		goto out;
	}
	if (strcmp((char *)b, STATE_VERSION)) {
		r = cmn_error(ctx, CVMF_E_UNSUPPORTED, "%s: unknown log format '%.40s'", p,
			       (char *)b);
		goto out;
	}
	free(b);
	free(p);
	b = NULL;
	p = NULL;
	r = state_path(ctx, l, "config", &p);
	if (!r)
		r = get_file(ctx, "log config", p, 8192, &b, &len);
	if (r)
		goto out;
	size_t line = 0;
	for (char *s = (char *)b, *nl; *s; s = nl + 1) {
		line++;
		if (!(nl = strchr(s, '\n'))) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s:%zu: no newline", p, line);
			goto out;
		}
		*nl = '\0';
		char **dst = !strncmp(s, "origin ", 7) ? &l->origin
			     : !strncmp(s, "key ", 4)  ? &l->key_path
						       : NULL;
		if (!dst || *dst) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s:%zu: unknown or repeated line '%.40s'",
				       p, line, s);
			goto out;
		}
		if (!(*dst = strdup(strchr(s, ' ') + 1))) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
	}
	if (!l->origin || !l->key_path)
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: the origin or the key is missing", p);
out:
	free(b);
	free(p);
	return r;
}

int tlg_log_open(cvmf_ctx *ctx, const char *dir, bool writer, struct tlg_log **ret)
{
	struct tlg_log *l = calloc(1, sizeof(*l));
	char *lock = NULL;
	int r = 0;
	if (!l)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	l->lock_fd = -1;
	if (!(l->dir = strdup(dir)) || !(l->state = path_join(dir, ".state"))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if ((r = read_config(ctx, l)))
		goto out;
	if (writer) {
		if ((r = state_path(ctx, l, "lock", &lock)))
			goto out;
		l->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (l->lock_fd < 0) {
			r = cmn_error(ctx, CVMF_E_IO, "log: cannot open the lock '%s': %s", lock,
				       strerror(errno));
			goto out;
		}
		while (flock(l->lock_fd, LOCK_EX) != 0) {
			if (errno != EINTR) {
				r = cmn_error(ctx, CVMF_E_IO, "log: cannot lock '%s': %s", lock,
					       strerror(errno));
				goto out;
			}
		}
	}
	/* The last signed checkpoint first, then the tree state: a writer commits
	 * the tree state before it signs, so a reader without the lock that reads
	 * in this order never sees the state behind the checkpoint unless the
	 * directory was rolled back. */
	if ((r = read_last_signed(ctx, l)) || (r = read_tree_state(ctx, l)))
		goto out;
	if (l->size < l->signed_size) {
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "log '%s': the tree state (size %llu) is behind the last signed "
			       "checkpoint (size %llu): restored from an old backup? Refusing to "
			       "continue, it would fork the log",
			       dir, (unsigned long long)l->size, (unsigned long long)l->signed_size);
		goto out;
	}
	*ret = l;
	l = NULL;
out:
	free(lock);
	tlg_log_close(l);
	return r;
}

/* ---- keys ---- */

/* An Ed25519 log key: PEM/DER through common/key.c, or an x/mod signer key. */
static int load_key(cvmf_ctx *ctx, const char *path, const char *origin, struct cmn_key **ret)
{
	uint8_t *b = NULL;
	size_t len = 0;
	struct cmn_key *k = NULL;
	char *name = NULL;
	EVP_PKEY *pk = NULL;
	int r = get_file(ctx, "log key", path, CMN_KEY_MAX_FILE, &b, &len);
	if (r)
		return r;
	if (len > 12 && !memcmp(b, "PRIVATE+KEY+", 12)) {
		struct stat st;
		if (stat(path, &st) == 0 && (st.st_mode & 077)) {
			r = cmn_error(ctx, CVMF_E_INVAL,
				       "log key '%s': mode %04o lets others read it; chmod 600 it",
				       path, (unsigned)(st.st_mode & 07777));
			goto out;
		}
		if ((r = tlg_skey_parse(ctx, path, (char *)b, &name, &pk)))
			goto out;
		if (strcmp(name, origin)) {
			r = cmn_error(ctx, CVMF_E_INVAL,
				       "log key '%s' is named '%s', the log's origin is '%s'", path,
				       name, origin);
			goto out;
		}
		r = cmn_key_from_pkey(ctx, path, pk, &k);
	} else {
		r = cmn_key_load_private(ctx, path, &k);
	}
	if (r)
		goto out;
	if (cmn_key_type(k) != CMN_KEY_ED25519) {
		r = cmn_error(ctx, CVMF_E_UNSUPPORTED,
			       "log key '%s' is not an Ed25519 key (checkpoints are signed with "
			       "Ed25519, note type 0x01)",
			       path);
		goto out;
	}
	*ret = k;
	k = NULL;
out:
	OPENSSL_cleanse(b, len);
	free(b);
	free(name);
	EVP_PKEY_free(pk);
	cmn_key_free(k);
	return r;
}

/* Sign (size, root), keep it in lastSigned, publish it as DIR/checkpoint. */
static int sign_and_publish(cvmf_ctx *ctx, struct tlg_log *l, struct cmn_key *k)
{
	char *text = NULL, *note = NULL, *p = NULL, *cp = NULL;
	int r = tlg_checkpoint_text(ctx, l->origin, l->size, l->root, &text);
	if (!r)
		r = tlg_note_sign(ctx, text, strlen(text), l->origin, cmn_key_pkey(k), &note);
	if (!r)
		r = state_path(ctx, l, "lastSigned", &p);
	if (!r)
		r = cmn_write_file(ctx, "last signed checkpoint", p, note, strlen(note),
				   CMN_W_DURABLE | CMN_W_PRIVATE);
	tlg_crash_point("signed");
	if (!r && !(cp = path_join(l->dir, "checkpoint")))
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (!r)
		r = cmn_write_file(ctx, "checkpoint", cp, note, strlen(note), CMN_W_DURABLE);
	if (!r) {
		l->signed_size = l->size;
		memcpy(l->signed_root, l->root, TLG_HASH);
		free(l->signed_note);
		l->signed_note = note;
		note = NULL;
	}
	free(text);
	free(note);
	free(p);
	free(cp);
	return r;
}

/* A crash between lastSigned and the checkpoint leaves the published
 * checkpoint one batch behind: publish lastSigned again if it differs. */
static int republish(cvmf_ctx *ctx, struct tlg_log *l)
{
	char *cp = path_join(l->dir, "checkpoint");
	uint8_t *b = NULL;
	size_t len = 0;
	int r = 0;
	if (!cp)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (get_file(ctx, "checkpoint", cp, TLG_MAX_NOTE, &b, &len) != 0 ||
	    len != strlen(l->signed_note) || memcmp(b, l->signed_note, len))
		r = cmn_write_file(ctx, "checkpoint", cp, l->signed_note, strlen(l->signed_note),
				   CMN_W_DURABLE);
	free(b);
	free(cp);
	return r;
}

static int write_tree_state(cvmf_ctx *ctx, struct tlg_log *l, uint64_t size,
			    const uint8_t root[TLG_HASH])
{
	char *text = NULL, *p = NULL;
	int r = tlg_checkpoint_text(ctx, l->origin, size, root, &text);
	if (!r)
		r = state_path(ctx, l, "treeState", &p);
	if (!r)
		r = cmn_write_file(ctx, "log tree state", p, text, strlen(text),
				   CMN_W_DURABLE | CMN_W_PRIVATE);
	if (!r) {
		l->size = size;
		memcpy(l->root, root, TLG_HASH);
	}
	free(text);
	free(p);
	return r;
}

/* The key must not be served: refuse a key path inside DIR. */
static int key_outside(cvmf_ctx *ctx, const char *dir, const char *key_abs)
{
	char rd[PATH_MAX];
	if (!realpath(dir, rd))
		return cmn_error(ctx, CVMF_E_IO, "log: '%s': %s", dir, strerror(errno));
	size_t n = strlen(rd);
	if (!strncmp(key_abs, rd, n) && (key_abs[n] == '/' || rd[n - 1] == '/'))
		return cmn_error(ctx, CVMF_E_INVAL,
				  "log key '%s' is inside the log directory '%s', which is served "
				  "to everyone; keep it outside",
				  key_abs, dir);
	return 0;
}

/* realpath() of a file that may not exist yet (its directory must). */
static int abs_path(cvmf_ctx *ctx, const char *path, char **ret)
{
	char buf[PATH_MAX];
	if (realpath(path, buf))
		return (*ret = strdup(buf)) ? 0 : cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	char *d = strdup(path);
	if (!d)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	char *slash = strrchr(d, '/');
	const char *base = slash ? slash + 1 : path;
	const char *parent = slash ? (slash == d ? "/" : (*slash = '\0', d)) : ".";
	int r = 0;
	if (!realpath(parent, buf))
		r = cmn_error(ctx, CVMF_E_IO, "'%s': %s", parent, strerror(errno));
	else if (asprintf(ret, "%s/%s", strcmp(buf, "/") ? buf : "", base) < 0)
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	free(d);
	return r;
}

int cvmf_log_init(cvmf_ctx *ctx, const char *dir, const char *origin, const char *key_path,
		  char **ret_vkey)
{
	struct tlg_log *l = NULL;
	struct cmn_key *k = NULL;
	char *def_key = NULL, *key_abs = NULL, *p = NULL, *conf = NULL, *vkey = NULL;
	int r = 0;
	struct stat st;
	/* What this call created, removed again if it fails: no half-made log. */
	bool made_dir = false, made_key = false, made_state = false;
	if (!tlg_key_name_ok(origin, strlen(origin)) || strlen(origin) >= 256)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "log origin '%s': must be non-empty, shorter than 256 bytes, "
				  "without spaces or '+' (e.g. example.com/log)",
				  origin);
	if (stat(dir, &st) == 0) {
		DIR *d = S_ISDIR(st.st_mode) ? opendir(dir) : NULL;
		struct dirent *e;
		bool empty = d != NULL;
		while (d && (e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				empty = false;
		if (d)
			closedir(d);
		if (!S_ISDIR(st.st_mode))
			return cmn_error(ctx, CVMF_E_INVAL, "log directory '%s' is not a directory",
					  dir);
		if (!empty)
			return cmn_error(ctx, CVMF_E_INVAL,
					  "log directory '%s' exists and is not empty", dir);
	} else if ((r = cmn_mkdir_p(ctx, dir, 0755))) {
		return r;
	} else {
		made_dir = true;
	}
	if (!key_path) {
		size_t dl = strlen(dir);
		while (dl > 1 && dir[dl - 1] == '/')
			dl--;
		if (asprintf(&def_key, "%.*s.key", (int)dl, dir) < 0) {
			def_key = NULL;
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		key_path = def_key;
	}
	if ((r = abs_path(ctx, key_path, &key_abs)) || (r = key_outside(ctx, dir, key_abs)))
		goto out;
	if (access(key_abs, F_OK) == 0) {
		r = load_key(ctx, key_abs, origin, &k);
	} else {
		r = cmn_key_generate(ctx, CMN_KEY_ED25519, &k);
		if (!r && !(r = cmn_key_write(ctx, k, key_abs)))
			made_key = true;
	}
	if (r)
		goto out;
	if ((r = cmn_key_note_vkey(ctx, k, origin, &vkey)))
		goto out;
	if (!(l = calloc(1, sizeof(*l)))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	l->lock_fd = -1;
	if (!(l->dir = strdup(dir)) || !(l->state = path_join(dir, ".state")) ||
	    !(l->origin = strdup(origin)) || asprintf(&conf, "origin %s\nkey %s\n", origin, key_abs) < 0) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (mkdir(l->state, 0700) != 0) {
		r = cmn_error(ctx, CVMF_E_IO, "log: cannot create '%s': %s", l->state,
			       strerror(errno));
		goto out;
	}
	made_state = true;
	uint8_t empty[TLG_HASH];
	tlg_empty_root(empty);
	if ((r = state_path(ctx, l, "config", &p)) ||
	    (r = cmn_write_file(ctx, "log config", p, conf, strlen(conf),
				CMN_W_DURABLE | CMN_W_PRIVATE)))
		goto out;
	free(p);
	p = NULL;
	if ((r = write_tree_state(ctx, l, 0, empty)) || (r = sign_and_publish(ctx, l, k)))
		goto out;
	/* The version last: a directory without it is not (yet) a log. */
	if ((r = state_path(ctx, l, "version", &p)) ||
	    (r = cmn_write_file(ctx, "log version", p, STATE_VERSION, strlen(STATE_VERSION),
				CMN_W_DURABLE | CMN_W_PRIVATE)))
		goto out;
	*ret_vkey = vkey;
	vkey = NULL;
out:
	if (r && made_key) {
		char *pub = NULL;
		unlink(key_abs);
		if (asprintf(&pub, "%s.pub", key_abs) > 0) {
			unlink(pub);
			free(pub);
		}
	}
	if (r && made_dir) {
		cmn_rmtree(dir);
	} else if (r && made_state) {
		char *cp = path_join(dir, "checkpoint");
		cmn_rmtree(l->state);
		if (cp)
			unlink(cp);
		free(cp);
	}
	tlg_log_close(l);
	cmn_key_free(k);
	free(def_key);
	free(key_abs);
	free(p);
	free(conf);
	free(vkey);
	return r;
}

/* ---- append ---- */

struct level {
	uint8_t h[TLG_TILE_WIDTH][TLG_HASH];
	unsigned w;
	bool dirty;
};

struct batch {
	cvmf_ctx *ctx;
	const char *dir;
	struct level lv[LEVELS];
	uint64_t cnt[LEVELS];           /* hashes at each level */
	uint8_t *bun;                   /* the open entry bundle */
	size_t bun_len;
	unsigned bun_n;
	bool bun_dirty;
	uint64_t size;
	struct cmn_fileset ds;
	struct full_tile {
		int level;
		uint64_t index;
	} *full;                        /* full tiles written by this batch */
	size_t nfull;
};

static int write_tile(struct batch *b, int level, uint64_t index, unsigned w, const void *data,
		      size_t len)
{
	char rel[128], *p;
	tlg_tile_path(rel, sizeof(rel), level, index, w);
	if (!(p = path_join(b->dir, rel)))
		return cmn_error(b->ctx, CVMF_E_NOMEM, "out of memory");
	int r = cmn_fileset_put(b->ctx, &b->ds, p, data, len, 0644, true, NULL);
	free(p);
	if (!r && w == TLG_TILE_WIDTH) {
		struct full_tile *nf = realloc(b->full, (b->nfull + 1) * sizeof(*nf));
		if (!nf)
			return cmn_error(b->ctx, CVMF_E_NOMEM, "out of memory");
		b->full = nf;
		b->full[b->nfull++] = (struct full_tile){ level, index };
	}
	tlg_crash_point(level == TLG_LEVEL_ENTRIES ? "bundle" : "tile");
	return r;
}

static int push_hash(struct batch *b, unsigned L, const uint8_t h[TLG_HASH])
{
	if (L >= LEVELS)
		return cmn_error(b->ctx, CVMF_E_INVAL, "log: the tree is full");
	struct level *v = &b->lv[L];
	memcpy(v->h[v->w++], h, TLG_HASH);
	b->cnt[L]++;
	v->dirty = true;
	if (v->w < TLG_TILE_WIDTH)
		return 0;
	uint8_t root[TLG_HASH];
	int r = write_tile(b, (int)L, (b->cnt[L] - 1) >> 8, TLG_TILE_WIDTH, v->h, sizeof(v->h));
	if (r)
		return r;
	if (tlg_tile_subtree(&v->h[0][0], 0, 8, root))
		return cmn_error(b->ctx, CVMF_E_CRYPTO, "SHA-256 failed");
	v->w = 0;
	v->dirty = false;
	return push_hash(b, L + 1, root);
}

static int push_entry(struct batch *b, const uint8_t *e, size_t len)
{
	uint8_t h[TLG_HASH];
	if (tlg_leaf_hash(e, len, h))
		return cmn_error(b->ctx, CVMF_E_CRYPTO, "SHA-256 failed");
	b->bun[b->bun_len++] = (uint8_t)(len >> 8);
	b->bun[b->bun_len++] = (uint8_t)len;
	memcpy(b->bun + b->bun_len, e, len);
	b->bun_len += len;
	b->bun_n++;
	b->bun_dirty = true;
	b->size++;
	if (b->bun_n == TLG_TILE_WIDTH) {
		int r = write_tile(b, TLG_LEVEL_ENTRIES, (b->size - 1) >> 8, TLG_TILE_WIDTH, b->bun,
				   b->bun_len);
		if (r)
			return r;
		b->bun_len = 0;
		b->bun_n = 0;
		b->bun_dirty = false;
	}
	return push_hash(b, 0, h);
}

/* Load the right edge of a tree of `size`: each level's partial tile, the
 * partial bundle. */
static int load_edge(struct batch *b, uint64_t size)
{
	b->size = size;
	for (unsigned L = 0; L < LEVELS; L++) {
		uint64_t h = size >> (8 * L);
		b->cnt[L] = h;
		unsigned w = (unsigned)(h & 255);
		b->lv[L].w = w;
		if (!w)
			continue;
		char rel[128], *p;
		uint8_t *data = NULL;
		size_t len = 0;
		tlg_tile_path(rel, sizeof(rel), (int)L, h >> 8, w);
		if (!(p = path_join(b->dir, rel)))
			return cmn_error(b->ctx, CVMF_E_NOMEM, "out of memory");
		int r = cmn_read_file(b->ctx, "hash tile", p, TLG_TILE_WIDTH * TLG_HASH, &data, &len);
		if (!r && len != (size_t)w * TLG_HASH)
			r = cmn_error(b->ctx, CVMF_E_FORMAT, "hash tile '%s': %zu bytes, not %u", p,
				       len, w * TLG_HASH);
		if (!r)
			memcpy(b->lv[L].h, data, len);
		free(data);
		free(p);
		if (r)
			return r;
	}
	unsigned w = (unsigned)(size & 255);
	b->bun_n = w;
	b->bun_len = 0;
	if (w) {
		uint8_t *data = NULL;
		size_t len = 0;
		char *p = NULL;
		int r = read_bundle(b->ctx, b->dir, size >> 8, w, &data, &len, &p);
		if (!r)
			r = bundle_entries(b->ctx, p, data, len, w, NULL, NULL);
		if (!r) {
			memcpy(b->bun, data, len);
			b->bun_len = len;
		}
		free(data);
		free(p);
		if (r)
			return r;
	}
	return 0;
}

static int finish_edge(struct batch *b)
{
	for (unsigned L = 0; L < LEVELS; L++) {
		struct level *v = &b->lv[L];
		if (v->dirty && v->w) {
			int r = write_tile(b, (int)L, b->cnt[L] >> 8, v->w, v->h,
					   (size_t)v->w * TLG_HASH);
			if (r)
				return r;
		}
		v->dirty = false;
	}
	if (b->bun_dirty && b->bun_n) {
		int r = write_tile(b, TLG_LEVEL_ENTRIES, b->size >> 8, b->bun_n, b->bun, b->bun_len);
		if (r)
			return r;
	}
	b->bun_dirty = false;
	return 0;
}

/* Recompute (size, root) from the tiles on disk and check that the tree extends
 * the last signed checkpoint and the committed tree state. */
static int check_tree(cvmf_ctx *ctx, struct tlg_log *l, uint64_t size, uint8_t root[TLG_HASH])
{
	struct tlg_tiles *t = NULL;
	uint8_t h[TLG_HASH];
	int r = tlg_tiles_new(ctx, l->dir, size, &t);
	if (!r)
		r = tlg_root(ctx, size, tlg_tiles_node, t, root);
	if (!r && l->signed_size) {
		r = tlg_range_hash(ctx, tlg_tiles_node, t, 0, l->signed_size, h);
		if (!r && memcmp(h, l->signed_root, TLG_HASH))
			r = cmn_error(ctx, CVMF_E_CRYPTO,
				       "log '%s': the tiles do not hash to the last signed checkpoint "
				       "(size %llu); refusing to sign an inconsistent checkpoint",
				       l->dir, (unsigned long long)l->signed_size);
	}
	if (!r && l->size) {
		r = tlg_range_hash(ctx, tlg_tiles_node, t, 0, l->size, h);
		if (!r && memcmp(h, l->root, TLG_HASH))
			r = cmn_error(ctx, CVMF_E_CRYPTO,
				       "log '%s': the tiles do not hash to the committed tree state "
				       "(size %llu)",
				       l->dir, (unsigned long long)l->size);
	}
	tlg_tiles_free(t);
	return r;
}

/* ---- the writer: one process appending batch after batch ---- */

/* Node reader over a writer's tree: the right edge from memory, any other
 * tile from disk. A node inside a tile is hashed from its two children, and
 * kept: the proofs of a batch ask for the same nodes again and again. */
#define MEMO_SLOTS 4096                 /* 2^12 */
struct memo_slot {
	uint64_t index;
	uint8_t level;                  /* 0: empty (level-0 nodes are never kept) */
	uint8_t h[TLG_HASH];
};

struct edge_nodes {
	cvmf_ctx *ctx;
	const struct batch *b;
	struct tlg_tiles *t;            /* opened on the first node off the edge */
	struct memo_slot *memo;         /* MEMO_SLOTS, or NULL */
};

static int edge_node(void *user, unsigned level, uint64_t index, uint8_t out[TLG_HASH])
{
	struct edge_nodes *e = user;
	unsigned L = level / 8, r = level % 8;
	if (L >= LEVELS || index > (UINT64_MAX >> level))
		return CVMF_E_INVAL;
	if (r) {
		struct memo_slot *m = NULL;
		if (e->memo) {
			uint64_t k = (index ^ (uint64_t)level << 56) * 0x9e3779b97f4a7c15ull;
			m = &e->memo[k >> 52];  /* the top 12 bits: MEMO_SLOTS */
			if (m->level == level && m->index == index) {
				memcpy(out, m->h, TLG_HASH);
				return 0;
			}
		}
		uint8_t lh[TLG_HASH], rh[TLG_HASH];
		int rr = edge_node(e, level - 1, 2 * index, lh);
		if (!rr)
			rr = edge_node(e, level - 1, 2 * index + 1, rh);
		if (!rr && tlg_node_hash(lh, rh, out))
			rr = CVMF_E_CRYPTO;
		if (!rr && m) {
			m->level = (uint8_t)level;
			m->index = index;
			memcpy(m->h, out, TLG_HASH);
		}
		return rr;
	}
	uint64_t base = e->b->cnt[L] & ~(uint64_t)(TLG_TILE_WIDTH - 1);
	if (index >= base && index - base < e->b->lv[L].w) {
		memcpy(out, e->b->lv[L].h[index - base], TLG_HASH);
		return 0;
	}
	if (!e->t) {
		int r2 = tlg_tiles_new(e->ctx, e->b->dir, e->b->size, &e->t);
		if (r2)
			return r2;
	}
	return tlg_tiles_node(e->t, level, index, out);
}

struct tlg_writer {
	char *dir;
	struct tlg_log *l;              /* its lock taken for each batch only */
	struct cmn_key *k;
	struct batch *b;                /* the right edge of the committed tree */
	uint8_t *ts_raw, *ls_raw;       /* treeState and lastSigned as this writer left them */
	size_t ts_len, ls_len;
	bool fresh;                     /* the edge and the cache match the files */
	unsigned flags;                 /* TLG_W_* */
	struct cmn_syncpool *pool;
	tlg_commit_fn hook;
	void *user;
};

static int log_lock(cvmf_ctx *ctx, struct tlg_log *l, int op)
{
	while (flock(l->lock_fd, op) != 0)
		if (errno != EINTR)
			return cmn_error(ctx, CVMF_E_IO, "log '%s': cannot %s its lock: %s", l->dir,
					  op == LOCK_UN ? "release" : "take", strerror(errno));
	return 0;
}

/* The bytes of a state file, or NULL if unreadable (then nothing matches). */
static uint8_t *read_raw(struct tlg_log *l, const char *name, size_t *len)
{
	cvmf_ctx *quiet = cvmf_ctx_new();
	char *p = path_join(l->state, name);
	uint8_t *b = NULL;
	if (!quiet || !p || cmn_read_file(quiet, name, p, TLG_MAX_NOTE, &b, len))
		b = NULL;
	cvmf_ctx_free(quiet);
	free(p);
	return b;
}

static bool raw_same(struct tlg_log *l, const char *name, const uint8_t *want, size_t want_len)
{
	size_t len = 0;
	uint8_t *b = want ? read_raw(l, name, &len) : NULL;
	bool same = b && len == want_len && !memcmp(b, want, len);
	free(b);
	return same;
}

static void writer_forget(struct tlg_writer *w)
{
	tlg_log_close(w->l);
	cmn_key_free(w->k);
	free(w->ts_raw);
	free(w->ls_raw);
	w->l = NULL;
	w->k = NULL;
	w->ts_raw = w->ls_raw = NULL;
	w->fresh = false;
}

/* Temporaries a killed writer left in .state: one may hold a signed
 * checkpoint that was never committed. Called under the lock. */
static void sweep_temps(const char *state)
{
	DIR *d = opendir(state);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, ".tmp-", 5))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
}

/* (Re)load everything from the directory, and check it: the tiles hash to the
 * tree state and extend the last signed checkpoint, the open bundle's entries
 * are the leaves of the edge. Returns with the lock taken. */
static int writer_load(cvmf_ctx *ctx, struct tlg_writer *w)
{
	struct batch *b = w->b;
	uint8_t root[TLG_HASH];
	int r = 0;
	b->ctx = ctx;           /* errors of this call go to its caller's context */
	writer_forget(w);
	if ((r = tlg_log_open(ctx, w->dir, true, &w->l)) ||
	    (r = load_key(ctx, w->l->key_path, w->l->origin, &w->k)))
		return r;
	cmn_fileset_free(&b->ds);
	sweep_temps(w->l->state);
	for (unsigned L = 0; L < LEVELS; L++)
		b->lv[L].dirty = false;
	b->bun_dirty = false;
	if ((r = load_edge(b, w->l->size)) || (r = check_tree(ctx, w->l, w->l->size, root)))
		return r;
	const uint8_t *starts[TLG_TILE_WIDTH];
	size_t lens[TLG_TILE_WIDTH];
	if (b->bun_n && (r = bundle_entries(ctx, "the open entry bundle", b->bun, b->bun_len,
					    b->bun_n, starts, lens)))
		return r;
	for (unsigned i = 0; i < b->bun_n; i++) {
		uint8_t h[TLG_HASH];
		if (tlg_leaf_hash(starts[i], lens[i], h))
			return cmn_error(ctx, CVMF_E_CRYPTO, "SHA-256 failed");
		if (memcmp(h, b->lv[0].h[i], TLG_HASH))
			return cmn_error(ctx, CVMF_E_CRYPTO,
					  "log '%s': entry %llu of the open bundle does not hash to "
					  "its leaf in the tiles",
					  w->dir, (unsigned long long)((b->size & ~255ull) + i));
	}
	w->ts_raw = read_raw(w->l, "treeState", &w->ts_len);
	w->ls_raw = read_raw(w->l, "lastSigned", &w->ls_len);
	w->fresh = w->ts_raw && w->ls_raw;
	return 0;
}

int tlg_writer_open(cvmf_ctx *ctx, const char *dir, unsigned flags, tlg_commit_fn hook,
		    void *user, struct tlg_writer **ret)
{
	struct tlg_writer *w = calloc(1, sizeof(*w));
	int r = 0;
	if (!w || !(w->dir = strdup(dir)) || !(w->b = calloc(1, sizeof(*w->b))) ||
	    !(w->b->bun = malloc(TLG_TILE_WIDTH * (TLG_MAX_ENTRY + 2)))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (!(w->pool = cmn_syncpool_new())) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	w->flags = flags;
	w->hook = hook;
	w->user = user;
	w->b->ctx = ctx;
	w->b->dir = w->dir;
	if ((r = writer_load(ctx, w)) || (r = log_lock(ctx, w->l, LOCK_UN)))
		goto out;
	*ret = w;
	w = NULL;
out:
	tlg_writer_close(w);
	return r;
}

void tlg_writer_close(struct tlg_writer *w)
{
	if (!w)
		return;
	writer_forget(w);
	cmn_syncpool_free(w->pool);
	if (w->b) {
		cmn_fileset_free(&w->b->ds);
		free(w->b->full);
		free(w->b->bun);
		free(w->b);
	}
	free(w->dir);
	free(w);
}

/* Write the signed checkpoint where it is served. The writer that serves the
 * log skips the fsync: lastSigned is the durable copy, and the next start
 * republishes it if the published one is older (republish()). */
static int publish(cvmf_ctx *ctx, struct tlg_writer *w, const char *note)
{
	char *cp = path_join(w->dir, "checkpoint");
	if (!cp)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	int r = cmn_write_file(ctx, "checkpoint", cp, note, strlen(note),
			       w->flags & TLG_W_DURABLE_CHECKPOINT ? CMN_W_DURABLE : 0);
	free(cp);
	return r;
}

/* Whether file's directory is on the file system of dir. */
static bool same_fs(const char *file, const char *dir)
{
	struct stat sa, sb;
	const char *slash = strrchr(file, '/');
	char *fdir = slash ? strndup(file, slash == file ? 1 : (size_t)(slash - file)) : strdup(".");
	bool same = fdir && stat(fdir, &sa) == 0 && stat(dir, &sb) == 0 && sa.st_dev == sb.st_dev;
	free(fdir);
	return same;
}

/* Remove the partial tiles of a full tile (tlog.md §4.2: a log MAY, once the
 * full one exists): its directory N.p. Readers fall back to the full tile
 * (tlg_tiles, and log serve answers a request for a removed partial tile with
 * the full one cut to size). Best effort: a partial tile left over is
 * harmless. */
static void prune_partials(const char *dir, int level, uint64_t index)
{
	char rel[128];
	tlg_tile_path(rel, sizeof(rel), level, index, 1);
	char *slash = strrchr(rel, '/');
	if (!slash)
		return;
	*slash = '\0';         /* .../N.p */
	char *p = path_join(dir, rel);
	int fd = p ? open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	if (!d && fd >= 0)
		close(fd);
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			unlinkat(dirfd(d), e->d_name, 0);
			tlg_crash_point("prune");
		}
	if (d) {
		closedir(d);
		rmdir(p);
	}
	free(p);
}

/*
 * One batch, under the lock, on an edge that matches the files:
 *   - sequence the entries on the edge held in memory, and write the bundles
 *     and tiles they touch, in place;
 *   - take the new root from the edge; let the hook check it; sign it in
 *     memory; write treeState, the hook's file and lastSigned to temporaries;
 *   - round 1: fsync all of these files and the directories with new entries;
 *   - rename treeState, the hook's file, lastSigned (the commit), in this
 *     order; round 2: fsync their directories;
 *   - publish the checkpoint.
 * A signature that dies with the process before lastSigned is renamed was
 * never shown to anyone, and its temporary is removed at the next load.
 */
static int writer_batch(cvmf_ctx *ctx, struct tlg_writer *w, const uint8_t *const *entries,
			const size_t *lens, size_t n, uint64_t *ret_first)
{
	struct tlg_log *l = w->l;
	struct batch *b = w->b;
	struct edge_nodes en = { ctx, b, NULL, NULL };
	struct cmn_fileset g1 = { 0 }, g2 = { 0 };  /* treeState; the hook's file, lastSigned */
	char *text = NULL, *note = NULL, *ts_path = NULL, *ls_path = NULL;
	struct tlg_commit c = { 0 };
	uint8_t root[TLG_HASH];
	int r = 0;
	b->ctx = ctx;
	if (n > INT64_MAX - l->size)
		return cmn_error(ctx, CVMF_E_INVAL, "log '%s' is full", w->dir);
	uint64_t first = l->size;
	w->fresh = false;               /* until this batch is through */
	b->nfull = 0;
	tlg_crash_point("sequence");
	for (size_t i = 0; i < n; i++)
		if ((r = push_entry(b, entries[i], lens[i])))
			goto out;
	if ((r = finish_edge(b)))
		goto out;
	if (n == 0)
		memcpy(root, l->root, TLG_HASH);
	else if ((r = tlg_root(ctx, b->size, edge_node, &en, root)))
		goto out;
	bool commit = b->size != l->size || memcmp(root, l->root, TLG_HASH);
	bool sign = commit || l->signed_size != l->size ||
		    memcmp(l->signed_root, l->root, TLG_HASH);
	c = (struct tlg_commit){ l->origin, l->key_path, b->size, root, l->size, l->root, NULL,
				 NULL };
	if (w->hook && (r = w->hook(w->user, ctx, &c)))
		goto out;
	if (sign && ((r = tlg_checkpoint_text(ctx, l->origin, b->size, root, &text)) ||
		     (r = tlg_note_sign(ctx, text, strlen(text), l->origin, cmn_key_pkey(w->k),
					&note)) ||
		     (r = state_path(ctx, l, "treeState", &ts_path)) ||
		     (r = state_path(ctx, l, "lastSigned", &ls_path))))
		goto out;
	/* One set, renamed in order, when the hook's file is on the file system
	 * of treeState (renames reach the disk in order); else treeState first,
	 * its directory synced, then the others. */
	struct cmn_fileset *gt = c.also_path && !same_fs(c.also_path, l->state) ? &g1 : &g2;
	if (commit &&
	    (r = cmn_fileset_put(ctx, gt, ts_path, text, strlen(text), 0600, false, "commit")))
		goto out;
	if (c.also_path && (r = cmn_fileset_put(ctx, &g2, c.also_path, c.also_text,
						strlen(c.also_text), 0600, false, "external")))
		goto out;
	if (sign &&
	    (r = cmn_fileset_put(ctx, &g2, ls_path, note, strlen(note), 0600, false, "signed")))
		goto out;
	struct cmn_fileset *round1[] = { &b->ds, &g1, &g2 };
	if ((r = cmn_fileset_sync(ctx, w->pool, round1, 3)))
		goto out;
	tlg_crash_point("sync");
	if ((r = cmn_fileset_commit(ctx, w->pool, &g1, tlg_crash_point)) ||
	    (r = cmn_fileset_commit(ctx, w->pool, &g2, tlg_crash_point)))
		goto out;
	if (!sign) {            /* nothing new: the published checkpoint may be behind */
		if ((r = republish(ctx, l)))
			goto out;
		w->fresh = true;
		goto done;
	}
	l->size = l->signed_size = b->size;
	memcpy(l->root, root, TLG_HASH);
	memcpy(l->signed_root, root, TLG_HASH);
	free(l->signed_note);
	l->signed_note = note;
	note = NULL;
	if (commit) {
		free(w->ts_raw);
		w->ts_len = strlen(text);
		w->ts_raw = (uint8_t *)text;
		text = NULL;
	}
	free(w->ls_raw);
	w->ls_len = strlen(l->signed_note);
	w->ls_raw = (uint8_t *)strdup(l->signed_note);
	if ((r = publish(ctx, w, l->signed_note)))
		goto out;
	w->fresh = w->ls_raw && w->ts_raw;
	for (size_t i = 0; (w->flags & TLG_W_PRUNE_PARTIALS) && i < b->nfull; i++)
		prune_partials(w->dir, b->full[i].level, b->full[i].index);
done:
	*ret_first = first;
out:
	cmn_fileset_free(&b->ds);
	cmn_fileset_free(&g1);
	cmn_fileset_free(&g2);
	tlg_tiles_free(en.t);
	free(c.also_text);
	free(text);
	free(note);
	free(ts_path);
	free(ls_path);
	return r;
}

int tlg_writer_append(cvmf_ctx *ctx, struct tlg_writer *w, const uint8_t *const *entries,
		      const size_t *lens, size_t n, uint64_t *ret_first)
{
	int r = 0;
	for (size_t i = 0; i < n; i++)
		if (lens[i] > TLG_MAX_ENTRY)
			return cmn_error(ctx, CVMF_E_INVAL,
					  "log entry %zu of the batch: %zu bytes, an entry may have at "
					  "most %u (64 KiB)",
					  i, lens[i], TLG_MAX_ENTRY);
	if (!w->l || (r = log_lock(ctx, w->l, LOCK_EX)))
		r = writer_load(ctx, w);        /* also the way back after a failure */
	else if (!w->fresh || !raw_same(w->l, "lastSigned", w->ls_raw, w->ls_len) ||
		 !raw_same(w->l, "treeState", w->ts_raw, w->ts_len))
		r = writer_load(ctx, w);        /* another writer was here: check it all */
	if (!r)
		r = writer_batch(ctx, w, entries, lens, n, ret_first);
	if (w->l && log_lock(ctx, w->l, LOCK_UN) && !r)
		r = CVMF_E_IO;
	return r;
}

uint64_t tlg_writer_size(const struct tlg_writer *w)
{
	return w->l ? w->l->signed_size : 0;
}

int tlg_writer_proofs(cvmf_ctx *ctx, struct tlg_writer *w, uint64_t first, size_t n,
		      const uint8_t *const *entries, const size_t *lens, char **ret,
		      size_t *ret_lens)
{
	if (!w->fresh)
		return cmn_error(ctx, CVMF_E_INVAL, "log '%s': no committed batch to prove", w->dir);
	struct edge_nodes en = { ctx, w->b, NULL, calloc(MEMO_SLOTS, sizeof(struct memo_slot)) };
	int r = tlg_proofs(ctx, w->dir, w->l->signed_note, strlen(w->l->signed_note),
			   w->l->signed_size, w->l->signed_root, edge_node, &en, first, n, entries,
			   lens, ret, ret_lens);
	tlg_tiles_free(en.t);
	free(en.memo);
	return r;
}

int cvmf_log_add(cvmf_ctx *ctx, const char *dir, const uint8_t *const *entries,
		 const size_t *lens, size_t n, uint64_t *ret_first)
{
	struct tlg_writer *w = NULL;
	int r = tlg_writer_open(ctx, dir, TLG_W_DURABLE_CHECKPOINT, NULL, NULL, &w);
	if (!r)
		r = tlg_writer_append(ctx, w, entries, lens, n, ret_first);
	tlg_writer_close(w);
	return r;
}

int cvmf_log_add_files(cvmf_ctx *ctx, const char *dir, const char *const *paths, size_t n,
		       uint64_t *ret_first)
{
	uint8_t **bufs = calloc(n ? n : 1, sizeof(*bufs));
	size_t *lens = calloc(n ? n : 1, sizeof(*lens));
	int r = 0;
	if (!bufs || !lens) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(paths[i], &st) == 0 && S_ISREG(st.st_mode) && st.st_size > TLG_MAX_ENTRY) {
			r = cmn_error(ctx, CVMF_E_INVAL,
				       "log entry '%s': %lld bytes, an entry may have at most %u (64 KiB)",
				       paths[i], (long long)st.st_size, TLG_MAX_ENTRY);
			goto out;
		}
		if ((r = cmn_read_file(ctx, "log entry", paths[i], TLG_MAX_ENTRY, &bufs[i], &lens[i])))
			goto out;
	}
	r = cvmf_log_add(ctx, dir, (const uint8_t *const *)bufs, lens, n, ret_first);
out:
	for (size_t i = 0; bufs && i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(lens);
	return r;
}

int cvmf_log_state(cvmf_ctx *ctx, const char *dir, struct cvmf_log_state *ret)
{
	struct tlg_log *l = NULL;
	struct tlg_note *n = NULL;
	struct tlg_checkpoint c = { 0 };
	uint8_t *b = NULL;
	size_t len = 0;
	char *p = path_join(dir, "checkpoint");
	/* The published checkpoint (lastSigned may be one batch ahead of it). */
	int r = p ? tlg_log_open(ctx, dir, false, &l) : cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (!r)
		r = get_file(ctx, "checkpoint", p, TLG_MAX_NOTE, &b, &len);
	if (!r)
		r = tlg_note_parse(ctx, p, b, len, &n);
	if (!r)
		r = tlg_checkpoint_parse(ctx, p, n->text, n->text_len, &c);
	if (!r && strcmp(c.origin, l->origin))
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: origin '%s' is not the log's ('%s')", p,
			       c.origin, l->origin);
	if (!r) {
		snprintf(ret->origin, sizeof(ret->origin), "%s", l->origin);
		ret->size = c.size;
		memcpy(ret->root, c.root, TLG_HASH);
	}
	tlg_checkpoint_clear(&c);
	tlg_note_free(n);
	tlg_log_close(l);
	free(b);
	free(p);
	return r;
}
