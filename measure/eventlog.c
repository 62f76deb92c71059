/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCG2 crypto-agile event logs: a TPM's binary_bios_measurements and the TDX
 * CCEL log area. Both use one layout (TCG PC Client PFP, "crypto agile"):
 *
 * The Spec ID record, in the old SHA-1 TCG_PCClientPCREvent format:
 *   0   u32 PCRIndex        TPM logs 0; TDVF writes 1 in the CCEL
 *   4   u32 EventType       3 (EV_NO_ACTION)
 *   8   u8  Digest[20]      zeros (not checked, written as zeros)
 *   28  u32 EventSize       exactly the TCG_EfiSpecIDEventStruct below
 *   32  TCG_EfiSpecIDEventStruct:
 *       +0  "Spec ID Event03\0"     16 bytes ("...Event00" is a TPM 1.2 log)
 *       +16 u32 platformClass      (written as 0)
 *       +20 u8 specVersionMinor 0, u8 specVersionMajor 2 (major must be 2)
 *       +22 u8 specErrata          TPM logs 2, TDVF 0
 *       +23 u8 uintnSize           2 (UINT64)
 *       +24 u32 numberOfAlgorithms 1 .. CVMF_EVLOG_MAX_ALGS
 *       +28 { u16 algorithmId, u16 digestSize } per algorithm
 *       then u8 vendorInfoSize and that many bytes (written as 0).
 *   With one SHA-384 bank (the CCEL) the record is 65 bytes.
 *
 * Then TCG_PCR_EVENT2 records, back to back:
 *   u32 PCRIndex            TPM: the PCR; CCEL: the MR index (RTMR n = n + 1)
 *   u32 EventType
 *   u32 count               must equal numberOfAlgorithms
 *   count x { u16 algorithmId (one the header declared, each once),
 *             digest, digestSize bytes as the header says }
 *   u32 EventSize, then the event data.
 *
 * The log ends at the end of the buffer, or at the 0xFF fill of an unused
 * log area (the CCEL is allocated full of 0xFF): a record whose index and
 * type fields are both 0xFFFFFFFF, or fewer than 8 bytes left that are all
 * 0xFF. An index of 0xFFFFFFFF alone is not the end: some platforms log
 * EV_NO_ACTION records at MR index -1. A record cut off by the end of the
 * buffer (or whose EventSize reaches past it) ends the log with
 * `truncated` set; the records before it are kept. A malformed Spec ID
 * record, a digest count that disagrees with the header and an undeclared
 * algorithm are errors.
 *
 * Memory is bounded by the input: every record takes at least 19 bytes, so
 * the event array never outgrows len / 19 entries (nor MAX_EVENTS), and an
 * event's data is copied only once its whole record has been seen inside
 * the buffer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>


#include "common/internal.h"
#include "measure/measure.h"

#define SPEC_ID_HDR 32          /* index, type, SHA-1 digest, size */
#define SPEC_ID_FIXED 28        /* signature .. numberOfAlgorithms */
#define REC_FIXED 16            /* index, type, count, event size */
#define MAX_LOG_FILE (16u << 20)   /* real logs are KiBs; a CCEL area 64 KiB+ */
#define MAX_EVENTS (1u << 18)       /* ~80 MiB of struct cvmf_event at most */
#define FILL 0xffffffffu

static const char SPEC_ID_SIG[16] = "Spec ID Event03";   /* with its NUL */

/* ---- names ---- */

