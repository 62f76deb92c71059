/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recipes and lock files: a recipe with every key parsed into the struct,
 * every class of error with its exact FILE:LINE, hostile bytes, and the lock
 * file's write/load round trip.
 */
#include "tests/unit/testlib.h"

#include "recipes/recipe.h"

#define T_N(a) (sizeof(a) / sizeof((a)[0]))
#define GIB (1ull << 30)
#define MIB (1ull << 20)

/* 8 lines: an appended line is line 9. */
#define BASE \
	"[image]\n" \
	"name = demo\n" \
	"version = 1.0\n" \
	"source-date-epoch = 1700000000\n" \
	"[firmware]\n" \
	"source = file:OVMF.fd\n" \
	"[kernel]\n" \
	"source = deb:linux-image-cloud-amd64:/boot/vmlinuz\n"

static const char HEX_A[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char HEX_B[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

static struct rcp_recipe *parse_ok(const char *text)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct rcp_recipe *r = NULL;
	int rc = rcp_parse(ctx, "t.recipe", "/r", text, strlen(text), &r);
	if (rc)
		fail_msg("rcp_parse failed (%d): %s", rc, cvmf_ctx_errmsg(ctx));
	cvmf_ctx_free(ctx);
	return r;
}

/* The parse must fail with CVMF_E_FORMAT and a message starting with want. */
static void parse_err_n(const char *text, size_t len, const char *want)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct rcp_recipe *r = NULL;
	int rc = rcp_parse(ctx, "t.recipe", "/r", text, len, &r);
	if (rc != CVMF_E_FORMAT || strncmp(cvmf_ctx_errmsg(ctx), want, strlen(want)))
		fail_msg("want error '%s...', got %d '%s'", want, rc, cvmf_ctx_errmsg(ctx));
	assert_null(r);
	cvmf_ctx_free(ctx);
}

static void parse_err(const char *text, const char *want)
{
	parse_err_n(text, strlen(text), want);
}

/* BASE + extra must fail with want. */
static void base_err(const char *extra, const char *want)
{
	char *t = NULL;
	assert_true(asprintf(&t, "%s%s", BASE, extra) > 0);
	parse_err(t, want);
	free(t);
}

static struct rcp_recipe *base_ok(const char *extra)
{
	char *t = NULL;
	assert_true(asprintf(&t, "%s%s", BASE, extra) > 0);
	struct rcp_recipe *r = parse_ok(t);
	free(t);
	return r;
}

