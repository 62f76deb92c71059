/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The real-boot oracle for `cvmforge measure tpm` (docs: vtpm.md §3, §4, §9).
 *
 * Each case builds the dump initrd (tests/boot/mkinitrd with Debian's static
 * busybox), boots Debian 12's kernel under QEMU (TCG) + Debian 12's OVMF +
 * swtpm (tests/boot/boot.sh), and checks
 *   (a) the event log read back from the guest replays to the sysfs PCRs
 *       (this checks the oracle itself), and /proc/cmdline is the -append
 *       string plus " initrd=initrd";
 *   (b) every PCR `measure tpm` predicts (1-7 and 9, sha256 and sha384)
 *       equals the sysfs value;
 *   (c) the predicted log and the real one agree event by event for PCR1-7
 *       and PCR9 (`eventlog diff --ignore 0`; PCR0 is not predictable).
 * Boots run one after another; each one's wall time is printed.
 *
 * Environment: CVMFORGE_BIN, SHARED (the kernel is SHARED/inputs/vmlinuz),
 * MKINITRD (build/tests/mkinitrd), BUSYBOX (/bin/busybox), BOOT_SH
 * (tests/boot/boot.sh), BOOT_BUDGET (seconds for all boots, default 1500),
 * OVMF_CODE_4M, OVMF_VARS_4M, OVMF_2M (Debian's paths; passed on to boot.sh),
 * KEEP_BOOT_DIRS (set: keep the run directories even when all passed),
 * BOOT_FILTER (a cmocka test-name pattern: run only the matching cases).
 * Not run under the sanitizer build (the Makefile leaves it out there too).
 */
#include <elf.h>
#include <jansson.h>
#include <time.h>

#include "tests/unit/testlib.h"

struct bcase {
	const char *name;
	const char *firmware; /* pflash4m | bios2m */
	const char *machine;  /* q35 | pc */
	unsigned memory;      /* MiB */
	const char *append;
	bool pad;             /* the initrd with the 3000000-byte pad file */
};

#define BASE_APPEND "console=ttyS0 loglevel=3"

static const struct bcase CASES[] = {
	{ "pflash4m-q35-1024", "pflash4m", "q35", 1024, BASE_APPEND, false },
	{ "pflash4m-q35-2815", "pflash4m", "q35", 2815, BASE_APPEND, false },
	{ "pflash4m-q35-4096", "pflash4m", "q35", 4096, BASE_APPEND, false },
	/* UTF-8 "grüß" (LoadOptions widen bytes, vtpm.md §7.5) and quotes. */
	{ "pflash4m-q35-1024-utf8-quotes", "pflash4m", "q35", 1024,
	  BASE_APPEND " x=gr\xc3\xbc\xc3\x9f baz=\"a b\"", false },
	{ "pflash4m-q35-1024-pad3000000", "pflash4m", "q35", 1024, BASE_APPEND, true },
	{ "bios2m-q35-2048", "bios2m", "q35", 2048, BASE_APPEND, false },
	{ "pflash4m-pc-4096", "pflash4m", "pc", 4096, BASE_APPEND, false },
};
#define NCASES (sizeof(CASES) / sizeof(CASES[0]))
#define PAD_BYTES "3000000"

/* The banks swtpm is set up with (boot.sh: --pcr-banks sha256,sha384). */
static const char *const BANKS[] = { "sha256", "sha384" };
/* The PCRs whose events are predicted. */
static const int PREDICTED[] = { 1, 2, 3, 4, 5, 6, 7, 9 };

static struct {
	char *dir;            /* run directories live here */
	char *skip;           /* why every boot case skips, or NULL */
	char *kernel, *busybox, *mkinitrd, *boot_sh;
	char *initrd, *initrd_pad;
	bool have_measure;    /* `measure tpm` exists */
	bool diff_ignore;     /* `eventlog diff` has --ignore */
	double boot_seconds;  /* all boots so far */
	double budget;
	int started, finished;
} S;

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

static char *abs_path(const char *p)
{
	char buf[4096];
	return strdup(realpath(p, buf) ? buf : p);
}

static void set_skip(const char *fmt, ...)
{
	if (S.skip)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&S.skip, fmt, ap) < 0)
		S.skip = strdup("out of memory");
	va_end(ap);
}