static const struct {
	uint32_t type;
	const char *name;
} ev_names[] = {
	{ 0x0, "EV_PREBOOT_CERT" },
	{ 0x1, "EV_POST_CODE" },
	{ 0x2, "EV_UNUSED" },
	{ CVMF_EV_NO_ACTION, "EV_NO_ACTION" },
	{ CVMF_EV_SEPARATOR, "EV_SEPARATOR" },
	{ 0x5, "EV_ACTION" },
	{ CVMF_EV_EVENT_TAG, "EV_EVENT_TAG" },
	{ 0x7, "EV_S_CRTM_CONTENTS" },
	{ CVMF_EV_S_CRTM_VERSION, "EV_S_CRTM_VERSION" },
	{ 0x9, "EV_CPU_MICROCODE" },
	{ CVMF_EV_PLATFORM_CONFIG_FLAGS, "EV_PLATFORM_CONFIG_FLAGS" },
	{ 0xB, "EV_TABLE_OF_DEVICES" },
	{ 0xC, "EV_COMPACT_HASH" },
	{ CVMF_EV_IPL, "EV_IPL" },
	{ 0xE, "EV_IPL_PARTITION_DATA" },
	{ 0xF, "EV_NONHOST_CODE" },
	{ 0x10, "EV_NONHOST_CONFIG" },
	{ 0x11, "EV_NONHOST_INFO" },
	{ 0x12, "EV_OMIT_BOOT_DEVICE_EVENTS" },
	{ 0x13, "EV_POST_CODE2" },
	{ CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG, "EV_EFI_VARIABLE_DRIVER_CONFIG" },
	{ CVMF_EV_EFI_VARIABLE_BOOT, "EV_EFI_VARIABLE_BOOT" },
	{ CVMF_EV_EFI_BOOT_SERVICES_APPLICATION, "EV_EFI_BOOT_SERVICES_APPLICATION" },
	{ CVMF_EV_EFI_BOOT_SERVICES_DRIVER, "EV_EFI_BOOT_SERVICES_DRIVER" },
	{ 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER" },
	{ CVMF_EV_EFI_GPT_EVENT, "EV_EFI_GPT_EVENT" },
	{ CVMF_EV_EFI_ACTION, "EV_EFI_ACTION" },
	{ CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
	{ CVMF_EV_EFI_HANDOFF_TABLES, "EV_EFI_HANDOFF_TABLES" },
	{ CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB2, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
	{ CVMF_EV_EFI_HANDOFF_TABLES2, "EV_EFI_HANDOFF_TABLES2" },
	{ 0x8000000C, "EV_EFI_VARIABLE_BOOT2" },
	{ 0x80000010, "EV_EFI_HCRTM_EVENT" },
	{ CVMF_EV_EFI_VARIABLE_AUTHORITY, "EV_EFI_VARIABLE_AUTHORITY" },
	{ 0x800000E1, "EV_EFI_SPDM_FIRMWARE_BLOB" },
	{ 0x800000E2, "EV_EFI_SPDM_FIRMWARE_CONFIG" },
};

const char *cvmf_ev_type_name(uint32_t type)
{
	for (size_t i = 0; i < CMN_ARRAY_SIZE(ev_names); i++)
		if (ev_names[i].type == type)
			return ev_names[i].name;
	return NULL;
}

int cvmf_ev_type_parse(const char *s, uint32_t *ret)
{
	if (!s || !*s)
		return CVMF_E_INVAL;
	for (size_t i = 0; i < CMN_ARRAY_SIZE(ev_names); i++) {
		const char *n = ev_names[i].name;
		/* "EV_SEPARATOR", "ev_separator" and "SEPARATOR" all name it. */
		if (!strcasecmp(s, n) || !strcasecmp(s, n + 3)) {
			*ret = ev_names[i].type;
			return 0;
		}
	}
	if (s[0] < '0' || s[0] > '9')
		return CVMF_E_INVAL;
	uint64_t v = 0;
	unsigned base = 10;
	const char *c = s;
	if (c[0] == '0' && (c[1] == 'x' || c[1] == 'X')) {
		base = 16;
		c += 2;
		if (!*c)
			return CVMF_E_INVAL;
	}
	for (; *c; c++) {
		unsigned d;
		if (*c >= '0' && *c <= '9')
			d = (unsigned)(*c - '0');
		else if (base == 16 && *c >= 'a' && *c <= 'f')
			d = (unsigned)(*c - 'a' + 10);
		else if (base == 16 && *c >= 'A' && *c <= 'F')
			d = (unsigned)(*c - 'A' + 10);
		else
			return CVMF_E_INVAL;
		v = v * base + d;
		if (v > UINT32_MAX)
			return CVMF_E_INVAL;
	}
	*ret = (uint32_t)v;
	return 0;
}

static const struct {
	uint16_t alg;
	uint16_t size;
	const char *name;
	enum cmn_hash_alg hash;
} algs[] = {
	{ CVMF_TCG_SHA1, 20, "sha1", CMN_SHA1 },
	{ CVMF_TCG_SHA256, 32, "sha256", CMN_SHA256 },
	{ CVMF_TCG_SHA384, 48, "sha384", CMN_SHA384 },
	{ CVMF_TCG_SHA512, 64, "sha512", CMN_SHA512 },
};

static int alg_slot(uint16_t alg)
{
	for (size_t i = 0; i < CMN_ARRAY_SIZE(algs); i++)
		if (algs[i].alg == alg)
			return (int)i;
	return -1;
}

const char *cvmf_tcg_alg_name(uint16_t alg)
{
	int i = alg_slot(alg);
	return i < 0 ? NULL : algs[i].name;
}

size_t cvmf_tcg_alg_size(uint16_t alg)
{
	int i = alg_slot(alg);
	return i < 0 ? 0 : algs[i].size;
}

int msr_tcg_alg_hash(uint16_t alg, enum cmn_hash_alg *ret)
{
	int i = alg_slot(alg);
	if (i < 0)
		return CVMF_E_UNSUPPORTED;
	*ret = algs[i].hash;
	return 0;
}

/* "sha384" or "alg 0x0012", in one of 4 rotating buffers. */
static const char *alg_str(uint16_t alg)
{
	static _Thread_local char buf[4][16];
	static _Thread_local int k;
	const char *n = cvmf_tcg_alg_name(alg);
	if (n)
		return n;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "alg 0x%04x", alg);
	return buf[k];
}

/* ---- building and freeing ---- */

void cvmf_eventlog_free(struct cvmf_eventlog *log)
{
	if (!log)
		return;
	for (size_t i = 0; i < log->n_events; i++)
		free(log->events[i].data);
	free(log->events);
	free(log);
}

/* Room for one more event; never more than `limit` in all. */
static int grow(cvmf_ctx *ctx, struct cvmf_eventlog *log, size_t limit)
{
	if (log->n_events < log->cap_)
		return 0;
	if (log->n_events >= limit)
		return cmn_error(ctx, CVMF_E_NOMEM, "event log: more than %zu events", limit);
	size_t cap = log->cap_ ? log->cap_ * 2 : 16;
	if (cap > limit || cap < log->cap_)
		cap = limit;
	if (cap > SIZE_MAX / sizeof(*log->events))
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	void *ne = realloc(log->events, cap * sizeof(*log->events));
	if (!ne)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	log->events = ne;
	log->cap_ = cap;
	return 0;
}

int cvmf_eventlog_new(cvmf_ctx *ctx, enum cvmf_evlog_kind kind, const uint16_t *alg_ids,
		      unsigned n_algs, struct cvmf_eventlog **ret)
{
	if (kind != CVMF_EVLOG_TPM && kind != CVMF_EVLOG_CCEL)
		return cmn_error(ctx, CVMF_E_INVAL, "a new event log must be of kind TPM or CCEL");
	if (n_algs < 1 || n_algs > CVMF_EVLOG_MAX_ALGS)
		return cmn_error(ctx, CVMF_E_INVAL, "an event log has 1 to %d banks, not %u",
				  CVMF_EVLOG_MAX_ALGS, n_algs);
	struct cvmf_eventlog *log = calloc(1, sizeof(*log));
	if (!log)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	for (unsigned i = 0; i < n_algs; i++) {
		size_t size = cvmf_tcg_alg_size(alg_ids[i]);
		if (!size) {
			free(log);
			return cmn_error(ctx, CVMF_E_INVAL, "unknown digest algorithm 0x%04x",
					  alg_ids[i]);
		}
		for (unsigned j = 0; j < i; j++)
			if (alg_ids[j] == alg_ids[i]) {
				free(log);
				return cmn_error(ctx, CVMF_E_INVAL, "bank %s given twice",
						  alg_str(alg_ids[i]));
			}
		log->algs[i].alg = alg_ids[i];
		log->algs[i].len = (uint16_t)size;
	}
	log->kind = kind;
	log->n_algs = n_algs;
	log->spec_index = kind == CVMF_EVLOG_CCEL ? 1 : 0;
	log->spec_errata = kind == CVMF_EVLOG_CCEL ? 0 : 2;
	log->spec_uintn_size = 2;
	*ret = log;
	return 0;
}

int cvmf_eventlog_add(cvmf_ctx *ctx, struct cvmf_eventlog *log, uint32_t index,
		      uint32_t type, const uint8_t *const *digests, const void *data,
		      size_t data_len, bool data_runtime, const char *what)
{
	if (index == FILL && type == FILL)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "an event with index and type 0xffffffff would read back as the end-of-log fill");
	if (data_len > UINT32_MAX)
		return cmn_error(ctx, CVMF_E_INVAL, "event data of %zu bytes does not fit a u32 size",
				  data_len);
	if (data_len && !data)
		return cmn_error(ctx, CVMF_E_INVAL, "event data is NULL");
	for (unsigned i = 0; i < log->n_algs; i++)
		if (!digests || !digests[i])
			return cmn_error(ctx, CVMF_E_INVAL, "event has no %s digest",
					  alg_str(log->algs[i].alg));
	int r = grow(ctx, log, SIZE_MAX / sizeof(*log->events));
	if (r)
		return r;
	struct cvmf_event *e = &log->events[log->n_events];
	memset(e, 0, sizeof(*e));
	if (data_len) {
		e->data = malloc(data_len);
		if (!e->data)
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		memcpy(e->data, data, data_len);
	}
	e->index = index;
	e->type = type;
	e->n_digests = log->n_algs;
	for (unsigned i = 0; i < log->n_algs; i++) {
		e->digests[i].alg = log->algs[i].alg;
		e->digests[i].len = log->algs[i].len;
		memcpy(e->digests[i].bytes, digests[i], log->algs[i].len);
	}
	e->data_len = data_len;
	e->data_runtime = data_runtime;
	e->what = what;
	log->n_events++;
	return 0;
}

/* ---- parsing ---- */

static bool all_ff(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xff)
			return false;
	return true;
}

