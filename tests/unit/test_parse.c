/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared value parsers (common/parse.h) and path rule (common/path.h),
 * and the places that use them: recipes and the measure verbs must agree
 * on sizes, guest memory (32 MiB .. 64 TiB), QEMU versions, comma lists
 * (no empty items) and package names. The CLI cases are regressions of
 * issue 10 (defects 5 and 15, and the --vcpus -1 message).
 */
#include "tests/unit/testlib.h"

#include "common/parse.h"
#include "common/path.h"
#include "builder/builder.h"
#include "recipes/recipe.h"

#define T_N(a) (sizeof(a) / sizeof((a)[0]))
#define MIB (1ull << 20)
#define TIB (1ull << 40)

/* ---- sizes ---- */

static void test_size(void **state)
{
	(void)state;
	static const struct { const char *s; uint64_t v; } ok[] = {
		{ "0", 0 }, { "1", 1 }, { "2G", 2ull << 30 }, { "2g", 2ull << 30 },
		{ "2048M", 2ull << 30 }, { "512MiB", 512 * MIB }, { "1GiB", 1ull << 30 },
		{ "4096K", 4096ull << 10 }, { "4096KB", 4096ull << 10 }, { "64T", 64 * TIB },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215T", 16777215ull << 40 },       /* the largest T that fits */
		{ "17179869183G", 17179869183ull << 30 },
	};
	for (size_t i = 0; i < T_N(ok); i++) {
		uint64_t v = 7;
		if (cmn_parse_size(ok[i].s, &v) || v != ok[i].v)
			fail_msg("'%s' gave %llu", ok[i].s, (unsigned long long)v);
	}
	static const char *const bad[] = {
		"", " 1", "1 ", "+1", "-1", "1.5G", "G", "2X", "2GG", "2Gi", "2GiBx", "2gib", "2 G",
		"0x10", "18446744073709551616",            /* 2^64 */
		"99999999999999999999999",
		"16777216T",                                /* 2^64: overflows */
		"17179869184G", "18014398509481984K",
	};
	for (size_t i = 0; i < T_N(bad); i++) {
		uint64_t v = 7;
		if (!cmn_parse_size(bad[i], &v))
			fail_msg("'%s' was accepted as %llu", bad[i], (unsigned long long)v);
		assert_int_equal(v, 7);
	}
}

static void test_memory(void **state)
{
	(void)state;
	uint64_t v = 0;
	/* The boundaries, inclusive. */
	assert_int_equal(cmn_parse_memory("32M", &v), 0);
	assert_int_equal(v, 32 * MIB);
	assert_int_equal(cmn_parse_memory("33554432", &v), 0);
	assert_int_equal(cmn_parse_memory("64T", &v), 0);
	assert_int_equal(v, 64 * TIB);
	assert_int_equal(cmn_parse_memory("70368744177664", &v), 0);
	assert_int_equal(v, CMN_MEMORY_MAX);
	assert_int_equal(CMN_MEMORY_MIN, 33554432ull);
	assert_int_equal(CMN_MEMORY_MAX, 70368744177664ull);
	/* Just outside, and not a multiple of 4 KiB. */
	v = 7;
	assert_int_equal(cmn_parse_memory("33554431", &v), -2);            /* 32 MiB - 1 */
	assert_int_equal(cmn_parse_memory("33550336", &v), -2);            /* 32 MiB - 4 KiB */
	assert_int_equal(cmn_parse_memory("31M", &v), -2);
	assert_int_equal(cmn_parse_memory("70368744177665", &v), -2);      /* 64 TiB + 1 */
	assert_int_equal(cmn_parse_memory("70368744181760", &v), -2);      /* 64 TiB + 4 KiB */
	assert_int_equal(cmn_parse_memory("65T", &v), -2);
	assert_int_equal(cmn_parse_memory("16383T", &v), -2);
	assert_int_equal(cmn_parse_memory("33558529", &v), -2);            /* not 4 KiB aligned */
	assert_int_equal(cmn_parse_memory("0", &v), -2);
	/* Not sizes at all: overflow is not wrapped. */
	assert_int_equal(cmn_parse_memory("18446744073709547520", &v), -2);   /* fits, too big */
	assert_int_equal(cmn_parse_memory("18446744073709551616", &v), -1);
	assert_int_equal(cmn_parse_memory("9223372036854775808", &v), -2);
	assert_int_equal(cmn_parse_memory("2X", &v), -1);
	assert_int_equal(v, 7);
}