/* A busybox that runs in the initrd must be static: an ELF file without
 * PT_INTERP (Debian's `busybox` package is dynamic, `busybox-static` is not). */
static bool is_static_elf(const char *path)
{
	size_t n;
	char *d = t_slurp(path, &n);
	bool ok = false;
	if (n >= sizeof(Elf64_Ehdr) && !memcmp(d, ELFMAG, SELFMAG) && d[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		memcpy(&eh, d, sizeof(eh));
		ok = true;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			size_t off = eh.e_phoff + (size_t)i * eh.e_phentsize;
			if (off + sizeof(Elf64_Phdr) > n) {
				ok = false;
				break;
			}
			Elf64_Phdr ph;
			memcpy(&ph, d + off, sizeof(ph));
			if (ph.p_type == PT_INTERP)
				ok = false;
		}
	}
	free(d);
	return ok;
}

static struct run run_argv(char *const argv[])
{
	return t_run(argv);
}

static int group_setup(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	S.budget = atof(env_or("BOOT_BUDGET", "1500"));
	if (strstr(t_bin(), "/asan/")) {
		set_skip("boots run once, in the plain run");
		return 0;
	}
	char *k = NULL;
	if (asprintf(&k, "%s/inputs/vmlinuz", t_shared()) < 0)
		return -1;
	if (access(k, R_OK) != 0)
		set_skip("%s not readable (Debian 12's signed 6.1 kernel; ../shared is reference "
			 "material that may be absent)", k);
	S.kernel = abs_path(k);
	free(k);
	S.busybox = abs_path(env_or("BUSYBOX", "/bin/busybox"));
	if (access(S.busybox, R_OK) != 0)
		set_skip("%s not found (Debian package busybox-static)", S.busybox);
	else if (!is_static_elf(S.busybox))
		set_skip("%s is not a static x86-64 ELF (install busybox-static)", S.busybox);
	S.mkinitrd = abs_path(env_or("MKINITRD", "build/tests/mkinitrd"));
	if (access(S.mkinitrd, X_OK) != 0)
		set_skip("%s not built (make build/tests/mkinitrd)", S.mkinitrd);
	S.boot_sh = abs_path(env_or("BOOT_SH", "tests/boot/boot.sh"));
	if (access(S.boot_sh, R_OK) != 0)
		set_skip("%s not found (run from the source tree)", S.boot_sh);
	S.dir = t_tmpdir();
	assert_true(asprintf(&S.initrd, "%s/initrd.cpio", S.dir) > 0);
	assert_true(asprintf(&S.initrd_pad, "%s/initrd-pad.cpio", S.dir) > 0);

	char *argv[] = { (char *)t_bin(), "measure", "tpm", "--help", NULL };
	struct run r = run_argv(argv);
	S.have_measure = r.status == 0;
	t_run_free(&r);
	char *argv2[] = { (char *)t_bin(), "eventlog", "diff", "--help", NULL };
	r = run_argv(argv2);
	S.diff_ignore = strstr(r.out, "--ignore") || strstr(r.err, "--ignore");
	t_run_free(&r);
	printf("# boot runs in %s; measure tpm %s; eventlog diff --ignore %s\n", S.dir,
	       S.have_measure ? "present" : "ABSENT", S.diff_ignore ? "present" : "absent");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (S.dir) {
		printf("# boots: %d started, %d fully checked, %.1f s of boot wall time\n",
		       S.started, S.finished, S.boot_seconds);
		if (S.started == S.finished && !getenv("KEEP_BOOT_DIRS"))
			t_rmrf(S.dir);
		else
			printf("# boot run directories kept in %s\n", S.dir);
	}
	free(S.dir);
	free(S.skip);
	free(S.kernel);
	free(S.busybox);
	free(S.mkinitrd);
	free(S.boot_sh);
	free(S.initrd);
	free(S.initrd_pad);
	return 0;
}