static void test_full(void **state)
{
	(void)state;
	char *text = NULL;
	assert_true(asprintf(&text,
		"; a comment\n"
		"# another\n"
		"[image]\n"
		"name = demo-image_1+x~y\n"
		"version = 0.1.0\n"
		"source-date-epoch = 0001700000000   ; leading zeros are fine\n"
		"\n"
		"[firmware]\n"
		"source = deb:ovmf=2024.11-1:/usr/share/ovmf/OVMF.amdsev.fd\n"
		"sha256 = %s\n"
		"release = 2024.11\n"
		"[kernel]\n"
		"source = file:vmlinuz\n"
		"sha256 = %s\n"
		"[initrd]\n"
		"compression = gzip\n"
		"file = deb:busybox-static=1:1.35.0-4+deb12u1+b1:/bin/busybox:/bin/busybox mode=0755 sha256=%s\n"
		"file = file:init:/init uid=1 gid=2\n"
		"tree = rootfs dest=/usr//share/\n"
		"tree = file:/abs/tree\n"
		"dir = /proc mode=0555\n"
		"symlink = /bin/sh -> busybox\n"
		"device = /dev/console c 5 1 mode=0600\n"
		"device = /dev/vda b 254 0 uid=0 gid=6\n"
		"[cmdline]\n"
		"value = console=ttyS0\n"
		"  quiet   ; a comment\n"
		"\tpanic=-1\n"
		"[snp]\n"
		"kernel-hashes = no\n"
		"vcpus = 1, 2,4-6,\n"
		"  16\n"
		"cpu-types = EPYC-v4,EPYC-Milan-v2\n"
		"vmm-types = QEMU, ec2 ,gce\n"
		"guest-features = 0x1,0X21, 3\n"
		"memory = 4096M\n"
		"[tdx]\n"
		"memory = 2G, 512MiB,1GiB\n"
		"  4294967296\n"
		"page-order = two-pass,single-pass\n"
		"ovmf-event-layout = edk2-2024.11\n"
		"qemu-version = 10.0.1\n"
		"kernel-header-patch = false\n"
		"stub-cc = 0\n"
		"acpi-tables = file:acpi.bin\n"
		"acpi-tables-sha256 = %s\n",
		HEX_A, HEX_B, HEX_A, HEX_B) > 0);
	struct rcp_recipe *r = parse_ok(text);
	uint8_t d[32];

	assert_string_equal(r->path, "t.recipe");
	assert_string_equal(r->dir, "/r");
	t_sha256(text, strlen(text), d);
	assert_memory_equal(r->sha256, d, 32);
	assert_string_equal(r->name, "demo-image_1+x~y");
	assert_string_equal(r->version, "0.1.0");
	assert_int_equal(r->source_date_epoch, 1700000000);

	assert_int_equal(r->firmware.kind, RCP_SRC_DEB);
	assert_string_equal(r->firmware.text, "deb:ovmf=2024.11-1:/usr/share/ovmf/OVMF.amdsev.fd");
	assert_string_equal(r->firmware.package, "ovmf");
	assert_string_equal(r->firmware.version, "2024.11-1");
	assert_string_equal(r->firmware.path, "/usr/share/ovmf/OVMF.amdsev.fd");
	assert_int_equal(r->firmware.line, 9);
	assert_true(r->firmware.have_sha256);
	assert_int_equal(cvmf_unhex(HEX_A, d, 32), 0);
	assert_memory_equal(r->firmware.sha256, d, 32);
	assert_int_equal(r->ovmf_release, 202411);

	assert_int_equal(r->kernel.kind, RCP_SRC_FILE);
	assert_string_equal(r->kernel.path, "/r/vmlinuz");
	assert_null(r->kernel.package);
	assert_true(r->kernel.have_sha256);
	assert_int_equal(cvmf_unhex(HEX_B, d, 32), 0);
	assert_memory_equal(r->kernel.sha256, d, 32);

	assert_true(r->have_initrd);
	assert_false(r->initrd_prebuilt);
	assert_int_equal(r->compression, RCP_GZIP);
	assert_int_equal(r->level, 9);
	assert_int_equal(r->n_entries, 8);
	const struct rcp_entry *e = r->entries;
	assert_int_equal(e[0].kind, RCP_ENT_FILE);
	assert_int_equal(e[0].src.kind, RCP_SRC_DEB);
	assert_string_equal(e[0].src.text, "deb:busybox-static=1:1.35.0-4+deb12u1+b1:/bin/busybox");
	assert_string_equal(e[0].src.package, "busybox-static");
	assert_string_equal(e[0].src.version, "1:1.35.0-4+deb12u1+b1");
	assert_string_equal(e[0].src.path, "/bin/busybox");
	assert_string_equal(e[0].dest, "/bin/busybox");
	assert_true(e[0].have_mode);
	assert_int_equal(e[0].mode, 0755);
	assert_true(e[0].src.have_sha256);
	assert_int_equal(cvmf_unhex(HEX_A, d, 32), 0);
	assert_memory_equal(e[0].src.sha256, d, 32);
	assert_int_equal(e[0].line, 17);
	assert_int_equal(e[1].kind, RCP_ENT_FILE);
	assert_string_equal(e[1].src.path, "/r/init");
	assert_string_equal(e[1].dest, "/init");
	assert_false(e[1].have_mode);
	assert_int_equal(e[1].uid, 1);
	assert_int_equal(e[1].gid, 2);
	assert_int_equal(e[2].kind, RCP_ENT_TREE);
	assert_string_equal(e[2].src.text, "rootfs");
	assert_string_equal(e[2].src.path, "/r/rootfs");
	assert_string_equal(e[2].dest, "/usr/share");
	assert_int_equal(e[3].kind, RCP_ENT_TREE);
	assert_string_equal(e[3].src.path, "/abs/tree");
	assert_string_equal(e[3].dest, "/");
	assert_int_equal(e[4].kind, RCP_ENT_DIR);
	assert_string_equal(e[4].dest, "/proc");
	assert_int_equal(e[4].mode, 0555);
	assert_int_equal(e[5].kind, RCP_ENT_SYMLINK);
	assert_string_equal(e[5].dest, "/bin/sh");
	assert_string_equal(e[5].target, "busybox");
	assert_int_equal(e[6].kind, RCP_ENT_CHAR);
	assert_int_equal(e[6].major, 5);
	assert_int_equal(e[6].minor, 1);
	assert_int_equal(e[6].mode, 0600);
	assert_int_equal(e[7].kind, RCP_ENT_BLOCK);
	assert_int_equal(e[7].major, 254);
	assert_int_equal(e[7].gid, 6);
	assert_int_equal(e[7].line, 24);

	assert_string_equal(r->cmdline, "console=ttyS0 quiet panic=-1");

	assert_true(r->snp.enabled);
	assert_int_equal(r->snp.line, 29);
	assert_false(r->snp.kernel_hashes);
	static const unsigned vcpus[] = { 1, 2, 4, 5, 6, 16 };
	assert_int_equal(r->snp.n_vcpus, T_N(vcpus));
	for (size_t i = 0; i < T_N(vcpus); i++)
		assert_int_equal(r->snp.vcpus[i], vcpus[i]);
	assert_int_equal(r->snp.n_cpu_types, 2);
	assert_string_equal(r->snp.cpu_types[0], "EPYC-v4");
	assert_string_equal(r->snp.cpu_types[1], "EPYC-Milan-v2");
	assert_int_equal(r->snp.n_vmms, 3);
	assert_int_equal(r->snp.vmms[0], CVMF_VMM_QEMU);
	assert_int_equal(r->snp.vmms[1], CVMF_VMM_EC2);
	assert_int_equal(r->snp.vmms[2], CVMF_VMM_GCE);
	assert_int_equal(r->snp.n_guest_features, 3);
	assert_int_equal(r->snp.guest_features[0], 1);
	assert_int_equal(r->snp.guest_features[1], 0x21);
	assert_int_equal(r->snp.guest_features[2], 3);
	assert_int_equal(r->snp.memory, 4 * GIB);

	assert_true(r->tdx.enabled);
	assert_int_equal(r->tdx.n_memory, 4);
	assert_int_equal(r->tdx.memory[0], 2 * GIB);
	assert_int_equal(r->tdx.memory[1], 512 * MIB);
	assert_int_equal(r->tdx.memory[2], GIB);
	assert_int_equal(r->tdx.memory[3], 4 * GIB);
	assert_int_equal(r->tdx.n_orders, 2);
	assert_int_equal(r->tdx.orders[0], CVMF_TDX_TWO_PASS);
	assert_int_equal(r->tdx.orders[1], CVMF_TDX_SINGLE_PASS);
	assert_true(r->tdx.have_layout);
	assert_int_equal(r->tdx.layout, CVMF_TDX_LAYOUT_2024_11);
	assert_int_equal(r->tdx.qemu_version, 1000);
	assert_true(r->tdx.have_kernel_patch);
	assert_false(r->tdx.kernel_patch);
	assert_false(r->tdx.stub_cc);
	assert_true(r->tdx.have_acpi);
	assert_string_equal(r->tdx.acpi.path, "/r/acpi.bin");
	assert_true(r->tdx.acpi.have_sha256);
	assert_int_equal(cvmf_unhex(HEX_B, d, 32), 0);
	assert_memory_equal(r->tdx.acpi.sha256, d, 32);
	rcp_free(r);
	free(text);
}

