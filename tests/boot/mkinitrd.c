/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mkinitrd: the dump initrd of the vTPM boot oracle (docs: vtpm.md §3).
 *
 *   mkinitrd BUSYBOX OUT [PAD_BYTES]
 *
 * Writes a deterministic cpio "newc" archive: the entries below in a fixed
 * order, ino = 1-based entry index, uid/gid/mtime/dev 0, nlink 2 for
 * directories and 1 otherwise, dev/console a char device 5:1, then a
 * TRAILER!!! record (ino 0, mode 0, nlink 1) and zero padding to a multiple
 * of 512 bytes. /init prints the PCRs and the binary TPM event log to the
 * serial port and powers off. With PAD_BYTES, a file `pad` of that many
 * bytes (byte i = i & 0xFF) is appended, to vary the initrd size.
 *
 * Test infrastructure, plain stdio; the product's initrd writer is separate.
 * Two runs with the same inputs give identical bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char INIT[] =
	"#!/bin/busybox sh\n"
	"# vTPM oracle dump initrd (cvmforge tests/boot): print PCRs and the TPM\n"
	"# event log on the serial port, then power off.\n"
	"B=/bin/busybox\n"
	"$B mkdir -p /proc /sys /dev /tmp\n"
	"$B mount -t proc proc /proc\n"
	"$B mount -t sysfs sysfs /sys\n"
	"$B mount -t devtmpfs devtmpfs /dev 2>/dev/null\n"
	"$B mount -t securityfs securityfs /sys/kernel/security\n"
	"if [ -c /dev/ttyS0 ]; then\n"
	"\texec >/dev/ttyS0 2>&1\n"
	"fi\n"
	"echo\n"
	"echo \"===UPTIME=== $($B cat /proc/uptime)\"\n"
	"echo \"===CMDLINE=== $($B cat /proc/cmdline)\"\n"
	"echo \"===PCRS-BEGIN===\"\n"
	"for bank in sha1 sha256 sha384 sha512; do\n"
	"\td=/sys/class/tpm/tpm0/pcr-$bank\n"
	"\tif [ -d \"$d\" ]; then\n"
	"\t\ti=0\n"
	"\t\twhile [ $i -le 23 ]; do\n"
	"\t\t\techo \"PCR $bank $i $($B cat \"$d/$i\")\"\n"
	"\t\t\ti=$((i + 1))\n"
	"\t\tdone\n"
	"\tfi\n"
	"done\n"
	"echo \"===PCRS-END===\"\n"
	"L=/sys/kernel/security/tpm0/binary_bios_measurements\n"
	"if [ -r \"$L\" ]; then\n"
	"\t$B cat \"$L\" >/tmp/log\n"
	"\techo \"===EVENTLOG-SHA256=== $($B sha256sum /tmp/log)\"\n"
	"\techo \"===EVENTLOG-BEGIN===\"\n"
	"\t$B base64 /tmp/log\n"
	"\techo \"===EVENTLOG-END===\"\n"
	"else\n"
	"\techo \"===NO-EVENTLOG===\"\n"
	"\t$B ls -l /sys/kernel/security /sys/class/tpm\n"
	"fi\n"
	"$B dmesg | $B grep -E 'tpm|efi:|tcg' | $B head -n 40\n"
	"echo \"===DONE===\"\n"
	"$B poweroff -f\n";

struct out {
	FILE *f;
	const char *path;
	uint64_t off;
};