/* The Spec ID record: fills the header fields of log; *ret_end is its end. */
static int parse_spec_id(cvmf_ctx *ctx, const uint8_t *buf, size_t len,
			 struct cvmf_eventlog *log, size_t *ret_end)
{
	if (len < SPEC_ID_HDR)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "event log: %zu bytes cannot hold the %d-byte Spec ID record header",
				  len, SPEC_ID_HDR);
	const uint32_t type = cmn_le32(buf + 4), size = cmn_le32(buf + 28);
	if (type != CVMF_EV_NO_ACTION)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "event log: the first record (offset 0) has type 0x%x, not EV_NO_ACTION: no Spec ID record",
				  type);
	if (size > len - SPEC_ID_HDR)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "event log: Spec ID event size %u at offset 28 goes past the end of the %zu-byte buffer",
				  size, len);
	if (size < SPEC_ID_FIXED)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "event log: Spec ID event size %u at offset 28 is less than the %d bytes before its algorithm list",
				  size, SPEC_ID_FIXED);
	const uint8_t *s = buf + SPEC_ID_HDR;
	if (memcmp(s, SPEC_ID_SIG, 16)) {
		if (!memcmp(s, "Spec ID Event00", 16))
			return cmn_error(ctx, CVMF_E_UNSUPPORTED,
					  "event log: signature \"Spec ID Event00\" at offset 32: a SHA-1-only TPM 1.2 log, not a crypto-agile one");
		char shown[17];
		int i;
		for (i = 0; i < 16 && s[i]; i++)
			shown[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '.';
		shown[i] = '\0';
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "event log: bad Spec ID signature \"%s\" at offset 32, expected \"Spec ID Event03\"",
				  shown);
	}
	if (s[21] != 2)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "event log: Spec ID version %u.%u at offset 52, crypto-agile logs are 2.x",
				  s[21], s[20]);
	const uint32_t n = cmn_le32(s + 24);
	if (n == 0)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "event log: the Spec ID record declares no digest algorithm (offset 56)");
	if (n > CVMF_EVLOG_MAX_ALGS)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "event log: the Spec ID record declares %u digest algorithms (offset 56); at most %d are supported",
				  n, CVMF_EVLOG_MAX_ALGS);
	if (size < SPEC_ID_FIXED + 4 * n + 1)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "event log: Spec ID event size %u is too small for %u algorithms",
				  size, n);
	for (uint32_t i = 0; i < n; i++) {
		const size_t at = SPEC_ID_HDR + SPEC_ID_FIXED + 4 * i;
		const uint16_t alg = cmn_le16(buf + at), dlen = cmn_le16(buf + at + 2);
		const size_t known = cvmf_tcg_alg_size(alg);
		if (known && dlen != known)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "event log: Spec ID algorithm %u (%s, offset %zu) has digest size %u, not %zu",
					  i, alg_str(alg), at, dlen, known);
		if (dlen == 0 || dlen > sizeof(log->events[0].digests[0].bytes))
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "event log: Spec ID algorithm %u (%s, offset %zu) has digest size %u; 1 to 64 are supported",
					  i, alg_str(alg), at, dlen);
		for (uint32_t j = 0; j < i; j++)
			if (log->algs[j].alg == alg)
				return cmn_error(ctx, CVMF_E_FORMAT,
						  "event log: Spec ID algorithm %s declared twice (offset %zu)",
						  alg_str(alg), at);
		log->algs[i].alg = alg;
		log->algs[i].len = dlen;
	}
	const size_t vend_at = SPEC_ID_HDR + SPEC_ID_FIXED + 4 * n;
	const uint32_t want = SPEC_ID_FIXED + 4 * n + 1 + buf[vend_at];
	if (size != want)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "event log: Spec ID event size %u at offset 28 disagrees with its contents (%u algorithms, %u bytes of vendor info: %u bytes)",
				  size, n, buf[vend_at], want);
	log->n_algs = n;
	log->spec_index = cmn_le32(buf);
	log->spec_errata = s[22];
	log->spec_uintn_size = s[23];
	*ret_end = SPEC_ID_HDR + size;
	return 0;
}

static int find_alg(const struct cvmf_eventlog *log, uint16_t alg)
{
	for (unsigned i = 0; i < log->n_algs; i++)
		if (log->algs[i].alg == alg)
			return (int)i;
	return -1;
}

/*
 * One TCG_PCR_EVENT2 record at p. Returns 1 if it is complete (filled into
 * e, *ret_next after it), 0 if the buffer ends inside it, or an error.
 * `number` is the record number for messages (the Spec ID record is 0).
 */
