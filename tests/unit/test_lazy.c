/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lazily loaded libraries (common/lazy*.c): nothing is loaded before the
 * first call; a missing or too old library gives a clean failure with the
 * reason, never a crash; once loaded, the trampolines pass every argument
 * type through (curl_easy_setopt's long / pointer / function / curl_off_t
 * options, curl_easy_getinfo, archive_set_error's format); and the verbs that
 * neither download nor unpack do not load libcurl or libarchive at all.
 *
 * The tests run in order: the failure cases first, while nothing is loaded.
 */
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include "tests/unit/testlib.h"
#include "common/internal.h"
#include "common/lazy.h"

#define MISSING "libcvmforge-test-missing.so.0"

/* Whether this process has a mapping of a file whose name contains s. */
static bool mapped(const char *s)
{
	size_t n = 0;
	char *maps = t_slurp("/proc/self/maps", &n);
	bool found = maps && strstr(maps, s);
	free(maps);
	return found;
}

static void test_nothing_loaded_at_start(void **state)
{
	(void)state;
	assert_false(cmn_lazy_loaded(&cmn_lazy_curl));
	assert_false(cmn_lazy_loaded(&cmn_lazy_archive));
	assert_null(cmn_lazy_error(&cmn_lazy_curl));
	assert_false(mapped("libcurl"));
	assert_false(mapped("libarchive"));
	/* Freeing NULL loads nothing. */
	assert_int_equal(archive_read_free(NULL), ARCHIVE_OK);
	assert_int_equal(archive_write_free(NULL), ARCHIVE_OK);
	archive_entry_free(NULL);
	curl_easy_cleanup(NULL);
	curl_slist_free_all(NULL);
	curl_free(NULL);
	curl_global_cleanup();
	assert_false(cmn_lazy_loaded(&cmn_lazy_curl));
	assert_false(cmn_lazy_loaded(&cmn_lazy_archive));
	assert_false(mapped("libcurl"));
	assert_false(mapped("libarchive"));
}

static void test_missing_archive(void **state)
{
	(void)state;
	assert_int_equal(cmn_lazy_set_soname(&cmn_lazy_archive, MISSING), 0);
	assert_null(archive_read_new());
	assert_null(archive_write_new());
	assert_null(archive_entry_new());
	assert_false(cmn_lazy_loaded(&cmn_lazy_archive));
	const char *why = cmn_lazy_error(&cmn_lazy_archive);
	assert_non_null(why);
	assert_non_null(strstr(why, MISSING));
	assert_non_null(strstr(archive_version_string(), MISSING));
	/* Other functions fail without touching their (impossible) argument. */
	assert_int_equal(archive_read_support_format_tar(NULL), ARCHIVE_FATAL);
	assert_int_equal(archive_write_data(NULL, "x", 1), ARCHIVE_FATAL);
	archive_entry_set_size(NULL, 1);

	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_non_null(ctx);
	assert_int_equal(cmn_lazy_require(ctx, &cmn_lazy_archive), CVMF_E_IO);
	const char *msg = cvmf_ctx_errmsg(ctx);
	assert_non_null(strstr(msg, "libarchive (" MISSING ") could not be loaded: "));
	cvmf_ctx_free(ctx);
}

static void test_missing_curl(void **state)
{
	(void)state;
	assert_int_equal(cmn_lazy_set_soname(&cmn_lazy_curl, MISSING), 0);
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_FAILED_INIT);
	assert_null(curl_easy_init());
	assert_null(curl_slist_append(NULL, "Accept: */*"));
	/* How builder/deb.c reports a failed curl_global_init. */
	assert_non_null(strstr(curl_easy_strerror(CURLE_FAILED_INIT), MISSING));
	assert_int_equal(curl_easy_setopt(NULL, CURLOPT_URL, "file:///dev/null"),
			 CURLE_FAILED_INIT);
	long code = 0;
	assert_int_equal(curl_easy_getinfo(NULL, CURLINFO_RESPONSE_CODE, &code),
			 CURLE_FAILED_INIT);
	assert_int_equal(curl_easy_perform(NULL), CURLE_FAILED_INIT);
	assert_false(cmn_lazy_loaded(&cmn_lazy_curl));
	assert_false(mapped("libcurl"));
}

/* A library that loads but lacks the functions: refused as a whole. */
static void test_wrong_library(void **state)
{
	(void)state;
	assert_int_equal(cmn_lazy_set_soname(&cmn_lazy_archive, "libz.so.1"), 0);
	assert_null(archive_read_new());
	const char *why = cmn_lazy_error(&cmn_lazy_archive);
	assert_non_null(why);
	assert_non_null(strstr(why, "libz.so.1 has no function archive_"));
	assert_false(cmn_lazy_loaded(&cmn_lazy_archive));
}

