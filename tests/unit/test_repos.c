/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Repositories in recipes (docs/recipe.md#repositories), against a real
 * apt and a local repository this test makes and signs with gpg: a
 * package in two versions, Packages and an InRelease signed by a key of
 * its own. Resolution runs apt with state private to the cache; the lock
 * records repository, suite and deb-path; a rebuild needs neither apt nor
 * the repository; and each thing apt and the builder check is broken once:
 * the Release signature (another key), an index's digest (Packages changed
 * after signing), the .deb's digest (the pool file changed), a pinned
 * version the repository does not have, a repository name not declared.
 */
#include "testlib.h"
#include "recipes/recipe.h"

struct fx {
	char *dir, *repo, *cache, *out, *recipe, *lock, *fw, *kernel;
};

static bool have_tools(void)
{
	return system("command -v apt-get >/dev/null && command -v gpg >/dev/null && "
		      "command -v dpkg-deb >/dev/null && command -v dpkg-scanpackages >/dev/null") == 0;
}

/* The repository: DIR/repo/{pool,dists/test}, key DIR/key.gpg, another
 * key DIR/other.gpg. */
static const char make_repo[] =
	"set -e\n"
	"D=\"$1\"; R=\"$D/repo\"\n"
	"export GNUPGHOME=\"$D/gnupg\"; mkdir -m 700 \"$GNUPGHOME\"\n"
	"for v in 1.0 2.0; do\n"
	"  P=\"$D/pkg-$v\"; mkdir -p \"$P/DEBIAN\" \"$P/usr/share/cvmf\"\n"
	"  printf 'Package: cvmf-test\\nVersion: %s\\nArchitecture: all\\nMaintainer: t <t@example.com>\\n"
	"Description: cvmforge test package\\n' \"$v\" >\"$P/DEBIAN/control\"\n"
	"  printf 'hello %s\\n' \"$v\" >\"$P/usr/share/cvmf/hello.txt\"\n"
	"  mkdir -p \"$R/pool/main/c/cvmf-test\"\n"
	"  SOURCE_DATE_EPOCH=1700000000 dpkg-deb --root-owner-group -Zgzip --build \"$P\" "
	"\"$R/pool/main/c/cvmf-test/cvmf-test_${v}_all.deb\" >/dev/null\n"
	"done\n"
	"B=\"$R/dists/test/main/binary-amd64\"; mkdir -p \"$B\"\n"
	"(cd \"$R\" && dpkg-scanpackages -m pool /dev/null 2>/dev/null) >\"$B/Packages\"\n"
	"(cd \"$R/dists/test\" && {\n"
	"  printf 'Origin: cvmforge\\nSuite: test\\nCodename: test\\nDate: Sat, 01 Nov 2025 00:00:00 UTC\\n"
	"Architectures: amd64\\nComponents: main\\nSHA256:\\n'\n"
	"  printf ' %s %s main/binary-amd64/Packages\\n' $(sha256sum main/binary-amd64/Packages | cut -d' ' -f1) "
	"$(stat -c %s main/binary-amd64/Packages)\n"
	"} >Release)\n"
	"gpg -q --batch --passphrase '' --quick-gen-key 'cvmforge test repo' ed25519 sign never 2>/dev/null\n"
	"gpg -q --batch --export 'cvmforge test repo' >\"$D/key.gpg\"\n"
	"gpg -q --batch --passphrase '' --quick-gen-key 'another key' ed25519 sign never 2>/dev/null\n"
	"gpg -q --batch --export 'another key' >\"$D/other.gpg\"\n"
	"gpg -q --batch --yes -u 'cvmforge test repo' --clearsign -o \"$R/dists/test/InRelease\" "
	"\"$R/dists/test/Release\"\n"
	"gpgconf --kill all 2>/dev/null || true\n";

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	*state = f;
	if (!have_tools())
		return 0;
	f->fw = t_shared_file("inputs/OVMF.fd");
	f->kernel = t_shared_file("inputs/vmlinuz-6.1.0-50");
	if (!f->fw || !f->kernel)
		return 0;
	f->dir = t_tmpdir();
	assert_true(asprintf(&f->repo, "%s/repo", f->dir) > 0);
	assert_true(asprintf(&f->cache, "%s/cache", f->dir) > 0);
	assert_true(asprintf(&f->out, "%s/out", f->dir) > 0);
	assert_true(asprintf(&f->recipe, "%s/t.recipe", f->dir) > 0);
	assert_true(asprintf(&f->lock, "%s/t.recipe.lock", f->dir) > 0);
	char *script = t_write(f->dir, "mkrepo.sh", make_repo, strlen(make_repo));
	struct run r = t_sh("sh '%s' '%s' 2>&1", script, f->dir);
	free(script);
	if (r.status) {
		printf("# could not make the test repository: %s\n", r.out);
		t_rmrf(f->dir);
		free(f->dir);
		f->dir = NULL;
	}
	t_run_free(&r);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->dir)
		t_rmrf(f->dir);
	free(f->dir);
	free(f->repo);
	free(f->cache);
	free(f->out);
	free(f->recipe);
	free(f->lock);
	free(f->fw);
	free(f->kernel);
	free(f);
	return 0;
}

