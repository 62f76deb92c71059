/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge log ...` end to end: init/add/proof/verify with exit codes,
 * witnesses (cosignatures made by tlogcheck) and quorums, the golden log
 * through the CLI, the monitor against rollbacks and a forked log (two logs
 * from a common prefix, signed with the same key), usage errors; every log
 * audited by tlogcheck.
 */
#include "tests/unit/tlogtest.h"

#define GOLDEN_SKEY "PRIVATE+KEY+example.com/testlog+aa158d86+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
#define W_SEED1 "2222222222222222222222222222222222222222222222222222222222222222"
#define W_SEED2 "3333333333333333333333333333333333333333333333333333333333333333"

static struct run sh_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct run sh_ok(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&s, fmt, ap) > 0);
	va_end(ap);
	struct run r = t_sh("%s", s);
	if (r.status)
		fail_msg("%s\nexit %d\n%s%s", s, r.status, r.out, r.err);
	free(s);
	return r;
}

/* Last line of stdout without its newline (malloc'd). */
static char *line_of(struct run *r)
{
	char *s = strdup(t_last_line(r->out));
	t_run_free(r);
	return s;
}

static void audit(const char *dir, const char *vkey)
{
	if (!t_tlogcheck())
		return;
	struct run r = t_sh("'%s' audit -log '%s' -vkey '%s' -full 2>&1", t_tlogcheck(), dir, vkey);
	if (r.status)
		fail_msg("tlogcheck audit of %s: %s", dir, r.out);
	t_run_free(&r);
}

static void test_roundtrip(void **state)
{
	(void)state;
	char *d = t_tmpdir();
	const char *b = t_bin();
	struct run r = sh_ok("cd '%s' && '%s' log init log --origin t.example/cli", d, b);
	char *vkey = line_of(&r);
	assert_non_null(strstr(vkey, "t.example/cli+"));
	r = sh_ok("cd '%s' && for i in 0 1 2 3 4 5 6 7 8 9; do echo \"entry $i\" > e$i; done && "
		  "'%s' log add log e0 e1 e2 && '%s' log add log e3 e4 e5 e6 e7 e8 e9", d, b, b);
	assert_non_null(strstr(r.out, "0 e0\n1 e1\n2 e2\n3 e3\n"));
	assert_non_null(strstr(r.out, "9 e9\n"));
	t_run_free(&r);
	char *logdir = NULL;
	assert_true(asprintf(&logdir, "%s/log", d) > 0);
	audit(logdir, vkey);
	free(logdir);
	r = sh_ok("cd '%s' && '%s' log proof log 4 -o p4 && '%s' log verify p4 --vkey '%s' && "
		  "'%s' log verify p4 --vkey '%s' --entry e4 && echo '%s' > vk && "
		  "'%s' log verify p4 --vkey vk",
		  d, b, b, vkey, b, vkey, vkey, b);
	assert_non_null(strstr(r.out, "p4: entry 4 of t.example/cli (tree size 10) is included"));
	t_run_free(&r);
	/* The proof on stdout equals the file. */
	r = sh_ok("cd '%s' && '%s' log proof log 4 | cmp - p4", d, b);
	t_run_free(&r);
	/* Does not verify: exit 3 with the reason. */
	struct { const char *cmd, *msg; int code; } bad[] = {
		{ "log verify p4 --vkey vk --entry e5", "differs from the one in the extra line", 3 },
		{ "log verify p4x --vkey vk --entry e4", "computed root differs", 3 },
		{ "log verify p4 --vkey 'other.example/x+8bd1b1a1+AWjneX/rdIg2p9yV0iaEpeT3vxG5ZqTSCs1DTcrib1pT'",
		  "", 1 },
		{ "log verify p4y --vkey vk", "does not verify", 3 },
		{ "log verify e4 --vkey vk", "not \"c2sp.org/tlog-proof@v1\"", 1 },
		{ "log proof log 10", "not in the log", 1 },
		{ "log add log big", "at most 65535", 1 },
		{ "log verify p4 --vkey vk --quorum 1", "more than the 0 --witness", 2 },
		{ "log verify p4", "required: --vkey", 2 },
		{ "log init log2", "required: --origin", 2 },
		{ "log add log", "required: FILE", 2 },
		{ "log proof log x", "invalid number", 2 },
		{ "log monitor log --vkey vk", "required: --state", 2 },
		{ "log frob", "invalid choice", 2 },
		{ "log init log --origin t.example/cli", "not empty", 1 },
		{ "log init e4 --origin t.example/cli", "is not a directory", 1 },
		{ "log init new --origin t.example/cli --key new/k", "inside the log directory", 1 },
		{ "log add e4 e4", "not a cvmforge log", 1 },
	};
	/* p4x: the first inclusion hash changed; p4y: the log signature changed. */
	r = sh_ok("cd '%s' && awk '{ if (NR == 4) { c = substr($0, 1, 1); "
		  "$0 = ((c == \"A\") ? \"B\" : \"A\") substr($0, 2) } print }' p4 > p4x && "
		  "! cmp -s p4 p4x && head -c 70000 /dev/zero > big", d);
	t_run_free(&r);
	/* Make p4y certainly wrong: change the signature's last base64 character
	 * before '='. Its two low bits are padding, so the new character ('A' or
	 * 'E') keeps them zero: the base64 stays canonical and only the
	 * signature check can fail. */
	r = sh_ok("cd '%s' && awk '{ if (NR > 1 && $0 ~ /^\\xe2\\x80\\x94 /) { l = length($0); "
		  "c = substr($0, l - 1, 1); c = (c == \"A\") ? \"E\" : \"A\"; "
		  "$0 = substr($0, 1, l - 2) c substr($0, l) } print }' p4 > p4y && ! cmp -s p4 p4y", d);
	t_run_free(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = t_sh("cd '%s' && '%s' %s", d, b, bad[i].cmd);
		if (r.status != bad[i].code || !strstr(r.err, bad[i].msg))
			fail_msg("%s: exit %d (want %d), stderr: %s", bad[i].cmd, r.status, bad[i].code,
				 r.err);
		t_run_free(&r);
	}
	/* Nothing was appended by the refused add; the refused init left nothing. */
	r = sh_ok("cd '%s' && test ! -e new && sed -n 2p log/checkpoint", d);
	assert_string_equal(r.out, "10\n");
	t_run_free(&r);
	t_rmrf(d);
	free(d);
	free(vkey);
}

/* Cosignatures by two witnesses (made by tlogcheck), quorums 1 and 2. */
static void test_witnesses(void **state)
{
	(void)state;
	const char *tc = t_tlogcheck();
	if (!tc)
		skip();
	char *d = t_tmpdir();
	const char *b = t_bin();
	struct run r = sh_ok("cd '%s' && '%s' log init log --origin t.example/wit", d, b);
	char *vkey = line_of(&r);
	r = sh_ok("cd '%s' && '%s' genkey -seed %s -cosig w1.example/w > w1 && "
		  "'%s' genkey -seed %s -cosig w2.example/w > w2 && printf 'x' > e0 && "
		  "printf 'y' > e1 && '%s' log add log e0 e1 >/dev/null && "
		  "'%s' log proof log 1 -o p && "
		  "'%s' sign -skey \"$(sed -n 1p w1)\" -cosign-time 1700000000 log/checkpoint > cp1 && "
		  "sed '/^$/,$d' p > head && { cat head; echo; cat cp1; } > p1",
		  d, tc, W_SEED1, tc, W_SEED2, b, b, tc);
	t_run_free(&r);
	/* One cosignature: quorum 1 of 2 passes, 2 of 2 does not. */
	r = sh_ok("cd '%s' && '%s' log verify p1 --vkey '%s' --witness \"$(sed -n 3p w1)\" "
		  "--witness \"$(sed -n 3p w2)\" --quorum 1", d, b, vkey);
	assert_non_null(strstr(r.out, "1 of 2 witnesses cosigned (quorum 1)"));
	t_run_free(&r);
	r = t_sh("cd '%s' && '%s' log verify p1 --vkey '%s' --witness \"$(sed -n 3p w1)\" "
		 "--witness \"$(sed -n 3p w2)\"", d, b, vkey);
	assert_int_equal(r.status, 3);
	assert_non_null(strstr(r.err, "1 of the 2 witnesses cosigned the checkpoint, the quorum is 2"));
	t_run_free(&r);
	/* Both cosign: quorum 2 passes, and tlogcheck agrees. */
	r = sh_ok("cd '%s' && '%s' sign -skey \"$(sed -n 1p w2)\" -cosign-time 1700000001 cp1 > cp2 && "
		  "{ cat head; echo; cat cp2; } > p2 && "
		  "'%s' log verify p2 --vkey '%s' --witness \"$(sed -n 3p w1)\" --witness \"$(sed -n 3p w2)\" && "
		  "'%s' tlog-proof -vkey '%s' -witness \"$(sed -n 3p w1)\" -witness \"$(sed -n 3p w2)\" "
		  "-quorum 2 -entry-file e1 p2",
		  d, tc, b, vkey, tc, vkey);
	assert_non_null(strstr(r.out, "2 of 2 witnesses cosigned"));
	t_run_free(&r);
	/* A forged cosignature (bytes flipped) rejects the proof. */
	r = t_sh("cd '%s' && awk -v n=$(wc -l < p2) '{ if (NR == n) { l = length($0); c = substr($0, l - 10, 1); "
		 "$0 = substr($0, 1, l - 11) ((c == \"A\") ? \"B\" : \"A\") substr($0, l - 9) } print }' "
		 "p2 > p3 && "
		 "! cmp -s p2 p3 && '%s' log verify p3 --vkey '%s' --witness \"$(sed -n 3p w2)\"",
		 d, b, vkey);
	assert_int_equal(r.status, 3);
	t_run_free(&r);
	/* A witness key given as a log key (wrong type) is a usage of the wrong key. */
	r = t_sh("cd '%s' && '%s' log verify p2 --vkey '%s' --witness \"$(sed -n 2p w1)\"", d, b, vkey);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "not a cosignature/v1 (0x04) key"));
	t_run_free(&r);
	t_rmrf(d);
	free(d);
	free(vkey);
}

/* The golden log through the CLI: the same bytes as tlogcheck's mklog. */
static void test_golden_cli(void **state)
{
	(void)state;
	char *g = t_shared_file("fixtures/tlog-upstream/golden-log-1000/checkpoint");
	if (!g)
		skip();
	*strrchr(g, '/') = '\0';
	char *d = t_tmpdir();
	const char *b = t_bin();
	struct run r = sh_ok(
		"cd '%s' && umask 077 && echo '%s' > k && mkdir e && i=0; while [ $i -lt 1000 ]; do "
		"printf 'entry %%d' $i > e/$i; i=$((i + 1)); done; "
		"'%s' log init log --origin example.com/testlog --key k && prev=0 && "
		"for s in 1 2 3 255 256 257 1000; do "
		"  files=$(seq $prev $((s - 1)) | sed 's|^|e/|'); '%s' log add log $files > /dev/null || exit 1; "
		"  cmp log/checkpoint '%s/checkpoint.'$s || exit 1; prev=$s; done && "
		"diff -r -x .state log '%s' -x 'checkpoint.*'",
		d, GOLDEN_SKEY, b, b, g, g);
	t_run_free(&r);
	t_rmrf(d);
	free(d);
	free(g);
}

/* Two logs from a common prefix, signed with the same key: a split view. */
static void test_monitor_fork(void **state)
{
	(void)state;
	char *d = t_tmpdir();
	const char *b = t_bin();
	struct run r = sh_ok("cd '%s' && '%s' log init A --origin t.example/fork", d, b);
	char *vkey = line_of(&r);
	r = sh_ok("cd '%s' && for i in 0 1 2 3 4; do echo \"common $i\" > c$i; echo \"a $i\" > a$i; "
		  "echo \"b $i\" > b$i; done && '%s' log add A c0 c1 c2 >/dev/null && cp -a A B && "
		  "'%s' log monitor A --vkey '%s' --state st", d, b, b, vkey);
	assert_non_null(strstr(r.out, "3 new entries (size 0 -> 3), first run"));
	t_run_free(&r);
	r = sh_ok("cd '%s' && cp st st.3 && '%s' log add A a0 a1 >/dev/null && "
		  "'%s' log add B b0 b1 b2 >/dev/null && "
		  "'%s' log monitor A --vkey '%s' --state st && cp st st.A && cp A/checkpoint cpA",
		  d, b, b, b, vkey);
	assert_non_null(strstr(r.out, "2 new entries (size 3 -> 5), consistent"));
	assert_non_null(strstr(r.out, "entry 4: 4 bytes"));
	t_run_free(&r);
	/* B, larger than A's last checkpoint but not an extension of it. */
	r = t_sh("cd '%s' && '%s' log monitor B --vkey '%s' --state st", d, b, vkey);
	t_assert_clean_exit(&r, 4);
	assert_non_null(strstr(r.out, "ALERT: split view"));
	t_run_free(&r);
	/* B from the common checkpoint is fine; then the same size as A, other root. */
	r = sh_ok("cd '%s' && cmp st st.A && '%s' log monitor B --vkey '%s' --state st.3 && "
		  "'%s' log monitor B --vkey '%s' --state st.A; echo rc=$?", d, b, vkey, b, vkey);
	assert_non_null(strstr(r.out, "3 new entries (size 3 -> 6)"));
	assert_non_null(strstr(r.out, "rc=4"));
	t_run_free(&r);
	r = sh_ok("cd '%s' && '%s' log add A a2 > /dev/null && cp st.A st6 && "
		  "'%s' log monitor A --vkey '%s' --state st6 -q && "
		  "'%s' log monitor B --vkey '%s' --state st6; echo rc=$?", d, b, b, vkey, b, vkey);
	assert_non_null(strstr(r.out, "ALERT: split view: two checkpoints of size 6"));
	assert_non_null(strstr(r.out, "rc=4"));
	t_run_free(&r);
	/* Rollback: A restored to an older copy. */
	r = sh_ok("cd '%s' && mkdir old && cp -a B old/ && rm -rf B/tile && cp -a A/tile B/ && "
		  "cp cpA B/checkpoint && '%s' log monitor B --vkey '%s' --state st6; echo rc=$?",
		  d, b, vkey);
	assert_non_null(strstr(r.out, "ALERT: rollback: the log's checkpoint has 5 entries, 6 were seen"));
	assert_non_null(strstr(r.out, "rc=4"));
	t_run_free(&r);
	/* A forged checkpoint: does not verify (3), state unchanged. */
	r = t_sh("cd '%s' && sed -i '2s/.*/7/' A/checkpoint && cp st6 st7 && "
		 "'%s' log monitor A --vkey '%s' --state st7", d, b, vkey);
	t_assert_clean_exit(&r, 3);
	t_run_free(&r);
	r = sh_ok("cd '%s' && cmp st6 st7", d);
	t_run_free(&r);
	t_rmrf(d);
	free(d);
	free(vkey);
}

/* publish a signed image, verify it offline with --pubkey and --vkey. */
static void test_publish(void **state)
{
	(void)state;
	char *ovmf = t_shared_file("inputs/OVMF.fd"), *kernel = t_shared_file("inputs/vmlinuz-6.1.0-50");
	if (!ovmf || !kernel) {
		free(ovmf);
		free(kernel);
		skip();
	}
	char *ao = realpath(ovmf, NULL), *ak = realpath(kernel, NULL);
	char *d = t_tmpdir();
	const char *b = t_bin();
	struct run r = sh_ok(
		"cd '%s' && mkdir rootfs && printf '#!/bin/sh\\necho hi\\n' > rootfs/init && "
		"printf '[image]\\nname = t\\nversion = 1\\nsource-date-epoch = 1700000000\\n\\n"
		"[firmware]\\nsource = file:%s\\nrelease = 2022.11\\n\\n[kernel]\\nsource = file:%s\\n\\n"
		"[initrd]\\ntree = rootfs\\n\\n[cmdline]\\nvalue = console=ttyS0\\n\\n"
		"[snp]\\nkernel-hashes = no\\nvcpus = 1\\n' > t.recipe && "
		"'%s' build t.recipe -o out --lock --quiet >/dev/null 2>&1 && "
		"'%s' key generate --type ed25519 -o rel.key >/dev/null && "
		"'%s' key generate --type ed25519 -o other.key >/dev/null && "
		"'%s' sign out/t-1 --key rel.key >/dev/null && "
		"'%s' log init L --origin t.example/pub > vk && echo x > x && '%s' log add L x >/dev/null && "
		"'%s' publish out/t-1 --log L",
		d, ao, ak, b, b, b, b, b, b, b);
	assert_non_null(strstr(r.out, "out/t-1: entry 1 of t.example/pub (tree size 2); proof out/t-1.tlog-proof"));
	t_run_free(&r);
	r = sh_ok("cd '%s' && '%s' verify out/t-1 --pubkey rel.key.pub --vkey vk", d, b);
	assert_non_null(strstr(r.out, "ok       transparency log (out/t-1.tlog-proof)"));
	t_run_free(&r);
	/* The monitor decodes the record: envelope, predicate, attested values. */
	r = sh_ok("cd '%s' && '%s' log monitor L --vkey vk --state mon", d, b);
	assert_non_null(strstr(r.out, "entry 1: "));
	assert_non_null(strstr(r.out, "DSSE envelope, application/vnd.in-toto+json, 1 signature(s)"));
	assert_non_null(strstr(r.out, "statement: predicate https://cvmforge.dev/measurements/v1"));
	assert_non_null(strstr(r.out, "snp launch-digest "));
	assert_non_null(strstr(r.out, "tdx mrtd ") || !strstr(r.out, "tdx"));
	t_run_free(&r);
	/* The proof is a plain tlog-proof: log verify and tlogcheck take it. */
	r = sh_ok("cd '%s' && '%s' log verify out/t-1.tlog-proof --vkey vk --entry out/t-1/measurements.dsse.json",
		  d, b);
	t_run_free(&r);
	if (t_tlogcheck()) {
		r = sh_ok("cd '%s' && '%s' tlog-proof -vkey \"$(cat vk)\" -entry-file "
			  "out/t-1/measurements.dsse.json out/t-1.tlog-proof", d, t_tlogcheck());
		t_run_free(&r);
	}
	/* Published twice: refused, the proof kept. */
	r = t_sh("cd '%s' && '%s' publish out/t-1 --log L", d, b);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "already published"));
	t_run_free(&r);
	/* Another log's key: the image's proof does not verify (3). */
	r = t_sh("cd '%s' && '%s' log init L2 --origin t.example/pub > vk2 && "
		 "'%s' verify out/t-1 --pubkey rel.key.pub --vkey vk2", d, b, b);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "DIFFERS  transparency log (out/t-1.tlog-proof)"));
	t_run_free(&r);
	/* Re-signed with another key: the logged envelope is not this one (3). */
	r = t_sh("cd '%s' && '%s' sign out/t-1 --key other.key --force >/dev/null && "
		 "'%s' verify out/t-1 --pubkey other.key.pub --vkey vk", d, b, b);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "differs from the one in the extra line"));
	t_run_free(&r);
	/* Unsigned image: publish says so. */
	r = t_sh("cd '%s' && rm out/t-1/measurements.dsse.json && '%s' publish out/t-1 --log L", d, b);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "is not signed"));
	t_run_free(&r);
	t_rmrf(d);
	free(d);
	free(ao);
	free(ak);
	free(ovmf);
	free(kernel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_witnesses),
		cmocka_unit_test(test_golden_cli),
		cmocka_unit_test(test_monitor_fork),
		cmocka_unit_test(test_publish),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