static int parse_record(cvmf_ctx *ctx, const struct cvmf_eventlog *log, const uint8_t *buf,
			size_t len, size_t p, size_t number, struct cvmf_event *e, size_t *ret_next)
{
	memset(e, 0, sizeof(*e));
	if (len - p < 12)
		return 0;
	const uint32_t count = cmn_le32(buf + p + 8);
	if (count != log->n_algs)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "event log: record %zu at offset %zu has %u digests; the Spec ID record declares %u",
				  number, p, count, log->n_algs);
	e->index = cmn_le32(buf + p);
	e->type = cmn_le32(buf + p + 4);
	e->offset = p;
	size_t q = p + 12;
	for (unsigned i = 0; i < count; i++) {
		if (len - q < 2)
			return 0;
		const uint16_t alg = cmn_le16(buf + q);
		const int b = find_alg(log, alg);
		if (b < 0)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "event log: record %zu at offset %zu: digest %u (offset %zu) has algorithm %s, which the Spec ID record does not declare",
					  number, p, i, q, alg_str(alg));
		for (unsigned j = 0; j < i; j++)
			if (e->digests[j].alg == alg)
				return cmn_error(ctx, CVMF_E_FORMAT,
						  "event log: record %zu at offset %zu has two %s digests",
						  number, p, alg_str(alg));
		const size_t dlen = log->algs[b].len;
		if (len - q - 2 < dlen)
			return 0;
		e->digests[i].alg = alg;
		e->digests[i].len = (uint16_t)dlen;
		memcpy(e->digests[i].bytes, buf + q + 2, dlen);
		q += 2 + dlen;
	}
	e->n_digests = count;
	if (len - q < 4)
		return 0;
	const uint32_t size = cmn_le32(buf + q);
	q += 4;
	if (size > len - q)
		return 0;
	e->data_len = size;
	if (size) {
		e->data = malloc(size);
		if (!e->data)
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		memcpy(e->data, buf + q, size);
	}
	*ret_next = q + size;
	return 1;
}

int cvmf_eventlog_parse(cvmf_ctx *ctx, const uint8_t *buf, size_t len,
			enum cvmf_evlog_kind kind, struct cvmf_eventlog **ret)
{
	if (!buf && len)
		return cmn_error(ctx, CVMF_E_INVAL, "event log: no buffer");
	if (kind != CVMF_EVLOG_AUTO && kind != CVMF_EVLOG_TPM && kind != CVMF_EVLOG_CCEL)
		return cmn_error(ctx, CVMF_E_INVAL, "event log: unknown kind %d", (int)kind);
	struct cvmf_eventlog *log = calloc(1, sizeof(*log));
	if (!log)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	size_t p = 0;
	int r = parse_spec_id(ctx, buf, len, log, &p);
	if (r)
		goto fail;
	if (kind == CVMF_EVLOG_AUTO)
		kind = log->spec_index == 1 ? CVMF_EVLOG_CCEL : CVMF_EVLOG_TPM;
	log->kind = kind;

	size_t min_rec = REC_FIXED;
	for (unsigned i = 0; i < log->n_algs; i++)
		min_rec += 2 + log->algs[i].len;
	size_t limit = (len - p) / min_rec;
	if (limit > MAX_EVENTS)
		limit = MAX_EVENTS;

	for (size_t number = 1;; number++) {
		const size_t left = len - p;
		if (left == 0)
			break;
		if (left < 8 || (cmn_le32(buf + p) == FILL && cmn_le32(buf + p + 4) == FILL)) {
			/* The fill, or a few bytes that cannot start a record. */
			if (all_ff(buf + p, left < 8 ? left : 8))
				log->fill_end = true;
			else
				log->truncated = true;
			break;
		}
		struct cvmf_event ev;
		size_t next = 0;
		r = parse_record(ctx, log, buf, len, p, number, &ev, &next);
		if (r < 0) {
			free(ev.data);
			goto fail;
		}
		if (r == 0) {
			log->truncated = true;
			break;
		}
		if (log->n_events == MAX_EVENTS) {
			free(ev.data);
			r = cmn_error(ctx, CVMF_E_UNSUPPORTED,
				       "event log: record %zu at offset %zu: more than %u events",
				       number, p, MAX_EVENTS);
			goto fail;
		}
		r = grow(ctx, log, limit);
		if (r) {
			free(ev.data);
			goto fail;
		}
		log->events[log->n_events++] = ev;
		p = next;
	}
	log->end = p;
	*ret = log;
	return 0;
fail:
	cvmf_eventlog_free(log);
	return r;
}

int cvmf_eventlog_read(cvmf_ctx *ctx, const char *path, enum cvmf_evlog_kind kind,
		       struct cvmf_eventlog **ret)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = cmn_read_file(ctx, "event log", path, MAX_LOG_FILE, &buf, &len);
	if (r)
		return r;
	r = cvmf_eventlog_parse(ctx, buf, len, kind, ret);
	free(buf);
	if (r && ctx) {
		char msg[sizeof(ctx->msg)];
		const char *m = ctx->msg;
		if (!strncmp(m, "event log: ", 11))
			m += 11;
		snprintf(msg, sizeof(msg), "%s", m);
		cmn_error(ctx, r, "event log '%s': %s", path, msg);
	}
	return r;
}

/* ---- writing ---- */

