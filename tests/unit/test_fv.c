/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firmware read, not trusted (measure/fv.c): the firmware volumes of an
 * OVMF image, its drivers, measurement drivers, version string and release
 * bounds, and what uses them: inspect ovmf, measure tdx (--ovmf-release must
 * agree; no TDX measurement driver means null RTMRs) and build ([firmware]
 * release must agree).
 *
 * Synthetic volumes are built here (an LZMA section made with liblzma's
 * alone encoder, as edk2's LzmaCompress writes it), so the walk and its
 * refusals are checked without ../shared; every real firmware image in
 * ../shared/inputs is checked when present.
 */
#include <jansson.h>
#include <lzma.h>

#include "tests/unit/testlib.h"

/* ---- synthetic volumes ---- */

static const uint8_t FFS2[16] = { 0x78, 0xe5, 0x8c, 0x8c, 0x3d, 0x8a, 0x1c, 0x4f,
				  0x99, 0x35, 0x89, 0x61, 0x85, 0xc3, 0x2d, 0xd3 };
static const uint8_t LZMA_GUID[16] = { 0x98, 0x58, 0x4e, 0xee, 0x14, 0x39, 0x59, 0x42,
				       0x9d, 0x6e, 0xdc, 0x7b, 0xd7, 0x94, 0x03, 0xcf };
/* TdTcg2Dxe F062221E-C607-44C2-B0B4-C3886331D351, Tcg2Dxe FDFF263D-... */
static const uint8_t TDTCG2[16] = { 0x1e, 0x22, 0x62, 0xf0, 0x07, 0xc6, 0xc2, 0x44,
				    0xb0, 0xb4, 0xc3, 0x88, 0x63, 0x31, 0xd3, 0x51 };
static const uint8_t TCG2[16] = { 0x3d, 0x26, 0xff, 0xfd, 0x68, 0x5f, 0x91, 0x45,
				  0x87, 0xba, 0xb7, 0x68, 0xf4, 0x45, 0xa9, 0xaf };
static const uint8_t DXECORE[16] = { 0xd6, 0xa6, 0x2b, 0xd0, 0x37, 0x5e, 0x4a, 0x4c,
				     0x94, 0x2a, 0x62, 0x0c, 0x1f, 0x7a, 0x11, 0x22 };
static const uint8_t OUTER[16] = { 0x93, 0xfd, 0x21, 0x9e, 0x72, 0x9c, 0x15, 0x4c,
				   0x8c, 0x4b, 0xe7, 0x7f, 0x1d, 0xb2, 0xd7, 0x92 };

struct buf {
	uint8_t *b;
	size_t n;
};

static void put(struct buf *o, const void *d, size_t n)
{
	o->b = realloc(o->b, o->n + n);
	assert_non_null(o->b);
	memcpy(o->b + o->n, d, n);
	o->n += n;
}

static void pad(struct buf *o, size_t align, uint8_t fill)
{
	while (o->n % align)
		put(o, &fill, 1);
}

/* A section: u24 size, type, data (4-byte aligned by the caller). */
static void section(struct buf *o, uint8_t type, const void *d, size_t n)
{
	pad(o, 4, 0);
	size_t sz = 4 + n;
	uint8_t h[4] = { (uint8_t)sz, (uint8_t)(sz >> 8), (uint8_t)(sz >> 16), type };
	put(o, h, 4);
	put(o, d, n);
}

static void ui_section(struct buf *o, const char *name)
{
	uint8_t u[128] = { 0 };
	size_t k = strlen(name);
	for (size_t i = 0; i < k; i++)
		u[2 * i] = (uint8_t)name[i];
	section(o, 0x15, u, 2 * k + 2);
}

/* A PE32 section holding a UTF-16 version string among other bytes. */
static void pe_section(struct buf *o, const char *version)
{
	uint8_t pe[256];
	memset(pe, 0x90, sizeof(pe));
	memcpy(pe, "MZ", 2);
	size_t at = 64;
	if (version) {
		pe[at - 2] = 0;
		pe[at - 1] = 0;
		for (size_t i = 0; version[i]; i++) {
			pe[at + 2 * i] = (uint8_t)version[i];
			pe[at + 2 * i + 1] = 0;
		}
		size_t end = at + 2 * strlen(version);
		pe[end] = pe[end + 1] = 0;
	}
	section(o, 0x10, pe, sizeof(pe));
}

/* An FFS file (8-byte aligned, erase polarity 1) with these sections. */
static void ffs_file(struct buf *o, const uint8_t guid[16], uint8_t type, const struct buf *secs)
{
	pad(o, 8, 0xff);
	size_t sz = 24 + secs->n;
	uint8_t h[24] = { 0 };
	memcpy(h, guid, 16);
	h[18] = type;
	h[20] = (uint8_t)sz;
	h[21] = (uint8_t)(sz >> 8);
	h[22] = (uint8_t)(sz >> 16);
	h[23] = 0xf8;
	put(o, h, 24);
	put(o, secs->b, secs->n);
}

/* A volume of `len` bytes (FFS2, erase polarity 1) around these files. */
static void volume(struct buf *o, const struct buf *files, size_t len)
{
	assert_true(len >= 72 + files->n);
	uint8_t h[72] = { 0 };
	memcpy(h + 16, FFS2, 16);
	t_le64(h + 32, len);
	memcpy(h + 40, "_FVH", 4);
	t_le32(h + 44, 0x0004feff);
	t_le16(h + 48, 72);
	h[55] = 2;
	t_le32(h + 56, (uint32_t)(len / 8));
	t_le32(h + 60, 8);
	uint16_t sum = 0;
	for (size_t i = 0; i < 72; i += 2)
		sum = (uint16_t)(sum + (h[i] | h[i + 1] << 8));
	t_le16(h + 50, (uint16_t)(0x10000 - sum));
	size_t start = o->n;
	put(o, h, 72);
	put(o, files->b, files->n);
	while (o->n - start < len)
		put(o, (uint8_t[]){ 0xff }, 1);
}

/* edk2's LZMA "alone" stream: 13-byte header with the decoded size. */
static struct buf lzma_alone(const struct buf *in, uint64_t claim)
{
	lzma_options_lzma opt;
	assert_false(lzma_lzma_preset(&opt, 6));
	lzma_stream s = LZMA_STREAM_INIT;
	assert_int_equal(lzma_alone_encoder(&s, &opt), LZMA_OK);
	struct buf o = { malloc(in->n + 4096), 0 };
	s.next_in = in->b;
	s.avail_in = in->n;
	s.next_out = o.b;
	s.avail_out = in->n + 4096;
	assert_int_equal(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
	o.n = in->n + 4096 - s.avail_out;
	lzma_end(&s);
	t_le64(o.b + 5, claim);
	return o;
}

/* A GUID-defined LZMA section around `inner` sections. */
static void lzma_section(struct buf *o, const struct buf *inner, uint64_t claim)
{
	struct buf z = lzma_alone(inner, claim);
	struct buf d = { 0 };
	put(&d, LZMA_GUID, 16);
	uint8_t hdr[4];
	t_le16(hdr, 24);        /* data offset from the section start */
	t_le16(hdr + 2, 1);     /* processing required */
	put(&d, hdr, 4);
	put(&d, z.b, z.n);
	section(o, 0x02, d.b, d.n);
	free(z.b);
	free(d.b);
}

/* An OVMF-like image: an outer volume with one file whose LZMA section
 * holds the DXE volume (DXE core, Tcg2Dxe, and TdTcg2Dxe if `tdx`). */
static struct buf image(bool tdx, const char *version, uint64_t claim_delta)
{
	struct buf files = { 0 }, s = { 0 };
	pe_section(&s, NULL);
	ui_section(&s, "DxeCore");
	ffs_file(&files, DXECORE, 0x05, &s);
	free(s.b);
	s = (struct buf){ 0 };
	pe_section(&s, version);
	ui_section(&s, "Tcg2Dxe");
	ffs_file(&files, TCG2, 0x07, &s);
	free(s.b);
	if (tdx) {
		s = (struct buf){ 0 };
		pe_section(&s, NULL);
		ui_section(&s, "TdTcg2Dxe");
		ffs_file(&files, TDTCG2, 0x07, &s);
		free(s.b);
	}
	struct buf dxe = { 0 };
	volume(&dxe, &files, 4096);
	free(files.b);
	struct buf inner = { 0 };
	section(&inner, 0x17, dxe.b, dxe.n);
	free(dxe.b);
	struct buf outer_secs = { 0 };
	lzma_section(&outer_secs, &inner, inner.n + claim_delta);
	free(inner.b);
	struct buf outer_files = { 0 };
	ffs_file(&outer_files, OUTER, 0x0b, &outer_secs);
	free(outer_secs.b);
	struct buf img = { 0 };
	volume(&img, &outer_files, 8192);
	free(outer_files.b);
	return img;
}

static struct cvmf_fw_info *scan(const struct buf *b)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_fw_info *fi = NULL;
	if (cvmf_fw_scan(ctx, b->b, b->n, &fi))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	cvmf_ctx_free(ctx);
	return fi;
}

static void test_synthetic(void **state)
{
	(void)state;
	struct buf img = image(true, "2024.11-1", 0);
	struct cvmf_fw_info *fi = scan(&img);
	assert_string_equal(fi->error, "");
	assert_true(fi->known);
	assert_int_equal(fi->n_volumes, 2);
	assert_int_equal(fi->n_decoded, 1);
	assert_int_equal(fi->n_files, 4);
	assert_int_equal(fi->features, CVMF_FW_TCG2 | CVMF_FW_TDX_MEASURE);
	assert_int_equal(fi->n_versions, 1);
	assert_string_equal(fi->versions[0], "2024.11-1");
	assert_string_equal(fi->version_module[0], "Tcg2Dxe");
	assert_int_equal(fi->release, 202411);
	assert_string_equal(fi->files[3].name, "TdTcg2Dxe");
	assert_true(fi->files[3].depth > 0);
	assert_int_equal(fi->files[0].depth, 0);
	char t[8];
	assert_string_equal(cvmf_fw_file_type_name(fi->files[3].type, t), "DRIVER");
	assert_string_equal(cvmf_fw_known_file(fi->files[3].guid), "TdTcg2Dxe");
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(cvmf_fw_check_release(ctx, fi, 202411), 0);
	assert_int_equal(cvmf_fw_check_release(ctx, fi, 202502), CVMF_E_INVAL);
	assert_string_equal(cvmf_ctx_errmsg(ctx),
			    "the image embeds version '2024.11-1' (in Tcg2Dxe), which is release 2024.11");
	cvmf_ctx_free(ctx);
	cvmf_fw_info_free(fi);
	free(img.b);

	/* No TDX driver, no version string. */
	img = image(false, NULL, 0);
	fi = scan(&img);
	assert_true(fi->known);
	assert_int_equal(fi->features, CVMF_FW_TCG2);
	assert_int_equal(fi->n_versions, 0);
	assert_int_equal(fi->release, 0);
	cvmf_fw_info_free(fi);
	free(img.b);

	/* Strings that are not versions: a month 13, no dot, text after a space. */
	static const char *const not_versions[] = { "2024.13", "202411", "2047. If", "1999.01" };
	for (size_t i = 0; i < 4; i++) {
		img = image(false, not_versions[i], 0);
		fi = scan(&img);
		assert_int_equal(fi->n_versions, 0);
		cvmf_fw_info_free(fi);
		free(img.b);
	}
}

/* Malformed volumes leave the drivers unknown, with the reason; never a crash. */
static void test_synthetic_refusals(void **state)
{
	(void)state;
	struct buf good = image(true, "2025.02", 0);
	struct {
		const char *what, *needle;
		struct buf img;
	} cases[] = {
		{ "LZMA size past the bound", "more than the 67108864 accepted",
		  image(true, NULL, 100u << 20) },
		{ "LZMA size larger than the stream", "does not decode", image(true, NULL, 1000) },
		{ "LZMA size smaller than the stream", "does not decode", image(true, NULL, (uint64_t)-8) },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cvmf_fw_info *fi = scan(&cases[i].img);
		assert_false(fi->known);
		assert_int_equal(fi->features, 0);
		if (!strstr(fi->error, cases[i].needle))
			fail_msg("%s: '%s' lacks '%s'", cases[i].what, fi->error, cases[i].needle);
		cvmf_fw_info_free(fi);
		free(cases[i].img.b);
	}
	/* Every truncation and every single-byte corruption of the header area. */
	for (size_t cut = 0; cut < good.n; cut += 97) {
		struct buf b = { good.b, cut };
		struct cvmf_fw_info *fi = scan(&b);
		assert_false(fi->known && cut < 200);
		cvmf_fw_info_free(fi);
	}
	uint8_t *copy = malloc(good.n);
	for (size_t i = 0; i < 400; i++) {
		memcpy(copy, good.b, good.n);
		copy[i] ^= 0x5a;
		struct buf b = { copy, good.n };
		struct cvmf_fw_info *fi = scan(&b);
		if (!fi->known)
			assert_true(fi->error[0]);
		cvmf_fw_info_free(fi);
	}
	free(copy);
	/* Not a firmware at all. */
	struct buf zeros = { calloc(1, 4096), 4096 };
	struct cvmf_fw_info *fi = scan(&zeros);
	assert_false(fi->known);
	assert_string_equal(fi->error, "no firmware volume header (\"_FVH\") at 0x0");
	cvmf_fw_info_free(fi);
	free(zeros.b);
	free(good.b);
}

/* ---- the real firmware in ../shared/inputs ---- */

static const struct real_fw {
	const char *file;
	unsigned features;
	const char *version;
	unsigned release, min, max;
	size_t files;
	size_t decoded;
} real_fws[] = {
	{ "OVMF.fd", CVMF_FW_TCG2, NULL, 0, 0, 202311, 131, 13500560 },
	{ "OVMF_CODE.fd", CVMF_FW_TCG2, NULL, 0, 0, 202311, 131, 13500560 },
	{ "OVMF_CODE_4M.fd", CVMF_FW_TCG2, NULL, 0, 0, 202311, 128, 13500560 },
	{ "OVMF.trixie.fd", CVMF_FW_TCG2 | CVMF_FW_TDX_MEASURE, "2025.02-8+deb13u1", 202502,
	  202502, 0, 138, 16122000 },
	{ "OVMF.amdsev.fd", CVMF_FW_TCG2 | CVMF_FW_SEV_HASHES, "2026.08+ds-2", 202608, 0, 0, 106,
	  16056464 },
};

static bool has_file(const struct cvmf_fw_info *fi, const char *name)
{
	for (size_t i = 0; i < fi->n_files; i++)
		if (!strcmp(fi->files[i].name, name))
			return true;
	return false;
}

static void test_real(void **state)
{
	(void)state;
	size_t seen = 0;
	for (size_t i = 0; i < sizeof(real_fws) / sizeof(real_fws[0]); i++) {
		const struct real_fw *w = &real_fws[i];
		char rel[64];
		snprintf(rel, sizeof(rel), "inputs/%s", w->file);
		char *path = t_shared_file(rel);
		if (!path)
			continue;
		seen++;
		cvmf_ctx *ctx = cvmf_ctx_new();
		struct cvmf_fw_info *fi = NULL;
		if (cvmf_fw_read(ctx, path, &fi))
			fail_msg("%s: %s", w->file, cvmf_ctx_errmsg(ctx));
		if (!fi->known)
			fail_msg("%s: %s", w->file, fi->error);
		assert_int_equal(fi->features, w->features);
		assert_int_equal(fi->n_decoded, 1);
		assert_int_equal(fi->decoded_bytes, w->decoded);
		assert_int_equal(fi->n_files, w->files);
		assert_int_equal(fi->n_versions, w->version ? 1 : 0);
		if (w->version)
			assert_string_equal(fi->versions[0], w->version);
		assert_int_equal(fi->release, w->release);
		assert_int_equal(fi->release_min, w->min);
		assert_int_equal(fi->release_max, w->max);
		/* The names agree with the GUIDs. */
		assert_true(has_file(fi, "Tcg2Dxe"));
		assert_int_equal(has_file(fi, "TdTcg2Dxe"), !!(w->features & CVMF_FW_TDX_MEASURE));
		assert_true(has_file(fi, "QemuKernelLoaderFsDxe"));
		printf("# %s: %zu files, drivers:%s%s%s, version %s\n", w->file, fi->n_files,
		       fi->features & CVMF_FW_TCG2 ? " Tcg2Dxe" : "",
		       fi->features & CVMF_FW_TDX_MEASURE ? " TdTcg2Dxe" : "",
		       fi->features & CVMF_FW_SEV_HASHES ? " SEV-hashes" : "",
		       w->version ? w->version : "none");
		/* The release each image can and cannot be. */
		unsigned ok = w->release ? w->release : 202211;
		assert_int_equal(cvmf_fw_check_release(ctx, fi, ok), 0);
		unsigned bad = ok == 202211 ? 202502 : 202211;
		assert_int_equal(cvmf_fw_check_release(ctx, fi, bad), CVMF_E_INVAL);
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), w->version ? w->version : "NullMemoryTestDxe"));
		/* Scanning again gives the same (from the cache). */
		struct cvmf_fw_info *again = NULL;
		assert_int_equal(cvmf_fw_read(ctx, path, &again), 0);
		assert_int_equal(again->n_files, fi->n_files);
		assert_memory_equal(again->files, fi->files, fi->n_files * sizeof(*fi->files));
		cvmf_fw_info_free(again);
		cvmf_fw_info_free(fi);
		cvmf_ctx_free(ctx);
		free(path);
	}
	if (!seen)
		skip();
	/* The variable store has no drivers. */
	char *vars = t_shared_file("inputs/OVMF_VARS.fd");
	if (vars) {
		cvmf_ctx *ctx = cvmf_ctx_new();
		struct cvmf_fw_info *fi = NULL;
		assert_int_equal(cvmf_fw_read(ctx, vars, &fi), 0);
		assert_false(fi->known);
		assert_string_equal(fi->error, "no firmware volume with FFS files");
		cvmf_fw_info_free(fi);
		cvmf_ctx_free(ctx);
		free(vars);
	}
}