static void die(const char *what, const char *path)
{
	fprintf(stderr, "mkinitrd: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void put(struct out *o, const void *d, size_t n)
{
	if (n && fwrite(d, 1, n, o->f) != n)
		die("cannot write", o->path);
	o->off += n;
}

static void pad4(struct out *o)
{
	static const char z[4];
	put(o, z, (size_t)((4 - o->off % 4) % 4));
}

/* One newc record header and name; the caller writes the body and pad4(). */
static void header(struct out *o, uint32_t ino, uint32_t mode, uint32_t nlink, uint32_t size,
		   uint32_t rmaj, uint32_t rmin, const char *name)
{
	char h[111];
	size_t namesize = strlen(name) + 1;
	/* magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	 * devminor, rdevmajor, rdevminor, namesize, check */
	int n = snprintf(h, sizeof(h),
			 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino,
			 mode, 0u, 0u, nlink, 0u, size, 0u, 0u, rmaj, rmin, (unsigned)namesize,
			 0u);
	if (n != 110) {
		fprintf(stderr, "mkinitrd: bad header length %d\n", n);
		exit(1);
	}
	put(o, h, 110);
	put(o, name, namesize);
	pad4(o);
}

static void entry(struct out *o, uint32_t *ino, uint32_t mode, const char *name, const void *d,
		  size_t n)
{
	if (n > UINT32_MAX) {
		fprintf(stderr, "mkinitrd: %s is too large for newc\n", name);
		exit(1);
	}
	uint32_t nlink = (mode & 0170000) == 0040000 ? 2 : 1;
	header(o, ++*ino, mode, nlink, (uint32_t)n, 0, 0, name);
	put(o, d, n);
	pad4(o);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open", path);
	size_t cap = 1 << 20, n = 0;
	unsigned char *b = malloc(cap);
	for (;;) {
		if (!b) {
			fprintf(stderr, "mkinitrd: out of memory\n");
			exit(1);
		}
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		b = realloc(b, cap);
	}
	if (ferror(f))
		die("cannot read", path);
	fclose(f);
	*len = n;
	return b;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: mkinitrd BUSYBOX OUT [PAD_BYTES]\n");
		return 2;
	}
	unsigned long long pad = 0;
	if (argc == 4) {
		char *end;
		errno = 0;
		pad = strtoull(argv[3], &end, 10);
		if (errno || end == argv[3] || *end || argv[3][0] == '-' || pad > UINT32_MAX) {
			fprintf(stderr, "mkinitrd: bad PAD_BYTES '%s'\n", argv[3]);
			return 2;
		}
	}
	size_t bblen;
	unsigned char *bb = slurp(argv[1], &bblen);

	/* Write to OUT.tmp and rename, so OUT is whole or absent. */
	size_t tl = strlen(argv[2]) + 5;
	char *tmp = malloc(tl);
	if (!tmp)
		return 1;
	snprintf(tmp, tl, "%s.tmp", argv[2]);
	struct out o = { fopen(tmp, "wb"), tmp, 0 };
	if (!o.f)
		die("cannot create", tmp);

	uint32_t ino = 0;
	entry(&o, &ino, 0040755, "bin", NULL, 0);
	entry(&o, &ino, 0040755, "dev", NULL, 0);
	header(&o, ++ino, 0020600, 1, 0, 5, 1, "dev/console");
	entry(&o, &ino, 0040755, "proc", NULL, 0);
	entry(&o, &ino, 0040755, "sys", NULL, 0);
	entry(&o, &ino, 0041777, "tmp", NULL, 0);
	entry(&o, &ino, 0100755, "bin/busybox", bb, bblen);
	entry(&o, &ino, 0120777, "bin/sh", "busybox", 7);
	entry(&o, &ino, 0100755, "init", INIT, sizeof(INIT) - 1);
	if (argc == 4) {
		unsigned char *p = malloc(pad ? pad : 1);
		if (!p) {
			fprintf(stderr, "mkinitrd: out of memory\n");
			return 1;
		}
		for (unsigned long long i = 0; i < pad; i++)
			p[i] = (unsigned char)(i & 0xFF);
		entry(&o, &ino, 0100644, "pad", p, (size_t)pad);
		free(p);
	}
	header(&o, 0, 0, 1, 0, 0, 0, "TRAILER!!!");
	static const char zero[512];
	put(&o, zero, (size_t)((512 - o.off % 512) % 512));
	if (fclose(o.f) != 0)
		die("cannot write", tmp);
	if (rename(tmp, argv[2]) != 0)
		die("cannot rename to", argv[2]);
	free(tmp);
	free(bb);
	return 0;
}