static void test_archive_loads(void **state)
{
	(void)state;
	assert_int_equal(cmn_lazy_set_soname(&cmn_lazy_archive, "libarchive.so.13"), 0);
	struct archive *a = archive_read_new();
	assert_non_null(a);
	assert_true(cmn_lazy_loaded(&cmn_lazy_archive));
	assert_null(cmn_lazy_error(&cmn_lazy_archive));
	assert_true(mapped("libarchive"));
	assert_int_equal(cmn_lazy_require(NULL, &cmn_lazy_archive), 0);
	/* Once loaded, the library cannot be swapped. */
	assert_int_equal(cmn_lazy_set_soname(&cmn_lazy_archive, MISSING), -1);
	assert_non_null(strstr(archive_version_string(), "libarchive"));

	/* archive_set_error's format is applied once, and only once. */
	archive_set_error(a, EIO, "member '%s' at %d: %s", "a%sb", 42, "100%");
	assert_string_equal(archive_error_string(a), "member 'a%sb' at 42: 100%");
	assert_int_equal(archive_errno(a), EIO);

	/* A round trip through the trampolines: write a tar in memory, read it back. */
	char path[] = "/tmp/cvmforge-lazy-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	struct archive *w = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	assert_non_null(w);
	assert_non_null(e);
	assert_int_equal(archive_write_set_format_pax_restricted(w), ARCHIVE_OK);
	assert_int_equal(archive_write_open_fd(w, fd), ARCHIVE_OK);
	archive_entry_set_pathname(e, "dir/file");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0640);
	archive_entry_set_size(e, 5);
	archive_entry_set_uid(e, 4000000000LL);   /* needs 64 bits through la_int64_t */
	archive_entry_set_mtime(e, 1700000000, 0);
	assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(w, "hello", 5), 5);
	assert_int_equal(archive_write_close(w), ARCHIVE_OK);
	assert_int_equal(archive_write_free(w), ARCHIVE_OK);
	archive_entry_free(e);
	close(fd);

	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
	struct archive_entry *r;
	assert_int_equal(archive_read_next_header(a, &r), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(r), "dir/file");
	assert_int_equal(archive_entry_filetype(r), AE_IFREG);
	assert_int_equal(archive_entry_perm(r), 0640);
	assert_int_equal(archive_entry_size(r), 5);
	assert_int_equal(archive_entry_uid(r), 4000000000LL);
	assert_int_equal(archive_entry_mtime(r), 1700000000);
	char buf[16] = "";
	assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(archive_read_next_header(a, &r), ARCHIVE_EOF);
	assert_int_equal(archive_read_free(a), ARCHIVE_OK);
	unlink(path);
}

struct sink {
	char buf[64];
	size_t len;
};

static size_t sink_write(char *p, size_t size, size_t n, void *user)
{
	struct sink *s = user;
	size_t len = size * n;
	if (len > sizeof(s->buf) - 1 - s->len)
		return 0;
	memcpy(s->buf + s->len, p, len);
	s->len += len;
	return len;
}

/* file:// transfers exercise each argument type of curl_easy_setopt. */
static void test_curl_loads_and_forwards(void **state)
{
	(void)state;
	assert_int_equal(cmn_lazy_set_soname(&cmn_lazy_curl, "libcurl.so.4"), 0);
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	assert_true(cmn_lazy_loaded(&cmn_lazy_curl));
	assert_true(mapped("libcurl"));
	assert_non_null(strstr(curl_version(), "libcurl/"));
	assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");

	char dir[] = "/tmp/cvmforge-lazy-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = t_write(dir, "data", "0123456789", 10);
	char url[4200];
	snprintf(url, sizeof(url), "file://%s", path);

	CURL *c = curl_easy_init();
	assert_non_null(c);
	struct sink s = { .len = 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	/* string, data pointer, function pointer, long, curl_off_t */
	assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, url), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEDATA, &s), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)4),
			 CURLE_OK);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	assert_int_equal(s.len, 6);
	assert_memory_equal(s.buf, "456789", 6);

	/* getinfo: curl_off_t *, char **, double *, long * */
	curl_off_t got = -1;
	assert_int_equal(curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &got), CURLE_OK);
	assert_int_equal(got, 6);
	char *eff = NULL;
	assert_int_equal(curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff), CURLE_OK);
	assert_string_equal(eff, url);
	double secs = -1;
	assert_int_equal(curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &secs), CURLE_OK);
	assert_true(secs >= 0);
	long code = -1;
	assert_int_equal(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
	assert_int_equal(code, 0);

	/* A long that changes the transfer: no body. */
	curl_easy_reset(c);
	s.len = 0;
	assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, url), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEDATA, &s), CURLE_OK);
	assert_int_equal(curl_easy_setopt(c, CURLOPT_NOBODY, 1L), CURLE_OK);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	assert_int_equal(s.len, 0);

	/* An option number of no known type is refused, not guessed. */
	assert_int_equal(curl_easy_setopt(c, (CURLoption)60001, 1L), CURLE_UNKNOWN_OPTION);

	struct curl_slist *l = curl_slist_append(NULL, "X-A: 1");
	assert_non_null(l);
	l = curl_slist_append(l, "X-B: 2");
	assert_string_equal(l->next->data, "X-B: 2");
	assert_int_equal(curl_easy_setopt(c, CURLOPT_HTTPHEADER, l), CURLE_OK);
	curl_slist_free_all(l);
	char *esc = curl_easy_escape(c, "a b", 3);
	assert_string_equal(esc, "a%20b");
	curl_free(esc);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	free(path);
	t_rmrf(dir);
}

