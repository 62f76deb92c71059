/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvmforge build: recipe -> OUT/NAME-VERSION/ (docs/build.md).
 *
 *  1. resolve every input (file: or deb:) to local bytes and check its pin
 *     (the recipe's sha256, else RECIPE.lock; --lock records them);
 *  2. assemble the initrd (builder/initrd.c) and check module vermagics
 *     against the kernel's release;
 *  3. write the launched files into a temporary directory beside the
 *     output, measure them (builder/measurements.c), write the launch
 *     scripts, the manifest and the tarball;
 *  4. rename the directory into place: nothing partial is ever left.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <openssl/crypto.h>

#include "builder/image.h"
#include "common/write.h"
#include "recipes/recipe.h"

struct input {
	const char *role;           /* firmware, kernel, initrd, initrd-file, initrd-tree, acpi-tables */
	const struct rcp_source *src;   /* NULL for a tree */
	char id[4200];              /* the lock's id: the source text, or "tree:DIR" */
	char path[4200];            /* where the bytes are */
	char dest[4200];            /* initrd-file: the path in the initrd */
	struct cvmf_file_digest d;  /* a tree: sha256 is the tree digest, size its bytes */
	bool is_deb;
	struct bld_deb deb;
	uint64_t tree_files;
	unsigned line;
};

struct build {
	cvmf_ctx *ctx;
	const struct cvmf_build_opts *o;
	struct cvmf_build_result *res;
	struct rcp_recipe *r;
	struct rcp_lock *lock;
	char cache[4096];
	bool have_cache;
	struct input *in;
	size_t n_in, cap_in;
	struct bld_initrd initrd;
	struct bld_initrd_result ires;
	bool have_ires;
	char release[256];
	json_t *modules;            /* [{path, vermagic}] */
	struct cvmf_fw_info *fw;    /* what the firmware's volumes say (check_firmware) */
	unsigned ovmf_release;      /* the recipe's release, else the image's; 0 if unknown */
	char ovmf_release_source[200];
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void warn(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct build *b, const char *fmt, ...)
{
	if (b->res->n_warnings >= CVMF_BUILD_MAX_WARNINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->res->warnings[b->res->n_warnings++], sizeof(b->res->warnings[0]), fmt, ap);
	va_end(ap);
}

static void progress(void *user, const char *what, uint64_t done, uint64_t total)
{
	struct build *b = user;
	if (b->o->progress)
		b->o->progress(b->o->progress_user, what, done, total);
}

/* Prefix the message already in ctx (copied first: it is the output buffer). */
static int wrap(cvmf_ctx *ctx, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int wrap(cvmf_ctx *ctx, int rc, const char *fmt, ...)
{
	char msg[sizeof(ctx->msg)], prefix[600];
	snprintf(msg, sizeof(msg), "%s", ctx->msg);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	return cmn_error(ctx, rc, "%s%s", prefix, msg);
}

static struct input *new_input(struct build *b, const char *role, unsigned line)
{
	if (b->n_in == b->cap_in) {
		size_t cap = b->cap_in ? 2 * b->cap_in : 8;
		struct input *v = realloc(b->in, cap * sizeof(*v));
		if (!v)
			return NULL;
		b->in = v;
		b->cap_in = cap;
	}
	struct input *in = &b->in[b->n_in++];
	memset(in, 0, sizeof(*in));
	in->role = role;
	in->line = line;
	return in;
}

/* A value the lock pins that differs from what the build used: the lock's
 * FILE:LINE, the input, the field and both values. */
static int lock_mismatch(struct build *b, const struct input *in, const struct rcp_lock_entry *le,
			 unsigned line, const char *field, const char *pinned, const char *used)
{
	return cmn_error(b->ctx, CVMF_E_FORMAT,
			  "%s:%u: %s: the lock pins %s %s but %s (if the change is intended, run "
			  "`cvmforge build --lock`)",
			  b->lock->path, line ? line : le->line, in->id, field, pinned, used);
}

/* The pin of an input: the recipe's, else the lock's; check it, or record it.
 * Whatever else the lock says about the input is checked too: a file or a
 * tree has no package fields, and a package's are checked in resolve(). */
static int check_pin(struct build *b, struct input *in, const uint8_t *recipe_pin)
{
	char got[65], want[65];
	cvmf_hex(in->d.sha256, 32, got);
	const struct rcp_lock_entry *le = rcp_lock_find(b->lock, in->id);
	if (le && !b->o->lock && !in->is_deb) {
		const char *field = le->version ? "version" : le->have_deb_sha256 ? "deb-sha256"
				  : le->deb_file ? "deb-file" : NULL;
		unsigned line = le->version ? le->version_line : le->have_deb_sha256
			      ? le->deb_sha256_line : le->deb_file_line;
		if (field)
			return cmn_error(b->ctx, CVMF_E_FORMAT,
					  "%s:%u: %s: the lock pins a package's %s, but this input is not a package "
					  "(if the change is intended, run `cvmforge build --lock`)",
					  b->lock->path, line ? line : le->line, in->id, field);
	}
	if (recipe_pin) {
		if (memcmp(recipe_pin, in->d.sha256, 32)) {
			cvmf_hex(recipe_pin, 32, want);
			return cmn_error(b->ctx, CVMF_E_FORMAT,
					  "%s:%u: %s: the recipe pins sha256 %s but the bytes have %s",
					  b->r->path, in->line, in->id, want, got);
		}
	}
	if (le && le->have_sha256 && !b->o->lock) {
		if (memcmp(le->sha256, in->d.sha256, 32)) {
			cvmf_hex(le->sha256, 32, want);
			return cmn_error(b->ctx, CVMF_E_FORMAT,
					  "%s:%u: %s: the lock pins sha256 %s but the bytes have %s "
					  "(if the change is intended, run `cvmforge build --lock`)",
					  b->lock->path, le->sha256_line ? le->sha256_line : le->line,
					  in->id, want, got);
		}
	} else if (!recipe_pin && !b->o->lock) {
		return cmn_error(b->ctx, CVMF_E_FORMAT,
				  "%s:%u: %s is not pinned: add sha256 = %s to the recipe, or run "
				  "`cvmforge build --lock` to record it in %s",
				  b->r->path, in->line, in->id, got, b->lock->path);
	}
	if (!b->o->lock)
		return 0;
	struct rcp_lock_entry e = { .id = in->id, .have_sha256 = true, .line = 0 };
	memcpy(e.sha256, in->d.sha256, 32);
	if (in->is_deb) {
		e.version = in->deb.version;
		e.have_deb_sha256 = true;
		memcpy(e.deb_sha256, in->deb.sha256, 32);
		e.deb_file = in->deb.file;
	}
	return rcp_lock_set(b->ctx, b->lock, &e);
}

static int cache(struct build *b)
{
	if (b->have_cache)
		return 0;
	if (b->o->cache_dir)
		img_pathf(b->cache, sizeof(b->cache), "%s", b->o->cache_dir);
	else {
		int rc = bld_cache_dir(b->ctx, b->cache, sizeof(b->cache));
		if (rc)
			return rc;
	}
	b->have_cache = true;
	return 0;
}

/* The package's version, .deb digest and file name as the lock pins them,
 * against the package the build used. */
static int check_lock_deb(struct build *b, const struct input *in, const struct rcp_lock_entry *le)
{
	const struct bld_deb *d = &in->deb;
	char used[400], pinned[65], got[65];
	if (b->o->lock || !le)
		return 0;
	if (le->version && strcmp(le->version, d->version)) {
		snprintf(used, sizeof(used), "the build used %s %s", d->package, d->version);
		return lock_mismatch(b, in, le, le->version_line, "version", le->version, used);
	}
	if (le->have_deb_sha256 && memcmp(le->deb_sha256, d->sha256, 32)) {
		cvmf_hex(le->deb_sha256, 32, pinned);
		cvmf_hex(d->sha256, 32, got);
		snprintf(used, sizeof(used), "the build used %s with deb-sha256 %s", d->file, got);
		return lock_mismatch(b, in, le, le->deb_sha256_line, "deb-sha256", pinned, used);
	}
	if (le->deb_file && strcmp(le->deb_file, d->file)) {
		snprintf(used, sizeof(used), "the build used %s", d->file);
		return lock_mismatch(b, in, le, le->deb_file_line, "deb-file", le->deb_file, used);
	}
	return 0;
}

/* Which file of the cache a package member was extracted to: a symbolic
 * link CACHE/members/<.deb sha256>/<sha256 of the member path> pointing to
 * ../../files/<the file's sha256>, made after each extraction (symlink(2)
 * and rename(2) are atomic: no half-written record). It lets a later build
 * use the extracted file without decompressing the package again, for that
 * package and member only: the pin (recipe or lock) is then checked against
 * those bytes, never used to choose them. */
static bool member_record(struct build *b, const struct input *in, const char *member,
			  char *dir, size_t dir_len, char *path, size_t path_len)
{
	struct cmn_hasher *h = NULL;
	uint8_t d[32];
	char deb_hex[65], member_hex[65];
	bool ok = !cmn_hasher_new(b->ctx, CMN_SHA256, &h) &&
		  !cmn_hasher_oneshot(h, member, strlen(member), d);
	cmn_hasher_free(h);
	if (!ok)
		return false;
	cvmf_hex(in->deb.sha256, 32, deb_hex);
	cvmf_hex(d, 32, member_hex);
	img_pathf(dir, dir_len, "%s/members/%s", b->cache, deb_hex);
	img_pathf(path, path_len, "%s/%s", dir, member_hex);
	return true;
}

/* The member's file from an earlier extraction, when its record exists and
 * the file still has the digest it is named by (with or without --lock:
 * the record does not come from the lock). */
static bool from_files(struct build *b, const char *member, struct input *in)
{
	char dir[4200], rec[4300], target[200];
	if (!member_record(b, in, member, dir, sizeof(dir), rec, sizeof(rec)))
		return false;
	ssize_t n = readlink(rec, target, sizeof(target) - 1);
	if (n != 12 + 64 || memcmp(target, "../../files/", 12))
		return false;
	target[n] = '\0';
	uint8_t want[32];
	if (cvmf_unhex(target + 12, want, 32))
		return false;
	img_pathf(in->path, sizeof(in->path), "%s/files/%s", b->cache, target + 12);
	struct stat st;
	return !lstat(in->path, &st) && S_ISREG(st.st_mode) &&
	       !img_digest_file(b->ctx, in->path, &in->d) && !memcmp(in->d.sha256, want, 32);
}

/* Record an extraction (best effort: without the record the next build
 * extracts again). */
static void note_extracted(struct build *b, const char *member, struct input *in,
			   const uint8_t sha[32])
{
	char dir[4200], rec[4300], tmp[4400], target[100], hex[65];
	if (!member_record(b, in, member, dir, sizeof(dir), rec, sizeof(rec)))
		return;
	cvmf_hex(sha, 32, hex);
	img_pathf(target, sizeof(target), "../../files/%s", hex);
	img_pathf(tmp, sizeof(tmp), "%s.tmp-%ld", rec, (long)getpid());
	if (cmn_mkdir_p(b->ctx, dir, 0755))
		return;
	unlink(tmp);
	if (symlink(target, tmp) || rename(tmp, rec))
		unlink(tmp);
}

/* The same package, fetched and checked for an earlier input of this
 * build (the kernel's package gives the kernel and its modules). */
static const struct bld_deb *deb_seen(const struct build *b, const struct input *self,
				      const char *package, const char *version,
				      const uint8_t *want_deb)
{
	for (size_t i = 0; i < b->n_in; i++) {
		const struct input *o = &b->in[i];
		if (o == self || !o->is_deb || !o->deb.package[0] || strcmp(o->deb.package, package))
			continue;
		if (want_deb ? !memcmp(o->deb.sha256, want_deb, 32)
			     : version && !strcmp(o->deb.version, version))
			return &o->deb;
	}
	return NULL;
}

static int resolve(struct build *b, const char *role, const struct rcp_source *src,
		   struct input **ret)
{
	struct input *in = new_input(b, role, src->line);
	if (!in)
		return cmn_error(b->ctx, CVMF_E_NOMEM, "out of memory");
	in->src = src;
	img_pathf(in->id, sizeof(in->id), "%s", src->text);
	int rc;
	if (src->kind == RCP_SRC_FILE) {
		struct stat st;
		if (stat(src->path, &st))
			return cmn_error(b->ctx, CVMF_E_IO, "%s:%u: %s: %s", b->r->path, src->line,
					  src->text, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return cmn_error(b->ctx, CVMF_E_FORMAT, "%s:%u: %s is not a regular file",
					  b->r->path, src->line, src->text);
		img_pathf(in->path, sizeof(in->path), "%s", src->path);
	} else {
		if ((rc = cache(b)))
			return rc;
		const struct rcp_lock_entry *le = b->o->lock ? NULL : rcp_lock_find(b->lock, in->id);
		const char *version = src->version;
		const uint8_t *want_deb = NULL;
		char hex[65], deb_path[4200];
		struct stat st;
		in->is_deb = true;
		if (le && le->version && version && strcmp(version, le->version)) {
			char asked[300];
			snprintf(asked, sizeof(asked), "the recipe asks for %s=%s (%s:%u)", src->package,
				 version, b->r->path, src->line);
			return lock_mismatch(b, in, le, le->version_line, "version", le->version, asked);
		}
		if (!version && le && le->version)
			version = le->version;   /* the lock pins what the recipe leaves open */
		/* The lock's .deb, when the cache has it: no apt. Otherwise apt
		 * resolves the version, and the result is checked against the lock. */
		if (le && le->have_deb_sha256) {
			cvmf_hex(le->deb_sha256, 32, hex);
			img_pathf(deb_path, sizeof(deb_path), "%s/debs/%s.deb", b->cache, hex);
			if (!lstat(deb_path, &st) && S_ISREG(st.st_mode))
				want_deb = le->deb_sha256;
		}
		const struct bld_deb *seen = deb_seen(b, in, src->package, version, want_deb);
		if (seen) {
			in->deb = *seen;
		} else {
			rc = bld_deb_fetch(b->ctx, b->cache, src->package, version, want_deb, progress,
					   b, &in->deb);
			if (rc && want_deb)
				return wrap(b->ctx, rc, "%s:%u: %s: the lock pins %s%s%sdeb-sha256 %s: ",
					    b->lock->path,
					    le->deb_sha256_line ? le->deb_sha256_line : le->line, in->id,
					    src->version ? "" : "version ", src->version ? "" : version,
					    src->version ? "" : " and ", hex);
			if (rc)
				return wrap(b->ctx, rc, "%s:%u: ", b->r->path, src->line);
		}
		if ((rc = check_lock_deb(b, in, le)))
			return rc;
		if (from_files(b, src->path, in))
			goto pinned;
		uint8_t sha[32];
		rc = bld_deb_extract(b->ctx, b->cache, &in->deb, src->path, in->path,
				     sizeof(in->path), sha);
		if (rc)
			return wrap(b->ctx, rc, "%s:%u: ", b->r->path, src->line);
		note_extracted(b, src->path, in, sha);
	}
	if ((rc = img_digest_file(b->ctx, in->path, &in->d)))
		return rc;
pinned:
	if ((rc = check_pin(b, in, src->have_sha256 ? src->sha256 : NULL)))
		return rc;
	*ret = in;
	return 0;
}

/* ---- the initrd ---- */

static const char *const type_names[] = { "file", "dir", "symlink", "char", "block" };

/* A tree's digest: its entries as they will be archived, in order, each
 * "TYPE MODE UID GID PATH\0" then the content's sha256 or the symlink target. */
static int tree_digest(struct build *b, const struct bld_initrd *t, struct input *in)
{
	struct cmn_hasher *h;
	int rc = cmn_hasher_new(b->ctx, CMN_SHA256, &h);
	if (rc)
		return rc;
	for (size_t i = 0; i < t->n && !rc; i++) {
		const struct bld_entry *e = &t->v[i];
		char head[4400];
		int n = snprintf(head, sizeof(head), "%s %04o %u %u %s", type_names[e->type], e->mode,
				 e->uid, e->gid, e->path);
		rc = cmn_hasher_update(h, head, (size_t)n + 1);
		if (e->type == BLD_REG && !rc) {
			uint8_t sha[32];
			uint64_t size;
			if (!(rc = cmn_sha256_file(b->ctx, "tree file", e->source, sha, &size))) {
				rc = cmn_hasher_update(h, sha, 32);
				in->d.size += size;
				in->tree_files++;
			}
		} else if (e->type == BLD_SYMLINK && !rc) {
			rc = cmn_hasher_update(h, e->target, strlen(e->target) + 1);
		}
	}
	if (!rc)
		rc = cmn_hasher_final(h, in->d.sha256);
	cmn_hasher_free(h);
	in->d.present = true;
	return rc;
}

static int add_tree(struct build *b, const struct rcp_entry *re)
{
	struct input *in = new_input(b, "initrd-tree", re->line);
	if (!in)
		return cmn_error(b->ctx, CVMF_E_NOMEM, "out of memory");
	/* The id names the tree as the recipe does. */
	const char *dirtext = re->src.text;
	if (!strncmp(dirtext, "file:", 5))
		dirtext += 5;
	img_pathf(in->id, sizeof(in->id), "tree:%s", dirtext);
	img_pathf(in->path, sizeof(in->path), "%s", re->src.path);
	img_pathf(in->dest, sizeof(in->dest), "%s", re->dest);
	char origin[4400];
	snprintf(origin, sizeof(origin), "%s:%u: tree %s", b->r->path, re->line, dirtext);
	/* Trees are walked without following links, their root included (as a
	 * linked file = source is refused): `tree = t1` with t1 -> /etc must
	 * not put the host's /etc in the initrd. */
	struct stat rst;
	if (lstat(re->src.path, &rst) == 0 && S_ISLNK(rst.st_mode))
		return cmn_error(b->ctx, CVMF_E_INVAL,
				  "%s: '%s' is a symbolic link; a tree's root is not followed "
				  "(name the directory itself)", origin, re->src.path);
	struct bld_initrd t;
	bld_initrd_init(&t);
	int rc = bld_initrd_add_tree(b->ctx, &t, re->src.path, re->dest, re->uid, re->gid, origin);
	if (!rc)
		rc = bld_initrd_finish(b->ctx, &t);
	if (!rc)
		rc = tree_digest(b, &t, in);
	for (size_t i = 0; i < t.n && !rc; i++)
		if (!t.v[i].implicit)
			rc = bld_initrd_add(b->ctx, &b->initrd, &t.v[i]);
	bld_initrd_free(&t);
	if (!rc)
		rc = check_pin(b, in, NULL);
	return rc;
}

static int collect_initrd(struct build *b)
{
	const struct rcp_recipe *r = b->r;
	int rc = 0;
	for (size_t i = 0; i < r->n_entries && !rc; i++) {
		const struct rcp_entry *re = &r->entries[i];
		char origin[4400];
		snprintf(origin, sizeof(origin), "%s:%u", r->path, re->line);
		struct bld_entry e = {
			.path = re->dest, .mode = re->have_mode ? re->mode : 0, .uid = re->uid,
			.gid = re->gid, .origin = origin,
		};
		struct input *in;
		switch (re->kind) {
		case RCP_ENT_TREE:
			rc = add_tree(b, re);
			continue;
		case RCP_ENT_FILE:
			if ((rc = resolve(b, "initrd-file", &re->src, &in)))
				break;
			img_pathf(in->dest, sizeof(in->dest), "%s", re->dest);
			e.type = BLD_REG;
			e.source = in->path;
			if (!re->have_mode)
				e.mode = 0644;
			break;
		case RCP_ENT_DIR:
			e.type = BLD_DIR;
			if (!re->have_mode)
				e.mode = 0755;
			break;
		case RCP_ENT_SYMLINK:
			e.type = BLD_SYMLINK;
			e.mode = 0777;
			e.target = re->target;
			break;
		case RCP_ENT_CHAR:
		case RCP_ENT_BLOCK:
			e.type = re->kind == RCP_ENT_CHAR ? BLD_CHAR : BLD_BLOCK;
			e.rmajor = re->major;
			e.rminor = re->minor;
			if (!re->have_mode)
				e.mode = 0600;
			break;
		}
		if (!rc)
			rc = bld_initrd_add(b->ctx, &b->initrd, &e);
	}
	if (!rc)
		rc = bld_initrd_finish(b->ctx, &b->initrd);
	return rc;
}

/* Every kernel module in the initrd must be built for this kernel. */
static int check_modules(struct build *b, const char *kernel_path)
{
	uint8_t *buf;
	size_t len;
	int rc = cmn_read_file(b->ctx, "kernel", kernel_path, 512u << 20, &buf, &len);
	if (rc)
		return rc;
	rc = bld_bzimage_release(b->ctx, buf, len, b->release, sizeof(b->release));
	free(buf);
	if (rc)
		return wrap(b->ctx, rc, "%s:%u: kernel: ", b->r->path, b->r->kernel.line);
	b->modules = json_array();
	for (size_t i = 0; i < b->initrd.n; i++) {
		const struct bld_entry *e = &b->initrd.v[i];
		if (e->type != BLD_REG || !bld_module_kind(e->path))
			continue;
		if ((rc = cmn_read_file(b->ctx, "module", e->source, 256u << 20, &buf, &len)))
			return rc;
		char vermagic[512];
		rc = bld_module_vermagic_file(b->ctx, e->path, buf, len, vermagic, sizeof(vermagic));
		free(buf);
		if (rc)
			return wrap(b->ctx, rc, "%s: /%s: ", e->origin, e->path);
		size_t w = strcspn(vermagic, " ");
		if (w != strlen(b->release) || memcmp(vermagic, b->release, w))
			return cmn_error(b->ctx, CVMF_E_FORMAT,
					  "%s: /%s: module built for %.*s, but the kernel is %s "
					  "(vermagic \"%s\")", e->origin, e->path, (int)w, vermagic,
					  b->release, vermagic);
		json_t *m = json_object();
		json_object_set_new(m, "path", json_string(e->path));
		json_object_set_new(m, "vermagic", json_string(vermagic));
		json_array_append_new(b->modules, m);
	}
	return 0;
}

/* The firmware is read, not trusted: a [firmware] release the image
 * contradicts is an error naming both; without one, the image's is used. */
static int check_firmware(struct build *b)
{
	const struct rcp_recipe *r = b->r;
	int rc = cvmf_fw_read(b->ctx, b->in[0].path, &b->fw);
	if (rc)
		return wrap(b->ctx, rc, "%s:%u: firmware: ", r->path, r->firmware.line);
	const struct cvmf_fw_info *fw = b->fw;
	if (r->ovmf_release) {
		if (cvmf_fw_check_release(b->ctx, fw, r->ovmf_release))
			return wrap(b->ctx, CVMF_E_INVAL,
				    "%s:%u: [firmware] release %u.%02u contradicts the firmware %s: ",
				    r->path, r->firmware.line, r->ovmf_release / 100,
				    r->ovmf_release % 100, r->firmware.text);
		b->ovmf_release = r->ovmf_release;
		snprintf(b->ovmf_release_source, sizeof(b->ovmf_release_source),
			 "recipe: [firmware] release %u.%02u", r->ovmf_release / 100,
			 r->ovmf_release % 100);
	} else if (fw->release) {
		b->ovmf_release = fw->release;
		snprintf(b->ovmf_release_source, sizeof(b->ovmf_release_source),
			 "firmware: version string '%s' in %s", fw->versions[0], fw->version_module[0]);
	}
	if (r->tdx.enabled && fw->known && !(fw->features & CVMF_FW_TDX_MEASURE))
		warn(b, "tdx: the firmware has no TDX measurement driver (TdTcg2Dxe): it extends no "
		     "RTMR, so rtmr0..rtmr2 are null");
	return 0;
}

/* ---- outputs ---- */

static int write_initrd(struct build *b, const char *dir)
{
	char path[4200];
	img_pathf(path, sizeof(path), "%s/%s", dir, IMG_INITRD);
	if (b->r->initrd_prebuilt) {
		const struct input *in = NULL;
		for (size_t i = 0; i < b->n_in; i++)
			if (!strcmp(b->in[i].role, "initrd"))
				in = &b->in[i];
		return img_copy(b->ctx, in->path, path);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return cmn_error(b->ctx, CVMF_E_IO, "%s: %s", path, strerror(errno));
	unsigned workers = b->o->workers;
	if (!workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		workers = n > 0 ? (unsigned)n : 1;
	}
	struct bld_initrd_opts o = {
		.compress = b->r->compression == RCP_ZSTD ? BLD_ZSTD :
			    b->r->compression == RCP_GZIP ? BLD_GZIP : BLD_NONE,
		.level = b->r->level,
		.workers = workers,
		.mtime = b->r->source_date_epoch,
		.progress = progress,
		.progress_user = b,
	};
	int rc = bld_initrd_write(b->ctx, &b->initrd, &o, fd, &b->ires);
	if (close(fd) && !rc)
		rc = cmn_error(b->ctx, CVMF_E_IO, "%s: %s", path, strerror(errno));
	b->have_ires = !rc;
	return rc;
}

static int write_cmdline(struct build *b, const char *dir)
{
	char path[4200];
	img_pathf(path, sizeof(path), "%s/%s", dir, IMG_CMDLINE);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return cmn_error(b->ctx, CVMF_E_IO, "%s: %s", path, strerror(errno));
	size_t n = strlen(b->r->cmdline);
	ssize_t w = write(fd, b->r->cmdline, n);
	int e = errno;
	if (close(fd) || w != (ssize_t)n)
		return cmn_error(b->ctx, CVMF_E_IO, "%s: %s", path, strerror(e));
	return 0;
}

static json_t *u64_list(const uint64_t *v, size_t n, bool as_hex)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		if (as_hex) {
			json_array_append_new(a, cmn_json_hex_u64(v[i]));
		} else {
			json_array_append_new(a, json_integer((json_int_t)v[i]));
		}
	}
	return a;
}

/* The recipe's platforms as measurement parameters (measurements.json). */
static int platform_params(struct build *b, json_t **ret)
{
	const struct rcp_recipe *r = b->r;
	json_t *p = json_object();
	if (r->snp.enabled) {
		json_t *s = json_object();
		json_object_set_new(s, "kernel-hashes", json_boolean(r->snp.kernel_hashes));
		json_t *a = json_array();
		for (size_t i = 0; i < r->snp.n_vmms; i++)
			json_array_append_new(a, json_string(cvmf_vmm_name(r->snp.vmms[i])));
		json_object_set_new(s, "vmm-types", a);
		a = json_array();
		for (size_t i = 0; i < r->snp.n_vcpus; i++)
			json_array_append_new(a, json_integer(r->snp.vcpus[i]));
		json_object_set_new(s, "vcpus", a);
		a = json_array();
		for (size_t i = 0; i < r->snp.n_cpu_types; i++)
			json_array_append_new(a, json_string(r->snp.cpu_types[i]));
		json_object_set_new(s, "cpu-types", a);
		json_object_set_new(s, "guest-features",
				    u64_list(r->snp.guest_features, r->snp.n_guest_features, true));
		json_object_set_new(s, "memory", json_integer((json_int_t)r->snp.memory));
		json_object_set_new(p, "snp", s);
	}
	if (r->tdx.enabled) {
		json_t *t = json_object();
		json_object_set_new(t, "memory", u64_list(r->tdx.memory, r->tdx.n_memory, false));
		json_t *a = json_array();
		for (size_t i = 0; i < r->tdx.n_orders; i++)
			json_array_append_new(a, json_string(cvmf_tdx_page_order_name(r->tdx.orders[i])));
		json_object_set_new(t, "page-orders", a);

		/* The event layout: the recipe's, else the firmware release's. */
		enum cvmf_tdx_layout layout;
		const char *layout_source;
		const bool fw_measures = !b->fw->known || (b->fw->features & CVMF_FW_TDX_MEASURE);
		if (r->tdx.have_layout) {
			layout = r->tdx.layout;
			layout_source = "recipe: [tdx] ovmf-event-layout";
		} else if (!fw_measures) {
			layout = CVMF_TDX_LAYOUT_2024_11;
			layout_source = "unused: the firmware has no TDX measurement driver";
		} else if (b->ovmf_release) {
			if (cvmf_tdx_layout_for_release(b->ctx, b->ovmf_release, &layout)) {
				json_decref(p);
				json_decref(t);
				return wrap(b->ctx, CVMF_E_UNSUPPORTED, "%s:%u: [tdx]: ", r->path,
					    r->tdx.line);
			}
			layout_source = b->ovmf_release_source;
		} else {
			json_decref(p);
			json_decref(t);
			return cmn_error(b->ctx, CVMF_E_FORMAT,
					  "%s:%u: [tdx] needs the OVMF event layout: set release in "
					  "[firmware] (e.g. 2022.11) or ovmf-event-layout in [tdx]",
					  r->path, r->tdx.line);
		}
		json_object_set_new(t, "ovmf-event-layout", json_string(cvmf_tdx_layout_name(layout)));
		json_object_set_new(t, "ovmf-event-layout-source", json_string(layout_source));

		bool patch;
		char psrc[256];
		if (r->tdx.have_kernel_patch) {
			patch = r->tdx.kernel_patch;
			snprintf(psrc, sizeof(psrc), "recipe: [tdx] kernel-header-patch");
		} else {
			int pr = cvmf_qemu_kernel_patched(b->ctx, r->tdx.qemu_version, b->ovmf_release,
							  &layout, true, &patch);
			if (pr && fw_measures) {
				json_decref(p);
				json_decref(t);
				return wrap(b->ctx, CVMF_E_FORMAT,
					    "%s:%u: [tdx] (set kernel-header-patch): ", r->path,
					    r->tdx.line);
			}
			if (pr) {   /* nothing measures the kernel into an RTMR: either will do */
				patch = true;
				snprintf(psrc, sizeof(psrc), "unused: the firmware has no TDX measurement driver");
			} else {
				snprintf(psrc, sizeof(psrc), "rule: QEMU %u.%u, OVMF %s",
					 r->tdx.qemu_version / 100, r->tdx.qemu_version % 100,
					 b->ovmf_release ? "release" : "layout");
			}
		}
		char q[16];
		snprintf(q, sizeof(q), "%u.%u", r->tdx.qemu_version / 100, r->tdx.qemu_version % 100);
		json_object_set_new(t, "qemu-version", json_string(q));
		json_object_set_new(t, "kernel-header-patch", json_boolean(patch));
		json_object_set_new(t, "kernel-header-patch-source", json_string(psrc));
		json_object_set_new(t, "stub-cc", json_boolean(r->tdx.stub_cc));
		json_object_set_new(t, "acpi-tables", r->tdx.have_acpi ? json_string(IMG_ACPI)
								       : json_null());
		json_object_set_new(p, "tdx", t);
	}
	*ret = p;
	return 0;
}

/* Every file of the image (but the manifest and the tarball), with digests;
 * those measurements.json already holds (`known`) are not hashed again. */
static int list_outputs(cvmf_ctx *ctx, const char *root, json_t *known, json_t *out)
{
	struct img_names files = { 0 };
	int rc = img_files(ctx, root, &files);
	for (size_t i = 0; i < files.n && !rc; i++) {
		if (!strcmp(files.v[i], IMG_MANIFEST))
			continue;
		json_t *d0 = json_object_get(known, files.v[i]);
		if (d0) {
			json_object_set_new(out, files.v[i], json_deep_copy(d0));
			continue;
		}
		char full[4400];
		img_pathf(full, sizeof(full), "%s/%s", root, files.v[i]);
		struct cvmf_file_digest d;
		if (!(rc = img_digest_file(ctx, full, &d)))
			json_object_set_new(out, files.v[i], cmn_json_digest(&d));
	}
	img_names_free(&files);
	return rc;
}

static json_t *input_json(const struct input *in)
{
	json_t *o = json_object();
	json_object_set_new(o, "role", json_string(in->role));
	json_object_set_new(o, "source", json_string(in->id));
	json_object_set_new(o, "line", json_integer(in->line));
	if (!strcmp(in->role, "initrd-tree")) {
		json_object_set_new(o, "tree-sha256", cmn_json_hex(in->d.sha256, 32));
		json_object_set_new(o, "files", json_integer((json_int_t)in->tree_files));
		json_object_set_new(o, "bytes", json_integer((json_int_t)in->d.size));
	} else {
		json_object_set_new(o, "size", json_integer((json_int_t)in->d.size));
		json_object_set_new(o, "sha256", cmn_json_hex(in->d.sha256, 32));
		json_object_set_new(o, "sha384", cmn_json_hex(in->d.sha384, 48));
	}
	if (*in->dest)
		json_object_set_new(o, "dest", json_string(in->dest));
	if (in->is_deb) {
		json_t *d = json_object();
		json_object_set_new(d, "package", json_string(in->deb.package));
		json_object_set_new(d, "version", json_string(in->deb.version));
		json_object_set_new(d, "file", json_string(in->deb.file));
		json_object_set_new(d, "sha256", cmn_json_hex(in->deb.sha256, 32));
		json_object_set_new(o, "deb", d);
	}
	return o;
}

static int write_manifest(struct build *b, const char *dir, json_t *known)
{
	const struct rcp_recipe *r = b->r;
	json_t *m = json_object();
	json_object_set_new(m, "format", json_string(IMG_MANIFEST_FORMAT));
	json_t *img = json_object();
	json_object_set_new(img, "name", json_string(r->name));
	json_object_set_new(img, "version", json_string(r->version));
	json_object_set_new(m, "image", img);
	json_object_set_new(m, "source-date-epoch", json_integer((json_int_t)r->source_date_epoch));

	json_t *tool = json_object();
	json_object_set_new(tool, "cvmforge", json_string(CVMF_VERSION));
	json_object_set_new(tool, "snp-algorithm", json_string(CVMF_SNP_ALGORITHM));
	char zstd[64], zlib[64], la[64];
	bld_tool_versions(zstd, zlib, la, sizeof(zstd));
	json_object_set_new(tool, "libzstd", json_string(zstd));
	json_object_set_new(tool, "zlib", json_string(zlib));
	json_object_set_new(tool, "libarchive", json_string(la));
	json_object_set_new(tool, "openssl", json_string(OpenSSL_version(OPENSSL_VERSION)));
	json_object_set_new(m, "tools", tool);

	json_t *rec = json_object();
	const char *base = strrchr(r->path, '/');
	json_object_set_new(rec, "file", json_string(base ? base + 1 : r->path));
	json_object_set_new(rec, "sha256", cmn_json_hex(r->sha256, 32));
	json_object_set_new(m, "recipe", rec);

	json_t *inputs = json_array();
	for (size_t i = 0; i < b->n_in; i++)
		json_array_append_new(inputs, input_json(&b->in[i]));
	json_object_set_new(m, "inputs", inputs);

	json_t *kernel = json_object();
	json_object_set_new(kernel, "release", json_string(b->release));
	json_object_set_new(m, "kernel", kernel);

	json_t *ini = json_object();
	if (b->have_ires) {
		json_object_set_new(ini, "format", json_string("cpio newc"));
		json_object_set_new(ini, "compression",
				    json_string(r->compression == RCP_ZSTD ? "zstd" :
						r->compression == RCP_GZIP ? "gzip" : "none"));
		if (r->compression != RCP_NONE)
			json_object_set_new(ini, "level", json_integer(r->level));
		json_object_set_new(ini, "entries", json_integer((json_int_t)b->ires.entries));
		json_object_set_new(ini, "cpio-size", json_integer((json_int_t)b->ires.raw_size));
		json_object_set_new(ini, "cpio-sha256", cmn_json_hex(b->ires.raw_sha256, 32));
	} else {
		json_object_set_new(ini, "format", json_string("prebuilt"));
	}
	json_object_set(ini, "modules", b->modules);
	json_object_set_new(m, "initrd", ini);

	json_t *outs = json_object();
	int rc = list_outputs(b->ctx, dir, known, outs);
	json_object_set_new(m, "outputs", outs);
	char path[4200];
	img_pathf(path, sizeof(path), "%s/%s", dir, IMG_MANIFEST);
	if (!rc)
		rc = cmn_json_write_file(b->ctx, IMG_MANIFEST, path, m, 0);
	json_decref(m);
	return rc;
}

/* The umask must not reach the image: 0755 directories and scripts, 0644 files. */
static int fix_modes(cvmf_ctx *ctx, const char *path)
{
	struct stat st;
	if (lstat(path, &st))
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return chmod(path, (st.st_mode & S_IXUSR) ? 0755 : 0644) ?
			cmn_error(ctx, CVMF_E_IO, "%s: %s", path, strerror(errno)) : 0;
	if (chmod(path, 0755))
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", path, strerror(errno));
	DIR *d = opendir(path);
	if (!d)
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", path, strerror(errno));
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[4400];
		img_pathf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rc = fix_modes(ctx, sub);
	}
	closedir(d);
	return rc;
}

static int resolve_inputs(struct build *b)
{
	const struct rcp_recipe *r = b->r;
	struct input *in;
	int rc;
	/* x86 Linux keeps at most COMMAND_LINE_SIZE - 1 = 2047 bytes and drops the rest
	 * silently, while the measured cmdline would still hold all of it. */
	if (strlen(r->cmdline) > 2047)
		return cmn_error(b->ctx, CVMF_E_FORMAT, "%s: [cmdline] value is %zu bytes; the "
				  "x86 kernel keeps at most 2047", r->path, strlen(r->cmdline));
	if ((rc = resolve(b, "firmware", &r->firmware, &in)) ||
	    (rc = resolve(b, "kernel", &r->kernel, &in)))
		return rc;
	if (r->initrd_prebuilt && (rc = resolve(b, "initrd", &r->initrd, &in)))
		return rc;
	if (r->tdx.enabled && r->tdx.have_acpi && (rc = resolve(b, "acpi-tables", &r->tdx.acpi, &in)))
		return rc;
	bld_initrd_init(&b->initrd);
	if (!r->initrd_prebuilt && (rc = collect_initrd(b)))
		return rc;
	return 0;
}

static int make_image(struct build *b, const char *tmp, const char *dir, const char *stem)
{
	const struct rcp_recipe *r = b->r;
	struct cvmf_build_result *res = b->res;
	int rc;
	double t0 = now();
	if (mkdir(dir, 0755))
		return cmn_error(b->ctx, CVMF_E_IO, "%s: %s", dir, strerror(errno));
	char path[4200];
	const struct input *fw = &b->in[0], *kernel = &b->in[1];
	img_pathf(path, sizeof(path), "%s/%s", dir, IMG_FIRMWARE);
	if ((rc = img_copy(b->ctx, fw->path, path)))
		return rc;
	img_pathf(path, sizeof(path), "%s/%s", dir, IMG_KERNEL);
	if ((rc = img_copy(b->ctx, kernel->path, path)))
		return rc;
	if ((rc = write_cmdline(b, dir)))
		return rc;
	for (size_t i = 0; i < b->n_in; i++)
		if (!strcmp(b->in[i].role, "acpi-tables")) {
			img_pathf(path, sizeof(path), "%s/%s", dir, IMG_ACPI);
			if ((rc = img_copy(b->ctx, b->in[i].path, path)))
				return rc;
		}
	res->t_write += now() - t0;
	t0 = now();
	if ((rc = write_initrd(b, dir)))
		return rc;
	res->t_initrd = now() - t0;

	t0 = now();
	json_t *platforms = NULL, *meas = NULL;
	if ((rc = platform_params(b, &platforms)))
		return rc;
	rc = img_measure(b->ctx, dir, stem, platforms, &meas);
	json_decref(platforms);
	if (rc)
		return rc;
	res->t_measure = now() - t0;
	t0 = now();
	for (const char *const *plat = (const char *const[]){ "snp", "tdx", NULL }; *plat; plat++) {
		json_t *w = json_object_get(json_object_get(meas, *plat), "warnings");
		size_t i;
		json_t *v;
		json_array_foreach(w, i, v)
			warn(b, "%s: %s", *plat, json_string_value(v));
	}
	img_pathf(path, sizeof(path), "%s/%s", dir, IMG_MEASUREMENTS);
	if (!(rc = cmn_json_write_file(b->ctx, IMG_MEASUREMENTS, path, meas, 0)))
		rc = img_write_launch(b->ctx, dir, meas);
	if (!rc)
		rc = write_manifest(b, dir, json_object_get(meas, "files"));
	json_decref(meas);
	if (!rc)
		rc = fix_modes(b->ctx, dir);
	char tar[4200], tar_final[4400];
	img_pathf(tar, sizeof(tar), "%s/%s.tar", tmp, stem);
	if (!rc)
		rc = bld_tar_write(b->ctx, dir, stem, r->source_date_epoch, tar);
	img_pathf(tar_final, sizeof(tar_final), "%s/%s.tar", dir, stem);
	if (!rc && rename(tar, tar_final))
		rc = cmn_error(b->ctx, CVMF_E_IO, "%s: %s", tar_final, strerror(errno));
	if (!rc && chmod(tar_final, 0644))
		rc = cmn_error(b->ctx, CVMF_E_IO, "%s: %s", tar_final, strerror(errno));
	res->t_write += now() - t0;
	return rc;
}

int cvmf_build(cvmf_ctx *ctx, const struct cvmf_build_opts *o, struct cvmf_build_result *res)
{
	double t_start = now();
	memset(res, 0, sizeof(*res));
	if (!o->recipe_path || !o->out_dir)
		return cmn_error(ctx, CVMF_E_INVAL, "a recipe and an output directory are required");
	struct build b = { .ctx = ctx, .o = o, .res = res };
	bld_initrd_init(&b.initrd);
	char *tmp = NULL;
	struct cmn_out *lock_out = NULL;
	bool moved_old = false, placed = false;
	int rc = rcp_load(ctx, o->recipe_path, &b.r);
	if (rc)
		goto out;
	char lock_path[4200];
	img_pathf(lock_path, sizeof(lock_path), "%s.lock", o->recipe_path);
	if ((rc = rcp_lock_load(ctx, lock_path, &b.lock)))
		goto out;
	img_pathf(res->lock_path, sizeof(res->lock_path), "%s", lock_path);

	char stem[600];
	snprintf(stem, sizeof(stem), "%s-%s", b.r->name, b.r->version);
	img_pathf(res->image_dir, sizeof(res->image_dir), "%s/%s", o->out_dir, stem);
	img_pathf(res->tar_path, sizeof(res->tar_path), "%s/%s.tar", res->image_dir, stem);
	struct stat st;
	if (!o->force && !lstat(res->image_dir, &st)) {
		rc = cmn_error(ctx, CVMF_E_INVAL, "%s already exists (use --force to replace it)",
				res->image_dir);
		goto out;
	}

	double t0 = now();
	if ((rc = resolve_inputs(&b)))
		goto out;
	res->n_inputs = b.n_in;
	if ((rc = check_firmware(&b)) || (rc = check_modules(&b, b.in[1].path)))
		goto out;
	res->t_inputs = now() - t0;

	if ((rc = cmn_mkdir_p(ctx, o->out_dir, 0755)))
		goto out;
	/* OUT/.STEM.tmp-xxxxxx, locked while we live and removed on SIGINT/SIGTERM;
	 * the ones of killed runs (unlocked) go first. */
	char prefix[620];
	snprintf(prefix, sizeof(prefix), ".%s.tmp-", stem);
	cmn_tmpdir_sweep(o->out_dir, prefix);
	if ((rc = cmn_tmpdir_create(ctx, o->out_dir, prefix, &tmp)))
		goto out;
	char dir[4400], old[4400];
	img_pathf(dir, sizeof(dir), "%s/%s", tmp, stem);
	img_pathf(old, sizeof(old), "%s/old", tmp);
	if ((rc = make_image(&b, tmp, dir, stem)))
		goto out;
	/* The lock is written before the image lands and renamed just after it:
	 * a lock that cannot be written leaves nothing in OUT. */
	if (o->lock && (rc = rcp_lock_stage(ctx, b.lock, &lock_out)))
		goto out;

	/* Into place: the old image (with --force) moves aside first. */
	if (!lstat(res->image_dir, &st)) {
		if (!o->force) {
			rc = cmn_error(ctx, CVMF_E_INVAL, "%s appeared during the build",
					res->image_dir);
			goto out;
		}
		if (rename(res->image_dir, old)) {
			rc = cmn_error(ctx, CVMF_E_IO, "%s: %s", res->image_dir, strerror(errno));
			goto out;
		}
		moved_old = true;
	}
	if (rename(dir, res->image_dir)) {
		rc = cmn_error(ctx, CVMF_E_IO, "%s: %s", res->image_dir, strerror(errno));
		goto out;
	}
	placed = true;
	if (lock_out) {
		rc = cmn_out_commit(lock_out);
		lock_out = NULL;
	}
out:
	cmn_out_abort(lock_out);
	/* A failure after the image landed takes it back out, and the old one in. */
	if (rc && placed)
		rename(res->image_dir, dir);
	if (rc && moved_old)
		rename(old, res->image_dir);
	if (tmp) {
		cmn_tmpdir_remove(tmp);
		free(tmp);
	}
	bld_initrd_free(&b.initrd);
	json_decref(b.modules);
	cvmf_fw_info_free(b.fw);
	free(b.in);
	rcp_lock_free(b.lock);
	rcp_free(b.r);
	res->t_total = now() - t_start;
	return rc;
}

/* The recipe module's table, in the public layout. */
static struct cvmf_recipe_key pub_keys[192];
static size_t n_pub_keys;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void fill_keys(void)
{
	const struct rcp_key_doc *d;
	size_t n = rcp_key_docs(&d);
	for (size_t i = 0; i < n && i < CMN_ARRAY_SIZE(pub_keys); i++)
		pub_keys[n_pub_keys++] = (struct cvmf_recipe_key){ d[i].section, d[i].key,
								   d[i].value, d[i].help };
}

size_t cvmf_recipe_keys(const struct cvmf_recipe_key **ret)
{
	pthread_once(&keys_once, fill_keys);
	*ret = pub_keys;
	return n_pub_keys;
}