static void need(struct fx *f)
{
	if (!f->dir) {
		printf("# SKIP reason: needs apt-get, gpg, dpkg-deb, dpkg-scanpackages and ../shared's "
		       "OVMF.fd and vmlinuz-6.1.0-50\n");
		skip();
	}
}

/* A recipe taking DEB (a deb: source) from the repository, signed by KEY. */
static void write_recipe(struct fx *f, const char *deb, const char *key)
{
	char *t = NULL;
	assert_true(asprintf(&t,
			     "[image]\nname = t\nversion = 1\nsource-date-epoch = 1700000000\n\n"
			     "[repositories]\nrepository = local file:%s test main signed-by=%s/%s\n\n"
			     "[firmware]\nsource = file:%s\n\n[kernel]\nsource = file:%s\n\n"
			     "[initrd]\ncompression = none\nfile = %s:/hello.txt\n",
			     f->repo, f->dir, key, f->fw, f->kernel, deb) > 0);
	free(t_write(f->dir, "t.recipe", t, strlen(t)));
	free(t);
}

static struct run build(struct fx *f, const char *env, const char *args)
{
	t_rmrf(f->out);
	return t_sh("%s '%s' build '%s' -o '%s' --cache '%s' --quiet %s 2>&1", env, t_bin(),
		    f->recipe, f->out, f->cache, args);
}

static void expect(const struct run *r, int status, const char *const *want)
{
	if (r->status != status)
		fail_msg("exit %d, want %d:\n%s", r->status, status, r->out);
	for (; *want; want++)
		if (!strstr(r->out, *want))
			fail_msg("no '%s' in:\n%s", *want, r->out);
}

static void test_resolve_lock_rebuild(void **state)
{
	struct fx *f = *state;
	need(f);
	write_recipe(f, "deb:cvmf-test@local:/usr/share/cvmf/hello.txt", "key.gpg");
	struct run r = build(f, "", "--lock");
	expect(&r, 0, (const char *const[]){ NULL });
	t_run_free(&r);
	/* The newest version; where it came from. */
	char *lock = t_slurp(f->lock, NULL), *want = NULL;
	assert_non_null(strstr(lock, "[deb:cvmf-test@local:/usr/share/cvmf/hello.txt]\n"));
	assert_non_null(strstr(lock, "\nversion = 2.0\n"));
	assert_true(asprintf(&want, "\nrepository = file:%s\n", f->repo) > 0);
	assert_non_null(strstr(lock, want));
	assert_non_null(strstr(lock, "\nsuite = test\n"));
	assert_non_null(strstr(lock, "\ndeb-path = pool/main/c/cvmf-test/cvmf-test_2.0_all.deb\n"));
	assert_non_null(strstr(lock, "\ndeb-file = cvmf-test_2.0_all.deb\n"));
	free(want);
	/* apt's state is the cache's own: its sources.list names the repository. */
	r = t_sh("cat '%s'/apt/*/etc/sources.list", f->cache);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "signed-by="));
	assert_non_null(strstr(r.out, " test main"));
	t_run_free(&r);
	/* The manifest says where the package came from. */
	char *m = NULL;
	assert_true(asprintf(&m, "%s/t-1/manifest.json", f->out) > 0);
	char *man = t_slurp(m, NULL);
	assert_non_null(strstr(man, "\"suite\": \"test\""));
	free(man);
	free(m);

	/* From the cache: no apt (PATH has none), no repository. */
	r = t_sh("mv '%s' '%s.away'", f->repo, f->repo);
	t_run_free(&r);
	r = build(f, "PATH=/nonexistent", "");
	expect(&r, 0, (const char *const[]){ NULL });
	t_run_free(&r);
	r = t_sh("mv '%s.away' '%s'", f->repo, f->repo);
	t_run_free(&r);

	/* The .debs gone from the cache: fetched from the lock's deb-path and
	 * checked against its deb-sha256, still without apt. */
	r = t_sh("rm -rf '%s/debs' '%s/files' '%s/members'", f->cache, f->cache, f->cache);
	t_run_free(&r);
	r = build(f, "PATH=/nonexistent", "");
	expect(&r, 0, (const char *const[]){ NULL });
	t_run_free(&r);
	/* A cached .deb that no longer hashes to its name: removed, and fetched
	 * again from the repository (never taken from the host's apt). */
	r = t_sh("for d in '%s'/debs/*.deb; do printf x >>\"$d\"; done; rm -rf '%s/files' '%s/members'",
		 f->cache, f->cache, f->cache);
	t_run_free(&r);
	r = build(f, "PATH=/nonexistent", "");
	expect(&r, 0, (const char *const[]){ NULL });
	t_run_free(&r);
	r = t_sh("cd '%s/debs' && sha256sum *.deb | while read h n; do [ \"$h.deb\" = \"$n\" ] || "
		 "echo \"bad $n\"; done", f->cache);
	assert_null(strstr(r.out, "bad"));
	t_run_free(&r);
	char *again = t_slurp(f->lock, NULL);
	assert_string_equal(lock, again);   /* a build without --lock never writes it */
	free(again);
	free(lock);
}