int cvmf_eventlog_write(cvmf_ctx *ctx, const struct cvmf_eventlog *log,
			uint8_t **ret_buf, size_t *ret_len)
{
	const unsigned n = log->n_algs;
	if (n < 1 || n > CVMF_EVLOG_MAX_ALGS)
		return cmn_error(ctx, CVMF_E_INVAL, "event log: %u banks; 1 to %d can be written",
				  n, CVMF_EVLOG_MAX_ALGS);
	for (unsigned i = 0; i < n; i++)
		if (!log->algs[i].len || log->algs[i].len > 64)
			return cmn_error(ctx, CVMF_E_INVAL, "event log: bank %s has digest size %u",
					  alg_str(log->algs[i].alg), log->algs[i].len);
	const size_t hdr = SPEC_ID_HDR + SPEC_ID_FIXED + 4 * n + 1;
	size_t total = hdr;
	for (size_t i = 0; i < log->n_events; i++) {
		const struct cvmf_event *e = &log->events[i];
		if (e->n_digests > CVMF_EVLOG_MAX_ALGS)
			return cmn_error(ctx, CVMF_E_INVAL, "event log: event %zu has %u digests",
					  i + 1, e->n_digests);
		if (e->index == FILL && e->type == FILL)
			return cmn_error(ctx, CVMF_E_INVAL,
					  "event log: event %zu has index and type 0xffffffff, which reads back as the fill",
					  i + 1);
		size_t rec = REC_FIXED;
		for (unsigned j = 0; j < e->n_digests; j++) {
			if (e->digests[j].len > 64)
				return cmn_error(ctx, CVMF_E_INVAL,
						  "event log: event %zu has a %u-byte digest", i + 1,
						  e->digests[j].len);
			rec += 2 + e->digests[j].len;
		}
		if (e->data_len > UINT32_MAX || (e->data_len && !e->data))
			return cmn_error(ctx, CVMF_E_INVAL, "event log: event %zu has bad data", i + 1);
		if (e->data_len > SIZE_MAX - rec || total > SIZE_MAX - rec - e->data_len)
			return cmn_error(ctx, CVMF_E_NOMEM, "event log too large");
		total += rec + e->data_len;
	}
	uint8_t *out = calloc(1, total);
	if (!out)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	cmn_put_le32(out, log->spec_index);
	cmn_put_le32(out + 4, CVMF_EV_NO_ACTION);
	/* 8..27: the SHA-1 digest, zeros */
	cmn_put_le32(out + 28, (uint32_t)(hdr - SPEC_ID_HDR));
	uint8_t *s = out + SPEC_ID_HDR;
	memcpy(s, SPEC_ID_SIG, 16);
	/* platformClass 0, specVersionMinor 0 */
	s[21] = 2;
	s[22] = log->spec_errata;
	s[23] = log->spec_uintn_size;
	cmn_put_le32(s + 24, n);
	for (unsigned i = 0; i < n; i++) {
		cmn_put_le16(s + 28 + 4 * i, log->algs[i].alg);
		cmn_put_le16(s + 30 + 4 * i, log->algs[i].len);
	}
	/* vendorInfoSize 0 */
	uint8_t *p = out + hdr;
	for (size_t i = 0; i < log->n_events; i++) {
		const struct cvmf_event *e = &log->events[i];
		cmn_put_le32(p, e->index);
		cmn_put_le32(p + 4, e->type);
		cmn_put_le32(p + 8, e->n_digests);
		p += 12;
		for (unsigned j = 0; j < e->n_digests; j++) {
			cmn_put_le16(p, e->digests[j].alg);
			memcpy(p + 2, e->digests[j].bytes, e->digests[j].len);
			p += 2 + e->digests[j].len;
		}
		cmn_put_le32(p, (uint32_t)e->data_len);
		p += 4;
		if (e->data_len)
			memcpy(p, e->data, e->data_len);
		p += e->data_len;
	}
	*ret_buf = out;
	*ret_len = total;
	return 0;
}

/* ---- replay ---- */

static const struct cvmf_event_digest *event_digest(const struct cvmf_event *e, uint16_t alg)
{
	for (unsigned i = 0; i < e->n_digests && i < CVMF_EVLOG_MAX_ALGS; i++)
		if (e->digests[i].alg == alg)
			return &e->digests[i];
	return NULL;
}

/* The register an event extends: RTMR n for CCEL MR index n + 1, else the PCR. */
static uint32_t event_register(const struct cvmf_eventlog *log, const struct cvmf_event *e)
{
	return log->kind == CVMF_EVLOG_CCEL ? e->index - 1 : e->index;
}

static void list_banks(const struct cvmf_eventlog *log, char *out, size_t n)
{
	out[0] = '\0';
	for (unsigned i = 0; i < log->n_algs && i < CVMF_EVLOG_MAX_ALGS; i++) {
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%s%s", i ? ", " : "", alg_str(log->algs[i].alg));
	}
}

int cvmf_eventlog_replay(cvmf_ctx *ctx, const struct cvmf_eventlog *log, uint16_t alg,
			 uint8_t (*regs)[64], unsigned n_regs)
{
	const int b = find_alg(log, alg);
	if (b < 0) {
		char banks[64];
		list_banks(log, banks, sizeof(banks));
		return cmn_error(ctx, CVMF_E_INVAL, "event log has no %s bank (it has %s)",
				  alg_str(alg), banks);
	}
	const int slot = alg_slot(alg);
	if (slot < 0)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED, "cannot replay bank %s: unknown algorithm",
				  alg_str(alg));
	const size_t dlen = log->algs[b].len;
	for (unsigned i = 0; i < n_regs; i++)
		memset(regs[i], 0, 64);

	struct cmn_hasher *h = NULL;
	int r = cmn_hasher_new(ctx, algs[slot].hash, &h);
	if (r)
		return r;
	for (size_t i = 0; i < log->n_events; i++) {
		const struct cvmf_event *e = &log->events[i];
		if (e->type == CVMF_EV_NO_ACTION)
			continue;
		const uint32_t reg = event_register(log, e);
		if (reg >= n_regs) {
			if (log->kind == CVMF_EVLOG_CCEL)
				r = cmn_error(ctx, CVMF_E_FORMAT,
					       "event log: record %zu at offset %llu has MR index %u; only RTMR0..%u (MR index 1..%u) are replayed",
					       i + 1, (unsigned long long)e->offset, e->index,
					       n_regs - 1, n_regs);
			else
				r = cmn_error(ctx, CVMF_E_FORMAT,
					       "event log: record %zu at offset %llu extends PCR %u; only PCR 0..%u are replayed",
					       i + 1, (unsigned long long)e->offset, e->index,
					       n_regs - 1);
			goto out;
		}
		const struct cvmf_event_digest *d = event_digest(e, alg);
		if (!d || d->len != dlen) {
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "event log: record %zu at offset %llu has no %s digest",
				       i + 1, (unsigned long long)e->offset, alg_str(alg));
			goto out;
		}
		if (cmn_hasher_reset(h) || cmn_hasher_update(h, regs[reg], dlen) ||
		    cmn_hasher_update(h, d->bytes, dlen) || cmn_hasher_final(h, regs[reg])) {
			r = cmn_error(ctx, CVMF_E_CRYPTO, "%s failed", algs[slot].name);
			goto out;
		}
	}
out:
	cmn_hasher_free(h);
	return r;
}

/* ---- diff ---- */

/*
 * Hints: which host parameter usually makes an event differ. The first
 * rule that matches wins, so the specific ones come first. A rule matches
 * the difference (kind of log, kind of difference, register, condition)
 * and, unless it is for any type, the expected or else the actual event.
 */
enum {
	K_TPM = 1u << CVMF_EVLOG_TPM,
	K_CCEL = 1u << CVMF_EVLOG_CCEL,
	K_ANY = K_TPM | K_CCEL,
};
#define W(x) (1u << CVMF_EVDIFF_##x)
#define W_SHIFT (W(TYPE) | W(MISSING) | W(EXTRA))   /* events out of step */
#define W_ANY (W_SHIFT | W(DIGEST))
#define ANY_REG UINT32_MAX
enum hint_cond {
	C_NONE,
	C_RTMR0_17,     /* either log has 17 or more measured RTMR0 events */
	C_OTHER_EMPTY,  /* the log without the event has none in that register */
};
#define TAG_LOAD_OPTIONS 0x8F3B22EDu
#define TAG_INITRD 0x8F3B22ECu
#define H_ANY_TYPE 0, true
#define H_TYPE(t) t, false

