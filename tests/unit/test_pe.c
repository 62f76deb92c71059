/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Authenticode (edk2 HashPeImage) digests of PE/COFF images.
 *
 * msr_authenticode streams the image through a bounded buffer; here it is
 * checked against a second, deliberately plain implementation written from
 * the algorithm: parse the headers trusting them, copy every hashed byte
 * range into one buffer, and hash that buffer in one EVP call. Synthetic
 * images cover PE32 and PE32+, NumberOfRvaAndSizes on both sides of 4,
 * unsorted section tables, empty sections, trailing data and certificate
 * tables. The real Debian kernels are checked against the digests printed by
 * independent tools (osslsigncode 2.9 and pesign 0.112, see below).
 */
#include "tests/unit/testlib.h"
#include "common/internal.h"
#include "measure/measure.h"

/* ---- the plain reference ---- */

static uint32_t g32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

struct bytes {
	uint8_t *d;
	size_t n;
};

static void put(struct bytes *b, const uint8_t *src, size_t n)
{
	b->d = realloc(b->d, b->n + n + 1);
	assert_non_null(b->d);
	memcpy(b->d + b->n, src, n);
	b->n += n;
}

/* The bytes edk2 hashes, for an image already known to be valid. */
static struct bytes ref_bytes(const uint8_t *f, size_t len)
{
	struct bytes b = { NULL, 0 };
	size_t pe = g16(f) == 0x5a4d ? g32(f + 0x3c) : 0;
	size_t opt = pe + 24;
	bool plus = g16(f + opt) == 0x20b;
	uint32_t nrva = g32(f + opt + (plus ? 108 : 92));
	size_t dd = opt + (plus ? 112 : 96);
	uint32_t soh = g32(f + opt + 60);
	unsigned nsec = g16(f + pe + 6);
	size_t st = opt + g16(f + pe + 20);

	put(&b, f, opt + 64);
	if (nrva > 4) {
		put(&b, f + opt + 68, dd + 32 - (opt + 68));
		put(&b, f + dd + 40, soh - (dd + 40));
	} else {
		put(&b, f + opt + 68, soh - (opt + 68));
	}
	/* Insertion sort on PointerToRawData, as the PE/COFF spec describes it. */
	const uint8_t **sec = calloc(nsec + 1, sizeof(*sec));
	assert_non_null(sec);
	for (unsigned i = 0; i < nsec; i++) {
		const uint8_t *s = f + st + 40 * i;
		unsigned j = i;
		while (j > 0 && g32(s + 20) < g32(sec[j - 1] + 20)) {
			sec[j] = sec[j - 1];
			j--;
		}
		sec[j] = s;
	}
	uint64_t sum = soh;
	for (unsigned i = 0; i < nsec; i++) {
		uint32_t rs = g32(sec[i] + 16);
		if (rs) {
			put(&b, f + g32(sec[i] + 20), rs);
			sum += rs;
		}
	}
	free(sec);
	uint64_t cert = nrva > 4 ? g32(f + dd + 36) : 0;
	if (len > sum + cert)
		put(&b, f + sum, len - cert - sum);
	return b;
}

static void ref_digest(const uint8_t *f, size_t len, const EVP_MD *md, uint8_t *out)
{
	struct bytes b = ref_bytes(f, len);
	assert_true(EVP_Digest(b.d ? b.d : (uint8_t *)"", b.n, out, NULL, md, NULL));
	free(b.d);
}

/* ---- the library under test ---- */

struct banks {
	struct cmn_hasher *h[2];
	uint8_t d256[32], d384[48];
};

static void banks_new(struct banks *k)
{
	assert_int_equal(cmn_hasher_new(NULL, CMN_SHA256, &k->h[0]), 0);
	assert_int_equal(cmn_hasher_new(NULL, CMN_SHA384, &k->h[1]), 0);
	/* Leave state behind: msr_authenticode must reset the hashers. */
	cmn_hasher_update(k->h[0], "dirty", 5);
	cmn_hasher_update(k->h[1], "dirty", 5);
}

