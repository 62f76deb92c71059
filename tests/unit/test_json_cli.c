/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON the verbs print and read, through the CLI on the ../shared inputs:
 * one rendering of a cmdline in measure snp, tdx and tpm (issue 10 defect 6),
 * and verify refusing a manifest.json or measurements.json that does not have
 * its documented shape (defect 14), naming the file and the JSON path, and a
 * missing manifest.json as "cannot open", not "manifest.json:-1:-1:".
 */
#include <jansson.h>

#include "testlib.h"

#define RUN(...) t_run((char *[]){ (char *)t_bin(), __VA_ARGS__, NULL })

struct fx {
	char *amdsev, *ovmf, *code4m, *kernel;
	char *dir;
};

static char *shared_abs(const char *rel)
{
	char *p = t_shared_file(rel);
	if (!p)
		return NULL;
	char *abs = realpath(p, NULL);
	free(p);
	return abs;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->amdsev = shared_abs("inputs/OVMF.amdsev.fd");
	f->ovmf = shared_abs("inputs/OVMF.fd");
	f->code4m = shared_abs("inputs/OVMF_CODE_4M.fd");
	f->kernel = shared_abs("inputs/vmlinuz-6.1.0-50");
	f->dir = t_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	t_rmrf(f->dir);
	free(f->dir);
	free(f->amdsev);
	free(f->ovmf);
	free(f->code4m);
	free(f->kernel);
	free(f);
	return 0;
}

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DISABLE_EOF_CHECK, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.text, s);
	return j;
}

/* {"value": want_value (NULL: null), "hex": want_hex, ...} */
static void check_cmdline(const json_t *c, const char *want_value, const char *want_hex)
{
	if (!json_is_object(c))
		fail_msg("no cmdline object");
	json_t *v = json_object_get(c, "value");
	if (want_value) {
		assert_true(json_is_string(v));
		assert_string_equal(json_string_value(v), want_value);
	} else {
		assert_true(json_is_null(v));
	}
	assert_string_equal(json_string_value(json_object_get(c, "hex")), want_hex);
}

static const struct { const char *append, *value, *hex; } CMDLINES[] = {
	{ "ro \xff", NULL, "726f20ff" },			/* not UTF-8 */
	{ "ro caf\xc3\xa9", "ro caf\xc3\xa9", "726f20636166c3a9" },
	{ "a \xc3", NULL, "6120c3" },			/* truncated UTF-8 sequence */
	{ "", "", "" },
};

static void test_cmdline_every_verb(void **state)
{
	struct fx *f = *state;
	if (!f->amdsev || !f->ovmf || !f->code4m || !f->kernel)
		skip();
	for (size_t i = 0; i < sizeof(CMDLINES) / sizeof(CMDLINES[0]); i++) {
		char *ap = (char *)CMDLINES[i].append;
		/* snp, one digest: this said "Error: out of memory" for invalid UTF-8 */
		struct run r = RUN("measure", "snp", "--mode", "snp", "--vcpus", "1", "--vcpu-type",
				   "EPYC-v4", "--ovmf", f->amdsev, "--kernel", f->kernel, "--append", ap,
				   "--json");
		t_assert_clean_exit(&r, 0);
		json_t *j = parse(r.out);
		json_t *c = json_object_get(j, "cmdline");
		check_cmdline(c, CMDLINES[i].value, CMDLINES[i].hex);
		uint8_t d[32];
		char hex[65];
		t_sha256(ap, strlen(ap) + 1, d);   /* measured with its NUL, as QEMU passes it */
		cvmf_hex(d, 32, hex);
		assert_string_equal(json_string_value(json_object_get(c, "sha256")), hex);
		json_decref(j);
		t_run_free(&r);

		/* snp, a matrix: every line */
		r = RUN("measure", "snp", "--mode", "snp", "--vcpus", "1,2", "--vcpu-type", "EPYC-v4",
			"--ovmf", f->amdsev, "--kernel", f->kernel, "--append", ap, "--json");
		t_assert_clean_exit(&r, 0);
		size_t lines = 0;
		for (char *line = r.out; *line; lines++) {
			j = parse(line);
			check_cmdline(json_object_get(j, "cmdline"), CMDLINES[i].value, CMDLINES[i].hex);
			json_decref(j);
			line = strchr(line, '\n');
			assert_non_null(line);
			line++;
		}
		assert_int_equal(lines, 2);
		t_run_free(&r);

		r = RUN("measure", "tdx", "--ovmf", f->ovmf, "--kernel", f->kernel, "--append", ap,
			"--json");
		t_assert_clean_exit(&r, 0);
		j = parse(r.out);
		check_cmdline(json_object_get(json_object_get(j, "params"), "cmdline"),
			      CMDLINES[i].value, CMDLINES[i].hex);
		json_decref(j);
		t_run_free(&r);

		r = RUN("measure", "tpm", "--ovmf", f->code4m, "--kernel", f->kernel, "--append", ap,
			"--json");
		t_assert_clean_exit(&r, 0);
		j = parse(r.out);
		check_cmdline(json_object_get(json_object_get(j, "params"), "cmdline"),
			      CMDLINES[i].value, CMDLINES[i].hex);
		json_decref(j);
		t_run_free(&r);
	}
}