/* ---- the CLI ---- */

static struct run cli(const char *a1, const char *a2, const char *a3, const char *a4,
		      const char *a5, const char *a6, const char *a7, const char *a8)
{
	char *argv[] = { (char *)t_bin(), (char *)a1, (char *)a2, (char *)a3, (char *)a4,
			 (char *)a5, (char *)a6, (char *)a7, (char *)a8, NULL };
	return t_run(argv);
}

static void test_inspect(void **state)
{
	(void)state;
	char *trixie = t_shared_file("inputs/OVMF.trixie.fd"), *deb12 = t_shared_file("inputs/OVMF.fd");
	if (!trixie || !deb12) {
		free(trixie);
		free(deb12);
		skip();
	}
	struct run r = cli("inspect", "ovmf", trixie, NULL, NULL, NULL, NULL, NULL);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "firmware version: 2025.02-8+deb13u1 (in Tcg2Pei)\n"
				      "edk2 release: 2025.02 (from the version string)\n"));
	assert_non_null(strstr(r.out, "  TDX RTMRs and CCEL (TdTcg2Dxe): yes\n"));
	assert_non_null(strstr(r.out, "f062221e-c607-44c2-b0b4-c3886331d351 DRIVER"));
	t_run_free(&r);
	r = cli("inspect", "ovmf", deb12, "--json", NULL, NULL, NULL, NULL);
	t_assert_clean_exit(&r, 0);
	json_error_t je;
	json_t *o = json_loads(r.out, 0, &je);
	assert_non_null(o);
	json_t *fv = json_object_get(o, "firmware_volumes");
	assert_true(json_is_null(json_object_get(fv, "release")));
	assert_int_equal(json_array_size(json_object_get(fv, "versions")), 0);
	json_t *m = json_object_get(fv, "measurement_drivers");
	assert_true(json_is_true(json_object_get(m, "tcg2")));
	assert_true(json_is_false(json_object_get(m, "tdx")));
	assert_true(json_is_false(json_object_get(m, "sev_hashes")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(fv, "release_max"),
							      "module")), "NullMemoryTestDxe");
	assert_int_equal(json_array_size(json_object_get(fv, "files")), 131);
	json_decref(o);
	t_run_free(&r);
	free(trixie);
	free(deb12);
}