static const char HINT_OVMF_202505[] =
	"OVMF edk2-stable202505 or later also measures fw_cfg items and SMBIOS into RTMR0: not modelled";

static const struct hint_rule {
	unsigned kinds, whats;
	uint32_t reg;                /* log index, or ANY_REG */
	enum hint_cond cond;
	uint32_t type;
	bool any_type;
	const char *prefix;          /* event data starts with this, or NULL */
	uint32_t tag;                /* EV_EVENT_TAG id, or 0 */
	const char *text;
} hint_rules[] = {
	{ K_CCEL, W_SHIFT, 1, C_RTMR0_17, H_ANY_TYPE, NULL, 0, HINT_OVMF_202505 },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_PLATFORM_CONFIG_FLAGS), "QEMU FW CFG", 0,
	  HINT_OVMF_202505 },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_HANDOFF_TABLES), NULL, 0,
	  "the SMBIOS tables (OVMF edk2-stable202505 or later measures them; they depend on the memory size): not modelled" },
	{ K_CCEL, W_SHIFT, ANY_REG, C_NONE, H_TYPE(CVMF_EV_SEPARATOR), NULL, 0,
	  "the OVMF release: edk2-stable202411 moved the ReadyToBoot separator from RTMR0 to RTMR1 (--ovmf-layout, --ovmf-release)" },
	{ K_TPM, W_SHIFT, ANY_REG, C_NONE, H_TYPE(CVMF_EV_SEPARATOR), NULL, 0,
	  "a separator missing or out of place: another firmware release, or a boot that did not reach ReadyToBoot" },
	{ K_CCEL, W(MISSING), 3, C_OTHER_EMPTY, H_ANY_TYPE, NULL, 0,
	  "a guest kernel whose EFI stub does not log to the CC measurement protocol (Linux before 6.9): --no-stub-cc" },
	{ K_CCEL, W(EXTRA), 3, C_OTHER_EMPTY, H_ANY_TYPE, NULL, 0,
	  "the guest kernel's EFI stub logs to RTMR2 (Linux 6.9 or later), the prediction does not: drop --no-stub-cc" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_HANDOFF_TABLES2), NULL, 0,
	  "the TD HOB: the guest memory size (--memory) or the firmware's TDVF sections" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB2), NULL, 0,
	  "the OVMF varstore (CFV): another OVMF build" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB), NULL, 0,
	  "the firmware volumes as loaded in RAM (PCR0): another OVMF build; not predictable from the file" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_PLATFORM_CONFIG_FLAGS), "ACPI DATA", 0,
	  "QEMU's ACPI tables: QEMU version, machine type, CPU count, memory size and devices (--acpi-tables)" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_BOOT_SERVICES_APPLICATION), NULL, 0,
	  "the kernel bytes measured: QEMU version and OVMF release decide whether QEMU's patched setup header is measured (--qemu-version, --qemu-kernel-patch), and the patch depends on memory and initrd size" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_VARIABLE_BOOT), NULL, 0,
	  "boot options: the OVMF release (edk2-stable202505 and later add BootManagerMenuApp) or a disk boot" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG), NULL, 0,
	  "the secure-boot configuration, or an OVMF build with SecureBootConfigDxe (which defines SecureBoot)" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_VARIABLE_AUTHORITY), NULL, 0,
	  "secure boot: the db certificate that verified an image, or shim's SbatLevel and MokList" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EVENT_TAG), NULL, TAG_LOAD_OPTIONS,
	  "the kernel command line (--append), measured as its bytes widened to UTF-16, with ' initrd=initrd' appended when there is an initrd" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EVENT_TAG), NULL, TAG_INITRD,
	  "the initrd file (--initrd), measured as given" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_SEPARATOR), NULL, 0,
	  "a separator with another value: the firmware reports an error with 00000001" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_ACTION), NULL, 0,
	  "a fixed action string: the firmware took another path (another boot option, a failed ExitBootServices)" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_S_CRTM_VERSION), NULL, 0,
	  "the firmware version string (PCR0): another OVMF build" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_BOOT_SERVICES_DRIVER), NULL, 0,
	  "a PCI option ROM driver: a NIC or another device with a ROM on the QEMU command line" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_EFI_GPT_EVENT), NULL, 0,
	  "the boot disk's partition table (disk boot)" },
	{ K_ANY, W_ANY, ANY_REG, C_NONE, H_TYPE(CVMF_EV_IPL), NULL, 0,
	  "UKI sections measured by systemd-stub, or grub commands and files (disk or UKI boot)" },
};
static const char HINT_NONE[] =
	"no hint for this event type: compare the event data (cvmforge eventlog show)";

static bool rule_matches_event(const struct hint_rule *h, const struct cvmf_event *e)
{
	if (!e || e->type != h->type)
		return false;
	if (h->prefix) {
		const size_t n = strlen(h->prefix);
		if (e->data_len < n || memcmp(e->data, h->prefix, n))
			return false;
	}
	if (h->tag && (e->data_len < 4 || cmn_le32(e->data) != h->tag))
		return false;
	return true;
}

/* Measured events of a log in one register. */
static size_t reg_count(const struct cvmf_eventlog *log, uint32_t index)
{
	size_t n = 0;
	for (size_t i = 0; i < log->n_events; i++)
		n += log->events[i].type != CVMF_EV_NO_ACTION && log->events[i].index == index;
	return n;
}

static const char *diff_hint(const struct cvmf_eventlog *exp, const struct cvmf_eventlog *act,
			     const struct cvmf_evdiff *d)
{
	for (size_t i = 0; i < CMN_ARRAY_SIZE(hint_rules); i++) {
		const struct hint_rule *h = &hint_rules[i];
		if (exp->kind > CVMF_EVLOG_CCEL || !(h->kinds & (1u << exp->kind)) ||
		    !(h->whats & (1u << d->what)))
			continue;
		if (h->reg != ANY_REG && h->reg != d->index)
			continue;
		if (h->cond == C_RTMR0_17 && reg_count(exp, 1) < 17 && reg_count(act, 1) < 17)
			continue;
		if (h->cond == C_OTHER_EMPTY &&
		    reg_count(d->what == CVMF_EVDIFF_MISSING ? act : exp, d->index) != 0)
			continue;
		if (h->any_type || rule_matches_event(h, d->expected) ||
		    rule_matches_event(h, d->actual))
			return h->text;
	}
	return HINT_NONE;
}