static void banks_free(struct banks *k)
{
	cmn_hasher_free(k->h[0]);
	cmn_hasher_free(k->h[1]);
}

static int run_src(cvmf_ctx *ctx, const char *what, const struct msr_pe_source *src,
		   struct banks *k)
{
	uint8_t *const out[2] = { k->d256, k->d384 };
	return msr_authenticode(ctx, what, src, k->h, 2, out);
}

static int run_mem(cvmf_ctx *ctx, const uint8_t *f, size_t len, struct banks *k)
{
	struct msr_pe_mem m;
	msr_pe_mem_init(&m, f, len);
	return run_src(ctx, "kernel 'test.efi'", &m.src, k);
}

/* Both banks must equal the reference. */
static void check_ref(const uint8_t *f, size_t len)
{
	struct banks k;
	uint8_t w256[32], w384[48];
	cvmf_ctx *ctx = cvmf_ctx_new();

	banks_new(&k);
	int r = run_mem(ctx, f, len, &k);
	if (r)
		fprintf(stderr, "unexpected error: %s\n", cvmf_ctx_errmsg(ctx));
	assert_int_equal(r, 0);
	ref_digest(f, len, EVP_sha256(), w256);
	ref_digest(f, len, EVP_sha384(), w384);
	assert_memory_equal(k.d256, w256, 32);
	assert_memory_equal(k.d384, w384, 48);
	banks_free(&k);
	cvmf_ctx_free(ctx);
}

/* Must fail with `err` and a message naming the image and containing `needle`. */
static void check_fails(const uint8_t *f, size_t len, int err, const char *needle)
{
	struct banks k;
	cvmf_ctx *ctx = cvmf_ctx_new();

	banks_new(&k);
	int r = run_mem(ctx, f, len, &k);
	const char *msg = cvmf_ctx_errmsg(ctx);
	if (r != err || !strstr(msg, needle) || !strstr(msg, "kernel 'test.efi'"))
		fprintf(stderr, "r=%d msg='%s', wanted %d and '%s'\n", r, msg, err, needle);
	assert_int_equal(r, err);
	assert_non_null(strstr(msg, "kernel 'test.efi': "));
	assert_non_null(strstr(msg, needle));
	assert_null(strchr(msg, '\n'));
	banks_free(&k);
	cvmf_ctx_free(ctx);
}

static void sha256_of(const uint8_t *f, size_t len, uint8_t out[32])
{
	struct banks k;
	banks_new(&k);
	assert_int_equal(run_mem(NULL, f, len, &k), 0);
	memcpy(out, k.d256, 32);
	banks_free(&k);
}

/* ---- synthetic images ---- */

struct tsec {
	uint32_t va, rawsize, rawptr;
};

struct spec {
	bool plus;              /* PE32+ */
	bool no_mz;             /* PE headers at offset 0 */
	uint32_t lfanew;        /* 0: 0x80 */
	uint32_t nrva;
	uint32_t soh, soi;      /* 0: 0x400 / 0x100000 */
	const struct tsec *secs;
	unsigned nsec;
	size_t len;
	uint32_t cert_off, cert_size;
};

/* Offsets in a built image, for tests that break one field. */
struct layout {
	size_t pe, opt, dd, sect;
};