static void test_pinned_version(void **state)
{
	struct fx *f = *state;
	need(f);
	write_recipe(f, "deb:cvmf-test=1.0@local:/usr/share/cvmf/hello.txt", "key.gpg");
	unlink(f->lock);
	struct run r = build(f, "", "--lock");
	expect(&r, 0, (const char *const[]){ NULL });
	t_run_free(&r);
	char *lock = t_slurp(f->lock, NULL);
	assert_non_null(strstr(lock, "\nversion = 1.0\n"));
	assert_non_null(strstr(lock, "\ndeb-path = pool/main/c/cvmf-test/cvmf-test_1.0_all.deb\n"));
	free(lock);
	/* A version that is in neither the repository nor the cache. */
	write_recipe(f, "deb:cvmf-test=9.9@local:/usr/share/cvmf/hello.txt", "key.gpg");
	unlink(f->lock);
	r = build(f, "", "--lock");
	char *where = NULL;
	assert_true(asprintf(&where, "nor repository local (file:%s test)", f->repo) > 0);
	expect(&r, 1, (const char *const[]){ "t.recipe:", "package cvmf-test version 9.9 is in neither the package cache",
					     where, "snapshot", NULL });
	free(where);
	t_run_free(&r);
}

static void test_signature_and_digests(void **state)
{
	struct fx *f = *state;
	need(f);
	/* Signed by another key than the recipe trusts. */
	write_recipe(f, "deb:cvmf-test@local:/usr/share/cvmf/hello.txt", "other.gpg");
	unlink(f->lock);
	struct run r = build(f, "", "--lock");
	expect(&r, 1, (const char *const[]){ "apt-get update of repository local", NULL });
	t_run_free(&r);
	/* A fresh cache, and the .deb in the pool replaced after the index
	 * was signed: apt resolves it, the download does not hash to the index. */
	write_recipe(f, "deb:cvmf-test=2.0@local:/usr/share/cvmf/hello.txt", "key.gpg");
	r = t_sh("rm -rf '%s' && cd '%s/pool/main/c/cvmf-test' && cp cvmf-test_2.0_all.deb keep && "
		 "cp cvmf-test_1.0_all.deb cvmf-test_2.0_all.deb", f->cache, f->repo);
	assert_int_equal(r.status, 0);
	t_run_free(&r);
	r = build(f, "", "--lock");
	expect(&r, 1, (const char *const[]){ "download of cvmf-test", "apt's index says sha256", NULL });
	t_run_free(&r);
	r = t_sh("cd '%s/pool/main/c/cvmf-test' && mv keep cvmf-test_2.0_all.deb", f->repo);
	t_run_free(&r);
	/* Packages changed after InRelease was signed: its digest no longer
	 * matches the signed one, and apt-get update fails. */
	r = t_sh("rm -rf '%s' && printf '\\n' >>'%s/dists/test/main/binary-amd64/Packages'", f->cache,
		 f->repo);
	t_run_free(&r);
	r = build(f, "", "--lock");
	expect(&r, 1, (const char *const[]){ "apt-get update of repository local", NULL });
	t_run_free(&r);
}

/* Package fields on an input that is not a package are refused. */
static void test_lock_fields_on_a_file(void **state)
{
	struct fx *f = *state;
	need(f);
	write_recipe(f, "deb:cvmf-test=1.0@local:/usr/share/cvmf/hello.txt", "key.gpg");
	unlink(f->lock);
	struct run r = build(f, "", "--lock");
	expect(&r, 0, (const char *const[]){ NULL });
	t_run_free(&r);
	char *id = NULL, *text = NULL;
	assert_true(asprintf(&id, "[file:%s]\n", f->kernel) > 0);
	char *lock = t_slurp(f->lock, NULL);
	char *at = strstr(lock, id);
	assert_non_null(at);
	at = strchr(at + strlen(id), '\n');   /* after its sha256 line */
	assert_non_null(at);
	assert_true(asprintf(&text, "%.*s\nsuite = test%s", (int)(at - lock), lock, at) > 0);
	free(t_write(f->dir, "t.recipe.lock", text, strlen(text)));
	r = build(f, "", "");
	expect(&r, 1, (const char *const[]){ "the lock pins a package's suite, but this input is not a package",
					     NULL });
	t_run_free(&r);
	free(lock);
	free(id);
	free(text);
}

