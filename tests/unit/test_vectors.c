/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The known-answer vectors of ../shared/vectors/snp*.jsonl, one test per
 * line, run through the command line exactly as a pipeline would:
 *   - digest lines through `cvmforge measure snp`, output byte-identical;
 *   - error lines through the `sev-snp-measure` name (same exit code and the
 *     same last stderr line) and through `cvmforge measure snp` (same exit
 *     code and message after the program name).
 * Every input's sha256 is checked against the vector first, so a wrong file
 * can never pass or fail silently.
 */
#include <jansson.h>
#include <libgen.h>

#include "tests/unit/testlib.h"

struct vector {
	char name[96];
	json_t *v;
};

static const char *const file_opts[] = { "--ovmf", "--kernel", "--initrd", "--svsm", "--vars-file" };

static char *locate(const char *name)
{
	static const char *const dirs[] = { "inputs", "fixtures/snp-upstream" };
	for (size_t i = 0; i < 2; i++) {
		char *p = NULL;
		assert_true(asprintf(&p, "%s/%s/%s", t_shared(), dirs[i], name) > 0);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	fail_msg("vector input '%s' not found under %s", name, t_shared());
	return NULL;
}

/* argv = prefix... + the vector's args with file names resolved. */
static char **build_argv(json_t *v, const char *const *prefix, size_t np, char ***owned, size_t *n_owned)
{
	json_t *args = json_object_get(v, "args"), *inputs = json_object_get(v, "inputs");
	size_t n = json_array_size(args);
	char **argv = calloc(np + n + 1, sizeof(char *));
	*owned = calloc(n + 1, sizeof(char *));
	*n_owned = 0;
	for (size_t i = 0; i < np; i++)
		argv[i] = (char *)prefix[i];
	for (size_t i = 0; i < n; i++) {
		const char *a = json_string_value(json_array_get(args, i));
		argv[np + i] = (char *)a;
		if (i == 0)
			continue;
		const char *prev = json_string_value(json_array_get(args, i - 1));
		for (size_t k = 0; k < sizeof(file_opts) / sizeof(file_opts[0]); k++)
			if (!strcmp(prev, file_opts[k])) {
				char *p = locate(a);
				json_t *sha = json_object_get(inputs, a);
				if (sha)
					t_check_input(p, json_string_value(sha));
				argv[np + i] = p;
				(*owned)[(*n_owned)++] = p;
			}
	}
	return argv;
}

static void free_argv(char **argv, char **owned, size_t n_owned)
{
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(owned);
	free(argv);
}

static char *sibling(const char *bin, const char *name)
{
	char *copy = strdup(bin), *p = NULL;
	assert_true(asprintf(&p, "%s/%s", dirname(copy), name) > 0);
	free(copy);
	return p;
}

static void run_vector(void **state)
{
	struct vector *vec = *state;
	json_t *v = vec->v;
	const char *bin = t_bin();
	char **owned;
	size_t n_owned;
	const char *measure_prefix[] = { bin, "measure", "snp" };
	char **argv = build_argv(v, measure_prefix, 3, &owned, &n_owned);
	json_t *digest = json_object_get(v, "digest");
	struct run r = t_run(argv);
	if (digest) {
		char want[200];
		snprintf(want, sizeof(want), "%s\n", json_string_value(digest));
		t_assert_clean_exit(&r, 0);
		assert_string_equal(r.out, want);
	} else {
		int code = (int)json_integer_value(json_object_get(v, "exit_code"));
		const char *line = json_string_value(json_object_get(v, "stderr_last_line"));
		t_assert_clean_exit(&r, code);
		/* Same message; the program name is ours. */
		const char *msg = strstr(line, "error: ") ? strstr(line, "error: ") : line;
		assert_non_null(strstr(t_last_line(r.err), msg));
		t_run_free(&r);

		/* Under the sev-snp-measure name: the very same last line. */
		char *compat = sibling(bin, "sev-snp-measure");
		const char *compat_prefix[] = { compat };
		free_argv(argv, owned, n_owned);
		argv = build_argv(v, compat_prefix, 1, &owned, &n_owned);
		r = t_run(argv);
		t_assert_clean_exit(&r, code);
		assert_string_equal(t_last_line(r.err), line);
		free(compat);
	}
	t_run_free(&r);
	free_argv(argv, owned, n_owned);
}

static void no_vectors(void **state)
{
	(void)state;
	printf("# SKIP reason: %s/vectors not found; the known-answer vectors live in ../shared, "
	       "which is reference material that may be absent\n", t_shared());
	skip();
}

int main(void)
{
	static const char *const files[] = { "snp.jsonl", "snp-upstream.jsonl", "snp-errors.jsonl" };
	struct CMUnitTest *tests = NULL;
	struct vector *vecs = NULL;
	size_t n = 0, cap = 0;
	for (size_t f = 0; f < 3; f++) {
		char *path = NULL;
		if (asprintf(&path, "%s/vectors/%s", t_shared(), files[f]) < 0)
			return 1;
		FILE *fp = fopen(path, "r");
		free(path);
		if (!fp)
			continue;
		char *line = NULL;
		size_t lcap = 0;
		int lineno = 0;
		while (getline(&line, &lcap, fp) > 0) {
			lineno++;
			json_error_t err;
			json_t *v = json_loads(line, 0, &err);
			if (!v) {
				fprintf(stderr, "%s:%d: bad JSON: %s\n", files[f], lineno, err.text);
				return 1;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 128;
				vecs = realloc(vecs, cap * sizeof(*vecs));
			}
			snprintf(vecs[n].name, sizeof(vecs[n].name), "%s:%d", files[f], lineno);
			vecs[n].v = v;
			n++;
		}
		free(line);
		fclose(fp);
	}
	tests = calloc(n ? n : 1, sizeof(*tests));
	for (size_t i = 0; i < n; i++) {
		tests[i].name = vecs[i].name;
		tests[i].test_func = run_vector;
		tests[i].initial_state = &vecs[i];
	}
	if (n == 0) {
		tests[0].name = "vectors";
		tests[0].test_func = no_vectors;
		n = 1;
	}
	int r = _cmocka_run_group_tests("vectors", tests, n, NULL, NULL);
	for (size_t i = 0; vecs && i < n; i++)
		json_decref(vecs[i].v);
	free(vecs);
	free(tests);
	return r;
}