static void test_defaults(void **state)
{
	(void)state;
	/* Neither [snp] nor [tdx]: only the files. */
	struct rcp_recipe *r = base_ok("");
	assert_false(r->have_initrd);
	assert_false(r->snp.enabled);
	assert_false(r->tdx.enabled);
	assert_string_equal(r->cmdline, "");
	assert_false(r->firmware.have_sha256);
	assert_string_equal(r->firmware.path, "/r/OVMF.fd");
	assert_string_equal(r->kernel.package, "linux-image-cloud-amd64");
	assert_null(r->kernel.version);
	assert_int_equal(r->ovmf_release, 0);
	rcp_free(r);

	r = base_ok("[snp]\n[tdx]\n[initrd]\nfile = file:x:/x\n");
	assert_true(r->snp.enabled && r->tdx.enabled);
	assert_true(r->snp.kernel_hashes);
	assert_int_equal(r->snp.n_vcpus, 1);
	assert_int_equal(r->snp.vcpus[0], 1);
	assert_int_equal(r->snp.n_cpu_types, 1);
	assert_string_equal(r->snp.cpu_types[0], "EPYC-v4");
	assert_int_equal(r->snp.n_vmms, 1);
	assert_int_equal(r->snp.vmms[0], CVMF_VMM_QEMU);
	assert_int_equal(r->snp.n_guest_features, 1);
	assert_int_equal(r->snp.guest_features[0], 1);
	assert_int_equal(r->snp.memory, 2 * GIB);
	assert_int_equal(r->tdx.n_memory, 1);
	assert_int_equal(r->tdx.memory[0], 2 * GIB);
	assert_int_equal(r->tdx.n_orders, 1);
	assert_int_equal(r->tdx.orders[0], CVMF_TDX_SINGLE_PASS);
	assert_false(r->tdx.have_layout);
	assert_int_equal(r->tdx.qemu_version, 902);
	assert_false(r->tdx.have_kernel_patch);
	assert_true(r->tdx.stub_cc);
	assert_false(r->tdx.have_acpi);
	assert_int_equal(r->compression, RCP_ZSTD);
	assert_int_equal(r->level, 3);
	rcp_free(r);

	/* A prebuilt initrd; compression none has no level. */
	r = base_ok("[initrd]\nsource = file:initrd.img\nsha256 = " "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	assert_true(r->have_initrd && r->initrd_prebuilt);
	assert_string_equal(r->initrd.path, "/r/initrd.img");
	assert_true(r->initrd.have_sha256);
	assert_int_equal(r->n_entries, 0);
	rcp_free(r);
	r = base_ok("[initrd]\ncompression = none\ndir = /\n");
	assert_int_equal(r->compression, RCP_NONE);
	assert_int_equal(r->level, 0);
	assert_string_equal(r->entries[0].dest, "/");
	rcp_free(r);
	/* Key order does not matter for level; CRLF line ends. */
	r = base_ok("[initrd]\r\nlevel = 19\r\ndir = /x\r\ncompression = zstd\r\n");
	assert_int_equal(r->level, 19);
	rcp_free(r);
	/* The largest epoch, a UTF-8 BOM, a path with spaces. */
	r = parse_ok("\xef\xbb\xbf[image]\nname=a\nversion=b\nsource-date-epoch=253402300799\n"
		     "[firmware]\nsource=file:my firmware.fd\n[kernel]\nsource=file:/k\n");
	assert_int_equal(r->source_date_epoch, 253402300799ull);
	assert_string_equal(r->firmware.path, "/r/my firmware.fd");
	assert_string_equal(r->kernel.path, "/k");
	rcp_free(r);
}

static void test_sections_and_keys(void **state)
{
	(void)state;
	struct rcp_recipe *r;
	base_err("[foo]\n", "t.recipe:9: unknown section [foo] (sections: image, firmware");
	base_err("[snp]\nvcpu = 1\n",
		 "t.recipe:10: unknown key 'vcpu' in [snp] (keys: kernel-hashes, vcpus, cpu-types, vmm-types, guest-features, memory)");
	base_err("[kernel]\n", "t.recipe:9: section [kernel] already started on line 7");
	parse_err("name = x\n", "t.recipe:1: 'name' is outside any section");
	/* Duplicate key: both lines. */
	parse_err("[image]\nname = a\nversion = 1\nname = b\n",
		  "t.recipe:4: duplicate key 'name' in [image] (first on line 2)");
	/* Syntax errors found by inih. */
	base_err("[snp\n", "t.recipe:9: section header without a closing ']'");
	base_err("[snp] x\n", "t.recipe:9: text after the section header's ']'");
	base_err("[snp]x\n", "t.recipe:9: text after the section header's ']'");
	base_err("[snp];x\n", "t.recipe:9: text after the section header's ']'");
	r = base_ok("[snp] ; fine\n[tdx]\t\n");
	assert_true(r->snp.enabled && r->tdx.enabled);
	rcp_free(r);
	base_err("[snp]\njust words\n", "t.recipe:10: expected '[section]', 'key = value' or a comment");
	base_err("[snp]\nvcpus: 1\n", "t.recipe:10: expected 'key = value' (':' is not a separator)");
	/* The earlier of inih's syntax error and ours. */
	base_err("junk\n[nope]\n", "t.recipe:9: expected '[section]'");
	/* Required keys, naming the section. */
	parse_err("[firmware]\nsource = file:f\n[kernel]\nsource = file:k\n",
		  "t.recipe: no section [image] (it needs name, version and source-date-epoch)");
	parse_err("[image]\nname = a\nsource-date-epoch = 1\n[firmware]\nsource = file:f\n"
		  "[kernel]\nsource = file:k\n",
		  "t.recipe:1: [image] has no 'version' (required)");
	parse_err("[image]\nname = a\nversion = 1\nsource-date-epoch = 1\n[kernel]\nsource = file:k\n",
		  "t.recipe: no section [firmware] (it needs source)");
	parse_err("[image]\nname = a\nversion = 1\nsource-date-epoch = 1\n[firmware]\nsha256 = "
		  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
		  "[kernel]\nsource = file:k\n",
		  "t.recipe:5: [firmware] has no 'source' (required)");
}

static void test_values(void **state)
{
	(void)state;
	base_err("[snp]\nkernel-hashes = maybe\n",
		 "t.recipe:10: 'kernel-hashes' must be yes or no (or true/false, 1/0), not 'maybe'");
	base_err("[tdx]\nstub-cc = Yes\n", "t.recipe:10: 'stub-cc' must be yes or no");
	static const char *const epochs[] = { "-1", "1e9", "+12", "253402300800",
					      "99999999999999999999999", "0x10", "" };
	for (size_t i = 0; i < T_N(epochs); i++) {
		char *t = NULL, *w = NULL;
		assert_true(asprintf(&t, "[image]\nname = a\nversion = 1\nsource-date-epoch = %s\n",
				     epochs[i]) > 0);
		assert_true(asprintf(&w, "t.recipe:4: 'source-date-epoch' must be decimal seconds 0..253402300799, not '%s'",
				     epochs[i]) > 0);
		parse_err(t, w);
		free(t);
		free(w);
	}
	/* " 12" and "1 2": inih trims the first; a space inside stays. */
	parse_err("[image]\nname = a\nversion = 1\nsource-date-epoch = 1 2\n",
		  "t.recipe:4: 'source-date-epoch' must be decimal");
	struct rcp_recipe *r = parse_ok("[image]\nname=a\nversion=1\nsource-date-epoch =  12\n"
					"[firmware]\nsource=file:f\n[kernel]\nsource=file:k\n");
	assert_int_equal(r->source_date_epoch, 12);
	rcp_free(r);

	base_err("[image]\n", "t.recipe:9: section [image] already");
	parse_err("[image]\nname = .hidden\n", "t.recipe:2: 'name' must be letters, digits");
	parse_err("[image]\nname = -x\n", "t.recipe:2: 'name' must be");
	parse_err("[image]\nversion = 1/2\n", "t.recipe:2: 'version' must be");
	base_err("[kernel]\n", "t.recipe:9:");
	parse_err(BASE "[tdx]\nacpi-tables = file:a\nacpi-tables-sha256 = 0011\n",
		  "t.recipe:11: 'acpi-tables-sha256' must be 64 hex digits, not '0011'");
	parse_err("[firmware]\nsha256 = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg\n",
		  "t.recipe:2: 'sha256' must be 64 hex digits");
	base_err("[firmware]\n", "t.recipe:9: section [firmware] already started on line 5");
	parse_err("[firmware]\nrelease = 24.11\n", "t.recipe:2: 'release' must be an edk2 release");

	/* Lists. */
	base_err("[snp]\nvcpus = 1,,2\n", "t.recipe:10: 'vcpus' has an empty item");
	base_err("[snp]\nvcpus = 0\n", "t.recipe:10: '0' in 'vcpus' is not a count or range within 1..4096");
	base_err("[snp]\nvcpus = 4097\n", "t.recipe:10: '4097' in 'vcpus'");
	base_err("[snp]\nvcpus = 4-2\n", "t.recipe:10: '4-2' in 'vcpus'");
	base_err("[snp]\nvcpus = 1-4,3\n", "t.recipe:10: 'vcpus' lists '3' twice");
	base_err("[snp]\ncpu-types = EPYC-v4,EPYC-v9\n",
		 "t.recipe:10: unknown CPU type 'EPYC-v9' (16 known: EPYC, EPYC-v1,");
	base_err("[snp]\ncpu-types = EPYC,EPYC\n", "t.recipe:10: 'cpu-types' lists 'EPYC' twice");
	base_err("[snp]\nvmm-types = qemu\n", "t.recipe:10: unknown VMM type 'qemu' (QEMU, ec2, gce)");
	base_err("[snp]\nguest-features = 0x1,1\n", "t.recipe:10: 'guest-features' lists '1' twice");
	base_err("[snp]\nguest-features = 0x10000000000000000\n",
		 "t.recipe:10: '0x10000000000000000' in 'guest-features' is not a 64-bit number");
	base_err("[snp]\nmemory = 16M\n", "t.recipe:10: '16M' in 'memory' is not a memory size");
	base_err("[snp]\nmemory = 33554433\n", "t.recipe:10: '33554433' in 'memory'");
	base_err("[snp]\nmemory = 2X\n", "t.recipe:10: '2X' in 'memory'");
	base_err("[tdx]\nmemory = 2G,2048M\n", "t.recipe:10: 'memory' lists '2048M' twice");
	base_err("[tdx]\npage-order = three-pass\n", "t.recipe:10: unknown page order 'three-pass'");
	base_err("[tdx]\novmf-event-layout = edk2-2025.05\n", "t.recipe:10: OVMF event layout");
	base_err("[tdx]\nqemu-version = 9\n", "t.recipe:10: 'qemu-version' must be MAJOR.MINOR");
	base_err("[tdx]\nqemu-version = 9.2.1.1\n", "t.recipe:10: 'qemu-version'");
	base_err("[tdx]\nqemu-version = -9.2\n", "t.recipe:10: 'qemu-version'");
	base_err("[tdx]\nacpi-tables-sha256 = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		 "t.recipe:10: 'acpi-tables-sha256' without 'acpi-tables'");

	/* [initrd] rules, checked when the section is read. */
	base_err("[initrd]\ncompression = xz\n", "t.recipe:10: 'compression' must be zstd, gzip or none");
	base_err("[initrd]\nlevel = 12\ndir = /x\ncompression = gzip\n",
		 "t.recipe:10: 'level' 12 is above gzip's 9");
	base_err("[initrd]\nlevel = 20\n", "t.recipe:10: 'level' must be 1..19");
	base_err("[initrd]\nlevel = 3\ncompression = none\ndir = /x\n",
		 "t.recipe:10: 'level' with compression none");
	base_err("[initrd]\nsource = file:i\ndir = /x\n",
		 "t.recipe:11: 'dir' builds an initrd, but 'source' on line 10 names a prebuilt one");
	base_err("[initrd]\ncompression = gzip\nsource = file:i\n",
		 "t.recipe:10: 'compression' builds an initrd");
	base_err("[initrd]\ncompression = gzip\n",
		 "t.recipe:9: [initrd] has neither 'source' nor entry lines");
	base_err("[initrd]\ndir = /x\nsha256 = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		 "t.recipe:11: 'sha256' pins a prebuilt initrd");
}

static void test_sources(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct rcp_source s;
	static const struct { const char *text, *err; } bad[] = {
		{ "file:", "W: 'file:' needs a path" },
		{ "http://x", "W: 'http://x' is not a source" },
		{ "/abs/path", "W: '/abs/path' is not a source" },
		{ "deb:Busybox:/bin/busybox", "W: 'Busybox' is not a Debian package name" },
		{ "deb:b:/bin/busybox", "W: 'b' is not a Debian package name" },
		{ "deb:-x:/bin/busybox", "W: '-x' is not a Debian package name" },
		{ "deb:busybox", "W: 'deb:busybox' is not deb:PACKAGE[=VERSION]:/PATH" },
		{ "deb:busybox:bin/busybox", "W: 'deb:busybox:bin/busybox' is not deb:" },
		{ "deb:busybox=1.0", "W: 'deb:busybox=1.0' has no ':/PATH' after the version" },
		{ "deb:busybox=:/bin/busybox", "W: '' is not a Debian version" },
		{ "deb:busybox=a1:/bin/busybox", "W: 'a1' is not a Debian version" },
		{ "deb:busybox=x:1.0:/bin/busybox", "W: 'x:1.0' is not a Debian version" },
		{ "deb:busybox=1 2:/bin/busybox", "W: '1 2' is not a Debian version" },
		{ "deb:busybox:/bin/../etc/shadow", "W: the path in 'deb:busybox:/bin/../etc/shadow' has a '..' component" },
		{ "deb:busybox:/", "W: the path in 'deb:busybox:/' is the root directory" },
	};
	for (size_t i = 0; i < T_N(bad); i++) {
		int rc = rcp_source_parse(ctx, "W", "/d", bad[i].text, &s);
		if (rc != CVMF_E_FORMAT ||
		    strncmp(cvmf_ctx_errmsg(ctx), bad[i].err, strlen(bad[i].err)))
			fail_msg("%s: want '%s', got %d '%s'", bad[i].text, bad[i].err, rc,
				 cvmf_ctx_errmsg(ctx));
	}
	/* Epoch versions; the version ends at the first ":/". */
	assert_int_equal(rcp_source_parse(ctx, "W", "/d",
					  "deb:busybox-static=1:1.35.0-4+deb12u1+b1:/bin//busybox", &s), 0);
	assert_int_equal(s.kind, RCP_SRC_DEB);
	assert_string_equal(s.package, "busybox-static");
	assert_string_equal(s.version, "1:1.35.0-4+deb12u1+b1");
	assert_string_equal(s.path, "/bin/busybox");
	assert_string_equal(s.text, "deb:busybox-static=1:1.35.0-4+deb12u1+b1:/bin//busybox");
	rcp_source_clear(&s);
	assert_int_equal(rcp_source_parse(ctx, "W", "/d", "deb:libc6.1-dev+x=2.36~rc1:/lib/x", &s), 0);
	assert_string_equal(s.package, "libc6.1-dev+x");
	assert_string_equal(s.version, "2.36~rc1");
	rcp_source_clear(&s);
	/* file: against the recipe's directory. */
	static const struct { const char *dir, *text, *path; } files[] = {
		{ "/d", "file:a/b", "/d/a/b" },
		{ "/d/", "file:a", "/d/a" },
		{ "/", "file:a", "/a" },
		{ ".", "file:a", "a" },
		{ "rel/dir", "file:../x", "rel/dir/../x" },
		{ NULL, "file:a", "a" },
		{ "/d", "file:/etc/x", "/etc/x" },
	};
	for (size_t i = 0; i < T_N(files); i++) {
		assert_int_equal(rcp_source_parse(ctx, "W", files[i].dir, files[i].text, &s), 0);
		assert_int_equal(s.kind, RCP_SRC_FILE);
		assert_string_equal(s.path, files[i].path);
		assert_null(s.package);
		rcp_source_clear(&s);
	}
	cvmf_ctx_free(ctx);

	/* In a recipe: FILE:LINE in front. */
	base_err("[initrd]\nfile = deb:Bad:/x:/x\n", "t.recipe:10: 'Bad' is not a Debian package name");
	base_err("[tdx]\nacpi-tables = acpi.bin\n", "t.recipe:10: 'acpi.bin' is not a source");
}

static void test_load(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *sub = NULL;
	assert_true(asprintf(&sub, "%s/sub", dir) > 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	const char *text = BASE "[initrd]\ntree = rootfs\nfile = file:../init:/init\n";
	char *path = t_write(sub, "x.recipe", text, strlen(text));
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct rcp_recipe *r = NULL;
	assert_int_equal(rcp_load(ctx, path, &r), 0);
	assert_string_equal(r->path, path);
	assert_string_equal(r->dir, sub);
	char *want = NULL;
	assert_true(asprintf(&want, "%s/OVMF.fd", sub) > 0);
	assert_string_equal(r->firmware.path, want);
	free(want);
	assert_true(asprintf(&want, "%s/rootfs", sub) > 0);
	assert_string_equal(r->entries[0].src.path, want);
	free(want);
	assert_true(asprintf(&want, "%s/../init", sub) > 0);
	assert_string_equal(r->entries[1].src.path, want);
	free(want);
	uint8_t d[32];
	t_sha256(text, strlen(text), d);
	assert_memory_equal(r->sha256, d, 32);
	rcp_free(r);

	/* A relative recipe path: relative sources stay relative to it. */
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	r = NULL;
	assert_int_equal(rcp_load(ctx, "sub/x.recipe", &r), 0);
	assert_string_equal(r->dir, "sub");
	assert_string_equal(r->firmware.path, "sub/OVMF.fd");
	rcp_free(r);
	assert_int_equal(chdir("sub"), 0);
	r = NULL;
	assert_int_equal(rcp_load(ctx, "x.recipe", &r), 0);
	assert_string_equal(r->dir, ".");
	assert_string_equal(r->firmware.path, "OVMF.fd");
	rcp_free(r);
	assert_int_equal(chdir(cwd), 0);

	/* Errors name the path as given. */
	char *bad = t_write(sub, "bad.recipe", "[image]\nnope = 1\n", 17);
	assert_int_equal(rcp_load(ctx, bad, &r), CVMF_E_FORMAT);
	char *msg = NULL;
	assert_true(asprintf(&msg, "%s:2: unknown key 'nope' in [image]", bad) > 0);
	assert_true(!strncmp(cvmf_ctx_errmsg(ctx), msg, strlen(msg)));
	free(msg);
	char *missing = NULL;
	assert_true(asprintf(&missing, "%s/none.recipe", dir) > 0);
	assert_int_equal(rcp_load(ctx, missing, &r), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "none.recipe"));
	free(missing);
	free(bad);
	cvmf_ctx_free(ctx);
	free(path);
	free(sub);
	t_rmrf(dir);
	free(dir);
}

static void test_entries(void **state)
{
	(void)state;
	base_err("[initrd]\nfile = file:x:/a/../b\n", "t.recipe:10: 'file': '/a/../b' has a '..' component");
	base_err("[initrd]\nfile = file:x:/a/./b\n", "t.recipe:10: 'file': '/a/./b' has a '.' component");
	base_err("[initrd]\nfile = file:x:/\n", "t.recipe:10: 'file': '/' is the root directory");
	base_err("[initrd]\nfile = file:x:/x owner=root\n",
		 "t.recipe:10: unknown option 'owner' in 'file' (options: mode=, uid=, gid=, sha256=)");
	base_err("[initrd]\nfile = file:x:/x 0755\n", "t.recipe:10: unexpected '0755' in 'file'");
	base_err("[initrd]\nfile = file:x:/x mode=0755 mode=0644\n", "t.recipe:10: option 'mode' given twice");
	base_err("[initrd]\nfile = file:x:/x mode=0758\n", "t.recipe:10: mode '0758' is not octal 0..07777");
	base_err("[initrd]\nfile = file:x:/x mode=17777\n", "t.recipe:10: mode '17777' is not octal");
	base_err("[initrd]\nfile = file:x:/x uid=-1\n", "t.recipe:10: uid '-1' is not a number");
	base_err("[initrd]\nfile = file:x:/x gid=4294967295\n", "t.recipe:10: gid '4294967295'");
	base_err("[initrd]\nfile = file:x:/x sha256=00\n", "t.recipe:10: sha256 must be 64 hex digits");
	base_err("[initrd]\nfile = x\n", "t.recipe:10: 'file' needs SOURCE:/DEST");
	base_err("[initrd]\nfile = :/x\n", "t.recipe:10: 'file' needs SOURCE:/DEST");
	base_err("[initrd]\nfile = init:/init\n", "t.recipe:10: 'init' is not a source");
	base_err("[initrd]\nfile =\n", "t.recipe:10: 'file' needs a value");
	base_err("[initrd]\ntree = deb:x:/y\n", "t.recipe:10: 'tree' takes a host directory");
	base_err("[initrd]\ntree = t mode=0755\n", "t.recipe:10: unknown option 'mode' in 'tree' (options: uid=, gid=, dest=)");
	base_err("[initrd]\ntree = t dest=usr\n", "t.recipe:10: dest 'usr' is not absolute");
	base_err("[initrd]\ndir = x\n", "t.recipe:10: 'dir': 'x' is not absolute");
	base_err("[initrd]\nsymlink = /a b\n", "t.recipe:10: 'symlink' needs /DEST -> TARGET");
	base_err("[initrd]\nsymlink = /a -> b mode=0777\n", "t.recipe:10: unknown option 'mode' in 'symlink'");
	base_err("[initrd]\ndevice = /dev/x p 1 2\n", "t.recipe:10: 'device' needs /DEST c|b MAJOR MINOR");
	base_err("[initrd]\ndevice = /dev/x c 4096 2\n", "t.recipe:10: device numbers '4096 2'");
	base_err("[initrd]\ndevice = /dev/x c 1\n", "t.recipe:10: 'device' needs");
	/* Two lines making the same path. */
	base_err("[initrd]\ndir = /x\nsymlink = /y -> x\nfile = file:f:/x/\n",
		 "t.recipe:12: '/x' is already created on line 10");
	/* Repeatable keys take no continuation. */
	base_err("[initrd]\nfile = file:a:/a\n  dir = /b\n",
		 "t.recipe:11: 'file' does not take continuation lines");
	/* And a '->' inside a source is just a file name. */
	struct rcp_recipe *r = base_ok("[initrd]\nfile = file:a->b:/a\ndir = /a/b\n");
	assert_string_equal(r->entries[0].src.path, "/r/a->b");
	rcp_free(r);
}

static void test_lines(void **state)
{
	(void)state;
	/* 199 characters are fine, 200 are not. */
	char line[256], *t = NULL;
	memset(line, 'a', sizeof(line));
	memcpy(line, "value = ", 8);
	line[199] = '\0';
	assert_true(asprintf(&t, "%s[cmdline]\n%s\n[snp]\n", BASE, line) > 0);
	struct rcp_recipe *r = parse_ok(t);
	assert_int_equal(strlen(r->cmdline), 191);
	assert_true(r->snp.enabled);
	rcp_free(r);
	free(t);
	/* The same without a final newline. */
	assert_true(asprintf(&t, "%s[cmdline]\n%s", BASE, line) > 0);
	r = parse_ok(t);
	assert_int_equal(strlen(r->cmdline), 191);
	rcp_free(r);
	free(t);
	line[199] = 'a';
	line[200] = '\0';
	assert_true(asprintf(&t, "%s[cmdline]\n%s\n", BASE, line) > 0);
	parse_err(t, "t.recipe:10: line longer than 199 characters (continue a long value on indented lines)");
	free(t);
	/* Even in a comment, and with CRLF (the CR does not count). */
	line[0] = ';';
	assert_true(asprintf(&t, "%s%s\r\n", BASE, line) > 0);
	parse_err(t, "t.recipe:9: line longer than 199 characters");
	free(t);
	line[199] = '\0';
	assert_true(asprintf(&t, "%s%s\r\n", BASE, line) > 0);
	r = parse_ok(t);
	rcp_free(r);
	free(t);

	/* Continuations: cmdline joins with a space, lists with ','. */
	r = base_ok("[cmdline]\nvalue = a\n\n  b ; comment\n; comment\n\tc;d\n[snp]\nvcpus =\n  1\n  2,\n  3\n");
	assert_string_equal(r->cmdline, "a b c;d");
	assert_int_equal(r->snp.n_vcpus, 3);
	assert_int_equal(r->snp.vcpus[2], 3);
	rcp_free(r);
	base_err("[image]\n", "t.recipe:9:");
	parse_err("[image]\nname = a\n  b\n", "t.recipe:3: 'name' does not take continuation lines");
	parse_err("[tdx]\nqemu-version = 9.2\n  ; fine\n    10.0\n",
		  "t.recipe:4: 'qemu-version' does not take continuation lines");
	/* An indented key right after a header is a key. */
	r = base_ok("[snp]\n  vcpus = 2\n");
	assert_int_equal(r->snp.vcpus[0], 2);
	rcp_free(r);
	/* Inline comments need whitespace before ';'. */
	r = base_ok("[cmdline]\nvalue = a;b ; c\n");
	assert_string_equal(r->cmdline, "a;b");
	rcp_free(r);
	/* An empty value. */
	r = base_ok("[cmdline]\nvalue =\n");
	assert_string_equal(r->cmdline, "");
	rcp_free(r);
}

static void test_hostile_bytes(void **state)
{
	(void)state;
	static const char nul[] = "[image]\nname = a\0b\n";
	parse_err_n(nul, sizeof(nul) - 1, "t.recipe:2: NUL byte in column 9");
	parse_err("[image]\nname = \xff\xfe\n", "t.recipe:2: not UTF-8 text (byte 0xff in column 8)");
	parse_err("[image]\nname = \xc0\xaf\n", "t.recipe:2: not UTF-8 text");
	parse_err("[image]\nname = \xed\xa0\x80\n", "t.recipe:2: not UTF-8 text");
	parse_err("[image]\nname = \xe2\x82\n", "t.recipe:2: not UTF-8 text");
	parse_err("[image]\nname = a\x1b[0m\n", "t.recipe:2: control character 0x1b in column 9");
	parse_err("[image]\nname = a\rb\n", "t.recipe:2: control character 0x0d");
	/* UTF-8 is fine where a value is free text. */
	struct rcp_recipe *r = base_ok("[cmdline]\nvalue = caf\xc3\xa9 \xf0\x9f\x90\xa7\n");
	assert_string_equal(r->cmdline, "caf\xc3\xa9 \xf0\x9f\x90\xa7");
	rcp_free(r);
	/* Nothing at all, and random junk, fail cleanly. */
	parse_err_n("", 0, "t.recipe: no section [image]");
	uint8_t junk[4096];
	uint32_t x = 12345;
	cvmf_ctx *ctx = cvmf_ctx_new();
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(junk); i++) {
			x = x * 1103515245 + 12345;
			junk[i] = (uint8_t)(x >> 16);
			if (round & 1)
				junk[i] = "[]=\n ;ab:/,-"[junk[i] % 13];
		}
		struct rcp_recipe *rr = NULL;
		assert_int_not_equal(rcp_parse(ctx, "j", NULL, (const char *)junk, sizeof(junk), &rr), 0);
		assert_null(rr);
		struct rcp_lock *l = NULL;
		if (!rcp_lock_parse(ctx, "j", (const char *)junk, sizeof(junk), &l))
			rcp_lock_free(l);
	}
	cvmf_ctx_free(ctx);
}

static void test_key_docs(void **state)
{
	(void)state;
	const struct rcp_key_doc *d;
	size_t n = rcp_key_docs(&d);
	assert_int_equal(n, 33);
	static const char *const sections[] = { "image", "firmware", "kernel", "initrd", "cmdline",
						"snp", "tdx", "repositories" };
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		for (size_t j = 0; j < T_N(sections); j++)
			known |= !strcmp(d[i].section, sections[j]);
		assert_true(known);
		assert_non_null(d[i].key);
		assert_non_null(d[i].value);
		assert_non_null(d[i].help);
		assert_null(strchr(d[i].help, '\n'));
		/* Every help line says what happens when the key is absent. */
		if (!strstr(d[i].help, "default") && !strstr(d[i].help, "required") &&
		    !strstr(d[i].help, "repeatable"))
			fail_msg("%s.%s: help without a default", d[i].section, d[i].key);
		/* Every documented key is accepted in its section. */
		char *t = NULL;
		assert_true(asprintf(&t, "[%s]\n%s = \x01\n", d[i].section, d[i].key) > 0);
		cvmf_ctx *ctx = cvmf_ctx_new();
		struct rcp_recipe *r = NULL;
		assert_int_not_equal(rcp_parse(ctx, "k", NULL, t, strlen(t), &r), 0);
		assert_null(strstr(cvmf_ctx_errmsg(ctx), "unknown key"));
		cvmf_ctx_free(ctx);
		free(t);
	}
}