/* LD_DEBUG=libs lists every shared object the dynamic loader maps. */
static struct run run_traced(const char *args)
{
	return t_sh("LD_DEBUG=libs '%s' %s 2>&1 >/dev/null", t_bin(), args);
}

static void test_cli_light_verbs_load_neither(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *fw = fw_write(dir, "fw.fd", fw_amdsev_like(64 * 1024));
	char inspect[4200];
	snprintf(inspect, sizeof(inspect), "inspect ovmf '%s'", fw);
	const char *const verbs[] = { "--version", "help", inspect };
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		struct run r = run_traced(verbs[i]);
		t_assert_clean_exit(&r, 0);
		if (strstr(r.out, "libcurl") || strstr(r.out, "libarchive"))
			fail_msg("'cvmforge %s' loaded libcurl or libarchive:\n%s", verbs[i], r.out);
		/* The trace is there: libc is always listed. */
		assert_non_null(strstr(r.out, "libc.so"));
		t_run_free(&r);
	}
	free(fw);
	t_rmrf(dir);
	free(dir);
}

/* The positive control: a verb that writes a cpio does load libarchive. */
static void test_cli_initrd_loads_archive(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *f = t_write(dir, "hello", "hi\n", 3);
	char args[9000];
	snprintf(args, sizeof(args), "initrd -o '%s/out.cpio' --compress none --file '%s:/hello' --quiet",
		 dir, f);
	struct run r = run_traced(args);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "libarchive.so.13"));
	assert_null(strstr(r.out, "libcurl"));
	t_run_free(&r);
	free(f);
	t_rmrf(dir);
	free(dir);
}

static enum MHD_Result mhd_ok(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	(void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
	(void)con_cls;
	struct MHD_Response *r = MHD_create_response_from_buffer(2, "ok", MHD_RESPMEM_MUST_COPY);
	enum MHD_Result x = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return x;
}

/* libmicrohttpd (log serve): not loaded until a daemon starts; a missing
 * library is a clear error; MHD_start_daemon's options reach the library
 * through MHD_start_daemon_va (a daemon on loopback answers). */
static void test_mhd(void **state)
{
	(void)state;
	assert_false(mapped("libmicrohttpd"));
	MHD_stop_daemon(NULL);
	MHD_destroy_response(NULL);
	assert_false(cmn_lazy_loaded(&cmn_lazy_mhd));
	assert_int_equal(cmn_lazy_set_soname(&cmn_lazy_mhd, MISSING), 0);
	assert_null(MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, mhd_ok, NULL,
				     MHD_OPTION_END));
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(cmn_lazy_require(ctx, &cmn_lazy_mhd), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "libmicrohttpd (" MISSING ") could not be loaded"));
	cvmf_ctx_free(ctx);
	assert_int_equal(cmn_lazy_set_soname(&cmn_lazy_mhd, "libmicrohttpd.so.12"), 0);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
						mhd_ok, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
						(unsigned int)5, MHD_OPTION_END);
	assert_non_null(d);
	assert_true(mapped("libmicrohttpd"));
	MHD_stop_daemon(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_loaded_at_start),
		cmocka_unit_test(test_missing_archive),
		cmocka_unit_test(test_missing_curl),
		cmocka_unit_test(test_mhd),
		cmocka_unit_test(test_wrong_library),
		cmocka_unit_test(test_archive_loads),
		cmocka_unit_test(test_curl_loads_and_forwards),
		cmocka_unit_test(test_cli_light_verbs_load_neither),
		cmocka_unit_test(test_cli_initrd_loads_archive),
	};
	return cmocka_run_group_tests_name("lazy", tests, NULL, NULL);
}
