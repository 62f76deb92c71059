/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge measure snp`: the sev-snp-measure command line, option for option
 * and message for message, plus --json and measurement matrices.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/json.h"
#include "common/write.h"
#include "common/parse.h"

enum {
	OPT_HELP = 1, OPT_VERSION, OPT_VERBOSE, OPT_MODE, OPT_VCPUS, OPT_VCPU_TYPE, OPT_VCPU_SIG,
	OPT_VCPU_FAMILY, OPT_VCPU_MODEL, OPT_VCPU_STEPPING, OPT_VMM_TYPE, OPT_OVMF, OPT_KERNEL,
	OPT_INITRD, OPT_APPEND, OPT_GUEST_FEATURES, OPT_OUTPUT_FORMAT, OPT_SNP_OVMF_HASH,
	OPT_DUMP_VMSA, OPT_SVSM, OPT_VARS_SIZE, OPT_VARS_FILE, OPT_JSON,
};

static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "version", 0, false, OPT_VERSION },
	{ "verbose", 'v', false, OPT_VERBOSE },
	{ "mode", 0, true, OPT_MODE },
	{ "vcpus", 0, true, OPT_VCPUS },
	{ "vcpu-type", 0, true, OPT_VCPU_TYPE },
	{ "vcpu-sig", 0, true, OPT_VCPU_SIG },
	{ "vcpu-family", 0, true, OPT_VCPU_FAMILY },
	{ "vcpu-model", 0, true, OPT_VCPU_MODEL },
	{ "vcpu-stepping", 0, true, OPT_VCPU_STEPPING },
	{ "vmm-type", 0, true, OPT_VMM_TYPE },
	{ "ovmf", 0, true, OPT_OVMF },
	{ "kernel", 0, true, OPT_KERNEL },
	{ "initrd", 0, true, OPT_INITRD },
	{ "append", 0, true, OPT_APPEND },
	{ "guest-features", 0, true, OPT_GUEST_FEATURES },
	{ "output-format", 0, true, OPT_OUTPUT_FORMAT },
	{ "snp-ovmf-hash", 0, true, OPT_SNP_OVMF_HASH },
	{ "dump-vmsa", 0, false, OPT_DUMP_VMSA },
	{ "svsm", 0, true, OPT_SVSM },
	{ "vars-size", 0, true, OPT_VARS_SIZE },
	{ "vars-file", 0, true, OPT_VARS_FILE },
	{ "json", 0, false, OPT_JSON },
	{ NULL, 0, false, 0 },
};

static const char usage_line[] =
	"[-h] [--version] [-v] --mode {sev,seves,snp,snp:ovmf-hash,snp:svsm} "
	"[--vcpus N] [--vcpu-type CPUTYPE] [--vcpu-sig VALUE] [--vcpu-family FAMILY] "
	"[--vcpu-model MODEL] [--vcpu-stepping STEPPING] [--vmm-type VMMTYPE] --ovmf PATH "
	"[--kernel PATH] [--initrd PATH] [--append CMDLINE] [--guest-features VALUE] "
	"[--output-format {hex,base64}] [--snp-ovmf-hash HASH] [--dump-vmsa] [--svsm PATH] "
	"[--vars-size SIZE | --vars-file PATH] [--json]";

static void print_help(const char *prog)
{
	const struct cvmf_cpu_type *types;
	size_t n = cvmf_cpu_types(&types);
	printf("usage: %s %s\n\n"
	       "Calculate the AMD SEV / SEV-ES / SEV-SNP guest launch measurement.\n"
	       "Drop-in compatible with sev-snp-measure (%s).\n\n"
	       "options:\n"
	       "  -h, --help            show this help and exit\n"
	       "  --version             show the version and exit\n"
	       "  -v, --verbose         print 'Calculated <MODE> guest measurement: <value>'\n"
	       "  --mode MODE           sev, seves, snp, snp:ovmf-hash or snp:svsm\n"
	       "  --vcpus N             number of vCPUs; a matrix takes a list or range: 1-64,128\n"
	       "  --vcpu-type CPUTYPE   QEMU -cpu model; a matrix takes a list, or 'all'. One of:\n"
	       "                        ", prog, usage_line, CVMF_SNP_ALGORITHM);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", types[i].name, i + 1 < n ? (i % 6 == 5 ? ",\n                        " : ", ") : "\n");
	printf("  --vcpu-sig VALUE      CPUID(1).EAX signature (0x.., 0o.., 0b.. or decimal)\n"
	       "  --vcpu-family FAMILY, --vcpu-model MODEL, --vcpu-stepping STEPPING\n"
	       "                        build the signature (wins over --vcpu-sig and --vcpu-type)\n"
	       "  --vmm-type VMMTYPE    QEMU (default), ec2 or gce; a matrix takes a list or 'all'\n"
	       "  --ovmf PATH           the firmware image exactly as launched\n"
	       "  --kernel PATH         kernel for measured direct boot (needs an AmdSevX64 OVMF)\n"
	       "  --initrd PATH         initrd (with --kernel)\n"
	       "  --append CMDLINE      kernel command line (with --kernel)\n"
	       "  --guest-features VALUE\n"
	       "                        VMSA sev_features (default 0x1); a matrix takes a list\n"
	       "  --output-format FMT   hex (default) or base64\n"
	       "  --snp-ovmf-hash HASH  precomputed firmware-pages digest (hex, 48 bytes)\n"
	       "  --dump-vmsa           write vmsa<N>.bin for each vCPU into the current directory\n"
	       "  --svsm PATH           Coconut-SVSM image (snp:svsm)\n"
	       "  --vars-size SIZE      OVMF_VARS size in bytes (snp:svsm)\n"
	       "  --vars-file PATH      OVMF_VARS file, for its size (snp:svsm)\n"
	       "  --json                one JSON object with the digest and every parameter behind it;\n"
	       "                        lists and ranges print one JSON line per combination\n\n"
	       "Exit codes: 0 success, 1 failure (message on stderr as 'Error: ...'), 2 usage error.\n");
}

/* ---- value parsing ---- */

struct args {
	const char *prog;
	enum cvmf_sev_mode mode;
	bool have_mode, verbose, dump_vmsa, json, base64, matrix;
	const char *vcpus_s, *vcpu_type_s, *vcpu_sig_s, *family_s, *model_s, *stepping_s;
	const char *vmm_s, *features_s, *ovmf_hash_s, *vars_size_s, *vars_file;
	struct cvmf_sev_spec spec;

	unsigned *vcpus;
	size_t n_vcpus;
	enum cvmf_vmm *vmms;
	size_t n_vmms;
	uint32_t *sigs;
	const char **sig_names;   /* CPU type name per signature, or NULL */
	size_t n_sigs;
	uint64_t *features;
	size_t n_features;
};

static int bad_list(struct args *a, const char *opt, const char *why, const char *val)
{
	return usage_error(a->prog, usage_line, "argument --%s: %s '%s'", opt, why, val);
}

static int parse_u64(struct args *a, const char *opt, const char *s, bool auto_base,
		     const char *type, uint64_t max, uint64_t *ret)
{
	long long neg;
	unsigned long long v;
	int r = parse_pyint(s, auto_base, &neg, &v);
	if (r == -1)
		return usage_error(a->prog, usage_line, "argument --%s: invalid %s value: '%s'",
				   opt, type, s);
	if (r == -2 || neg || v > max)
		return usage_error(a->prog, usage_line,
				   "argument --%s: %s is out of range (0 to %llu)", opt, s,
				   (unsigned long long)max);
	*ret = v;
	return 0;
}

/* Split a comma list (common/parse.h: trimmed items, none empty); each
 * item handed to fn. */
static int each_item(struct args *a, const char *opt, const char *list,
		     int (*fn)(struct args *, const char *))
{
	struct cmn_list l;
	int r = cmn_split_list(list, &l, NULL);
	if (r == -2)
		return fail("out of memory");
	if (r)
		return bad_list(a, opt, strspn(list, " \t,") == strlen(list) ? "empty list"
							: "empty item in", list);
	for (size_t i = 0; i < l.n && !r; i++)
		r = fn(a, l.v[i]);
	cmn_list_free(&l);
	return r;
}

#define PUSH(arr, n, v) do {                                              \
		void *p_ = realloc((arr), ((n) + 1) * sizeof(*(arr)));      \
		if (!p_)                                                     \
			return fail("out of memory");                        \
		(arr) = p_;                                                  \
		(arr)[(n)++] = (v);                                          \
	} while (0)

static int vcpus_out_of_range(struct args *a, const char *item)
{
	return usage_error(a->prog, usage_line,
			   "argument --vcpus: %s is out of range: a guest has 1 to %d vCPUs", item,
			   CVMF_MAX_VCPUS);
}

/* One vCPU count of a --vcpus item: an int (Python's rules) within 1..CVMF_MAX_VCPUS. */
static int vcpu_count(struct args *a, const char *item, const char *s, uint64_t *ret)
{
	long long neg;
	unsigned long long v;
	int r = parse_pyint(s, false, &neg, &v);
	if (r == -1)
		return usage_error(a->prog, usage_line, "argument --vcpus: invalid int value: '%s'",
				   s);
	if (r == -2 || neg || v < 1 || v > CVMF_MAX_VCPUS)
		return vcpus_out_of_range(a, item);
	*ret = v;
	return 0;
}

static int add_vcpus(struct args *a, const char *item)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", item);
	char *dash = strchr(buf + 1, '-');
	uint64_t lo, hi;
	if (dash)
		*dash = '\0';
	if (vcpu_count(a, item, buf, &lo))
		return EXIT_USAGE;
	hi = lo;
	if (dash && vcpu_count(a, item, dash + 1, &hi))
		return EXIT_USAGE;
	if (hi < lo)
		return bad_list(a, "vcpus", "range runs backwards:", item);
	if (a->n_vcpus + (hi - lo + 1) > 16 * CVMF_MAX_VCPUS)
		return bad_list(a, "vcpus", "too many values in", item);
	if (dash)
		a->matrix = true;
	for (uint64_t v = lo; v <= hi; v++)
		PUSH(a->vcpus, a->n_vcpus, (unsigned)v);
	return 0;
}

static int add_sig(struct args *a, const char *name, uint32_t sig)
{
	void *n = realloc(a->sig_names, (a->n_sigs + 1) * sizeof(*a->sig_names));
	if (!n)
		return fail("out of memory");
	a->sig_names = n;
	void *s = realloc(a->sigs, (a->n_sigs + 1) * sizeof(*a->sigs));
	if (!s)
		return fail("out of memory");
	a->sigs = s;
	a->sig_names[a->n_sigs] = name;
	a->sigs[a->n_sigs++] = sig;
	return 0;
}

static int invalid_cpu_type(struct args *a, const char *item)
{
	const struct cvmf_cpu_type *types;
	size_t n = cvmf_cpu_types(&types);
	char list[1024] = "";
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(list);
		snprintf(list + l, sizeof(list) - l, "%s'%s'", i ? ", " : "", types[i].name);
	}
	return usage_error(a->prog, usage_line,
			   "argument --vcpu-type: invalid choice: '%s' (choose from %s)", item, list);
}

static int add_cpu_type(struct args *a, const char *item)
{
	const struct cvmf_cpu_type *types;
	size_t n = cvmf_cpu_types(&types);
	if (!strcmp(item, "all")) {
		for (size_t i = 0; i < n; i++) {
			if (add_sig(a, types[i].name, cvmf_cpu_sig(types[i].family, types[i].model, types[i].stepping)))
			return EXIT_FAILURE_;
		}
		return 0;
	}
	const struct cvmf_cpu_type *t = cvmf_cpu_type_find(item);
	if (!t)
		return invalid_cpu_type(a, item);
	if (add_sig(a, t->name, cvmf_cpu_sig(t->family, t->model, t->stepping)))
			return EXIT_FAILURE_;
	return 0;
}

static int add_vmm(struct args *a, const char *item)
{
	enum cvmf_vmm v;
	if (!strcmp(item, "all")) {
		for (int i = CVMF_VMM_QEMU; i <= CVMF_VMM_GCE; i++)
			PUSH(a->vmms, a->n_vmms, (enum cvmf_vmm)i);
		return 0;
	}
	if (cvmf_vmm_parse(item, &v))
		return usage_error(a->prog, usage_line,
				   "argument --vmm-type: invalid choice: '%s' (choose from 'QEMU', 'ec2', 'gce')",
				   item);
	PUSH(a->vmms, a->n_vmms, v);
	return 0;
}

static int add_feature(struct args *a, const char *item)
{
	uint64_t v;
	if (parse_u64(a, "guest-features", item, true, "auto_base_int", ~0ull, &v))
		return EXIT_USAGE;
	PUSH(a->features, a->n_features, v);
	return 0;
}

static void args_free(struct args *a)
{
	free(a->vcpus);
	free(a->vmms);
	free(a->sigs);
	free(a->sig_names);
	free(a->features);
}

/* The checks sev-snp-measure makes after argparse, in its order. */
static int resolve(struct args *a)
{
	int r;
	const enum cvmf_sev_mode m = a->mode;
	if (a->spec.initrd_path && !a->spec.kernel_path)
		return usage_error(a->prog, usage_line, "--kernel required when using --initrd");
	if (a->spec.append && a->spec.append[0] && !a->spec.kernel_path)
		return usage_error(a->prog, usage_line, "--kernel required when using --append");

	const bool needs_vcpus = cvmf_sev_mode_has_vmsas(m);
	if (needs_vcpus && !a->vcpus_s)
		return usage_error(a->prog, usage_line, "missing --vcpus N in guest mode '%s'",
				   cvmf_sev_mode_name(m));
	/* Checked in every mode, as argparse does; unused without VMSAs. */
	if (a->vcpus_s && (r = each_item(a, "vcpus", a->vcpus_s, add_vcpus)))
		return r;
	if (!needs_vcpus) {
		a->matrix = false;   /* a range here is checked, not measured */
		a->n_vcpus = 0;
		PUSH(a->vcpus, a->n_vcpus, 1);
	}
	if (a->dump_vmsa && !needs_vcpus)
		return usage_error(a->prog, usage_line, "--dump-vmsa: mode '%s' has no VMSA pages",
				   cvmf_sev_mode_name(m));

	if ((r = each_item(a, "vmm-type", a->vmm_s ? a->vmm_s : "QEMU", add_vmm)))
		return r;
	bool needs_sig = false;
	for (size_t i = 0; i < a->n_vmms; i++)
		needs_sig |= needs_vcpus && cvmf_vmm_uses_vcpu_sig(a->vmms[i]);

	/* CPU signature: family/model/stepping, then --vcpu-sig, then --vcpu-type. */
	uint64_t fam = 0;
	if (a->family_s && (r = parse_u64(a, "vcpu-family", a->family_s, false, "int", 0xf + 0xff, &fam)))
		return r;
	if (fam) {
		uint64_t model, stepping;
		if (!a->model_s || !a->stepping_s)
			return usage_error(a->prog, usage_line,
					   "--vcpu-family requires --vcpu-model and --vcpu-stepping");
		if ((r = parse_u64(a, "vcpu-model", a->model_s, false, "int", 0xff, &model)) ||
		    (r = parse_u64(a, "vcpu-stepping", a->stepping_s, false, "int", 0xf, &stepping)))
			return r;
		if (add_sig(a, NULL, cvmf_cpu_sig((unsigned)fam, (unsigned)model, (unsigned)stepping)))
			return EXIT_FAILURE_;
	} else if (a->vcpu_sig_s) {
		uint64_t sig;
		if ((r = parse_u64(a, "vcpu-sig", a->vcpu_sig_s, true, "auto_base_int", 0xffffffffu, &sig)))
			return r;
		if (add_sig(a, NULL, (uint32_t)sig))
			return EXIT_FAILURE_;
	} else if (a->vcpu_type_s) {
		if ((r = each_item(a, "vcpu-type", a->vcpu_type_s, add_cpu_type)))
			return r;
	} else if (needs_sig) {
		return usage_error(a->prog, usage_line,
				   "missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '%s'",
				   cvmf_sev_mode_name(m));
	}
	if (a->n_sigs == 0) {
		if (add_sig(a, NULL, 0))
			return EXIT_FAILURE_;
	}

	if ((r = each_item(a, "guest-features", a->features_s ? a->features_s : "0x1", add_feature)))
		return r;

	if (m == CVMF_MODE_SNP_SVSM) {
		uint64_t vs = 0;
		if (a->vars_size_s && a->vars_file)
			return usage_error(a->prog, usage_line,
					   "argument --vars-file: not allowed with argument --vars-size");
		/* sev-snp-measure takes --vars-size 0 as not given. */
		if (a->vars_size_s &&
		    (r = parse_u64(a, "vars-size", a->vars_size_s, false, "int", 0xffffffffu, &vs)))
			return r;
		if (!vs && !a->vars_file)
			return usage_error(a->prog, usage_line,
					   "snp:svsm mode requires --vars-size or --vars-file");
		if (!a->spec.svsm_path)
			return usage_error(a->prog, usage_line, "snp:svsm mode requires --svsm");
		if (a->spec.kernel_path)
			return usage_error(a->prog, usage_line,
					   "snp:svsm mode does not measure a kernel: drop --kernel");
		if (vs) {
			if (vs % 4096)
				return usage_error(a->prog, usage_line,
						   "argument --vars-size: %s is not a multiple of 4096",
						   a->vars_size_s);
			a->spec.vars_size = vs;
		} else {
			struct stat st;
			if (stat(a->vars_file, &st) < 0)
				return fail("cannot read vars file '%s': %s", a->vars_file, strerror(errno));
			if (!S_ISREG(st.st_mode))
				return fail("vars file '%s' is not a regular file", a->vars_file);
			if (st.st_size == 0 || st.st_size % 4096)
				return fail("vars file '%s' is %lld bytes, not a non-empty multiple of 4096",
					    a->vars_file, (long long)st.st_size);
			a->spec.vars_size = (uint64_t)st.st_size;
		}
		for (size_t i = 0; i < a->n_vmms; i++)
			if (a->vmms[i] != CVMF_VMM_QEMU)
				return usage_error(a->prog, usage_line,
						   "snp:svsm mode is only defined for --vmm-type QEMU");
	} else if (a->spec.svsm_path || a->vars_size_s || a->vars_file) {
		return usage_error(a->prog, usage_line,
				   "--svsm, --vars-size and --vars-file belong to snp:svsm mode");
	}

	if (a->ovmf_hash_s) {
		if (m != CVMF_MODE_SNP)
			return usage_error(a->prog, usage_line,
					   "--snp-ovmf-hash only works in snp mode");
		if (cvmf_unhex(a->ovmf_hash_s, a->spec.ovmf_hash, sizeof(a->spec.ovmf_hash)))
			return usage_error(a->prog, usage_line,
					   "argument --snp-ovmf-hash: '%s' is not 96 hex digits (a SHA-384 digest)",
					   a->ovmf_hash_s);
		a->spec.have_ovmf_hash = true;
	}
	if (m == CVMF_MODE_SNP_OVMF_HASH && a->spec.kernel_path)
		return usage_error(a->prog, usage_line,
				   "snp:ovmf-hash mode hashes the firmware only: drop --kernel");

	if (a->n_vcpus > 1 || a->n_vmms > 1 || a->n_sigs > 1 || a->n_features > 1)
		a->matrix = true;
	if (a->matrix && a->dump_vmsa)
		return usage_error(a->prog, usage_line,
				   "--dump-vmsa needs one vCPU count, CPU type, VMM and guest-features value");
	return 0;
}

/* ---- output ---- */

static const char *verbose_name(enum cvmf_sev_mode m)
{
	switch (m) {
	case CVMF_MODE_SEV: return "SEV";
	case CVMF_MODE_SEV_ES: return "SEV_ES";
	case CVMF_MODE_SNP_SVSM: return "SEV_SNP_SVSM";
	default: return "SEV_SNP";
	}
}

static json_t *file_obj(const char *path, uint64_t size, const uint8_t sha[32], bool have_sha)
{
	json_t *o = json_object();
	json_object_set_new(o, "path", cmn_json_string_or_null(path));
	json_object_set_new(o, "size", json_integer((json_int_t)size));
	json_object_set_new(o, "sha256", have_sha ? cmn_json_hex(sha, 32) : json_null());
	return o;
}

/* Everything that does not vary across a matrix, rendered once. */
static char *static_json(const struct args *a, const struct cvmf_sev_inputs *in)
{
	struct cvmf_sev_input_info info;
	cvmf_sev_input_info(in, &info);
	json_t *o = json_object();
	json_object_set_new(o, "tool", json_string("cvmforge " CVMF_VERSION));
	json_object_set_new(o, "algorithm", json_string(CVMF_SNP_ALGORITHM));
	json_object_set_new(o, "ovmf", file_obj(a->spec.ovmf_path, info.ovmf_size,
						info.ovmf_sha256, info.have_fw_sha256));
	if (info.have_ovmf_hash) {
		json_object_set_new(o, "snp_ovmf_hash", cmn_json_hex(info.ovmf_hash, 48));
		json_object_set_new(o, "snp_ovmf_hash_source",
				    json_string(a->spec.have_ovmf_hash ? "--snp-ovmf-hash" : "firmware"));
	}
	if (info.have_kernel) {
		json_object_set_new(o, "kernel", file_obj(a->spec.kernel_path, info.kernel_size,
							  info.kernel_sha256, true));
		/* No --initrd is measured as SHA-256 of nothing: say so. */
		json_t *ini = file_obj(a->spec.initrd_path ? a->spec.initrd_path : "", info.initrd_size,
				       info.initrd_sha256, true);
		if (!a->spec.initrd_path)
			json_object_set_new(ini, "path", json_null());
		json_object_set_new(o, "initrd", ini);
		/* The same {"value", "hex"} as tdx and tpm, and its digest. */
		json_t *c = cli_cmdline_obj(a->spec.append);
		json_object_set_new(c, "sha256", cmn_json_hex(info.cmdline_sha256, 32));
		json_object_set_new(o, "cmdline", c);
		json_object_set_new(o, "sev_hashes_table", cmn_json_hex(info.hashes_table, 176));
	} else {
		json_object_set_new(o, "kernel", json_null());
	}
	if (a->mode == CVMF_MODE_SNP_SVSM) {
		json_object_set_new(o, "svsm", file_obj(a->spec.svsm_path, info.svsm_size,
							info.svsm_sha256, info.have_fw_sha256));
		json_object_set_new(o, "vars_size", json_integer((json_int_t)info.vars_size));
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

struct emit {
	struct args *a;
	const char *static_body;   /* "k":v,... without braces */
	size_t static_len;
	char *line;
	int r;
};

static char *put(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

static char *put_hex64(char *p, uint64_t v, int min_digits)
{
	static const char d[] = "0123456789abcdef";
	char tmp[17];
	int n = 0;
	do {
		tmp[n++] = d[v & 0xf];
		v >>= 4;
	} while (v || n < min_digits);
	*p++ = '0';
	*p++ = 'x';
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_uint(char *p, unsigned v)
{
	char tmp[12];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static int emit_json(void *userdata, const struct cvmf_sev_launch *l, size_t sig_index,
		     const struct cvmf_digest *d)
{
	struct emit *e = userdata;
	const struct args *a = e->a;
	const enum cvmf_sev_mode m = a->mode;
	const bool launchless = !cvmf_sev_mode_has_vmsas(m);
	char *p = e->line;
	char hex[97];
	cvmf_hex(d->bytes, d->len, hex);
	p = put(p, "{\"digest\":\"");
	p = put(p, hex);
	if (a->base64) {
		char b64[65];
		cvmf_base64(d->bytes, d->len, b64);
		p = put(p, "\",\"digest_base64\":\"");
		p = put(p, b64);
	}
	p = put(p, "\",\"mode\":\"");
	p = put(p, cvmf_sev_mode_name(m));
	p = put(p, "\",\"vmm\":");
	if (launchless) {
		p = put(p, "null,\"vcpus\":null,\"vcpu_type\":null,\"vcpu_sig\":null,\"guest_features\":null");
	} else {
		*p++ = '"';
		p = put(p, cvmf_vmm_name(l->vmm));
		p = put(p, "\",\"vcpus\":");
		p = put_uint(p, l->vcpus);
		p = put(p, ",\"vcpu_type\":");
		const char *tn = a->sig_names[sig_index];
		if (tn) {
			*p++ = '"';
			p = put(p, tn);
			*p++ = '"';
		} else {
			p = put(p, "null");
		}
		/* The values that went into the VMSA: null where the VMM ignores one. */
		p = put(p, ",\"vcpu_sig\":");
		if (cvmf_vmm_uses_vcpu_sig(l->vmm)) {
			*p++ = '"';
			p = put_hex64(p, l->vcpu_sig, 8);
			*p++ = '"';
		} else {
			p = put(p, "null");
		}
		p = put(p, ",\"guest_features\":\"");
		p = put_hex64(p, cvmf_sev_vmsa_features(m, l->guest_features), 1);
		*p++ = '"';
	}
	*p++ = ',';
	memcpy(p, e->static_body, e->static_len);
	p += e->static_len;
	*p++ = '}';
	*p++ = '\n';
	if (fwrite(e->line, 1, (size_t)(p - e->line), stdout) != (size_t)(p - e->line)) {
		e->r = fail("cannot write to standard output: %s", strerror(errno));
		return 1;
	}
	return 0;
}

static int print_plain(const struct args *a, const struct cvmf_digest *d)
{
	char out[97];
	if (a->base64 && a->mode != CVMF_MODE_SNP_OVMF_HASH)
		cvmf_base64(d->bytes, d->len, out);
	else
		cvmf_hex(d->bytes, d->len, out);
	if (a->verbose && a->mode != CVMF_MODE_SNP_OVMF_HASH)
		printf("Calculated %s guest measurement: %s\n", verbose_name(a->mode), out);
	else
		printf("%s\n", out);
	return 0;
}

/* vmsa<N>.bin in the current directory, each written whole or not at all. */
static int dump_vmsas(cvmf_ctx *ctx, const struct cvmf_sev_inputs *in,
		      const struct cvmf_sev_launch *l)
{
	uint8_t page[4096];
	for (unsigned i = 0; i < l->vcpus; i++) {
		if (cvmf_sev_vmsa(ctx, in, l, i, page))
			return fail("%s", cvmf_ctx_errmsg(ctx));
		char name[32];
		snprintf(name, sizeof(name), "vmsa%u.bin", i);
		if (cmn_write_file(ctx, "VMSA", name, page, sizeof(page), 0))
			return fail("%s", cvmf_ctx_errmsg(ctx));
	}
	return 0;
}

int cmd_measure_snp(const char *prog, int argc, char **argv)
{
	struct args a = { .prog = prog };
	struct opt_parser p = { .prog = prog, .usage = usage_line, .opts = options,
				.argc = argc, .argv = argv, .i = 1 };
	const char *v;
	int id, r;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP: print_help(prog); return EXIT_OK_;
		case OPT_VERSION:
			printf("%s %s (cvmforge %s)\n", prog, "0.0.13", CVMF_VERSION);
			return EXIT_OK_;
		case OPT_VERBOSE: a.verbose = true; break;
		case OPT_MODE:
			if (cvmf_sev_mode_parse(v, &a.mode))
				return usage_error(prog, usage_line,
						   "argument --mode: invalid choice: '%s' (choose from 'sev', 'seves', 'snp', 'snp:ovmf-hash', 'snp:svsm')",
						   v);
			a.have_mode = true;
			break;
		case OPT_VCPUS: a.vcpus_s = v; break;
		case OPT_VCPU_TYPE:
			/* argparse checks choices while parsing: keep that order. */
			if (!strchr(v, ',') && strcmp(v, "all") && !cvmf_cpu_type_find(v))
				return invalid_cpu_type(&a, v);
			a.vcpu_type_s = v;
			break;
		case OPT_VCPU_SIG: a.vcpu_sig_s = v; break;
		case OPT_VCPU_FAMILY: a.family_s = v; break;
		case OPT_VCPU_MODEL: a.model_s = v; break;
		case OPT_VCPU_STEPPING: a.stepping_s = v; break;
		case OPT_VMM_TYPE: a.vmm_s = v; break;
		case OPT_OVMF: a.spec.ovmf_path = v; break;
		case OPT_KERNEL: a.spec.kernel_path = v; break;
		case OPT_INITRD: a.spec.initrd_path = v; break;
		case OPT_APPEND: a.spec.append = v; break;
		case OPT_GUEST_FEATURES: a.features_s = v; break;
		case OPT_OUTPUT_FORMAT:
			if (strcmp(v, "hex") && strcmp(v, "base64"))
				return usage_error(prog, usage_line,
						   "argument --output-format: invalid choice: '%s' (choose from 'hex', 'base64')",
						   v);
			a.base64 = !strcmp(v, "base64");
			break;
		case OPT_SNP_OVMF_HASH: a.ovmf_hash_s = v; break;
		case OPT_DUMP_VMSA: a.dump_vmsa = true; break;
		case OPT_SVSM: a.spec.svsm_path = v; break;
		case OPT_VARS_SIZE: a.vars_size_s = v; break;
		case OPT_VARS_FILE: a.vars_file = v; break;
		case OPT_JSON: a.json = true; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (!a.have_mode || !a.spec.ovmf_path)
		return usage_error(prog, usage_line, "the following arguments are required: %s",
				   !a.have_mode && !a.spec.ovmf_path ? "--mode, --ovmf"
				   : !a.have_mode ? "--mode" : "--ovmf");
	a.spec.mode = a.mode;
	if ((r = resolve(&a))) {
		args_free(&a);
		return r;
	}
	const bool json_out = a.json || a.matrix;
	a.spec.want_file_digests = json_out;

	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_sev_inputs *in = NULL;
	struct emit e = { .a = &a };
	char *sj = NULL;
	if (!ctx) {
		r = fail("out of memory");
		goto out;
	}
	if (cvmf_sev_load(ctx, &a.spec, &in)) {
		r = fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	/* Accepted for sev-snp-measure's vectors only (measure/snp.c): say so,
	 * except under that tool's name, whose output is the reference's. */
	struct cvmf_sev_input_info ki;
	cvmf_sev_input_info(in, &ki);
	if (ki.have_kernel && ki.kernel_size == 0 && strcmp(prog, "sev-snp-measure"))
		fprintf(stderr, "%s: warning: kernel '%s' is empty: QEMU refuses to boot it; "
			"measured as sev-snp-measure does\n", prog, a.spec.kernel_path);
	struct cvmf_sev_matrix m = {
		.vmms = a.vmms, .n_vmms = a.n_vmms,
		.vcpu_sigs = a.sigs, .n_vcpu_sigs = a.n_sigs,
		.guest_features = a.features, .n_guest_features = a.n_features,
		.vcpus = a.vcpus, .n_vcpus = a.n_vcpus,
	};
	if (json_out) {
		sj = static_json(&a, in);
		if (!sj) {
			r = fail("out of memory");
			goto out;
		}
		e.static_body = sj + 1;            /* drop the braces */
		e.static_len = strlen(sj) - 2;
		e.line = malloc(e.static_len + 1024);
		if (!e.line) {
			r = fail("out of memory");
			goto out;
		}
		static char obuf[1 << 16];
		setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
		r = cvmf_sev_measure_matrix(ctx, in, &m, emit_json, &e);
		if (r && e.r) {
			r = e.r;
			goto out;
		}
		if (r) {
			r = fail("%s", cvmf_ctx_errmsg(ctx));
			goto out;
		}
	} else {
		struct cvmf_sev_launch l = { .vmm = a.vmms[0], .vcpus = a.vcpus[0],
					     .vcpu_sig = a.sigs[0], .guest_features = a.features[0] };
		struct cvmf_digest d;
		if (cvmf_sev_measure(ctx, in, &l, &d)) {
			r = fail("%s", cvmf_ctx_errmsg(ctx));
			goto out;
		}
		if (a.dump_vmsa && cvmf_sev_mode_has_vmsas(a.mode) && (r = dump_vmsas(ctx, in, &l)))
			goto out;
		print_plain(&a, &d);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		r = fail("cannot write to standard output: %s", strerror(errno));
		goto out;
	}
	r = EXIT_OK_;
out:
	free(e.line);
	free(sj);
	cvmf_sev_inputs_free(in);
	cvmf_ctx_free(ctx);
	args_free(&a);
	return r;
}