static void skip_all_check(void)
{
	if (S.skip) {
		printf("# SKIP reason: %s\n", S.skip);
		skip();
	}
}

static void mkinitrd(const char *out, const char *pad)
{
	char *argv[] = { S.mkinitrd, S.busybox, (char *)out, (char *)pad, NULL };
	struct run r = run_argv(argv);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
}

/* The two initrds, built once (also when a filter left test_mkinitrd out). */
static void ensure_initrds(void)
{
	if (access(S.initrd, R_OK) != 0)
		mkinitrd(S.initrd, NULL);
	if (access(S.initrd_pad, R_OK) != 0)
		mkinitrd(S.initrd_pad, PAD_BYTES);
}

/* The initrds; two runs of mkinitrd must give identical bytes. */
static void test_mkinitrd(void **state)
{
	(void)state;
	skip_all_check();
	char *again = NULL;
	assert_true(asprintf(&again, "%s/initrd-again.cpio", S.dir) > 0);
	ensure_initrds();
	mkinitrd(again, NULL);
	size_t n1, n2, n3;
	char *a = t_slurp(S.initrd, &n1), *b = t_slurp(again, &n2), *c = t_slurp(S.initrd_pad, &n3);
	printf("# initrd %zu bytes, with pad %zu bytes\n", n1, n3);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	assert_int_equal(n1 % 512, 0);
	assert_int_equal(n3 % 512, 0);
	assert_true(n3 > n1 + 3000000 - 512);
	assert_memory_equal(a, "070701", 6);
	free(a);
	free(b);
	free(c);
	unlink(again);
	free(again);
}

/* ---- PCR tables ---- */
struct pcrs {
	char v[24][2][97]; /* [pcr][bank] lowercase hex, "" if absent */
};

static int bank_index(const char *b)
{
	for (int i = 0; i < 2; i++)
		if (!strcmp(b, BANKS[i]))
			return i;
	return -1;
}

static int reg_index(const char *key)
{
	if (strncmp(key, "pcr", 3))
		return -1;
	char *end;
	long i = strtol(key + 3, &end, 10);
	return *end || end == key + 3 || i < 0 || i > 23 ? -1 : (int)i;
}

static void read_sysfs_pcrs(const char *path, struct pcrs *p)
{
	memset(p, 0, sizeof(*p));
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char reg[16], bank[16], hex[129];
	while (fscanf(f, "%15s %15s %128s", reg, bank, hex) == 3) {
		int r = reg_index(reg), b = bank_index(bank);
		if (r >= 0 && b >= 0 && strlen(hex) < sizeof(p->v[0][0]))
			snprintf(p->v[r][b], sizeof(p->v[r][b]), "%s", hex);
	}
	fclose(f);
}

/* Registers of a JSON object {"pcrN": {"sha256": HEX, "sha384": HEX}, ...}. */
static void json_pcrs(json_t *obj, struct pcrs *p)
{
	memset(p, 0, sizeof(*p));
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		int r = reg_index(key);
		if (r < 0 || !json_is_object(v))
			continue;
		for (int b = 0; b < 2; b++) {
			const char *h = json_string_value(json_object_get(v, BANKS[b]));
			if (h && strlen(h) < sizeof(p->v[0][0]))
				snprintf(p->v[r][b], sizeof(p->v[r][b]), "%s", h);
		}
	}
}

static void print_table(const char *title, const struct pcrs *want, const char *wname,
			const struct pcrs *got, const char *gname)
{
	printf("# %s\n", title);
	for (int r = 0; r < 24; r++)
		for (int b = 0; b < 2; b++) {
			if (!want->v[r][b][0])
				continue;
			bool same = !strcmp(want->v[r][b], got->v[r][b]);
			printf("#   pcr%-2d %s %s %s=%s\n", r, BANKS[b], same ? "ok  " : "DIFF", wname,
			       want->v[r][b]);
			if (!same)
				printf("#                    %*s%s=%s\n", (int)strlen(wname) - (int)strlen(gname),
				       "", gname, got->v[r][b][0] ? got->v[r][b] : "(absent)");
		}
	fflush(stdout);
}