/* A log's measured events sorted by (index, record number): each register's
 * events in order, and the k-th of a register found by binary search. */
struct reg_entry {
	uint32_t index;
	size_t number;   /* record number in the log's events[] */
};
struct reg_view {
	size_t n;
	struct reg_entry *ev;
	size_t *pos;     /* per record number: position in its register */
};

static int by_index(const void *a, const void *b)
{
	const struct reg_entry *x = a, *y = b;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->number < y->number ? -1 : x->number > y->number;
}

static void view_free(struct reg_view *v)
{
	free(v->ev);
	free(v->pos);
}

static int view_build(cvmf_ctx *ctx, const struct cvmf_eventlog *log, struct reg_view *v)
{
	memset(v, 0, sizeof(*v));
	v->ev = malloc((log->n_events + 1) * sizeof(*v->ev));
	v->pos = malloc((log->n_events + 1) * sizeof(*v->pos));
	if (!v->ev || !v->pos) {
		view_free(v);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < log->n_events; i++) {
		v->pos[i] = SIZE_MAX;
		if (log->events[i].type != CVMF_EV_NO_ACTION)
			v->ev[v->n++] = (struct reg_entry){ log->events[i].index, i };
	}
	qsort(v->ev, v->n, sizeof(*v->ev), by_index);
	for (size_t k = 0; k < v->n; k++)
		v->pos[v->ev[k].number] = k && v->ev[k - 1].index == v->ev[k].index
						  ? v->pos[v->ev[k - 1].number] + 1 : 0;
	return 0;
}

/* Record number of the k-th measured event in register ix, or SIZE_MAX. */
static size_t view_find(const struct reg_view *v, uint32_t ix, size_t k)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		const size_t mid = lo + (hi - lo) / 2;
		if (v->ev[mid].index < ix)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= v->n || k >= v->n - lo || v->ev[lo + k].index != ix)
		return SIZE_MAX;
	return v->ev[lo + k].number;
}

int cvmf_eventlog_diff(cvmf_ctx *ctx, const struct cvmf_eventlog *expected,
		       const struct cvmf_eventlog *actual, struct cvmf_evdiff *ret)
{
	if (expected->kind != actual->kind)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "cannot compare a %s log with a %s log: their indices name different registers",
				  expected->kind == CVMF_EVLOG_CCEL ? "CCEL" : "TPM",
				  actual->kind == CVMF_EVLOG_CCEL ? "CCEL" : "TPM");
	uint16_t shared[CVMF_EVLOG_MAX_ALGS];
	unsigned n_shared = 0;
	for (unsigned i = 0; i < expected->n_algs && i < CVMF_EVLOG_MAX_ALGS; i++)
		if (find_alg(actual, expected->algs[i].alg) >= 0)
			shared[n_shared++] = expected->algs[i].alg;
	if (!n_shared) {
		char a[64], b[64];
		list_banks(expected, a, sizeof(a));
		list_banks(actual, b, sizeof(b));
		return cmn_error(ctx, CVMF_E_INVAL,
				  "the logs share no digest bank (expected has %s, actual has %s)", a, b);
	}

	struct reg_view ve, va;
	int r = view_build(ctx, expected, &ve);
	if (r)
		return r;
	r = view_build(ctx, actual, &va);
	if (r) {
		view_free(&ve);
		return r;
	}
	struct cvmf_evdiff d = { .what = CVMF_EVDIFF_SAME, .expected_number = SIZE_MAX,
				 .actual_number = SIZE_MAX, .alg = shared[0] };
	/* Prefer SHA-384 (the CCEL's bank) for reports when both have it. */
	for (unsigned i = 0; i < n_shared; i++)
		if (shared[i] == CVMF_TCG_SHA384)
			d.alg = shared[i];

	for (size_t i = 0; i < expected->n_events && d.what == CVMF_EVDIFF_SAME; i++) {
		const struct cvmf_event *e = &expected->events[i];
		if (e->type == CVMF_EV_NO_ACTION)
			continue;
		const size_t k = ve.pos[i];
		const size_t j = view_find(&va, e->index, k);
		d.index = e->index;
		d.position = k;
		d.expected = e;
		d.expected_number = i;
		d.actual = NULL;
		d.actual_number = SIZE_MAX;
		if (j == SIZE_MAX) {
			d.what = CVMF_EVDIFF_MISSING;
			break;
		}
		const struct cvmf_event *a = &actual->events[j];
		d.actual = a;
		d.actual_number = j;
		if (a->type != e->type) {
			d.what = CVMF_EVDIFF_TYPE;
			break;
		}
		for (unsigned b = 0; b < n_shared; b++) {
			const struct cvmf_event_digest *x = event_digest(e, shared[b]);
			const struct cvmf_event_digest *y = event_digest(a, shared[b]);
			if (!x || !y || x->len != y->len || memcmp(x->bytes, y->bytes, x->len)) {
				d.what = CVMF_EVDIFF_DIGEST;
				d.alg = shared[b];
				break;
			}
		}
	}
	if (d.what == CVMF_EVDIFF_SAME) {
		d.expected = d.actual = NULL;
		d.expected_number = d.actual_number = SIZE_MAX;
		d.index = 0;
		d.position = 0;
		for (size_t j = 0; j < actual->n_events; j++) {
			const struct cvmf_event *a = &actual->events[j];
			if (a->type == CVMF_EV_NO_ACTION)
				continue;
			if (view_find(&ve, a->index, va.pos[j]) == SIZE_MAX) {
				d.what = CVMF_EVDIFF_EXTRA;
				d.index = a->index;
				d.position = va.pos[j];
				d.actual = a;
				d.actual_number = j;
				break;
			}
		}
	}
	view_free(&ve);
	view_free(&va);
	d.hint = d.what == CVMF_EVDIFF_SAME ? NULL : diff_hint(expected, actual, &d);
	*ret = d;
	return 0;
}

/* ---- one-line summaries of event data (eventlog show) ---- */

struct sbuf {
	char *p;
	size_t n, len;
};

static void sb_printf(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *s, const char *fmt, ...)
{
	if (s->len >= s->n)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(s->p + s->len, s->n - s->len, fmt, ap);
	va_end(ap);
	if (w > 0)
		s->len = s->len + (size_t)w < s->n ? s->len + (size_t)w : s->n - 1;
}

#define MAX_SHOWN 64   /* characters of a decoded string */

/* A quoted string from ASCII (step 1) or ASCII-in-UTF-16LE (step 2) bytes,
 * stopping at a NUL; false if a character is not printable. */