static uint8_t *build(const struct spec *s, struct layout *lo)
{
	uint8_t *f = malloc(s->len);
	assert_non_null(f);
	/* Every byte distinct-ish, so that hashing a wrong range shows. */
	uint32_t x = 0x9e3779b9u ^ (uint32_t)s->len;
	for (size_t i = 0; i < s->len; i++) {
		x = x * 1103515245u + 12345u;
		f[i] = (uint8_t)(x >> 16);
	}
	size_t pe = s->no_mz ? 0 : (s->lfanew ? s->lfanew : 0x80);
	if (!s->no_mz) {
		f[0] = 'M';
		f[1] = 'Z';
		t_le32(f + 0x3c, (uint32_t)pe);
	}
	memcpy(f + pe, "PE\0\0", 4);
	size_t opt = pe + 24, dirs = s->plus ? 112 : 96;
	t_le16(f + pe + 4, 0x8664);
	t_le16(f + pe + 6, (uint16_t)s->nsec);
	t_le16(f + pe + 20, (uint16_t)(dirs + 8 * s->nrva));
	t_le16(f + opt, s->plus ? 0x20b : 0x10b);
	t_le32(f + opt + 56, s->soi ? s->soi : 0x100000);
	t_le32(f + opt + 60, s->soh ? s->soh : 0x400);
	t_le32(f + opt + (s->plus ? 108 : 92), s->nrva);
	if (s->nrva > 4) {
		t_le32(f + opt + dirs + 32, s->cert_off);
		t_le32(f + opt + dirs + 36, s->cert_size);
	}
	size_t st = opt + dirs + 8 * s->nrva;
	for (unsigned i = 0; i < s->nsec; i++) {
		uint8_t *e = f + st + 40 * i;
		memcpy(e, ".s", 2);   /* ".s<i>", NUL, then noise */
		e[2] = (uint8_t)('0' + i % 10);
		e[3] = 0;
		t_le32(e + 12, s->secs[i].va);
		t_le32(e + 16, s->secs[i].rawsize);
		t_le32(e + 20, s->secs[i].rawptr);
	}
	if (lo)
		*lo = (struct layout){ pe, opt, opt + dirs, st };
	return f;
}

static void test_pe32_no_cert_entry(void **state)
{
	(void)state;
	static const struct tsec secs[] = { { 0x1000, 0x200, 0x400 }, { 0x2000, 0x300, 0x600 } };
	for (uint32_t nrva = 0; nrva <= 4; nrva++) {
		struct spec s = { .nrva = nrva, .secs = secs, .nsec = 2, .len = 0x900 };
		uint8_t *f = build(&s, NULL);
		check_ref(f, s.len);
		free(f);
	}
}

static void test_pe32plus_cert_at_end(void **state)
{
	(void)state;
	static const struct tsec secs[] = { { 0x1000, 0x1000, 0x1000 }, { 0x3000, 0x800, 0x2000 } };
	struct spec s = { .plus = true, .nrva = 16, .soh = 0x1000, .secs = secs, .nsec = 2,
			  .len = 0x2800 + 0x5c0, .cert_off = 0x2800, .cert_size = 0x5c0 };
	uint8_t *f = build(&s, NULL);
	check_ref(f, s.len);

	/* The certificate table, the CheckSum and the certificate entry are not hashed. */
	uint8_t a[32], b[32];
	struct layout lo;
	free(f);
	f = build(&s, &lo);
	sha256_of(f, s.len, a);
	f[s.len - 1] ^= 1;
	f[0x2800] ^= 1;
	f[lo.opt + 64] ^= 0xff;
	f[lo.opt + 67] ^= 0xff;
	sha256_of(f, s.len, b);
	assert_memory_equal(a, b, 32);
	/* Zeroing the entry and dropping the table gives the same digest. */
	memset(f + lo.dd + 32, 0, 8);
	sha256_of(f, 0x2800, b);
	assert_memory_equal(a, b, 32);
	/* But every header byte outside those two fields counts. */
	f[lo.opt + 68] ^= 1;
	sha256_of(f, 0x2800, b);
	assert_memory_not_equal(a, b, 32);
	free(f);
}