static void test_recipe_rules(void **state)
{
	(void)state;
	static const struct { const char *text, *err; } bad[] = {
		{ "[repositories]\nrepository = rx http://a b main\n",
		  "t:2: repository 'rx' has no signed-by=KEYRING" },
		{ "[repositories]\nrepository = rx ftp://a b main signed-by=/k\n",
		  "t:2: repository 'rx': 'ftp://a' is not an http://, https:// or file:/ URI" },
		{ "[repositories]\nrepository = rx http://a b signed-by=/k\n",
		  "t:2: 'repository' must be NAME URI SUITE COMPONENT... signed-by=KEYRING" },
		{ "[repositories]\nrepository = rx http://a b main signed-by=/k\nrepository = rx http://c d main signed-by=/k\n",
		  "t:3: repository 'rx' already declared on line 2" },
		{ "[repositories]\nrepository = X http://a b main signed-by=/k\n",
		  "t:2: repository name 'X' must be" },
		{ "[repositories]\nrepository = rx http://a b main signed-by=/k check-valid-until=maybe\n",
		  "t:2: 'check-valid-until' must be yes or no" },
		{ "[repositories]\nrepository = rx http://a b main signed-by=/k mirror=y\n",
		  "t:2: unknown option 'mirror'" },
		{ "[repositories]\nrepository = rx http://a b\n",
		  "t:2: 'repository' must be NAME URI SUITE COMPONENT..." },
	};
	static const char base[] = "[image]\nname = t\nversion = 1\nsource-date-epoch = 1\n"
				   "[firmware]\nsource = file:fw\n[kernel]\nsource = deb:kk@ry:/boot/k\n";
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct rcp_recipe *r = NULL;
	for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
		int rc = rcp_parse(ctx, "t", "/d", bad[i].text, strlen(bad[i].text), &r);
		if (rc != CVMF_E_FORMAT || strncmp(cvmf_ctx_errmsg(ctx), bad[i].err, strlen(bad[i].err)))
			fail_msg("%s: want '%s', got %d '%s'", bad[i].text, bad[i].err, rc,
				 cvmf_ctx_errmsg(ctx));
	}
	/* A source naming a repository that is not declared. */
	char *t = NULL;
	assert_true(asprintf(&t, "%s[repositories]\nrepository = rx http://a/ b main c signed-by=/k\n", base) > 0);
	assert_int_equal(rcp_parse(ctx, "t", "/d", t, strlen(t), &r), CVMF_E_FORMAT);
	if (!strstr(cvmf_ctx_errmsg(ctx), "t:8: 'deb:kk@ry:/boot/k' names repository 'ry', which [repositories] does not declare (rx)"))
		fail_msg("got '%s'", cvmf_ctx_errmsg(ctx));
	free(t);
	/* Declared: parsed, the URI without its trailing '/', in order. */
	assert_true(asprintf(&t, "%s[repositories]\nrepository = ry http://a/ b main c signed-by=/k check-valid-until=no\n",
			     base) > 0);
	assert_int_equal(rcp_parse(ctx, "t", "/d", t, strlen(t), &r), 0);
	assert_int_equal(r->n_repos, 1);
	assert_string_equal(r->repos[0].uri, "http://a");
	assert_string_equal(r->repos[0].suite, "b");
	assert_int_equal(r->repos[0].n_components, 2);
	assert_string_equal(r->repos[0].keyring, "/k");
	assert_false(r->repos[0].check_valid_until);
	assert_string_equal(r->kernel.repo, "ry");
	assert_string_equal(r->kernel.package, "kk");
	rcp_free(r);
	free(t);
	/* deb:PKG=VER@REPO: the repository ends the version. */
	struct rcp_source s = { 0 };
	assert_int_equal(rcp_source_parse(ctx, "W", "/d", "deb:ovmf=2025.02-8+deb13u1@trixie:/usr/share/ovmf/OVMF.fd", &s), 0);
	assert_string_equal(s.version, "2025.02-8+deb13u1");
	assert_string_equal(s.repo, "trixie");
	assert_string_equal(s.path, "/usr/share/ovmf/OVMF.fd");
	rcp_source_clear(&s);
	assert_int_equal(rcp_source_parse(ctx, "W", "/d", "deb:ovmf@Trixie:/x", &s), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "'Trixie' is not a repository name"));
	cvmf_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recipe_rules),
		cmocka_unit_test(test_resolve_lock_rebuild),
		cmocka_unit_test(test_pinned_version),
		cmocka_unit_test(test_lock_fields_on_a_file),
		cmocka_unit_test(test_signature_and_digests),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