static bool quoted(struct sbuf *s, const uint8_t *d, size_t n, size_t step)
{
	size_t chars = 0;
	for (size_t i = 0; i + step <= n; i += step) {
		if (d[i] == 0 && (step == 1 || d[i + 1] == 0))
			break;
		if (d[i] < 0x20 || d[i] > 0x7e || (step == 2 && d[i + 1]))
			return false;
		chars++;
	}
	if (!chars)
		return false;
	sb_printf(s, "\"");
	for (size_t c = 0; c < chars && c < MAX_SHOWN; c++) {
		char ch = (char)d[c * step];
		sb_printf(s, ch == '"' || ch == '\\' ? "\\%c" : "%c", ch);
	}
	sb_printf(s, chars > MAX_SHOWN ? "...\"" : "\"");
	return true;
}

static bool printable_or_utf16(struct sbuf *s, const uint8_t *d, size_t n)
{
	return quoted(s, d, n, 1) || (n >= 2 && quoted(s, d, n, 2));
}

/* UEFI_VARIABLE_DATA: GUID, u64 name length (chars), u64 data length, name, data. */
static bool decode_variable(struct sbuf *s, const uint8_t *d, size_t n)
{
	if (n < 32)
		return false;
	const uint64_t chars = cmn_le64(d + 16), dlen = cmn_le64(d + 24);
	if (chars > (n - 32) / 2 || dlen > n - 32 - 2 * chars)
		return false;
	char g[37];
	cvmf_guid_format(d, g);
	if (!chars || !quoted(s, d + 32, 2 * chars, 2))
		sb_printf(s, "(unnamed)");
	sb_printf(s, " %s, %llu data byte%s", g, (unsigned long long)dlen, dlen == 1 ? "" : "s");
	return true;
}

/* UEFI_IMAGE_LOAD_EVENT: u64 address, length, link-time address, path length, path. */
static bool decode_image(struct sbuf *s, const uint8_t *d, size_t n)
{
	if (n < 32)
		return false;
	const uint64_t plen = cmn_le64(d + 24);
	sb_printf(s, "image at 0x%llx, length 0x%llx", (unsigned long long)cmn_le64(d),
		  (unsigned long long)cmn_le64(d + 8));
	if (plen > n - 32)
		return true;
	/* Device path nodes: u8 type, u8 subtype, u16 length; File() is 4/4. */
	const uint8_t *p = d + 32;
	for (size_t off = 0; off + 4 <= plen;) {
		const size_t nl = (size_t)p[off + 2] | (size_t)p[off + 3] << 8;
		if (nl < 4 || nl > plen - off || p[off] == 0x7f)
			break;
		if (p[off] == 4 && p[off + 1] == 4) {
			sb_printf(s, ", file ");
			if (!quoted(s, p + off + 4, nl - 4, 2))
				sb_printf(s, "?");
		}
		off += nl;
	}
	return true;
}

void cvmf_eventlog_describe(const struct cvmf_event *e, char *out, size_t n)
{
	if (!n)
		return;
	struct sbuf s = { out, n, 0 };
	const uint8_t *d = e->data;
	const size_t len = e->data_len;
	out[0] = '\0';
	if (!len)
		return;
	switch (e->type) {
	case CVMF_EV_NO_ACTION:
		if (len >= 17 && !memcmp(d, "StartupLocality", 16)) {
			sb_printf(&s, "StartupLocality %u", d[16]);
			return;
		}
		break;
	case CVMF_EV_SEPARATOR:
		if (len <= 8) {
			for (size_t i = 0; i < len; i++)
				sb_printf(&s, "%02x", d[i]);
			return;
		}
		break;
	case CVMF_EV_EVENT_TAG:
		if (len >= 8) {
			const uint32_t sz = cmn_le32(d + 4);
			sb_printf(&s, "tag 0x%08x ", cmn_le32(d));
			if (sz > len - 8 || !quoted(&s, d + 8, sz, 1))
				sb_printf(&s, "(%u bytes)", sz);
			return;
		}
		break;
	case CVMF_EV_EFI_HANDOFF_TABLES2:
	case CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB2:
		if (len >= 1u + d[0] + 16) {
			const size_t at = 1u + d[0];
			if (!quoted(&s, d + 1, d[0], 1))
				sb_printf(&s, "(%u-byte description)", d[0]);
			if (e->type == CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB2)
				sb_printf(&s, " base 0x%llx length 0x%llx",
					  (unsigned long long)cmn_le64(d + at),
					  (unsigned long long)cmn_le64(d + at + 8));
			else if (len >= at + 32 && cmn_le64(d + at) >= 1)
				sb_printf(&s, ", %llu table%s, first at 0x%llx",
					  (unsigned long long)cmn_le64(d + at),
					  cmn_le64(d + at) == 1 ? "" : "s",
					  (unsigned long long)cmn_le64(d + at + 24));
			return;
		}
		break;
	case CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB:
		if (len == 16) {
			sb_printf(&s, "base 0x%llx length 0x%llx", (unsigned long long)cmn_le64(d),
				  (unsigned long long)cmn_le64(d + 8));
			return;
		}
		break;
	case CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG:
	case CVMF_EV_EFI_VARIABLE_BOOT:
	case 0x8000000C:   /* EV_EFI_VARIABLE_BOOT2 */
	case CVMF_EV_EFI_VARIABLE_AUTHORITY:
		if (decode_variable(&s, d, len))
			return;
		break;
	case CVMF_EV_EFI_BOOT_SERVICES_APPLICATION:
	case CVMF_EV_EFI_BOOT_SERVICES_DRIVER:
	case 0x80000005:   /* EV_EFI_RUNTIME_SERVICES_DRIVER */
		if (decode_image(&s, d, len))
			return;
		break;
	}
	if (!printable_or_utf16(&s, d, len))
		sb_printf(&s, "%zu bytes", len);
}

/* ---- leaving registers out ---- */

void cvmf_eventlog_drop_registers(struct cvmf_eventlog *log, uint32_t registers)
{
	size_t k = 0;
	for (size_t i = 0; i < log->n_events; i++) {
		struct cvmf_event *e = &log->events[i];
		uint32_t reg = log->kind == CVMF_EVLOG_CCEL ? e->index - 1 : e->index;
		if (e->type != CVMF_EV_NO_ACTION && reg < 32 && (registers >> reg & 1)) {
			free(e->data);
			continue;
		}
		log->events[k++] = *e;
	}
	log->n_events = k;
}
