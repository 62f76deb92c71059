/* SPDX-License-Identifier: Apache-2.0 */
/* The image directory's helpers: JSON files, copies with digests, launch
 * scripts, removal, and opening an image given as a directory or tarball. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image.h"
#include "common/file.h"
#include "common/write.h"

void img_pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		buf[0] = 0;
}

/* ---- the documented shapes of manifest.json and measurements.json ---- */

#define SHAPE(...) (&(const struct cmn_json_shape){ __VA_ARGS__ })
#define MEMBERS(...) ((const struct cmn_json_member[]){ __VA_ARGS__, { NULL, NULL, false } })

static const struct cmn_json_shape S_STR = { .type = JSON_STRING };
static const struct cmn_json_shape S_U64 = { .type = JSON_INTEGER, .nonneg = true };
static const struct cmn_json_shape S_SHA256 = { .type = JSON_STRING, .hex = 32 };
static const struct cmn_json_shape S_SHA384 = { .type = JSON_STRING, .hex = 48 };
static const struct cmn_json_shape S_SHA384_OR_NULL = { .type = JSON_STRING, .hex = 48,
							.nullable = true };
static const struct cmn_json_shape S_STRINGS = { .type = JSON_ARRAY, .each = &S_STR };

/* {"size", "sha256", "sha384"}: a file in "outputs" and "files". */
static const struct cmn_json_shape S_DIGEST = {
	.type = JSON_OBJECT,
	.members = MEMBERS({ "size", &S_U64 }, { "sha256", &S_SHA256 }, { "sha384", &S_SHA384 }),
};

static const struct cmn_json_shape S_MANIFEST = {
	.type = JSON_OBJECT,
	.members = MEMBERS(
		{ "format", &S_STR },
		{ "image", SHAPE(.type = JSON_OBJECT,
				 .members = MEMBERS({ "name", &S_STR }, { "version", &S_STR })) },
		{ "source-date-epoch", &S_U64 },
		{ "tools", SHAPE(.type = JSON_OBJECT, .each = &S_STR) },
		{ "recipe", SHAPE(.type = JSON_OBJECT,
				  .members = MEMBERS({ "file", &S_STR }, { "sha256", &S_SHA256 })) },
		{ "inputs", SHAPE(.type = JSON_ARRAY, .each = SHAPE(
			.type = JSON_OBJECT,
			.members = MEMBERS(
				{ "role", &S_STR }, { "source", &S_STR }, { "line", &S_U64 },
				/* a file: size and digests; a tree: its digest, files and bytes */
				{ "size", &S_U64, true }, { "sha256", &S_SHA256, true },
				{ "sha384", &S_SHA384, true }, { "tree-sha256", &S_SHA256, true },
				{ "files", &S_U64, true }, { "bytes", &S_U64, true },
				{ "dest", &S_STR, true },
				{ "deb", SHAPE(.type = JSON_OBJECT,
					       .members = MEMBERS({ "package", &S_STR },
								  { "version", &S_STR },
								  { "file", &S_STR },
								  { "sha256", &S_SHA256 })),
				  true }))) },
		{ "kernel", SHAPE(.type = JSON_OBJECT, .members = MEMBERS({ "release", &S_STR })) },
		{ "initrd", SHAPE(
			.type = JSON_OBJECT,
			.members = MEMBERS(
				{ "format", &S_STR }, { "compression", &S_STR, true },
				{ "level", SHAPE(.type = JSON_INTEGER), true },
				{ "entries", &S_U64, true }, { "cpio-size", &S_U64, true },
				{ "cpio-sha256", &S_SHA256, true },
				{ "modules", SHAPE(.type = JSON_ARRAY, .each = SHAPE(
					.type = JSON_OBJECT,
					.members = MEMBERS({ "path", &S_STR },
							   { "vermagic", &S_STR }))) })) },
		{ "outputs", SHAPE(.type = JSON_OBJECT, .each = &S_DIGEST) }),
};