static void print_indented(const char *what, const char *s)
{
	printf("# %s:\n", what);
	const char *p = s;
	while (*p) {
		size_t n = strcspn(p, "\n");
		printf("#   %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	fflush(stdout);
}

/* ---- event-by-event comparison without `eventlog diff --ignore` ---- */
struct ev {
	int reg;
	unsigned long long type;
	char type_name[64];
	long number;
	char dig[2][97];
};

static const char *str_or(const char *s, const char *def)
{
	return s ? s : def;
}

static size_t load_events(const char *log, struct ev **out)
{
	char *argv[] = { (char *)t_bin(), "eventlog", "show", (char *)log, "--json", NULL };
	struct run r = run_argv(argv);
	t_assert_clean_exit(&r, 0);
	size_t n = 0, cap = 64;
	struct ev *evs = calloc(cap, sizeof(*evs));
	assert_non_null(evs);
	/* One JSON object per line (or one array). */
	json_t *all = json_loads(r.out, JSON_DECODE_ANY, NULL);
	json_t *arr = json_is_array(all) ? all : NULL;
	size_t ai = 0;
	char *save = NULL, *line = arr ? NULL : strtok_r(r.out, "\n", &save);
	for (;;) {
		json_t *e;
		if (arr) {
			if (ai >= json_array_size(arr))
				break;
			e = json_incref(json_array_get(arr, ai++));
		} else {
			if (!line)
				break;
			e = json_loads(line, 0, NULL);
			line = strtok_r(NULL, "\n", &save);
			if (!e)
				continue;
		}
		const char *reg = json_string_value(json_object_get(e, "register"));
		unsigned long long type = (unsigned long long)json_integer_value(json_object_get(e, "type"));
		if (reg && type != 3 /* EV_NO_ACTION */) {
			if (n == cap) {
				cap *= 2;
				evs = realloc(evs, cap * sizeof(*evs));
				assert_non_null(evs);
			}
			struct ev *v = &evs[n++];
			memset(v, 0, sizeof(*v));
			v->reg = reg_index(reg);
			v->type = type;
			v->number = (long)json_integer_value(json_object_get(e, "number"));
			snprintf(v->type_name, sizeof(v->type_name), "%s",
				 str_or(json_string_value(json_object_get(e, "type_name")), "?"));
			json_t *d = json_object_get(e, "digests");
			for (int b = 0; b < 2; b++)
				snprintf(v->dig[b], sizeof(v->dig[b]), "%s",
					 str_or(json_string_value(json_object_get(d, BANKS[b])), ""));
		}
		json_decref(e);
	}
	json_decref(all);
	t_run_free(&r);
	*out = evs;
	return n;
}

/* Returns the number of registers that differ; prints each first difference. */
static int own_event_diff(const char *expected, const char *actual)
{
	struct ev *e, *a;
	size_t ne = load_events(expected, &e), na = load_events(actual, &a);
	int bad = 0;
	for (size_t pi = 0; pi < sizeof(PREDICTED) / sizeof(PREDICTED[0]); pi++) {
		int reg = PREDICTED[pi];
		size_t ie = 0, ia = 0, k = 0;
		for (;; k++) {
			while (ie < ne && e[ie].reg != reg)
				ie++;
			while (ia < na && a[ia].reg != reg)
				ia++;
			if (ie >= ne && ia >= na)
				break;
			if (ie >= ne || ia >= na) {
				const struct ev *x = ie < ne ? &e[ie] : &a[ia];
				printf("#   pcr%d event %zu: only in the %s log: #%ld %s\n", reg, k,
				       ie < ne ? "expected" : "actual", x->number, x->type_name);
				bad++;
				break;
			}
			bool same = e[ie].type == a[ia].type;
			for (int b = 0; b < 2; b++)
				same = same && !strcmp(e[ie].dig[b], a[ia].dig[b]);
			if (!same) {
				printf("#   pcr%d event %zu: expected #%ld %s, actual #%ld %s\n", reg, k,
				       e[ie].number, e[ie].type_name, a[ia].number, a[ia].type_name);
				for (int b = 0; b < 2; b++)
					printf("#     %s expected %s\n#     %s actual   %s\n", BANKS[b],
					       e[ie].dig[b], BANKS[b], a[ia].dig[b]);
				bad++;
				break;
			}
			ie++;
			ia++;
		}
	}
	free(e);
	free(a);
	fflush(stdout);
	return bad;
}

/* ---- the prediction ---- */
/* `measure tpm ... --json --tcg-log tcg_log` for case c: its JSON output. */
static json_t *predict(const struct bcase *c, const char *initrd, const char *tcg_log)
{
	bool pflash = !strcmp(c->firmware, "pflash4m");
	const char *fw = pflash ? env_or("OVMF_CODE_4M", "/usr/share/OVMF/OVMF_CODE_4M.fd") :
				  env_or("OVMF_2M", "/usr/share/ovmf/OVMF.fd");
	const char *vars = env_or("OVMF_VARS_4M", "/usr/share/OVMF/OVMF_VARS_4M.fd");
	char mem_arg[24];
	snprintf(mem_arg, sizeof(mem_arg), "%uM", c->memory);
	char *argv[32];
	int n = 0;
	argv[n++] = (char *)t_bin();
	argv[n++] = "measure";
	argv[n++] = "tpm";
	argv[n++] = "--ovmf";
	argv[n++] = (char *)fw;
	if (pflash) {
		argv[n++] = "--vars";
		argv[n++] = (char *)vars;
	}
	argv[n++] = "--kernel";
	argv[n++] = S.kernel;
	argv[n++] = "--initrd";
	argv[n++] = (char *)initrd;
	argv[n++] = "--append";
	argv[n++] = (char *)c->append;
	argv[n++] = "--memory";
	argv[n++] = mem_arg;
	argv[n++] = "--machine";
	argv[n++] = (char *)c->machine;
	argv[n++] = "--qemu-version";
	argv[n++] = "7.2";
	argv[n++] = "--json";
	argv[n++] = "--tcg-log";
	argv[n++] = (char *)tcg_log;
	argv[n] = NULL;
	struct run r = run_argv(argv);
	t_assert_clean_exit(&r, 0);
	json_error_t jerr;
	json_t *pred = json_loads(r.out, 0, &jerr);
	if (!pred)
		fail_msg("measure tpm --json: bad JSON (%s): %s", jerr.text, r.out);
	t_run_free(&r);
	return pred;
}

/* The comparison must be able to fail: two predictions that differ only in
 * --memory (so in the patched kernel header, PCR4) must differ, and a log
 * must agree with itself. No boot. */
static void test_comparator(void **state)
{
	(void)state;
	skip_all_check();
	if (!S.have_measure) {
		printf("# SKIP reason: cvmforge has no 'measure tpm' yet\n");
		skip();
	}
	ensure_initrds();
	struct bcase a = CASES[0], b = CASES[0];
	b.memory = 2048;
	char *pa = NULL, *pb = NULL;
	assert_true(asprintf(&pa, "%s/cmp-1024.bin", S.dir) > 0);
	assert_true(asprintf(&pb, "%s/cmp-2048.bin", S.dir) > 0);
	json_decref(predict(&a, S.initrd, pa));
	json_decref(predict(&b, S.initrd, pb));
	printf("# expected: the own comparison names pcr4 event 0\n");
	assert_int_equal(own_event_diff(pa, pa), 0);
	assert_int_equal(own_event_diff(pa, pb), 1);
	if (S.diff_ignore) {
		char *same[] = { (char *)t_bin(), "eventlog", "diff", pa, pa, "--ignore", "0", NULL };
		char *differ[] = { (char *)t_bin(), "eventlog", "diff", pa, pb, "--ignore", "0", NULL };
		struct run r = run_argv(same);
		t_assert_clean_exit(&r, 0);
		t_run_free(&r);
		r = run_argv(differ);
		t_assert_clean_exit(&r, 3);
		assert_non_null(strstr(r.out, "pcr4"));
		t_run_free(&r);
	}
	unlink(pa);
	unlink(pb);
	free(pa);
	free(pb);
}

/* ---- one boot ---- */
static void boot_case(void **state)
{
	const struct bcase *c = *state;
	skip_all_check();
	if (S.boot_seconds > S.budget) {
		printf("# SKIP reason: boot time budget of %.0f s used up (BOOT_BUDGET)\n", S.budget);
		skip();
	}
	ensure_initrds();
	const char *initrd = c->pad ? S.initrd_pad : S.initrd;
	S.started++;

	char *run = NULL, *pcrs_path = NULL, *log = NULL, *expected = NULL, *cmdline = NULL;
	char mem_mib[16];
	snprintf(mem_mib, sizeof(mem_mib), "%u", c->memory);
	assert_true(asprintf(&run, "%s/%s", S.dir, c->name) > 0);
	assert_true(asprintf(&pcrs_path, "%s/pcrs.txt", run) > 0);
	assert_true(asprintf(&log, "%s/eventlog.bin", run) > 0);
	assert_true(asprintf(&expected, "%s/expected.bin", run) > 0);
	assert_true(asprintf(&cmdline, "%s/cmdline.txt", run) > 0);
	assert_int_equal(mkdir(run, 0755), 0);

	/* The boot. */
	char *bargv[] = { "/bin/sh", S.boot_sh, run, "--firmware", (char *)c->firmware,
			  "--memory", mem_mib, "--machine", (char *)c->machine, "--kernel", S.kernel,
			  "--initrd", (char *)initrd, "--append", (char *)c->append, NULL };
	double t0 = t_now();
	struct run br = run_argv(bargv);
	double secs = t_now() - t0;
	S.boot_seconds += secs;
	printf("# boot %s: %.1f s wall (all boots so far %.1f s)\n", c->name, secs, S.boot_seconds);
	fflush(stdout);
	if (br.status == 77) {
		S.started--;
		printf("# SKIP reason: %s\n", t_last_line(br.err));
		t_run_free(&br);
		skip();
	}
	if (br.status != 0) {
		print_indented("boot.sh stderr", br.err);
		fail_msg("boot.sh exited %d (infrastructure failure, see above; run directory %s)",
			 br.status, run);
	}
	t_run_free(&br);
	/* After the boot, so that a machine without the firmware skips. */
	json_t *pred = S.have_measure ? predict(c, initrd, expected) : NULL;

	struct pcrs sysfs, replay, predicted;
	read_sysfs_pcrs(pcrs_path, &sysfs);

	/* (a) the oracle: the log replays to the sysfs PCRs. */
	char *rargv[] = { (char *)t_bin(), "eventlog", "replay", log, "--json", NULL };
	struct run rr = run_argv(rargv);
	t_assert_clean_exit(&rr, 0);
	json_t *rj = json_loads(rr.out, 0, NULL);
	assert_non_null(rj);
	assert_string_equal(json_string_value(json_object_get(rj, "format")), "tpm");
	json_pcrs(json_object_get(rj, "registers"), &replay);
	json_decref(rj);
	t_run_free(&rr);
	int bad = 0;
	for (int r = 0; r < 24; r++)
		for (int b = 0; b < 2; b++)
			if (replay.v[r][b][0] && strcmp(replay.v[r][b], sysfs.v[r][b]))
				bad++;
	static const int LOGGED[] = { 0, 1, 2, 3, 4, 5, 6, 7, 9 };
	for (size_t i = 0; i < sizeof(LOGGED) / sizeof(LOGGED[0]); i++)
		for (int b = 0; b < 2; b++)
			if (!replay.v[LOGGED[i]][b][0] || !sysfs.v[LOGGED[i]][b][0])
				bad++;
	if (bad) {
		print_table("log replay vs sysfs", &replay, "replay", &sysfs, "sysfs");
		fail_msg("the event log does not replay to the sysfs PCRs (oracle broken; %s)", run);
	}
	/* ... and the kernel got the -append bytes: OVMF widens each byte to
	 * CHAR16 and the stub encodes that back as UTF-8, so a byte >= 0x80
	 * shows up double-encoded in /proc/cmdline (vtpm.md §7.5). */
	char *cl = t_slurp(cmdline, NULL), *plain = NULL;
	assert_true(asprintf(&plain, "%s initrd=initrd", c->append) > 0);
	char *want_cl = malloc(2 * strlen(plain) + 1), *w = want_cl;
	assert_non_null(want_cl);
	for (const unsigned char *p = (const unsigned char *)plain; *p; p++) {
		if (*p < 0x80) {
			*w++ = (char)*p;
		} else {
			*w++ = (char)(0xC0 | *p >> 6);
			*w++ = (char)(0x80 | (*p & 0x3F));
		}
	}
	*w = '\0';
	fflush(stdout);
	if (strcmp(cl, want_cl))
		fail_msg("/proc/cmdline is '%s', wanted '%s'", cl, want_cl);
	free(cl);
	free(plain);
	free(want_cl);

	if (!pred) {
		S.finished++;
		printf("# SKIP reason: cvmforge has no 'measure tpm' yet; only the oracle (log replay "
		       "= sysfs PCRs, /proc/cmdline) was checked\n");
		free(run), free(pcrs_path), free(log), free(expected), free(cmdline);
		skip();
	}

	/* (b) the predicted PCRs. */
	json_pcrs(pred, &predicted);
	int pcr_bad = 0;
	for (size_t i = 0; i < sizeof(PREDICTED) / sizeof(PREDICTED[0]); i++)
		for (int b = 0; b < 2; b++)
			if (!predicted.v[PREDICTED[i]][b][0]) {
				printf("# measure tpm --json has no pcr%d %s\n", PREDICTED[i], BANKS[b]);
				pcr_bad++;
			}
	for (int r = 0; r < 24; r++)
		for (int b = 0; b < 2; b++)
			if (predicted.v[r][b][0] && strcmp(predicted.v[r][b], sysfs.v[r][b]))
				pcr_bad++;

	/* (c) event by event, PCR0 ignored. */
	int ev_bad = 0;
	char *diff_out = NULL;
	if (S.diff_ignore) {
		char *dargv[] = { (char *)t_bin(), "eventlog", "diff", expected, log, "--ignore", "0",
				  NULL };
		struct run dr = run_argv(dargv);
		if (dr.status != 0) {
			ev_bad = 1;
			if (asprintf(&diff_out, "exit %d\n%s%s", dr.status, dr.out, dr.err) < 0)
				diff_out = NULL;
		}
		t_run_free(&dr);
	} else {
		printf("# eventlog diff has no --ignore: comparing PCR1-7 and PCR9 event by event\n");
		ev_bad = own_event_diff(expected, log);
	}

	if (pcr_bad || ev_bad) {
		json_t *params = json_object_get(pred, "params");
		char *ps = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		printf("# case %s: measure tpm params %s\n", c->name, ps ? ps : "(none)");
		free(ps);
		print_table("predicted (measure tpm) vs sysfs", &predicted, "predicted", &sysfs,
			    "sysfs");
		if (diff_out)
			print_indented("eventlog diff expected.bin eventlog.bin --ignore 0", diff_out);
		free(diff_out);
		json_decref(pred);
		fail_msg("%d PCR value(s) and %d event difference(s) between measure tpm and the "
			 "boot (run directory %s)", pcr_bad, ev_bad, run);
	}
	json_decref(pred);
	S.finished++;
	free(run), free(pcrs_path), free(log), free(expected), free(cmdline);
}

int main(void)
{
	struct CMUnitTest tests[NCASES + 2];
	size_t n = 0;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mkinitrd);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_comparator);
	for (size_t i = 0; i < NCASES; i++)
		tests[n++] = (struct CMUnitTest){ CASES[i].name, boot_case, NULL, NULL,
						  (void *)&CASES[i] };
	/* BOOT_FILTER: a cmocka test-name pattern (e.g. "bios2m*") to run some cases. */
	if (getenv("BOOT_FILTER"))
		cmocka_set_test_filter(getenv("BOOT_FILTER"));
	return _cmocka_run_group_tests("tpm-boot", tests, n, group_setup, group_teardown);
}