static void test_unsorted_and_empty_sections(void **state)
{
	(void)state;
	/* Table order C, empty, A, B; file order A, B, C. */
	static const struct tsec secs[] = {
		{ 0x5000, 0x123, 0x900 }, { 0x6000, 0, 0 }, { 0x1000, 0x200, 0x400 },
		{ 0x3000, 0x300, 0x600 },
	};
	for (int plus = 0; plus < 2; plus++) {
		struct spec s = { .plus = plus, .nrva = 6, .secs = secs, .nsec = 4, .len = 0xa23 };
		uint8_t *f = build(&s, NULL);
		check_ref(f, s.len);

		/* Hand-check the order: the sorted concatenation is what is hashed. */
		struct bytes b = ref_bytes(f, s.len);
		assert_int_equal(b.n, 0x400 - 12 + 0x200 + 0x300 + 0x123);
		assert_memory_equal(b.d + b.n - 0x123, f + 0x900, 0x123);
		assert_memory_equal(b.d + 0x400 - 12, f + 0x400, 0x200);
		free(b.d);
		free(f);
	}
}

static void test_equal_pointers_keep_table_order(void **state)
{
	(void)state;
	/* Two sections at the same offset: the stable sort keeps table order, so
	 * swapping the entries changes the digest. */
	static const struct tsec ab[] = { { 0x1000, 0x100, 0x400 }, { 0x2000, 0x80, 0x400 } };
	static const struct tsec ba[] = { { 0x2000, 0x80, 0x400 }, { 0x1000, 0x100, 0x400 } };
	struct spec s = { .nrva = 16, .secs = ab, .nsec = 2, .len = 0x600 };
	uint8_t *f = build(&s, NULL), d1[32], d2[32];
	check_ref(f, s.len);
	sha256_of(f, s.len, d1);
	free(f);
	s.secs = ba;
	f = build(&s, NULL);
	check_ref(f, s.len);
	sha256_of(f, s.len, d2);
	assert_memory_not_equal(d1, d2, 32);
	free(f);
}

static void test_trailing_data_and_cert(void **state)
{
	(void)state;
	static const struct tsec secs[] = { { 0x1000, 0x200, 0x400 }, { 0x2000, 0x100, 0x600 } };
	/* Lengths not a multiple of 8; trailing bytes with and without a table. */
	static const size_t trail[] = { 0, 1, 7, 13, 0x101 };
	static const uint32_t cert[] = { 0, 1, 0x3b, 0x5c0 };
	for (int plus = 0; plus < 2; plus++)
		for (size_t t = 0; t < CMN_ARRAY_SIZE(trail); t++)
			for (size_t c = 0; c < CMN_ARRAY_SIZE(cert); c++) {
				size_t end = 0x700 + trail[t];
				struct spec s = { .plus = plus, .nrva = 5, .secs = secs, .nsec = 2,
						  .len = end + cert[c], .cert_off = (uint32_t)end,
						  .cert_size = cert[c] };
				uint8_t *f = build(&s, NULL);
				check_ref(f, s.len);
				struct bytes b = ref_bytes(f, s.len);
				assert_int_equal(b.n, 0x400 - 12 + 0x300 + trail[t]);
				free(b.d);
				free(f);
			}
}

static void test_gap_and_overlap(void **state)
{
	(void)state;
	/* A gap between sections is skipped, but the trailing window starts at
	 * SizeOfHeaders + the raw sizes, so it re-hashes what lies there. */
	static const struct tsec gap[] = { { 0x1000, 0x100, 0x400 }, { 0x2000, 0x100, 0x800 } };
	struct spec s = { .nrva = 16, .secs = gap, .nsec = 2, .len = 0x950 };
	uint8_t *f = build(&s, NULL);
	check_ref(f, s.len);
	struct bytes b = ref_bytes(f, s.len);
	assert_int_equal(b.n, 0x400 - 12 + 0x200 + (0x950 - 0x600));
	free(b.d);
	free(f);

	/* Overlapping sections: the sum passes the file size, nothing trails. */
	static const struct tsec ovl[] = { { 0x1000, 0x400, 0x400 }, { 0x2000, 0x400, 0x400 } };
	s = (struct spec){ .nrva = 16, .secs = ovl, .nsec = 2, .len = 0x900 };
	f = build(&s, NULL);
	check_ref(f, s.len);
	free(f);
}