static const struct cmn_json_shape S_MEASUREMENTS = {
	.type = JSON_OBJECT,
	.members = MEMBERS(
		{ "format", &S_STR },
		{ "image", &S_STR },
		{ "tool", &S_STR, true },
		{ "files", SHAPE(.type = JSON_OBJECT, .each = &S_DIGEST) },
		/* params are read by img_measure(), whose readers check every value */
		{ "snp", SHAPE(
			.type = JSON_OBJECT,
			.members = MEMBERS(
				{ "params", SHAPE(.type = JSON_OBJECT) },
				{ "algorithm", &S_STR }, { "mode", &S_STR },
				{ "measurements", SHAPE(.type = JSON_ARRAY, .each = SHAPE(
					.type = JSON_OBJECT,
					.members = MEMBERS(
						{ "vmm", &S_STR }, { "vcpus", &S_U64 },
						{ "cpu-type", &S_STR }, { "vcpu-sig", &S_STR },
						{ "guest-features", &S_STR },
						{ "launch-digest", &S_SHA384 }))) },
				{ "warnings", &S_STRINGS })),
		  true },
		{ "tdx", SHAPE(
			.type = JSON_OBJECT,
			.members = MEMBERS(
				{ "params", SHAPE(.type = JSON_OBJECT) },
				{ "measurements", SHAPE(.type = JSON_ARRAY, .each = SHAPE(
					.type = JSON_OBJECT,
					.members = MEMBERS(
						{ "memory", &S_U64 }, { "page-order", &S_STR },
						{ "mrtd", &S_SHA384 }, { "rtmr0", &S_SHA384_OR_NULL },
						{ "rtmr1", &S_SHA384_OR_NULL },
						{ "rtmr2", &S_SHA384_OR_NULL },
						{ "rtmr3", &S_SHA384_OR_NULL },
						{ "kernel-authenticode-sha384", &S_SHA384 }))) },
				{ "warnings", &S_STRINGS })),
		  true }),
};

/* Read DIR/NAME, check its format string first (so that another kind of
 * file is named as such), then its shape. */
static int read_doc(cvmf_ctx *ctx, const char *dir, const char *name, const char *format,
		    const struct cmn_json_shape *shape, json_t **ret)
{
	char path[4200];
	img_pathf(path, sizeof(path), "%s/%s", dir, name);
	json_t *v = NULL;
	int rc = cmn_json_read_file(ctx, name, path, IMG_JSON_MAX, &v);
	if (rc)
		return rc;
	json_t *f = json_is_object(v) ? json_object_get(v, "format") : NULL;
	if (json_is_string(f) && strcmp(json_string_value(f), format))
		rc = cmn_error(ctx, CVMF_E_FORMAT,
				"%s: format is '%s', expected '%s': not a cvmforge image, or "
				"one of another version", name, json_string_value(f), format);
	if (!rc)
		rc = cmn_json_check(ctx, name, v, shape);
	if (rc) {
		json_decref(v);
		return rc;
	}
	*ret = v;
	return 0;
}

int img_read_manifest(cvmf_ctx *ctx, const char *dir, json_t **ret)
{
	json_t *v = NULL;
	int rc = read_doc(ctx, dir, IMG_MANIFEST, IMG_MANIFEST_FORMAT, &S_MANIFEST, &v);
	if (rc)
		return rc;
	/* Each input is a file (size, sha256, sha384) or a tree (tree-sha256, files, bytes). */
	json_t *in;
	size_t i;
	json_array_foreach(json_object_get(v, "inputs"), i, in) {
		bool tree = !strcmp(json_string_value(json_object_get(in, "role")), "initrd-tree");
		static const char *const file_keys[] = { "size", "sha256", "sha384" },
				       *const tree_keys[] = { "tree-sha256", "files", "bytes" };
		for (size_t k = 0; k < 3 && !rc; k++) {
			const char *key = tree ? tree_keys[k] : file_keys[k];
			if (!json_object_get(in, key))
				rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: inputs[%zu]: missing member "
						"'%s'", IMG_MANIFEST, i, key);
		}
	}
	if (rc) {
		json_decref(v);
		return rc;
	}
	*ret = v;
	return 0;
}

int img_read_measurements(cvmf_ctx *ctx, const char *dir, json_t **ret)
{
	return read_doc(ctx, dir, IMG_MEASUREMENTS, IMG_MEASUREMENTS_FORMAT, &S_MEASUREMENTS, ret);
}

int img_copy(cvmf_ctx *ctx, const char *from, const char *to)
{
	int in = cmn_input_open(ctx, "input", from, CMN_MAX_STREAM, 0, NULL);
	if (in < 0)
		return in;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		int e = errno;
		close(in);
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", to, strerror(e));
	}
	enum { CHUNK = 1 << 20 };
	uint8_t *buf = malloc(CHUNK);
	int rc = buf ? 0 : cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	while (!rc) {
		ssize_t n = read(in, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = cmn_error(ctx, CVMF_E_IO, "%s: %s", from, strerror(errno));
		if (n <= 0)
			break;
		for (ssize_t off = 0; !rc && off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				rc = cmn_error(ctx, CVMF_E_IO, "%s: %s", to, strerror(errno));
			else
				off += w;
		}
	}
	free(buf);
	close(in);
	if (close(out) && !rc)
		rc = cmn_error(ctx, CVMF_E_IO, "%s: %s", to, strerror(errno));
	return rc;
}

