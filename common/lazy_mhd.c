/* SPDX-License-Identifier: Apache-2.0 */
/* libmicrohttpd, loaded on first use (see common/lazy.h): only `log serve`
 * starts a daemon, every other verb never loads it. Every libmicrohttpd
 * function the project calls is listed here with its prototype from
 * <microhttpd.h>; a function missing from this table is a link error. */
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "common/internal.h"
#include "common/lazy.h"

#ifndef CMN_LAZY_MHD_SONAME
#define CMN_LAZY_MHD_SONAME "libmicrohttpd.so.12"
#endif

/* F(ret, name, (params), (args), fail, skip) / V(name, (params), (args), skip) / M(name) */
#define MHD_FNS(F, V, M)                                                                   \
	/* sessions: NULL when libmicrohttpd cannot be loaded */                          \
	M(MHD_start_daemon)                                                                \
	F(struct MHD_Daemon *, MHD_start_daemon_va,                                        \
	  (unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void *apc_cls, \
	   MHD_AccessHandlerCallback dh, void *dh_cls, va_list ap),                        \
	  (flags, port, apc, apc_cls, dh, dh_cls, ap), NULL, 0)                            \
	F(struct MHD_Response *, MHD_create_response_from_buffer,                          \
	  (size_t size, void *buffer, enum MHD_ResponseMemoryMode mode),                   \
	  (size, buffer, mode), NULL, 0)                                                   \
	/* free: no-ops on NULL, without loading anything */                              \
	V(MHD_stop_daemon, (struct MHD_Daemon *d), (d), !d)                                \
	V(MHD_destroy_response, (struct MHD_Response *r), (r), !r)                         \
	/* requests and responses */                                                      \
	F(enum MHD_Result, MHD_add_response_header,                                        \
	  (struct MHD_Response *r, const char *h, const char *v), (r, h, v), MHD_NO, 0)    \
	F(enum MHD_Result, MHD_queue_response,                                             \
	  (struct MHD_Connection *c, unsigned int status, struct MHD_Response *r),         \
	  (c, status, r), MHD_NO, 0)                                                       \
	F(const char *, MHD_lookup_connection_value,                                       \
	  (struct MHD_Connection *c, enum MHD_ValueKind k, const char *key), (c, k, key),  \
	  NULL, 0)                                                                         \
	V(MHD_suspend_connection, (struct MHD_Connection *c), (c), 0)                      \
	V(MHD_resume_connection, (struct MHD_Connection *c), (c), 0)                      \
	M(MHD_get_connection_info)

CMN_LAZY_DEFINE_LIB(cmn_lazy_mhd, MHD_FNS, "libmicrohttpd", CMN_LAZY_MHD_SONAME);
#define LIB cmn_lazy_mhd

CMN_LAZY_TRAMPOLINES(MHD_FNS)

/* The variadic start: forwarded to its va_list twin. */
CMN_LAZY_HIDDEN struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
						     MHD_AcceptPolicyCallback apc, void *apc_cls,
						     MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	va_list ap;
	va_start(ap, dh_cls);
	struct MHD_Daemon *d = MHD_start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

/* Variadic too; only the info types without arguments are used
 * (MHD_CONNECTION_INFO_CONNECTION_FD): forwarded with none. */
typedef const union MHD_ConnectionInfo *(*conn_info_fn)(struct MHD_Connection *,
							 enum MHD_ConnectionInfoType, ...);

CMN_LAZY_HIDDEN const union MHD_ConnectionInfo *
MHD_get_connection_info(struct MHD_Connection *c, enum MHD_ConnectionInfoType t, ...)
{
	if (t != MHD_CONNECTION_INFO_CONNECTION_FD && t != MHD_CONNECTION_INFO_SOCKET_CONTEXT &&
	    t != MHD_CONNECTION_INFO_CONNECTION_SUSPENDED)
		return NULL;    /* an info type with arguments: not forwarded */
	if (!cmn_lazy_load(&LIB))
		return NULL;
	return CMN_LAZY_FN(LIB, conn_info_fn, MHD_get_connection_info)(c, t);
}