static void test_no_dos_header(void **state)
{
	(void)state;
	/* edk2 takes a file that does not start with "MZ" as PE headers at 0. */
	static const struct tsec secs[] = { { 0x1000, 0x100, 0x400 } };
	struct spec s = { .no_mz = true, .plus = true, .nrva = 6, .secs = secs, .nsec = 1,
			  .len = 0x515 };
	uint8_t *f = build(&s, NULL);
	check_ref(f, s.len);
	free(f);
}

static void test_many_combinations(void **state)
{
	(void)state;
	static const struct tsec secs[] = {
		{ 0x9000, 0x3a1, 0x1a00 }, { 0x1000, 0x800, 0x1000 }, { 0x4000, 0, 0x55 },
		{ 0x5000, 0x17, 0x1800 }, { 0x7000, 0x1e9, 0x1817 },
	};
	static const uint32_t nrvas[] = { 0, 3, 4, 5, 6, 16 };
	unsigned n = 0;
	for (int plus = 0; plus < 2; plus++)
		for (size_t v = 0; v < CMN_ARRAY_SIZE(nrvas); v++)
			for (unsigned nsec = 0; nsec <= 5; nsec++)
				for (size_t extra = 0; extra < 3; extra++) {
					size_t end = nsec ? 0x1da1 : 0x400;
					size_t trail = extra * 5;
					uint32_t cert = extra == 2 ? 0x41 : 0;
					struct spec s = { .plus = plus, .nrva = nrvas[v],
							  .soh = 0x400 + 0x200 * (nsec == 0),
							  .secs = secs, .nsec = nsec,
							  .len = end + 0x300 + trail + cert,
							  .cert_off = (uint32_t)(end + 0x300 + trail),
							  .cert_size = cert };
					if (nrvas[v] <= 4)
						s.cert_size = s.cert_off = 0;
					/* Sections 3 and 4 need sections 1 and 2's file extent. */
					uint8_t *f = build(&s, NULL);
					check_ref(f, s.len);
					free(f);
					n++;
				}
	assert_int_equal(n, 2 * 6 * 6 * 3);
}

/* ---- streaming: a source that counts its reads ---- */

struct counting {
	struct msr_pe_source src;
	const uint8_t *buf;
	size_t max_read;
	uint64_t total;
	unsigned reads;
	unsigned fail_at;       /* fail the n-th read (1-based), 0: never */
};

static int counting_read(void *u, cvmf_ctx *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct counting *c = u;
	c->reads++;
	if (c->fail_at && c->reads == c->fail_at)
		return cmn_error(ctx, CVMF_E_IO, "disk on fire at 0x%llx", (unsigned long long)off);
	assert_true(off <= c->src.size && len <= c->src.size - off);
	memcpy(buf, c->buf + off, len);
	if (len > c->max_read)
		c->max_read = len;
	c->total += len;
	return 0;
}

static struct counting counting_new(const uint8_t *f, size_t len)
{
	struct counting c = { { len, counting_read, NULL }, f, 0, 0, 0, 0 };
	return c;
}

static void test_streaming_large(void **state)
{
	(void)state;
	/* 1.3 MiB sections (several 256 KiB chunks) and SizeOfHeaders past the
	 * first 64 KiB (the end of the headers is streamed too). */
	static const struct tsec secs[] = { { 0x20000, 0x100003, 0x11000 },
					    { 0x200000, 0x40000, 0x111003 } };
	struct spec s = { .plus = true, .nrva = 16, .soh = 0x11000, .soi = 0x400000,
			  .secs = secs, .nsec = 2, .len = 0x151003 + 0x777 + 0x100,
			  .cert_off = 0x151003 + 0x777, .cert_size = 0x100 };
	uint8_t *f = build(&s, NULL);
	check_ref(f, s.len);

	struct counting c = counting_new(f, s.len);
	c.src.u = &c;
	struct banks k;
	uint8_t want[32];
	banks_new(&k);
	assert_int_equal(run_src(NULL, "big", &c.src, &k), 0);
	ref_digest(f, s.len, EVP_sha256(), want);
	assert_memory_equal(k.d256, want, 32);
	assert_true(c.max_read <= 256 * 1024);
	/* Every byte is read at most once, the certificate table never. */
	assert_true(c.total <= s.len - 0x100);
	banks_free(&k);
	free(f);
}