static void test_qemu_version(void **state)
{
	(void)state;
	unsigned v = 0;
	assert_int_equal(cmn_parse_qemu_version("9.2", &v), 0);
	assert_int_equal(v, 902);
	assert_int_equal(cmn_parse_qemu_version("10.0.1", &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(cmn_parse_qemu_version("99.99.99999", &v), 0);
	assert_int_equal(v, 9999);
	assert_int_equal(cmn_parse_qemu_version("8.2.0", &v), 0);
	assert_int_equal(v, 802);
	static const char *const bad[] = { "", "9", "9.", ".2", "9.2.", "9.2.1.1", "100.0",
					   "9.100", " 9.2", "9.2 ", "+9.2", "-9.2", "9.-2", "9.2a",
					   "9.2.x", "9..2", "9.2.100000", "99999999999.2" };
	for (size_t i = 0; i < T_N(bad); i++) {
		v = 7;
		if (!cmn_parse_qemu_version(bad[i], &v))
			fail_msg("'%s' was accepted as %u", bad[i], v);
		assert_int_equal(v, 7);
	}
}

static void test_split_list(void **state)
{
	(void)state;
	struct cmn_list l;
	size_t at = 99;
	assert_int_equal(cmn_split_list("a", &l, &at), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "a");
	cmn_list_free(&l);
	assert_null(l.buf);
	assert_int_equal(cmn_split_list(" a ,b,\tc d\t", &l, NULL), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "a");
	assert_string_equal(l.v[1], "b");
	assert_string_equal(l.v[2], "c d");
	cmn_list_free(&l);
	cmn_list_free(NULL);
	static const struct { const char *s; size_t at; } bad[] = {
		{ "", 0 }, { " ", 0 }, { ",", 0 }, { "1,,2", 1 }, { "1,", 1 }, { ",1", 0 },
		{ "1, ,2", 1 }, { "EPYC-Milan,,EPYC-v4", 1 }, { "a,b,c,", 3 },
	};
	for (size_t i = 0; i < T_N(bad); i++) {
		at = 99;
		if (cmn_split_list(bad[i].s, &l, &at) != -1)
			fail_msg("'%s' was accepted", bad[i].s);
		if (at != bad[i].at)
			fail_msg("'%s': empty item %zu, not %zu", bad[i].s, at, bad[i].at);
	}
}

static void test_package_name(void **state)
{
	(void)state;
	static const char *const ok[] = { "ovmf", "busybox-static", "linux-image-6.1.0-50-amd64",
					  "g++", "libc6.1", "0ad", "x2" };
	for (size_t i = 0; i < T_N(ok); i++)
		if (!cmn_deb_package_ok(ok[i], strlen(ok[i])))
			fail_msg("'%s' was refused", ok[i]);
	static const char *const bad[] = { "", "a", "-o", "+a", ".a", "Ovmf", "ovmf:amd64",
					   "busybox:i386", "a b", "a_b", "a/b", "a=1", "a\tb" };
	for (size_t i = 0; i < T_N(bad); i++)
		if (cmn_deb_package_ok(bad[i], strlen(bad[i])))
			fail_msg("'%s' was accepted", bad[i]);
	char longest[CMN_DEB_PACKAGE_MAX + 2];
	memset(longest, 'a', sizeof(longest));
	assert_true(cmn_deb_package_ok(longest, CMN_DEB_PACKAGE_MAX));
	assert_false(cmn_deb_package_ok(longest, CMN_DEB_PACKAGE_MAX + 1));
	/* A NUL inside the counted bytes is not a name. */
	assert_false(cmn_deb_package_ok("ab\0c", 4));
	/* The builder applies the same rule before apt-get sees the name: an
	 * architecture qualifier is refused there too, with no cache or apt used. */
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct bld_deb d;
	static const char *const fetch_bad[] = { "busybox:amd64", "Busybox", "-o=x" };
	for (size_t i = 0; i < T_N(fetch_bad); i++) {
		assert_int_equal(bld_deb_fetch(ctx, "/nonexistent", fetch_bad[i], NULL, NULL, NULL,
					       NULL, &d), CVMF_E_INVAL);
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "is not a Debian package name"));
	}
	cvmf_ctx_free(ctx);
}

/* ---- paths ---- */

static void path_ok(const char *in, unsigned flags, const char *want)
{
	char *out = NULL;
	enum cmn_path_err e = cmn_path_norm(in, flags, &out);
	if (e)
		fail_msg("'%s' (flags %#x) refused: %s", in, flags, cmn_path_strerror(e));
	if (strcmp(out, want))
		fail_msg("'%s' (flags %#x) gave '%s', not '%s'", in, flags, out, want);
	free(out);
}