/* SHA-256 and SHA-384 in one streaming pass (common/file.c). */
int img_digest_file(cvmf_ctx *ctx, const char *path, struct cvmf_file_digest *ret)
{
	struct cmn_hasher *h[2] = { NULL, NULL };
	uint8_t *out[2] = { ret->sha256, ret->sha384 };
	int rc = cmn_hasher_new(ctx, CMN_SHA256, &h[0]);
	if (!rc)
		rc = cmn_hasher_new(ctx, CMN_SHA384, &h[1]);
	if (!rc)
		rc = cmn_hash_file(ctx, "file", path, h, 2, out, &ret->size);
	cmn_hasher_free(h[0]);
	cmn_hasher_free(h[1]);
	if (!rc) {
		ret->present = true;
		ret->derived = false;
	}
	return rc;
}

int img_rmtree(const char *path)
{
	struct stat st;
	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *sub;
		if (asprintf(&sub, "%s/%s", path, e->d_name) < 0) {
			rc = -1;
			break;
		}
		if (img_rmtree(sub))
			rc = -1;
		free(sub);
	}
	closedir(d);
	rc = rmdir(path) ? -1 : rc;
	cmn_tmp_release(path);   /* a cmn_tmpdir_create directory: its lock and slot */
	return rc;
}

int img_open(cvmf_ctx *ctx, const char *image, char *ret_dir, size_t len, char **tmp)
{
	struct stat st;
	*tmp = NULL;
	if (stat(image, &st))
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", image, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		snprintf(ret_dir, len, "%s", image);
		return 0;
	}
	/* $TMPDIR/cvmforge-image-xxxxxx, locked while we live and removed on
	 * SIGINT/SIGTERM; the ones of killed runs (unlocked) go first. */
	const char *base = getenv("TMPDIR");
	base = base && *base ? base : "/tmp";
	char *t = NULL;
	cmn_tmpdir_sweep(base, "cvmforge-image-");
	int rc = cmn_tmpdir_create(ctx, base, "cvmforge-image-", &t);
	if (rc)
		return rc;
	rc = bld_tar_extract(ctx, image, t);
	if (rc) {
		img_rmtree(t);
		free(t);
		return rc;
	}
	/* The tarball holds one directory, NAME-VERSION/. */
	DIR *d = opendir(t);
	struct dirent *e;
	char *sub = NULL;
	int n = 0;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		free(sub);
		sub = strdup(e->d_name);
	}
	if (d)
		closedir(d);
	if (n != 1 || !sub) {
		free(sub);
		img_rmtree(t);
		free(t);
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: an image tarball holds exactly one "
				  "directory NAME-VERSION/", image);
	}
	snprintf(ret_dir, len, "%s/%s", t, sub);
	free(sub);
	*tmp = t;
	return 0;
}

/* ---- the files of an image ---- */

static int names_add(struct img_names *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	return (l->v[l->n++] = strdup(s)) ? 0 : -1;
}