static void test_read_error_propagates(void **state)
{
	(void)state;
	static const struct tsec secs[] = { { 0x20000, 0x50000, 0x10000 } };
	struct spec s = { .nrva = 16, .secs = secs, .nsec = 1, .len = 0x60000 };
	uint8_t *f = build(&s, NULL);
	for (unsigned at = 1; at <= 2; at++) {   /* the header read, then a section chunk */
		struct counting c = counting_new(f, s.len);
		c.src.u = &c;
		c.fail_at = at;
		struct banks k;
		cvmf_ctx *ctx = cvmf_ctx_new();
		banks_new(&k);
		assert_int_equal(run_src(ctx, "kernel 'x'", &c.src, &k), CVMF_E_IO);
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "disk on fire"));
		banks_free(&k);
		cvmf_ctx_free(ctx);
	}
	free(f);
}

/* ---- malformed images ---- */

static void test_errors(void **state)
{
	(void)state;
	static const struct tsec secs[] = { { 0x1000, 0x200, 0x400 }, { 0x2000, 0x100, 0x600 } };
	const struct spec good = { .nrva = 16, .secs = secs, .nsec = 2, .len = 0x700 + 0x40,
				   .cert_off = 0x700, .cert_size = 0x40 };
	struct layout lo;
	uint8_t *f = build(&good, &lo);
	const size_t n = good.len;
	check_ref(f, n);

#define BREAK(stmt, len, err, needle)                    \
	do {                                              \
		uint8_t *g = malloc(n);                   \
		memcpy(g, f, n);                          \
		uint8_t *b = g;                           \
		(void)b;                                  \
		stmt;                                     \
		check_fails(g, len, err, needle);         \
		free(g);                                  \
	} while (0)

	BREAK((void)0, 10, CVMF_E_FORMAT, "too small for a 64-byte DOS header");
	BREAK(b[0] = 'X', n, CVMF_E_FORMAT, "not a PE/COFF image");
	BREAK(t_le32(b + 0x3c, 0x7fffff00), n, CVMF_E_FORMAT, "e_lfanew 0x7fffff00");
	BREAK(t_le32(b + 0x3c, (uint32_t)n - 100), n, CVMF_E_FORMAT, "e_lfanew");
	BREAK(b[lo.pe + 1] = 'X', n, CVMF_E_FORMAT, "no PE signature at e_lfanew 0x80");
	BREAK(t_le16(b + lo.opt, 0x107), n, CVMF_E_FORMAT, "magic 0x0107");
	BREAK(t_le32(b + lo.opt + 92, 17), n, CVMF_E_FORMAT, "NumberOfRvaAndSizes 17");
	BREAK(t_le32(b + lo.opt + 92, 15), n, CVMF_E_FORMAT,
	      "SizeOfOptionalHeader 224 does not match NumberOfRvaAndSizes 15");
	BREAK(t_le32(b + lo.opt + 56, 0x180), n, CVMF_E_FORMAT, "SizeOfImage 0x180 is too small for 2 section headers");
	BREAK(t_le32(b + lo.opt + 60, 0x100), n, CVMF_E_FORMAT,
	      "SizeOfHeaders 0x100 ends before the section table");
	BREAK(t_le32(b + lo.opt + 60, 0x100000), n, CVMF_E_FORMAT,
	      "SizeOfHeaders 0x100000 is not below SizeOfImage");
	BREAK(t_le32(b + lo.opt + 60, (uint32_t)lo.sect + 79), n, CVMF_E_FORMAT,
	      "the 2-entry section table at 0x178 runs past SizeOfHeaders");
	/* Truncated in the headers. */
	BREAK((void)0, 0x300, CVMF_E_FORMAT, "SizeOfHeaders 0x400 runs past the end of the 768-byte file");
	BREAK((void)0, 0x150, CVMF_E_FORMAT, "leaves no room for the 264 bytes of PE headers");
	/* Truncated in the sections: the certificate table no longer fits first. */
	BREAK(memset(b + lo.dd + 32, 0, 8), 0x650, CVMF_E_FORMAT,
	      "section 1 '.s1' raw data 0x600+0x100 runs past the end of the 1616-byte file");
	BREAK(t_le32(b + lo.sect + 40 + 16, 0xffffff00), n, CVMF_E_FORMAT,
	      "section 1 '.s1' raw data 0x600+0xffffff00 runs past the end");
	BREAK(t_le32(b + lo.sect + 20, 0x3ff), n, CVMF_E_FORMAT,
	      "section 0 '.s0' (VirtualAddress 0x1000, PointerToRawData 0x3ff) lies inside the headers");
	BREAK(t_le32(b + lo.sect + 12, 0x200), n, CVMF_E_FORMAT, "section 0 '.s0' (VirtualAddress 0x200");
	/* The certificate table. */
	BREAK((void)0, n - 1, CVMF_E_FORMAT,
	      "certificate table 0x700+0x40 runs past the end of the 1855-byte file");
	BREAK(t_le32(b + lo.dd + 32, 0xffffffff), n, CVMF_E_FORMAT, "certificate table 0xffffffff+0x40");
	/* A table inside the sections: the file is longer than the hashed sum but
	 * shorter than sum + table (edk2 refuses it after hashing). */
	BREAK((t_le32(b + lo.dd + 32, 0x400), t_le32(b + lo.dd + 36, 0x300)), 0x710, CVMF_E_FORMAT,
	      "the 0x300-byte certificate table does not fit in the 0x10 bytes after");
	free(f);

	/* Headers past the 64 KiB buffer: refused as unsupported, not malformed. */
	static const struct tsec far[] = { { 0x30000, 0x10, 0x20000 } };
	struct spec s = { .lfanew = 0x10000, .nrva = 16, .soh = 0x11000, .secs = far, .nsec = 1,
			  .len = 0x20010 };
	f = build(&s, NULL);
	check_fails(f, s.len, CVMF_E_UNSUPPORTED, "lies beyond the first 64 KiB");
	free(f);
#undef BREAK
}

