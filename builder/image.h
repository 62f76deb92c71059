/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An image directory (docs/build.md): the files that are launched, the
 * measurements computed from them, the manifest, the launch scripts.
 * Shared by build.c, verify.c and reproduce.c. Internal.
 */
#ifndef CVMF_IMAGE_H
#define CVMF_IMAGE_H

#include <jansson.h>

#include "builder/builder.h"
#include "common/json.h"

#define IMG_FIRMWARE "OVMF.fd"
#define IMG_KERNEL "vmlinuz"
#define IMG_INITRD "initrd.img"
#define IMG_CMDLINE "cmdline.txt"
#define IMG_ACPI "acpi-tables.bin"
#define IMG_MANIFEST "manifest.json"
#define IMG_MEASUREMENTS "measurements.json"
#define IMG_MEASUREMENTS_FORMAT "cvmforge-measurements/1"
#define IMG_MANIFEST_FORMAT "cvmforge-manifest/1"

/* snprintf for paths: a result that does not fit becomes "" (which no
 * open() accepts) rather than a truncated, different path. */
void img_pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Measure the image in `dir` under `platforms` ({"snp": {...}, "tdx": {...}},
 * the "params" objects of measurements.json) and return the whole
 * measurements.json object. This is the one function behind both build and
 * verify: it reads nothing but the image's files and these parameters.
 * Warnings (or NULL) are appended to `warnings` (a JSON array). */
int img_measure(cvmf_ctx *ctx, const char *dir, const char *image_name, json_t *platforms,
		json_t **ret);

/* manifest.json and measurements.json are read and written through
 * common/json.h. These read one of an image directory and check it against
 * its documented shape (docs/build.md): errors name the file and the JSON
 * path ("manifest.json: inputs: expected an array, got an integer"). */
int img_read_manifest(cvmf_ctx *ctx, const char *dir, json_t **ret);
int img_read_measurements(cvmf_ctx *ctx, const char *dir, json_t **ret);
/* The largest manifest.json or measurements.json read. */
#define IMG_JSON_MAX (64u << 20)

/* Copy a file, streaming, into a new file (mode 0644 before the umask). */
int img_copy(cvmf_ctx *ctx, const char *from, const char *to);
/* The SHA-256 and SHA-384 of a file, streaming. */
int img_digest_file(cvmf_ctx *ctx, const char *path, struct cvmf_file_digest *ret);

/* Write launch/qemu.sh (plain), launch/snp.sh and launch/tdx.sh for the
 * platforms configured in `measurements`. */
int img_write_launch(cvmf_ctx *ctx, const char *dir, const json_t *measurements);

/* The regular files under an image directory, relative, sorted bytewise,
 * without the tarball(s) and the signatures (*.dsse.json) at its top. */
struct img_names {
	char **v;
	size_t n, cap;
};
int img_files(cvmf_ctx *ctx, const char *dir, struct img_names *ret);
/* A top-level name `cvmforge sign` writes (*.dsse.json, docs/sign.md): not one
 * of the image's files, in its listing or its tarball. */
bool img_is_signature(const char *name);
void img_names_free(struct img_names *l);

/* Remove a directory tree (no symlinks are followed). */
int img_rmtree(const char *path);
/* The directory of an image: `image` itself, or a temporary extraction of a
 * tarball (then *tmp is set to remove afterwards). */
int img_open(cvmf_ctx *ctx, const char *image, char *ret_dir, size_t len, char **tmp);

#endif