/* A file name that is not UTF-8: "path" is null, not left out. */
static void test_path_not_utf8(void **state)
{
	struct fx *f = *state;
	if (!f->amdsev || !f->ovmf || !f->kernel)
		skip();
	char *sev = NULL, *tdx = NULL;
	assert_true(asprintf(&sev, "%s/sev\xff.fd", f->dir) > 0);
	assert_true(asprintf(&tdx, "%s/tdx\xff.fd", f->dir) > 0);
	struct run r = t_sh("cp '%s' '%s' && cp '%s' '%s'", f->amdsev, sev, f->ovmf, tdx);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	r = RUN("measure", "snp", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4",
		"--ovmf", sev, "--json");
	t_assert_clean_exit(&r, 0);
	json_t *j = parse(r.out);
	json_t *o = json_object_get(j, "ovmf");
	assert_non_null(json_object_get(o, "path"));
	assert_true(json_is_null(json_object_get(o, "path")));
	assert_int_equal(json_integer_value(json_object_get(o, "size")), 4194304);
	json_decref(j);
	t_run_free(&r);
	r = RUN("measure", "tdx", "--ovmf", tdx, "--kernel", f->kernel, "--json");
	t_assert_clean_exit(&r, 0);
	j = parse(r.out);
	o = json_object_get(json_object_get(j, "params"), "firmware");
	assert_non_null(json_object_get(o, "path"));
	assert_true(json_is_null(json_object_get(o, "path")));
	/* and a UTF-8 one is kept */
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "params"),
									 "kernel"), "path")), f->kernel);
	json_decref(j);
	t_run_free(&r);
	free(sev);
	free(tdx);
}

/* Build a small image once (file: inputs, locked) into f->dir/out/t-1. */
static char *build_image(struct fx *f)
{
	char *tree = NULL, *recipe = NULL, *img = NULL;
	assert_true(asprintf(&tree, "%s/rootfs", f->dir) > 0);
	assert_true(asprintf(&recipe, "%s/t.recipe", f->dir) > 0);
	assert_true(asprintf(&img, "%s/out/t-1", f->dir) > 0);
	if (!access(img, F_OK))
		goto out;
	struct run r = t_sh("mkdir -p '%s/etc' && printf '#!/bin/sh\\n' > '%s/init' && "
			    "chmod 755 '%s/init' && echo t > '%s/etc/hostname'", tree, tree, tree, tree);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	FILE *o = fopen(recipe, "w");
	assert_non_null(o);
	fprintf(o, "[image]\nname = t\nversion = 1\nsource-date-epoch = 1700000000\n\n"
		   "[firmware]\nsource = file:%s\nrelease = 2022.11\n\n"
		   "[kernel]\nsource = file:%s\n\n[initrd]\ntree = rootfs\n\n"
		   "[cmdline]\nvalue = console=ttyS0\n\n"
		   "[snp]\nkernel-hashes = no\nvcpus = 1\n\n[tdx]\nmemory = 2G\n",
		f->ovmf, f->kernel);
	fclose(o);
	r = t_sh("'%s' build '%s' -o '%s/out' --lock --quiet", t_bin(), recipe, f->dir);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
out:
	free(tree);
	free(recipe);
	return img;
}