static void test_tiny_and_empty(void **state)
{
	(void)state;
	static const uint8_t z[1] = { 0 };
	check_fails(z, 0, CVMF_E_FORMAT, "the 0-byte file is too small");
	check_fails(z, 1, CVMF_E_FORMAT, "the 1-byte file is too small");
	uint8_t mz[64] = { 'M', 'Z' };
	check_fails(mz, sizeof(mz), CVMF_E_FORMAT, "e_lfanew 0x0");
}

/* ---- the real Debian kernels ---- */

struct fsrc {
	struct msr_pe_source src;
	int fd;
	size_t max_read;
};

static int fsrc_read(void *u, cvmf_ctx *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct fsrc *s = u;
	if (pread(s->fd, buf, len, (off_t)off) != (ssize_t)len)
		return cmn_error(ctx, CVMF_E_IO, "short read at 0x%llx", (unsigned long long)off);
	if (len > s->max_read)
		s->max_read = len;
	return 0;
}

static void hex(const char *h, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(h), 2 * n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sscanf(h + 2 * i, "%2hhx", &out[i]), 1);
}

/*
 * Known answers, from two independent tools:
 *   osslsigncode 2.9 (Debian bookworm-backports 2.9-1~bpo12+1), `verify`:
 *     "Calculated message digest", equal to the digest Debian's signer put
 *     in the signature ("Current message digest");
 *   pesign 0.112-6 (Debian bookworm), `pesign -h -i FILE` (SHA-256 only).
 * SHA-384: osslsigncode 2.9 re-signing with `-h sha384` under a throwaway
 * key, then `verify` ("Calculated" = "Current").
 */