static void test_measure_tdx(void **state)
{
	(void)state;
	char *deb12 = t_shared_file("inputs/OVMF.fd"), *trixie = t_shared_file("inputs/OVMF.trixie.fd"),
	     *kernel = t_shared_file("inputs/vmlinuz-6.1.0-50"),
	     *tables = t_shared_file("fixtures/tdx-upstream/quex-acpi-tables-1cpu-2048M-1disk.bin");
	if (!deb12 || !trixie || !kernel || !tables)
		goto out;
	/* Debian 12: no TDX measurement driver, so RTMR0..2 are null, with the reason. */
	struct run r = cli("measure", "tdx", "--ovmf", deb12, "--kernel", kernel, "--json", NULL);
	t_assert_clean_exit(&r, 0);
	json_error_t je;
	json_t *o = json_loads(r.out, 0, &je);
	assert_non_null(o);
	for (int i = 0; i < 3; i++) {
		char k[8];
		snprintf(k, sizeof(k), "rtmr%u", (unsigned)i & 3);
		assert_true(json_is_null(json_object_get(o, k)));
	}
	assert_string_equal(json_string_value(json_object_get(o, "rtmr3")),
			    "000000000000000000000000000000000000000000000000"
			    "000000000000000000000000000000000000000000000000");
	json_t *p = json_object_get(o, "params");
	assert_non_null(strstr(json_string_value(json_object_get(p, "rtmr_not_extended")), "TdTcg2Dxe"));
	assert_true(json_is_false(json_object_get(json_object_get(p, "firmware_measurement_drivers"),
						  "tdx")));
	json_decref(o);
	t_run_free(&r);
	/* Plain output says so; MRTD is still given. */
	r = cli("measure", "tdx", "--ovmf", deb12, "--kernel", kernel, NULL, NULL);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "mrtd 4c7206f0"));
	assert_null(strstr(r.out, "rtmr1"));
	assert_non_null(strstr(r.err, "has no TDX measurement driver (TdTcg2Dxe)"));
	t_run_free(&r);
	/* No CCEL to predict. */
	char *dir = t_tmpdir(), *ccel;
	assert_true(asprintf(&ccel, "%s/ccel.bin", dir) > 0);
	char *argv[] = { (char *)t_bin(), "measure", "tdx", "--ovmf", deb12, "--kernel", kernel,
			 "--acpi-tables", tables, "--ccel", ccel, NULL };
	r = t_run(argv);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "writes no CCEL"));
	assert_int_equal(access(ccel, F_OK), -1);
	t_run_free(&r);
	free(ccel);
	t_rmrf(dir);
	free(dir);
	/* --ovmf-release against the image: both directions refused, naming both. */
	r = cli("measure", "tdx", "--ovmf", trixie, "--kernel", kernel, "--ovmf-release", "2022.11");
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "--ovmf-release 2022.11 contradicts firmware '"));
	assert_non_null(strstr(r.err, "embeds version '2025.02-8+deb13u1'"));
	t_run_free(&r);
	r = cli("measure", "tdx", "--ovmf", deb12, "--kernel", kernel, "--ovmf-release", "2025.02");
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "--ovmf-release 2025.02 contradicts firmware '"));
	assert_non_null(strstr(r.err, "NullMemoryTestDxe"));
	t_run_free(&r);
	/* Agreeing, it is accepted; without it the image's release is used. */
	r = cli("measure", "tdx", "--ovmf", trixie, "--kernel", kernel, "--ovmf-release", "2025.02");
	t_assert_clean_exit(&r, 0);
	struct run r2 = cli("measure", "tdx", "--ovmf", trixie, "--kernel", kernel, NULL, NULL);
	t_assert_clean_exit(&r2, 0);
	assert_string_equal(r.out, r2.out);
	assert_non_null(strstr(r.out, "rtmr1 "));
	t_run_free(&r);
	t_run_free(&r2);