/* ---- lock files ---- */

static void test_lock_round_trip(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *path = NULL;
	assert_true(asprintf(&path, "%s/x.recipe.lock", dir) > 0);
	cvmf_ctx *ctx = cvmf_ctx_new();

	/* Missing: empty. */
	struct rcp_lock *l = NULL;
	assert_int_equal(rcp_lock_load(ctx, path, &l), 0);
	assert_int_equal(l->n, 0);
	assert_string_equal(l->path, path);

	static const char *const ids[] = {
		"deb:busybox-static=1:1.35.0-4+deb12u1+b1:/bin/busybox",
		"file:vmlinuz",
		"tree:rootfs/etc/a very long name that inih would cut short=at 49 characters:/x",
		"deb:ovmf:/usr/share/ovmf/OVMF.fd",
	};
	struct rcp_lock_entry e = { 0 };
	for (size_t i = 0; i < T_N(ids); i++) {
		e.id = (char *)ids[i];
		e.have_sha256 = true;
		memset(e.sha256, (int)i + 1, 32);
		e.version = i == 0 ? "1:1.35.0-4+deb12u1+b1" : NULL;
		e.have_deb_sha256 = i == 0;
		memset(e.deb_sha256, 0xab, 32);
		e.deb_file = i == 0 ? "busybox-static_1.35.0-4+deb12u1+b1_amd64.deb" : NULL;
		assert_int_equal(rcp_lock_set(ctx, l, &e), 0);
	}
	/* Replace one. */
	e.id = "file:vmlinuz";
	e.version = NULL;
	e.deb_file = NULL;
	e.have_deb_sha256 = false;
	memset(e.sha256, 0x77, 32);
	assert_int_equal(rcp_lock_set(ctx, l, &e), 0);
	assert_int_equal(l->n, 4);
	/* Ids that would not survive. */
	static const char *const bad_ids[] = { "", "a]b", "a ;b", " a", "a\nb", "\xff" };
	for (size_t i = 0; i < T_N(bad_ids); i++) {
		e.id = (char *)bad_ids[i];
		assert_int_equal(rcp_lock_set(ctx, l, &e), CVMF_E_INVAL);
	}
	char longid[256];
	memset(longid, 'x', sizeof(longid));
	longid[198] = '\0';
	e.id = longid;
	assert_int_equal(rcp_lock_set(ctx, l, &e), CVMF_E_INVAL);
	longid[197] = '\0';
	assert_int_equal(rcp_lock_set(ctx, l, &e), 0);
	assert_int_equal(rcp_lock_write(ctx, l), 0);
	rcp_lock_free(l);

	size_t n;
	char *text = t_slurp(path, &n);
	assert_non_null(strstr(text, "cvmforge build --lock"));
	/* Sorted by id. */
	const char *p1 = strstr(text, "[deb:busybox"), *p2 = strstr(text, "[deb:ovmf"),
		   *p3 = strstr(text, "[file:vmlinuz]"), *p4 = strstr(text, "[tree:"),
		   *p5 = strstr(text, "[xxx");
	assert_true(p1 && p2 && p3 && p4 && p5 && p1 < p2 && p2 < p3 && p3 < p4 && p4 < p5);
	free(text);
	/* No temporary file left behind. */
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "test $(ls '%s' | wc -l) -eq 1", dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	l = NULL;
	assert_int_equal(rcp_lock_load(ctx, path, &l), 0);
	assert_int_equal(l->n, 5);
	const struct rcp_lock_entry *f = rcp_lock_find(l, ids[0]);
	assert_non_null(f);
	assert_true(f->have_sha256);
	uint8_t d[32];
	memset(d, 1, 32);
	assert_memory_equal(f->sha256, d, 32);
	assert_string_equal(f->version, "1:1.35.0-4+deb12u1+b1");
	assert_true(f->have_deb_sha256);
	memset(d, 0xab, 32);
	assert_memory_equal(f->deb_sha256, d, 32);
	assert_string_equal(f->deb_file, "busybox-static_1.35.0-4+deb12u1+b1_amd64.deb");
	assert_int_equal(f->line, 5);
	f = rcp_lock_find(l, ids[2]);
	assert_non_null(f);
	assert_null(f->version);
	assert_false(f->have_deb_sha256);
	f = rcp_lock_find(l, "file:vmlinuz");
	memset(d, 0x77, 32);
	assert_memory_equal(f->sha256, d, 32);
	assert_non_null(rcp_lock_find(l, longid));
	assert_null(rcp_lock_find(l, "file:nope"));
	/* Written again, byte for byte the same. */
	char *before = t_slurp(path, NULL);
	assert_int_equal(rcp_lock_write(ctx, l), 0);
	char *after = t_slurp(path, NULL);
	assert_string_equal(before, after);
	free(before);
	free(after);
	rcp_lock_free(l);

	cvmf_ctx_free(ctx);
	free(path);
	t_rmrf(dir);
	free(dir);
}