static const struct {
	const char *file;
	size_t size;
	const char *sha256, *sha384;
} kernels[] = {
	{ "inputs/vmlinuz-6.1.0-50", 8222656,
	  "fe1bfd69b8f653dd1d59e42793d7fe96aa4e6644a7cad4bc269510dc41409f7a",
	  "0fbfe6ff6f232d51769517123fc77f333ef225f081c049ad3427848255aa7727"
	  "a89500d453ef6915c88fa66fd504c3fa" },
	{ "inputs/vmlinuz", 8247232,
	  "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51",
	  "e494e71ba795e8fc3edc1b3cab678c8c8782a6efe14d2d5a25155dc948b53f7d"
	  "1dab088ff7005b7e6f9b0534738660e2" },
};

static void test_real_kernels(void **state)
{
	(void)state;
	unsigned done = 0;
	for (size_t i = 0; i < CMN_ARRAY_SIZE(kernels); i++) {
		char *path = t_shared_file(kernels[i].file);
		if (!path)
			continue;
		uint8_t w256[32], w384[48];
		hex(kernels[i].sha256, w256, 32);
		hex(kernels[i].sha384, w384, 48);

		/* Streamed from the file. */
		struct fsrc s = { { 0, fsrc_read, NULL }, open(path, O_RDONLY), 0 };
		struct stat st;
		assert_true(s.fd >= 0);
		assert_int_equal(fstat(s.fd, &st), 0);
		assert_int_equal((size_t)st.st_size, kernels[i].size);
		s.src.size = (uint64_t)st.st_size;
		s.src.u = &s;
		struct banks k;
		cvmf_ctx *ctx = cvmf_ctx_new();
		banks_new(&k);
		int r = run_src(ctx, "kernel 'vmlinuz'", &s.src, &k);
		if (r)
			fprintf(stderr, "%s: %s\n", path, cvmf_ctx_errmsg(ctx));
		assert_int_equal(r, 0);
		assert_memory_equal(k.d256, w256, 32);
		assert_memory_equal(k.d384, w384, 48);
		assert_true(s.max_read <= 256 * 1024);
		close(s.fd);

		/* The plain reference agrees, in memory. */
		size_t n;
		uint8_t *f = (uint8_t *)t_slurp(path, &n);
		assert_int_equal(n, kernels[i].size);
		check_ref(f, n);

		/* Unsigned: truncate at the certificate table, zero its entry. */
		size_t pe = g32(f + 0x3c), dd = pe + 24 + 112;
		assert_int_equal(g16(f + pe + 24), 0x20b);
		uint32_t cert_off = g32(f + dd + 32), cert_size = g32(f + dd + 36);
		assert_true(cert_size > 0);
		assert_int_equal(cert_off + cert_size, n);
		memset(f + dd + 32, 0, 8);
		struct banks u;
		banks_new(&u);
		assert_int_equal(run_mem(ctx, f, cert_off, &u), 0);
		assert_memory_equal(u.d256, w256, 32);
		assert_memory_equal(u.d384, w384, 48);
		banks_free(&u);

		banks_free(&k);
		cvmf_ctx_free(ctx);
		free(f);
		free(path);
		done++;
	}
	if (!done)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe32_no_cert_entry),
		cmocka_unit_test(test_pe32plus_cert_at_end),
		cmocka_unit_test(test_unsorted_and_empty_sections),
		cmocka_unit_test(test_equal_pointers_keep_table_order),
		cmocka_unit_test(test_trailing_data_and_cert),
		cmocka_unit_test(test_gap_and_overlap),
		cmocka_unit_test(test_no_dos_header),
		cmocka_unit_test(test_many_combinations),
		cmocka_unit_test(test_streaming_large),
		cmocka_unit_test(test_read_error_propagates),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_tiny_and_empty),
		cmocka_unit_test(test_real_kernels),
	};
	return cmocka_run_group_tests_name("pe", tests, NULL, NULL);
}
