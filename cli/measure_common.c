/* SPDX-License-Identifier: Apache-2.0 */
/* What the measure verbs share: sizes and versions on the command line,
 * JSON pieces, and the expected event log as JSON lines. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/json.h"
#include "common/parse.h"

/* "9.2", "10.0.1": major * 100 + minor, by the rule recipes use. */
int cli_parse_qemu_version(const char *s, unsigned *ret)
{
	return cmn_parse_qemu_version(s, ret);
}

json_t *cli_file_obj(const char *path, const struct cvmf_file_digest *d)
{
	if (!d->present)
		return json_null();
	json_t *o = cmn_json_digest(d);
	if (!o)
		return NULL;
	json_object_set_new(o, "path", cmn_json_string_or_null(path));
	if (d->derived)
		json_object_set_new(o, "derived", json_string("from acpi_tables"));
	return o;
}

int cli_write_eventlog_json(const char *path, const struct cvmf_eventlog *log)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return fail("out of memory");
	for (size_t i = 0; i < log->n_events; i++) {
		const struct cvmf_event *e = &log->events[i];
		json_t *o = json_object();
		json_object_set_new(o, "number", json_integer((json_int_t)i + 1));
		if (log->kind == CVMF_EVLOG_CCEL) {
			json_object_set_new(o, "rtmr", json_integer((json_int_t)e->index - 1));
			json_object_set_new(o, "mr_index", json_integer(e->index));
			json_object_set_new(o, "digest", cmn_json_hex(e->digests[0].bytes, e->digests[0].len));
		} else {
			json_object_set_new(o, "pcr", json_integer(e->index));
			json_t *d = json_object();
			for (unsigned k = 0; k < e->n_digests; k++) {
				const char *an = cvmf_tcg_alg_name(e->digests[k].alg);
				json_object_set_new(d, an ? an : "unknown",
						    cmn_json_hex(e->digests[k].bytes, e->digests[k].len));
			}
			json_object_set_new(o, "digests", d);
		}
		const char *tn = cvmf_ev_type_name(e->type);
		json_object_set_new(o, "type", tn ? json_string(tn) : cmn_json_hex_u64(e->type));
		json_object_set_new(o, "what", e->what ? json_string(e->what) : json_null());
		if (e->data_runtime) {
			json_object_set_new(o, "data", json_null());
		} else {
			char *h = malloc(2 * e->data_len + 1);
			if (h) {
				cvmf_hex(e->data, e->data_len, h);
				json_object_set_new(o, "data", json_string(h));
				free(h);
			}
		}
		json_dumpf(o, f, JSON_COMPACT | JSON_SORT_KEYS);
		fputc('\n', f);
		json_decref(o);
	}
	if (fclose(f)) {
		free(buf);
		return fail("out of memory");
	}
	int rc = write_file_atomic(path, buf, len);
	free(buf);
	return rc;
}

int cli_write_tcg_log(const char *path, const struct cvmf_eventlog *log)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	uint8_t *buf = NULL;
	size_t len;
	int rc;
	if (!ctx)
		return fail("out of memory");
	if (cvmf_eventlog_write(ctx, log, &buf, &len))
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
	else
		rc = write_file_atomic(path, buf, len);
	free(buf);
	cvmf_ctx_free(ctx);
	return rc;
}

int cli_parse_memory(const char *prog, const char *usage, const char *arg, uint64_t *ret)
{
	uint64_t v = CLI_DEFAULT_MEMORY;
	if (arg && cmn_parse_memory(arg, &v)) {
		usage_error(prog, usage,
			    "argument --memory: '%s' is not a memory size such as 2G, 2048M or 512MiB (" CMN_MEMORY_RULE ")",
			    arg);
		return -1;
	}
	*ret = v;
	return 0;
}

json_t *cli_cmdline_obj(const char *append)
{
	const char *c = append ? append : "";
	return cmn_json_text(c, strlen(c));
}