/* A copy of the image with one document edited by `edit`, then verified. */
static struct run verify_edited(struct fx *f, const char *img, const char *doc,
				void (*edit)(json_t *root, const void *arg), const void *arg)
{
	struct run r = t_sh("rm -rf '%s/copy' && cp -a '%s' '%s/copy'", f->dir, img, f->dir);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *path = NULL, *copy = NULL;
	assert_true(asprintf(&copy, "%s/copy", f->dir) > 0);
	assert_true(asprintf(&path, "%s/%s", copy, doc) > 0);
	json_error_t e;
	json_t *root = json_load_file(path, 0, &e);
	assert_non_null(root);
	edit(root, arg);
	assert_int_equal(json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS), 0);
	json_decref(root);
	r = RUN("verify", copy);
	free(path);
	free(copy);
	return r;
}

/* arg: "member=JSON" set at the top level, or "a.b=JSON" one level down */
static void set_member(json_t *root, const void *arg)
{
	char *spec = strdup(arg), *eq = strchr(spec, '=');
	*eq = 0;
	json_error_t e;
	json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, &e);
	assert_non_null(v);
	char *dot = strchr(spec, '.');
	json_t *parent = root;
	if (dot) {
		*dot = 0;
		parent = json_object_get(root, spec);
	}
	json_object_set_new(parent, dot ? dot + 1 : spec, v);
	free(spec);
}

static void del_member(json_t *root, const void *arg)
{
	assert_int_equal(json_object_del(root, arg), 0);
}

static void test_verify_shapes(void **state)
{
	struct fx *f = *state;
	if (!f->ovmf || !f->kernel)
		skip();
	char *img = build_image(f);
	struct run r = RUN("verify", img);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);

	static const struct { const char *doc, *set, *msg; } cases[] = {
		/* the defect: this passed verify */
		{ "manifest.json", "inputs=5", "manifest.json: inputs: expected an array, got an integer" },
		{ "manifest.json", "inputs=[{\"role\": \"kernel\"}]", "manifest.json: inputs[0]: missing member 'source'" },
		{ "manifest.json", "recipe.sha256=\"00\"",
		  "manifest.json: recipe.sha256: expected 64 lowercase hex digits, got 2 characters" },
		{ "manifest.json", "tools=[]", "manifest.json: tools: expected an object, got an array" },
		{ "manifest.json", "source-date-epoch=-1", "manifest.json: source-date-epoch: -1 is negative" },
		{ "manifest.json", "kernel.release=null",
		  "manifest.json: kernel.release: expected a string, got null" },
		{ "manifest.json", "outputs={\"vmlinuz\": {\"size\": 1, \"sha256\": 1}}",
		  "manifest.json: outputs.vmlinuz.sha256: expected a string, got an integer" },
		{ "manifest.json", "format=\"other/2\"", "manifest.json: format is 'other/2'" },
		{ "measurements.json", "snp.measurements={}",
		  "measurements.json: snp.measurements: expected an array, got an object" },
		{ "measurements.json", "tdx.warnings=[1]",
		  "measurements.json: tdx.warnings[0]: expected a string, got an integer" },
		{ "measurements.json", "files=5", "measurements.json: files: expected an object, got an integer" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = verify_edited(f, img, cases[i].doc, set_member, cases[i].set);
		if (r.status != 1 || !strstr(r.err, cases[i].msg))
			fail_msg("%s %s: exit %d, %s", cases[i].doc, cases[i].set, r.status, r.err);
		t_run_free(&r);
	}
	r = verify_edited(f, img, "manifest.json", del_member, "outputs");
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "Error: manifest.json: missing member 'outputs'"));
	t_run_free(&r);

	/* No manifest at all: a plain "cannot open", no "-1:-1". */
	r = t_sh("rm -rf '%s/copy' && cp -a '%s' '%s/copy' && rm '%s/copy/manifest.json' && "
		 "'%s' verify '%s/copy'", f->dir, img, f->dir, f->dir, t_bin(), f->dir);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "Error: cannot open manifest.json '"));
	assert_non_null(strstr(r.err, "No such file or directory"));
	assert_null(strstr(r.err, ":-1:-1:"));
	t_run_free(&r);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline_every_verb),
		cmocka_unit_test(test_path_not_utf8),
		cmocka_unit_test(test_verify_shapes),
	};
	return cmocka_run_group_tests_name("json_cli", tests, setup, teardown);
}