static void lock_err(const char *text, const char *want)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct rcp_lock *l = NULL;
	int rc = rcp_lock_parse(ctx, "x.lock", text, strlen(text), &l);
	if (rc != CVMF_E_FORMAT || strncmp(cvmf_ctx_errmsg(ctx), want, strlen(want)))
		fail_msg("want error '%s...', got %d '%s'", want, rc, cvmf_ctx_errmsg(ctx));
	assert_null(l);
	cvmf_ctx_free(ctx);
}

static void test_lock_errors(void **state)
{
	(void)state;
	lock_err("# c\n[file:a]\nsha256 = 0011\n", "x.lock:3: 'sha256' must be 64 hex digits, not '0011'");
	lock_err("[file:a]\nsha256 = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeffaa\n",
		 "x.lock:2: 'sha256' must be 64 hex digits");
	lock_err("[file:a]\ndeb-sha256 = zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		 "x.lock:2: 'deb-sha256' must be 64 hex digits");
	lock_err("[file:a]\nsize = 1\n", "x.lock:2: unknown key 'size' (keys: sha256, version, deb-sha256, deb-file)");
	lock_err("sha256 = 1\n", "x.lock:1: 'sha256' is outside any [ID] section");
	lock_err("[a]\nversion = 1\nversion = 2\n", "x.lock:3: duplicate key 'version' (first on line 2)");
	lock_err("[a]\nversion = 1\n  2\n", "x.lock:3: 'version' does not take continuation lines");
	lock_err("[a]\n[b]\n[a]\n", "x.lock:3: [a] is already on line 1");
	lock_err("[a]\ndeb-file = x/y.deb\n", "x.lock:2: 'deb-file' must be one word without '/'");
	lock_err("[]\n", "x.lock:1: empty section name");
	lock_err("[a\n", "x.lock:1: section header without a closing ']'");
	/* A missing file is empty; a directory is an I/O error. */
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct rcp_lock *l = NULL;
	assert_int_equal(rcp_lock_load(ctx, "/", &l), CVMF_E_IO);
	assert_null(l);
	cvmf_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_sections_and_keys),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_key_docs),
		cmocka_unit_test(test_lock_round_trip),
		cmocka_unit_test(test_lock_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