static void path_bad(const char *in, unsigned flags, enum cmn_path_err want)
{
	char *out = (char *)"untouched";
	enum cmn_path_err e = cmn_path_norm(in, flags, &out);
	if (e != want)
		fail_msg("'%s' (flags %#x): %d (%s), not %d (%s)", in, flags, e,
			 cmn_path_strerror(e), want, cmn_path_strerror(want));
	assert_string_equal(out, "untouched");
}

static void test_path(void **state)
{
	(void)state;
	const unsigned recipe = CMN_PATH_ABSOLUTE, deb = CMN_PATH_RESOLVE | CMN_PATH_ROOT_OK,
		       initrd = CMN_PATH_CANONICAL;
	/* Recipes: absolute, empty components dropped, "." and ".." refused. */
	path_ok("/a//b/", recipe, "/a/b");
	path_ok("//usr///share", recipe, "/usr/share");
	path_ok("/", recipe | CMN_PATH_ROOT_OK, "/");
	path_ok("///", recipe | CMN_PATH_ROOT_OK, "/");
	path_bad("/", recipe, CMN_PATH_E_ROOT);
	path_bad("a/b", recipe, CMN_PATH_E_RELATIVE);
	path_bad("", recipe, CMN_PATH_E_RELATIVE);
	path_bad("/a/./b", recipe, CMN_PATH_E_DOT);
	path_bad("/a/../b", recipe, CMN_PATH_E_DOTDOT);
	path_bad("/a/..", recipe, CMN_PATH_E_DOTDOT);
	path_bad("/..", recipe | CMN_PATH_ROOT_OK, CMN_PATH_E_DOTDOT);
	/* Names that only start with dots are names. */
	path_ok("/.config/..x/...", recipe, "/.config/..x/...");
	/* Package members: "./x" as tar writes it, ".." resolved inside the root. */
	path_ok("./usr/bin/x", deb, "/usr/bin/x");
	path_ok("usr/lib/../bin/./x", deb, "/usr/bin/x");
	path_ok("/bin/../", deb, "/");
	path_bad("/bin/../../etc", deb, CMN_PATH_E_ABOVE);
	path_bad("..", deb, CMN_PATH_E_ABOVE);
	path_ok("./", deb, "/");
	path_bad("./", deb & ~CMN_PATH_ROOT_OK, CMN_PATH_E_ROOT);
	path_ok("a/b/..", deb, "/a");
	/* initrd entries: the normal form only, a leading '/' optional. */
	path_ok("usr/bin/x", initrd, "/usr/bin/x");
	path_ok("/usr/bin/x", initrd, "/usr/bin/x");
	static const struct { const char *p; enum cmn_path_err e; } ib[] = {
		{ "..", CMN_PATH_E_DOTDOT }, { "/..", CMN_PATH_E_DOTDOT }, { "a/../b", CMN_PATH_E_DOTDOT },
		{ ".", CMN_PATH_E_DOT }, { "./a", CMN_PATH_E_DOT }, { "a/.", CMN_PATH_E_DOT },
		{ "a//b", CMN_PATH_E_EMPTY }, { "a/", CMN_PATH_E_EMPTY }, { "//a", CMN_PATH_E_EMPTY },
		{ "", CMN_PATH_E_ROOT }, { "/", CMN_PATH_E_ROOT },
	};
	for (size_t i = 0; i < T_N(ib); i++)
		path_bad(ib[i].p, initrd, ib[i].e);
	/* Every reason has a phrase. */
	for (int e = CMN_PATH_OK; e <= CMN_PATH_E_NOMEM; e++)
		assert_true(strlen(cmn_path_strerror((enum cmn_path_err)e)) > 5);
}

/* ---- recipes use the same rules ---- */

#define BASE \
	"[image]\nname = demo\nversion = 1.0\nsource-date-epoch = 1700000000\n" \
	"[firmware]\nsource = file:OVMF.fd\n[kernel]\nsource = file:vmlinuz\n"