void img_names_free(struct img_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool img_is_signature(const char *name)
{
	size_t n = strlen(name), m = strlen(CVMF_SIGN_SUFFIX);
	return n > m && !strchr(name, '/') && !strcmp(name + n - m, CVMF_SIGN_SUFFIX);
}

static int walk(cvmf_ctx *ctx, const char *dir, const char *rel, struct img_names *out)
{
	char path[4200];
	img_pathf(path, sizeof(path), "%s%s%s", dir, *rel ? "/" : "", rel);
	DIR *d = opendir(path);
	if (!d)
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", path, strerror(errno));
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[4200], full[4400];
		img_pathf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		img_pathf(full, sizeof(full), "%s/%s", dir, sub);
		struct stat st;
		if (lstat(full, &st))
			rc = cmn_error(ctx, CVMF_E_IO, "%s: %s", full, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = walk(ctx, dir, sub, out);
		else if (!S_ISREG(st.st_mode))
			/* As the tarball path does: a link could point out of the
			 * image, a FIFO or device would never end. */
			rc = cmn_error(ctx, CVMF_E_FORMAT,
					"'%s' in image '%s' is %s; an image holds only regular files and directories",
					sub, dir, S_ISLNK(st.st_mode) ? "a symbolic link" : "a special file");
		else if (!*rel && strlen(e->d_name) > 4 &&
			 !strcmp(e->d_name + strlen(e->d_name) - 4, ".tar"))
			continue;   /* the tarball is compared on its own */
		else if (!*rel && img_is_signature(e->d_name))
			continue;   /* signatures added by `cvmforge sign` (docs/sign.md) */
		else if (names_add(out, sub))
			rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	closedir(d);
	return rc;
}

int img_files(cvmf_ctx *ctx, const char *dir, struct img_names *ret)
{
	int rc = walk(ctx, dir, "", ret);
	if (!rc)
		qsort(ret->v, ret->n, sizeof(*ret->v), cmp_str);
	return rc;
}

/* ---- launch scripts ---- */

static int write_script(cvmf_ctx *ctx, const char *dir, const char *name, const char *body)
{
	char path[4200];
	img_pathf(path, sizeof(path), "%s/launch/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (fd < 0)
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", path, strerror(errno));
	/* The umask must not leak into the image: set the mode explicitly. */
	fchmod(fd, 0755);
	size_t n = strlen(body);
	ssize_t w = write(fd, body, n);
	int e = errno;
	if (close(fd) || w != (ssize_t)n)
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", path, strerror(e));
	return 0;
}

/* Append to a growing string. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

static const char script_head[] =
	"#!/bin/sh\n"
	"# Written by cvmforge " CVMF_VERSION " with the image; do not edit.\n"
	"# Boots the image's own files exactly as they were measured.\n"
	"set -eu\n"
	"cd \"$(dirname \"$0\")/..\"\n"
	"QEMU=${QEMU:-qemu-system-x86_64}\n";

/* A shell `case` pattern of the allowed values, and the list for messages. */
static void allowed(struct sbuf *b, const char *var, json_t *vals, const char *what)
{
	sb_printf(b, "case $%s in\n", var);
	size_t i;
	json_t *v;
	sb_printf(b, "  ");
	json_array_foreach(vals, i, v) {
		if (json_is_integer(v))
			sb_printf(b, "%s%" JSON_INTEGER_FORMAT, i ? "|" : "", json_integer_value(v));
		else if (json_is_string(v))
			sb_printf(b, "%s%s", i ? "|" : "", json_string_value(v));
	}
	sb_printf(b, ") ;;\n  *) echo \"$0: %s $%s was not measured; measured:", what, var);
	json_array_foreach(vals, i, v) {
		if (json_is_integer(v))
			sb_printf(b, " %" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (json_is_string(v))
			sb_printf(b, " %s", json_string_value(v));
	}
	sb_printf(b, "\" >&2; exit 2 ;;\nesac\n");
}

int img_write_launch(cvmf_ctx *ctx, const char *dir, const json_t *measurements)
{
	char path[4200];
	img_pathf(path, sizeof(path), "%s/launch", dir);
	if (mkdir(path, 0755) || chmod(path, 0755))
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", path, strerror(errno));
	int rc;
	struct sbuf b = { 0 };
	sb_printf(&b, "%s", script_head);
	sb_printf(&b, "# A plain (not confidential) boot under QEMU, for smoke tests. ACCEL=kvm\n"
		      "# where KVM works (default tcg); MEMORY in MiB; extra QEMU arguments follow.\n"
		      "MEMORY=${MEMORY:-1024}\n"
		      "ACCEL=${ACCEL:-tcg}\n"
		      "exec \"$QEMU\" -machine q35,accel=\"$ACCEL\" -m \"$MEMORY\" -nographic -no-reboot \\\n"
		      "  -bios %s -kernel %s -initrd %s -append \"$(cat %s)\" \"$@\"\n",
		  IMG_FIRMWARE, IMG_KERNEL, IMG_INITRD, IMG_CMDLINE);
	rc = b.oom ? cmn_error(ctx, CVMF_E_NOMEM, "out of memory")
		   : write_script(ctx, dir, "qemu.sh", b.s);
	free(b.s);
	if (rc)
		return rc;

	json_t *snp = json_object_get(measurements, "snp");
	if (snp) {
		json_t *p = json_object_get(snp, "params");
		json_t *vcpus = json_object_get(p, "vcpus"), *cpus = json_object_get(p, "cpu-types");
		json_t *mem = json_object_get(p, "memory");
		bool hashes = json_is_true(json_object_get(p, "kernel-hashes"));
		struct sbuf s = { 0 };
		sb_printf(&s, "%s", script_head);
		sb_printf(&s, "# AMD SEV-SNP on a host with KVM SNP support (QEMU >= 9.1). Choose the\n"
			      "# measured configuration with VCPUS and CPU; measurements.json gives\n"
			      "# the launch digest of each (vmm QEMU).\n");
		sb_printf(&s, "VCPUS=${VCPUS:-%" JSON_INTEGER_FORMAT "}\n",
			  json_integer_value(json_array_get(vcpus, 0)));
		sb_printf(&s, "CPU=${CPU:-%s}\n", json_string_value(json_array_get(cpus, 0)));
		allowed(&s, "VCPUS", vcpus, "VCPUS");
		allowed(&s, "CPU", cpus, "CPU");
		/* ID_BLOCKS: the output of `cvmforge sign id-block --image`
		 * (docs/sign.md); the block of this VCPUS and CPU is used. */
		sb_printf(&s, "# ID_BLOCKS: a file written by `cvmforge sign id-block --image`; the ID\n"
			      "# block of this VCPUS and CPU goes to the firmware (docs/sign.md).\n"
			      "ID=\n"
			      "if [ -n \"${ID_BLOCKS:-}\" ]; then\n"
			      "  ID=$(awk -v want=\"vmm=QEMU vcpus=$VCPUS cpu-type=$CPU\" '\n"
			      "    f && /^#/ { exit }\n"
			      "    $1 == \"#\" && ($2 \" \" $3 \" \" $4) == want { f = 1; next }\n"
			      "    f && /^id-block=/ { id = \",\" $0 }\n"
			      "    f && /^author_key: / { id = id \",author-key-enabled=on\" }\n"
			      "    END { print id }' \"$ID_BLOCKS\")\n"
			      "  [ -n \"$ID\" ] || { echo \"$0: $ID_BLOCKS has no ID block for VCPUS=$VCPUS "
			      "CPU=$CPU\" >&2; exit 2; }\n"
			      "fi\n");
		sb_printf(&s, "exec \"$QEMU\" -enable-kvm -cpu \"$CPU\" -smp \"$VCPUS\" -m %" JSON_INTEGER_FORMAT "M \\\n"
			      "  -machine q35,confidential-guest-support=sev0,memory-backend=ram1 \\\n"
			      "  -object memory-backend-memfd,id=ram1,size=%" JSON_INTEGER_FORMAT "M,share=true,prealloc=false \\\n"
			      "  -object sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1%s\"$ID\" \\\n"
			      "  -bios %s -kernel %s -initrd %s -append \"$(cat %s)\" \\\n"
			      "  -nographic -no-reboot \"$@\"\n",
			  json_integer_value(mem) >> 20, json_integer_value(mem) >> 20,
			  hashes ? ",kernel-hashes=on" : "", IMG_FIRMWARE, IMG_KERNEL, IMG_INITRD,
			  IMG_CMDLINE);
		rc = s.oom ? cmn_error(ctx, CVMF_E_NOMEM, "out of memory")
			   : write_script(ctx, dir, "snp.sh", s.s);
		free(s.s);
		if (rc)
			return rc;
	}
	json_t *tdx = json_object_get(measurements, "tdx");
	if (tdx) {
		json_t *p = json_object_get(tdx, "params");
		json_t *mem = json_object_get(p, "memory");
		json_t *mib = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(mem, i, v)
			json_array_append_new(mib, json_integer(json_integer_value(v) >> 20));
		struct sbuf s = { 0 };
		sb_printf(&s, "%s", script_head);
		sb_printf(&s, "# Intel TDX on a host with KVM TDX support (QEMU >= 10.1). MEMORY (MiB)\n"
			      "# must be one of the measured sizes: the TD HOB, and so RTMR0, depends\n"
			      "# on it. MRTD also depends on the host's page-add order (params).\n");
		sb_printf(&s, "MEMORY=${MEMORY:-%" JSON_INTEGER_FORMAT "}\n",
			  json_integer_value(json_array_get(mib, 0)));
		sb_printf(&s, "VCPUS=${VCPUS:-1}\n");
		allowed(&s, "MEMORY", mib, "MEMORY (MiB)");
		sb_printf(&s, "exec \"$QEMU\" -enable-kvm -cpu host -smp \"$VCPUS\" -m \"${MEMORY}M\" \\\n"
			      "  -object '{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\"}' \\\n"
			      "  -machine q35,kernel-irqchip=split,confidential-guest-support=tdx0,hpet=off \\\n"
			      "  -bios %s -kernel %s -initrd %s -append \"$(cat %s)\" \\\n"
			      "  -nographic -no-reboot \"$@\"\n",
			  IMG_FIRMWARE, IMG_KERNEL, IMG_INITRD, IMG_CMDLINE);
		json_decref(mib);
		rc = s.oom ? cmn_error(ctx, CVMF_E_NOMEM, "out of memory")
			   : write_script(ctx, dir, "tdx.sh", s.s);
		free(s.s);
		if (rc)
			return rc;
	}
	return 0;
}