out:
	free(deb12);
	free(trixie);
	free(kernel);
	free(tables);
	if (!deb12 || !trixie || !kernel || !tables)
		skip();
}

/* ---- build: [firmware] release against the image ---- */

static struct run build_with(const char *dir, const char *fw, const char *kernel,
			     const char *release, bool tdx)
{
	char *path;
	assert_true(asprintf(&path, "%s/r.recipe", dir) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[image]\nname = fw\nversion = 1\nsource-date-epoch = 1700000000\n\n"
		   "[firmware]\nsource = file:%s\n%s%s%s\n"
		   "[kernel]\nsource = file:%s\n\n"
		   "[initrd]\ncompression = none\ndir = /proc\n\n"
		   "[cmdline]\nvalue = console=ttyS0\n\n%s",
		fw, release ? "release = " : "", release ? release : "", release ? "\n" : "", kernel,
		tdx ? "[tdx]\nmemory = 2G\n" : "[snp]\nkernel-hashes = no\nvcpus = 1\n");
	fclose(f);
	struct run r = t_sh("cd '%s' && rm -rf out r.recipe.lock && '%s' build --lock --quiet r.recipe -o out",
			    dir, t_bin());
	free(path);
	return r;
}

static void test_build_release(void **state)
{
	(void)state;
	char *deb12 = t_shared_file("inputs/OVMF.fd"), *trixie = t_shared_file("inputs/OVMF.trixie.fd"),
	     *kernel = t_shared_file("inputs/vmlinuz-6.1.0-50");
	if (!deb12 || !trixie || !kernel) {
		free(deb12);
		free(trixie);
		free(kernel);
		skip();
	}
	char *dir = t_tmpdir();
	/* 2022.11 claimed on the 2025.02 firmware, and the reverse. */
	struct run r = build_with(dir, trixie, kernel, "2022.11", false);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "r.recipe:7: [firmware] release 2022.11 contradicts the firmware file:"));
	assert_non_null(strstr(r.err, "the image embeds version '2025.02-8+deb13u1' (in Tcg2Pei), which is release 2025.02"));
	t_run_free(&r);
	r = build_with(dir, deb12, kernel, "2025.02", false);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "[firmware] release 2025.02 contradicts the firmware file:"));
	assert_non_null(strstr(r.err, "carries NullMemoryTestDxe, which OVMF dropped after edk2-stable202311"));
	t_run_free(&r);
	struct run ls = t_sh("ls -A '%s/out' 2>/dev/null | wc -l", dir);
	assert_string_equal(ls.out, "0\n");
	t_run_free(&ls);
	/* Without a release, TDX uses the image's; with Debian 12's, RTMRs are null. */
	r = build_with(dir, trixie, kernel, NULL, true);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *mj;
	assert_true(asprintf(&mj, "%s/out/fw-1/measurements.json", dir) > 0);
	char *m = t_slurp(mj, NULL);
	assert_non_null(strstr(m, "\"ovmf-event-layout-source\": \"firmware: version string '2025.02-8+deb13u1' in Tcg2Pei\""));
	assert_null(strstr(m, "\"rtmr1\": null"));
	free(m);
	r = build_with(dir, deb12, kernel, "2022.11", true);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	m = t_slurp(mj, NULL);
	assert_non_null(strstr(m, "\"rtmr1\": null"));
	assert_non_null(strstr(m, "\"rtmr2\": null"));
	free(m);
	/* measure tdx on the image's files gives the same: null where the build says null. */
	r = t_sh("cd '%s/out/fw-1' && '%s' measure tdx --ovmf OVMF.fd --kernel vmlinuz --initrd initrd.img "
		 "--append \"$(cat cmdline.txt)\" --memory 2G --ovmf-release 2022.11 --json", dir, t_bin());
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "\"rtmr1\": null"));
	t_run_free(&r);
	free(mj);
	t_rmrf(dir);
	free(dir);
	free(deb12);
	free(trixie);
	free(kernel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_synthetic_refusals),
		cmocka_unit_test(test_real),
		cmocka_unit_test(test_inspect),
		cmocka_unit_test(test_measure_tdx),
		cmocka_unit_test(test_build_release),
	};
	return cmocka_run_group_tests_name("fv", tests, NULL, NULL);
}