static int recipe(const char *extra, char *msg, size_t msg_len, struct rcp_recipe **ret)
{
	char *t = NULL;
	assert_true(asprintf(&t, "%s%s", BASE, extra) > 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct rcp_recipe *r = NULL;
	int rc = rcp_parse(ctx, "t.recipe", "/r", t, strlen(t), &r);
	snprintf(msg, msg_len, "%s", rc ? cvmf_ctx_errmsg(ctx) : "");
	cvmf_ctx_free(ctx);
	free(t);
	if (ret)
		*ret = r;
	else
		rcp_free(r);
	return rc;
}

static void test_recipe_rules(void **state)
{
	(void)state;
	char msg[512];
	struct rcp_recipe *r;
	/* The memory boundaries, as on the command line. */
	assert_int_equal(recipe("[tdx]\nmemory = 32M, 33554432\n", msg, sizeof(msg), NULL),
			 CVMF_E_FORMAT);
	assert_non_null(strstr(msg, "lists '33554432' twice"));
	assert_int_equal(recipe("[tdx]\nmemory = 32M, 64T, 70368744177664\n", msg, sizeof(msg), NULL),
			 CVMF_E_FORMAT);
	assert_non_null(strstr(msg, "lists '70368744177664' twice"));
	assert_int_equal(recipe("[tdx]\nmemory = 32M, 64TiB\n[snp]\nmemory = 33554432\n", msg,
				sizeof(msg), &r), 0);
	assert_int_equal(r->tdx.n_memory, 2);
	assert_int_equal(r->tdx.memory[0], CMN_MEMORY_MIN);
	assert_int_equal(r->tdx.memory[1], CMN_MEMORY_MAX);
	assert_int_equal(r->snp.memory, CMN_MEMORY_MIN);
	rcp_free(r);
	static const char *const bad_mem[] = { "33554431", "31M", "70368744177665", "65T",
					       "16383T", "18446744073709547520",
					       "18446744073709551616", "9223372036854775808" };
	for (size_t i = 0; i < T_N(bad_mem); i++) {
		char *line;
		assert_true(asprintf(&line, "[tdx]\nmemory = %s\n", bad_mem[i]) > 0);
		assert_int_equal(recipe(line, msg, sizeof(msg), NULL), CVMF_E_FORMAT);
		assert_non_null(strstr(msg, "32 MiB .. 64 TiB"));
		assert_non_null(strstr(msg, bad_mem[i]));
		free(line);
	}
	/* Empty list items. */
	assert_int_equal(recipe("[snp]\nvcpus = 1,,2\n", msg, sizeof(msg), NULL), CVMF_E_FORMAT);
	assert_string_equal(msg, "t.recipe:10: 'vcpus' has an empty item");
	assert_int_equal(recipe("[snp]\ncpu-types = EPYC-Milan,,EPYC-v4\n", msg, sizeof(msg), NULL),
			 CVMF_E_FORMAT);
	assert_string_equal(msg, "t.recipe:10: 'cpu-types' has an empty item");
	/* QEMU versions. */
	assert_int_equal(recipe("[tdx]\nqemu-version = 10.0.1\n", msg, sizeof(msg), &r), 0);
	assert_int_equal(r->tdx.qemu_version, 1000);
	rcp_free(r);
	assert_int_equal(recipe("[tdx]\nqemu-version = +9.2\n", msg, sizeof(msg), NULL),
			 CVMF_E_FORMAT);
	/* Package names: Debian policy, no architecture qualifier. */
	assert_int_equal(recipe("[initrd]\nfile = deb:busybox:amd64:/bin/busybox:/bin/sh\n", msg,
				sizeof(msg), NULL), CVMF_E_FORMAT);
	assert_non_null(strstr(msg, "is not deb:PACKAGE[=VERSION]:/PATH"));
	assert_int_equal(recipe("[initrd]\nfile = deb:Busybox:/bin/busybox:/bin/sh\n", msg,
				sizeof(msg), NULL), CVMF_E_FORMAT);
	assert_non_null(strstr(msg, "not a Debian package name"));
	assert_int_equal(recipe("[initrd]\nfile = deb:g++-12:/usr/bin/g++:/bin/g\n", msg, sizeof(msg),
				NULL), 0);
}

/* ---- the command line: regressions of issue 10 ---- */

static struct run cli(const char *const *args)
{
	char *argv[32];
	size_t n = 0;
	argv[n++] = (char *)t_bin();
	for (; *args && n < T_N(argv) - 1; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	return t_run(argv);
}

static void usage_err(const char *const *args, const char *want)
{
	struct run r = cli(args);
	t_assert_clean_exit(&r, 2);
	if (!strstr(r.err, want))
		fail_msg("stderr lacks '%s':\n%s", want, r.err);
	t_run_free(&r);
}

static void test_cli_memory(void **state)
{
	(void)state;
	/* Defect 5: overflowing or out-of-range sizes are usage errors, in
	 * both verbs that take --memory (the firmware is not read first). */
	static const char *const bad[] = { "18446744073709547520", "9223372036854775808",
					   "18446744073709551616", "31M", "33554431", "16383T",
					   "70368744177665", "65T", "0", "2X" };
	for (int v = 0; v < 2; v++)
		for (size_t i = 0; i < T_N(bad); i++) {
			const char *args[] = { "measure", v ? "tpm" : "tdx", "--ovmf", "/nonexistent",
					       "--kernel", "/nonexistent", "--memory", bad[i], "--json",
					       NULL };
			usage_err(args, "32 MiB .. 64 TiB");
		}
	char *ovmf = t_shared_file("inputs/OVMF.fd"), *kernel = t_shared_file("inputs/vmlinuz-6.1.0-50");
	if (!ovmf || !kernel) {
		printf("# SKIP reason: needs ../shared/inputs/OVMF.fd and vmlinuz-6.1.0-50\n");
		free(ovmf);
		free(kernel);
		return;
	}
	static const struct { const char *arg, *bytes; } ok[] = {
		{ "32M", "\"memory_bytes\": 33554432," }, { "33554432", "\"memory_bytes\": 33554432," },
		{ "64T", "\"memory_bytes\": 70368744177664," },
		{ "64TiB", "\"memory_bytes\": 70368744177664," },
	};
	for (size_t i = 0; i < T_N(ok); i++) {
		const char *args[] = { "measure", "tdx", "--ovmf", ovmf, "--kernel", kernel,
				       "--memory", ok[i].arg, "--json", NULL };
		struct run r = cli(args);
		t_assert_clean_exit(&r, 0);
		if (!strstr(r.out, ok[i].bytes))
			fail_msg("--memory %s: no '%s' in:\n%s", ok[i].arg, ok[i].bytes, r.out);
		t_run_free(&r);
	}
	free(ovmf);
	free(kernel);
}

static void test_cli_lists(void **state)
{
	(void)state;
	/* Defect 15: an empty item is refused, as an empty list is. */
	static const struct { const char *opt, *val, *want; } bad[] = {
		{ "--vcpus", "1,,2", "argument --vcpus: empty item in '1,,2'" },
		{ "--vcpus", "1,", "argument --vcpus: empty item in '1,'" },
		{ "--vcpus", ",1", "argument --vcpus: empty item in ',1'" },
		{ "--vcpus", "", "argument --vcpus: empty list ''" },
		{ "--vcpus", ",", "argument --vcpus: empty list ','" },
		{ "--vcpu-type", "EPYC-Milan,,EPYC-v4",
		  "argument --vcpu-type: empty item in 'EPYC-Milan,,EPYC-v4'" },
		{ "--vmm-type", "QEMU,", "argument --vmm-type: empty item in 'QEMU,'" },
		{ "--guest-features", "0x1,,0x5", "argument --guest-features: empty item in" },
		/* The range a guest has, not the range of a 64-bit integer. */
		{ "--vcpus", "-1", "argument --vcpus: -1 is out of range: a guest has 1 to 4096 vCPUs" },
		{ "--vcpus", "0", "argument --vcpus: 0 is out of range: a guest has 1 to 4096 vCPUs" },
		{ "--vcpus", "99999999999999999999", "is out of range: a guest has 1 to 4096 vCPUs" },
		{ "--vcpus", "2-4097", "2-4097 is out of range: a guest has 1 to 4096 vCPUs" },
	};
	for (size_t i = 0; i < T_N(bad); i++) {
		const char *vcpus = strcmp(bad[i].opt, "--vcpus") ? "1" : bad[i].val;
		const char *type = strcmp(bad[i].opt, "--vcpu-type") ? "EPYC-v4" : bad[i].val;
		const char *args[16] = { "measure", "snp", "--mode", "snp", "--ovmf", "/nonexistent",
					 "--vcpus", vcpus, "--vcpu-type", type, NULL };
		if (strcmp(bad[i].opt, "--vcpus") && strcmp(bad[i].opt, "--vcpu-type")) {
			args[10] = bad[i].opt;
			args[11] = bad[i].val;
			args[12] = NULL;
		}
		usage_err(args, bad[i].want);
	}
	/* -1 no longer quotes the range of a 64-bit integer. */
	const char *neg[] = { "measure", "snp", "--mode", "snp", "--ovmf", "/nonexistent", "--vcpus",
			      "-1", "--vcpu-type", "EPYC-v4", NULL };
	struct run r = cli(neg);
	assert_null(strstr(r.err, "18446744073709551615"));
	t_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_qemu_version),
		cmocka_unit_test(test_split_list),
		cmocka_unit_test(test_package_name),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_recipe_rules),
		cmocka_unit_test(test_cli_memory),
		cmocka_unit_test(test_cli_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
