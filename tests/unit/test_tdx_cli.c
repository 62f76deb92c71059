/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge measure tdx` through the command line:
 *   - every line of ../shared/vectors/tdx.jsonl, registers and (for direct
 *     boot) every event of the log, after checking each input's sha256;
 *   - `eventlog diff` naming the TD HOB and the memory size when a log was
 *     predicted with the wrong --memory;
 *   - usage errors, the QEMU x OVMF rule on the command line, and outputs
 *     that are written whole or not at all.
 */
#include <jansson.h>
#include <sys/stat.h>

#include "tests/unit/testlib.h"

struct vector {
	char name[112];
	json_t *v;
};

/* The vector's input of `role`: its checked path (NULL if it has no file),
 * and the object itself. */
static char *input(json_t *v, const char *role, json_t **ret)
{
	json_t *in;
	size_t i;
	json_array_foreach(json_object_get(v, "inputs"), i, in) {
		if (strcmp(json_string_value(json_object_get(in, "role")), role))
			continue;
		if (ret)
			*ret = in;
		const char *file = json_string_value(json_object_get(in, "file"));
		if (!file)
			return NULL;
		char *p = NULL;
		assert_true(asprintf(&p, "%s/%s", t_shared(), file) > 0);
		t_check_input(p, json_string_value(json_object_get(in, "sha256")));
		return p;
	}
	fail_msg("vector has no input with role %s", role);
	return NULL;
}

static void run_vector(void **state)
{
	struct vector *vec = *state;
	json_t *v = vec->v, *params = json_object_get(v, "params");
	json_t *outputs = json_object_get(v, "outputs");
	bool direct = !strcmp(json_string_value(json_object_get(v, "kind")), "direct-boot");
	char *fw = input(v, "firmware", NULL), *kernel = NULL, *initrd = NULL, *tables = NULL;
	char *dir = t_tmpdir(), *evpath = NULL, mem[32];
	char *argv[40];
	int n = 0;
	argv[n++] = (char *)t_bin();
	argv[n++] = "measure";
	argv[n++] = "tdx";
	argv[n++] = "--ovmf";
	argv[n++] = fw;
	/* The order is the first word ("two-pass (only mode implemented)"). */
	char order[32];
	snprintf(order, sizeof(order), "%s",
		 json_string_value(json_object_get(params, "page_add_order")));
	order[strcspn(order, " ")] = '\0';
	argv[n++] = "--page-order";
	argv[n++] = order;
	if (direct) {
		json_t *args = json_object_get(v, "args");
		kernel = input(v, "kernel", NULL);
		json_t *ini;
		initrd = t_shared_file("inputs/initrd-tiny.cpio");
		input(v, "initrd", &ini);
		t_check_input(initrd, json_string_value(json_object_get(ini, "sha256")));
		tables = input(v, "acpi_tables", NULL);
		snprintf(mem, sizeof(mem), "%lld",
			 (long long)json_integer_value(json_object_get(params, "memory_bytes")));
		assert_true(asprintf(&evpath, "%s/events.jsonl", dir) > 0);
		argv[n++] = "--kernel";
		argv[n++] = kernel;
		argv[n++] = "--initrd";
		argv[n++] = initrd;
		argv[n++] = "--append";
		argv[n++] = (char *)json_string_value(json_object_get(args, "cmdline"));
		argv[n++] = "--memory";
		argv[n++] = mem;
		argv[n++] = "--acpi-tables";
		argv[n++] = tables;
		argv[n++] = "--ovmf-layout";
		argv[n++] = (char *)json_string_value(json_object_get(params, "ovmf_event_layout"));
		argv[n++] = json_is_true(json_object_get(params, "qemu_kernel_header_patch")) ?
			    "--qemu-kernel-patch" : "--no-qemu-kernel-patch";
		argv[n++] = json_is_true(json_object_get(params, "linux_stub_measures_into_cc")) ?
			    "--stub-cc" : "--no-stub-cc";
		argv[n++] = "--eventlog";
		argv[n++] = evpath;
	}
	argv[n++] = "--json";
	argv[n] = NULL;
	struct run r = t_run(argv);
	t_assert_clean_exit(&r, 0);
	json_error_t err;
	json_t *got = json_loads(r.out, 0, &err);
	assert_non_null(got);
	const char *key;
	json_t *want;
	json_object_foreach(outputs, key, want) {
		json_t *g = json_object_get(got, key);
		if (!g || strcmp(json_string_value(g), json_string_value(want)))
			fail_msg("%s: %s is %s, want %s", vec->name, key,
				 g ? json_string_value(g) : "(missing)", json_string_value(want));
	}
	if (!direct) {
		assert_null(json_object_get(got, "rtmr0"));   /* MRTD alone */
	} else {
		/* The derived ACPI blobs are the ones the vector lists. */
		json_t *gp = json_object_get(got, "params"), *in;
		static const char *const blobs[][2] = { { "acpi_rsdp", "acpi_rsdp" },
							{ "acpi_table_loader", "acpi_table_loader" } };
		for (size_t i = 0; i < 2; i++) {
			input(v, blobs[i][0], &in);
			assert_string_equal(json_string_value(json_object_get(json_object_get(gp, blobs[i][1]), "sha384")),
					    json_string_value(json_object_get(in, "sha384")));
		}
		/* Every event, in log order. */
		char *log = t_slurp(evpath, NULL), *line = log;
		json_t *ev;
		size_t i;
		json_array_foreach(json_object_get(v, "events"), i, ev) {
			assert_non_null(line);
			json_t *e = json_loads(line, JSON_DISABLE_EOF_CHECK, &err);
			assert_non_null(e);
			static const char *const keys[] = { "rtmr", "mr_index", "type", "digest" };
			for (size_t k = 0; k < 4; k++)
				if (!json_equal(json_object_get(e, keys[k]), json_object_get(ev, keys[k])))
					fail_msg("%s: event %zu differs in %s", vec->name, i + 1, keys[k]);
			json_decref(e);
			line = strchr(line, '\n');
			line = line && line[1] ? line + 1 : NULL;
		}
		assert_null(line);
		free(log);
		/* The plain output: one line per register, the same values. */
		argv[n - 1] = NULL;
		t_run_free(&r);
		r = t_run(argv);
		t_assert_clean_exit(&r, 0);
		char plain[1024];
		snprintf(plain, sizeof(plain), "mrtd %s\nrtmr0 %s\nrtmr1 %s\nrtmr2 %s\nrtmr3 %s\n",
			 json_string_value(json_object_get(outputs, "mrtd")),
			 json_string_value(json_object_get(outputs, "rtmr0")),
			 json_string_value(json_object_get(outputs, "rtmr1")),
			 json_string_value(json_object_get(outputs, "rtmr2")),
			 json_string_value(json_object_get(outputs, "rtmr3")));
		assert_string_equal(r.out, plain);
	}
	json_decref(got);
	t_run_free(&r);
	free(fw);
	free(kernel);
	free(initrd);
	free(tables);
	free(evpath);
	t_rmrf(dir);
	free(dir);
}

static void no_vectors(void **state)
{
	(void)state;
	printf("# SKIP reason: %s/vectors/tdx.jsonl not found; the known-answer vectors live in "
	       "../shared, which is reference material that may be absent\n", t_shared());
	skip();
}

/* ---- behaviour ---- */

static struct run tdx(const char *a0, const char *a1, const char *a2, const char *a3,
		      const char *a4, const char *a5, const char *a6, const char *a7)
{
	char *argv[] = { (char *)t_bin(), "measure", "tdx", (char *)a0, (char *)a1, (char *)a2,
			 (char *)a3, (char *)a4, (char *)a5, (char *)a6, (char *)a7, NULL };
	return t_run(argv);
}

static void usage_fails(struct run r, const char *needle)
{
	t_assert_clean_exit(&r, 2);
	if (!strstr(r.err, needle))
		fail_msg("stderr lacks '%s':\n%s", needle, r.err);
	assert_string_equal(r.out, "");
	t_run_free(&r);
}

static void test_usage(void **state)
{
	(void)state;
	usage_fails(tdx("--kernel", "k", NULL, NULL, NULL, NULL, NULL, NULL), "--ovmf");
	usage_fails(tdx("--ovmf", "f", "--initrd", "i", NULL, NULL, NULL, NULL), "--initrd needs --kernel");
	usage_fails(tdx("--ovmf", "f", "--kernel", "k", "--memory", "2X", NULL, NULL), "--memory");
	usage_fails(tdx("--ovmf", "f", "--kernel", "k", "--memory", "1000", NULL, NULL), "--memory");
	usage_fails(tdx("--ovmf", "f", "--kernel", "k", "--ovmf-layout", "edk2-2025.05", NULL, NULL),
		    "not modelled");
	usage_fails(tdx("--ovmf", "f", "--kernel", "k", "--ovmf-release", "2025.05", NULL, NULL),
		    "newer than the modelled");
	usage_fails(tdx("--ovmf", "f", "--kernel", "k", "--eventlog", "x", NULL, NULL),
		    "--acpi-tables");
	/* The release is read from the image: one without a version string or
	 * drivers to bound it leaves QEMU 10.0's rule open. */
	char *dir = t_tmpdir(), *blank = t_write(dir, "blank.fd", (uint8_t[4096]){ 0 }, 4096);
	usage_fails(tdx("--ovmf", blank, "--kernel", "k", "--qemu-version", "10.0", NULL, NULL),
		    "--ovmf-release");
	t_rmrf(dir);
	free(blank);
	free(dir);
	usage_fails(tdx("--ovmf", "f", "--kernel", "k", "--ovmf-layout", "edk2-pre-2024.11",
			"--ovmf-release", "2025.02"), "contradicts");
	usage_fails(tdx("--ovmf", "f", "--page-order", "three-pass", NULL, NULL, NULL, NULL),
		    "invalid choice");
	struct run r = tdx("--help", NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "--qemu-version"));
	t_run_free(&r);
	r = tdx("--ovmf", "/nonexistent/OVMF.fd", NULL, NULL, NULL, NULL, NULL, NULL);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "/nonexistent/OVMF.fd"));
	t_run_free(&r);
}

struct real {
	char *fw, *kernel, *initrd, *t1g, *t2g;
};

static bool real(struct real *r)
{
	r->fw = t_shared_file("inputs/OVMF.trixie.fd");
	r->kernel = r->fw ? t_shared_file("inputs/vmlinuz-6.1.0-50") : NULL;
	r->initrd = r->kernel ? t_shared_file("inputs/initrd-tiny.cpio") : NULL;
	r->t1g = r->initrd ? t_shared_file("fixtures/tdx-upstream/quex-acpi-tables-1cpu-1024M-1disk.bin") : NULL;
	r->t2g = r->t1g ? t_shared_file("fixtures/tdx-upstream/quex-acpi-tables-1cpu-2048M-1disk.bin") : NULL;
	return r->t2g != NULL;
}

static void real_free(struct real *r)
{
	free(r->fw);
	free(r->kernel);
	free(r->initrd);
	free(r->t1g);
	free(r->t2g);
}

static json_t *params_of(struct run *r)
{
	t_assert_clean_exit(r, 0);
	json_error_t err;
	json_t *o = json_loads(r->out, 0, &err);
	assert_non_null(o);
	return o;
}

static void test_rule_on_the_command_line(void **state)
{
	(void)state;
	struct real in;
	if (!real(&in)) {
		real_free(&in);
		skip();
	}
	static const struct { const char *qemu, *rel; bool patched; } cases[] = {
		{ "9.2", NULL, true }, { "10.2", NULL, false }, { "10.0", "2025.02", false },
		/* The release is read from the image (2025.02), so QEMU 10.1 is decided. */
		{ "10.1", NULL, false }, { "8.2.2", "edk2-stable202502", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = tdx("--ovmf", in.fw, "--kernel", in.kernel, "--qemu-version",
				   cases[i].qemu, "--json", cases[i].rel ? "--ovmf-release" : NULL);
		if (cases[i].rel) {
			t_run_free(&r);
			char *argv[] = { (char *)t_bin(), "measure", "tdx", "--ovmf", in.fw, "--kernel",
					 in.kernel, "--qemu-version", (char *)cases[i].qemu,
					 "--ovmf-release", (char *)cases[i].rel, "--json", NULL };
			r = t_run(argv);
		}
		json_t *o = params_of(&r), *p = json_object_get(o, "params");
		assert_int_equal(json_is_true(json_object_get(p, "qemu_kernel_header_patch")),
				 cases[i].patched);
		assert_non_null(strstr(json_string_value(json_object_get(p, "qemu_kernel_header_patch_source")),
				       cases[i].qemu));
		/* Without tables: RTMR0 is null and says why; RTMR1..3 are there. */
		assert_true(json_is_null(json_object_get(o, "rtmr0")));
		assert_non_null(json_string_value(json_object_get(o, "rtmr1")));
		assert_non_null(json_object_get(p, "rtmr0_not_computed"));
		json_decref(o);
		t_run_free(&r);
	}
	/* An explicit flag overrides the rule. */
	char *argv[] = { (char *)t_bin(), "measure", "tdx", "--ovmf", in.fw, "--kernel", in.kernel,
			 "--qemu-version", "10.2", "--qemu-kernel-patch", "--json", NULL };
	struct run r = t_run(argv);
	json_t *o = params_of(&r), *p = json_object_get(o, "params");
	assert_true(json_is_true(json_object_get(p, "qemu_kernel_header_patch")));
	assert_string_equal(json_string_value(json_object_get(p, "qemu_kernel_header_patch_source")),
			    "--qemu-kernel-patch");
	/* Defaults are printed, never silent. */
	assert_string_equal(json_string_value(json_object_get(p, "memory_source")), "default");
	assert_int_equal(json_integer_value(json_object_get(p, "memory_bytes")), 2ll << 30);
	assert_string_equal(json_string_value(json_object_get(p, "ovmf_event_layout_source")),
			    "firmware release 2025.02");
	assert_string_equal(json_string_value(json_object_get(p, "ovmf_release_source")),
			    "firmware: version string '2025.02-8+deb13u1' in Tcg2Pei");
	json_decref(o);
	t_run_free(&r);
	/* A release that the image contradicts is refused, naming both. */
	char *argv2[] = { (char *)t_bin(), "measure", "tdx", "--ovmf", in.fw, "--kernel", in.kernel,
			  "--qemu-version", "10.1", "--ovmf-release", "2024.11", NULL };
	r = t_run(argv2);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "--ovmf-release 2024.11 contradicts firmware"));
	assert_non_null(strstr(r.err, "'2025.02-8+deb13u1'"));
	t_run_free(&r);
	real_free(&in);
}

/* The deliberate mistake users make: a log predicted for 2 GiB, a TD that
 * ran with 1 GiB. `eventlog diff` must point at the TD HOB and the memory
 * size. */
static void test_diff_wrong_memory(void **state)
{
	(void)state;
	struct real in;
	if (!real(&in)) {
		real_free(&in);
		skip();
	}
	char *dir = t_tmpdir(), *expected = NULL, *actual = NULL;
	assert_true(asprintf(&expected, "%s/expected.ccel", dir) > 0);
	assert_true(asprintf(&actual, "%s/actual.ccel", dir) > 0);
	char *a1[] = { (char *)t_bin(), "measure", "tdx", "--ovmf", in.fw, "--kernel", in.kernel,
		       "--initrd", in.initrd, "--memory", "2G", "--acpi-tables", in.t2g, "--ccel",
		       expected, NULL };
	struct run r = t_run(a1);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *a2[] = { (char *)t_bin(), "measure", "tdx", "--ovmf", in.fw, "--kernel", in.kernel,
		       "--initrd", in.initrd, "--memory", "1024M", "--acpi-tables", in.t2g, "--ccel",
		       actual, NULL };
	r = t_run(a2);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *d[] = { (char *)t_bin(), "eventlog", "diff", expected, actual, NULL };
	r = t_run(d);
	t_assert_clean_exit(&r, 3);
	if (!strstr(r.out, "EV_EFI_HANDOFF_TABLES2") || !strstr(r.out, "memory"))
		fail_msg("diff does not name the TD HOB and the memory size:\n%s", r.out);
	t_run_free(&r);
	/* The same log against itself agrees. */
	char *same[] = { (char *)t_bin(), "eventlog", "diff", expected, expected, NULL };
	r = t_run(same);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	/* Replaying the written CCEL gives the registers measure printed. */
	char *a3[] = { (char *)t_bin(), "measure", "tdx", "--ovmf", in.fw, "--kernel", in.kernel,
		       "--initrd", in.initrd, "--memory", "2G", "--acpi-tables", in.t2g, NULL };
	r = t_run(a3);
	t_assert_clean_exit(&r, 0);
	char *rp[] = { (char *)t_bin(), "eventlog", "replay", expected, NULL };
	struct run r2 = t_run(rp);
	t_assert_clean_exit(&r2, 0);
	assert_string_equal(r2.out, strchr(r.out, '\n') + 1);   /* all but the mrtd line */
	t_run_free(&r2);
	t_run_free(&r);
	free(expected);
	free(actual);
	t_rmrf(dir);
	free(dir);
	real_free(&in);
}

/* A failing run leaves no output file and does not touch an existing one. */
static void test_no_partial_output(void **state)
{
	(void)state;
	struct real in;
	if (!real(&in)) {
		real_free(&in);
		skip();
	}
	char *dir = t_tmpdir();
	char *out = t_write(dir, "keep.ccel", "old", 3);
	char *fresh = NULL;
	assert_true(asprintf(&fresh, "%s/new.jsonl", dir) > 0);
	char *a[] = { (char *)t_bin(), "measure", "tdx", "--ovmf", in.fw, "--kernel", in.kernel,
		      "--initrd", "/nonexistent/initrd", "--acpi-tables", in.t2g, "--ccel", out,
		      "--eventlog", fresh, NULL };
	struct run r = t_run(a);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "/nonexistent/initrd"));
	assert_string_equal(r.out, "");
	size_t n;
	char *kept = t_slurp(out, &n);
	assert_int_equal(n, 3);
	free(kept);
	struct stat st;
	assert_int_not_equal(stat(fresh, &st), 0);
	t_run_free(&r);
	/* An unwritable destination is an error, not a crash or a stray file. */
	char *a2[] = { (char *)t_bin(), "measure", "tdx", "--ovmf", in.fw, "--kernel", in.kernel,
		       "--acpi-tables", in.t2g, "--ccel", "/nonexistent/dir/x.ccel", NULL };
	r = t_run(a2);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "/nonexistent/dir/x.ccel"));
	t_run_free(&r);
	free(out);
	free(fresh);
	t_rmrf(dir);
	free(dir);
	real_free(&in);
}

int main(void)
{
	struct CMUnitTest *tests = calloc(64, sizeof(*tests));
	struct vector *vecs = calloc(48, sizeof(*vecs));
	size_t n = 0;
	char *path = NULL;
	if (asprintf(&path, "%s/vectors/tdx.jsonl", t_shared()) < 0)
		return 1;
	FILE *fp = fopen(path, "r");
	free(path);
	if (fp) {
		char *line = NULL;
		size_t cap = 0;
		while (getline(&line, &cap, fp) > 0 && n < 48) {
			json_error_t err;
			json_t *v = json_loads(line, 0, &err);
			if (!v) {
				fprintf(stderr, "tdx.jsonl: bad JSON: %s\n", err.text);
				return 1;
			}
			vecs[n].v = v;
			snprintf(vecs[n].name, sizeof(vecs[n].name), "tdx.jsonl:%s",
				 json_string_value(json_object_get(v, "id")));
			tests[n] = (struct CMUnitTest){ vecs[n].name, run_vector, NULL, NULL, &vecs[n] };
			n++;
		}
		free(line);
		fclose(fp);
	} else {
		tests[n++] = (struct CMUnitTest){ "tdx.jsonl", no_vectors, NULL, NULL, NULL };
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_usage);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_rule_on_the_command_line);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_diff_wrong_memory);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_no_partial_output);
	int rc = _cmocka_run_group_tests("tdx-cli", tests, n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		if (tests[i].initial_state)
			json_decref(((struct vector *)tests[i].initial_state)->v);
	free(vecs);
	free(tests);
	return rc;
}
