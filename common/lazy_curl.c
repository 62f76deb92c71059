/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl, loaded on first use (see common/lazy.h). Every libcurl function
 * the project calls is listed here with its prototype from <curl/curl.h>;
 * a function missing from this table is a link error. */
#include <stdarg.h>
#include <stdint.h>

/* curl.h turns curl_easy_setopt/getinfo into type-checking macros under
 * GCC; this file defines the functions themselves. Callers keep the checks. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "common/internal.h"
#include "common/lazy.h"

#ifndef CMN_LAZY_CURL_SONAME
#define CMN_LAZY_CURL_SONAME "libcurl.so.4"
#endif

static const char *curl_why(void);

/* F(ret, name, (params), (args), fail, skip) / V(name, (params), (args), skip) / M(name) */
#define CURL_FNS(F, V, M)                                                                  \
	/* sessions: an error when libcurl cannot be loaded */                             \
	F(CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT, 0)         \
	F(CURL *, curl_easy_init, (void), (), NULL, 0)                                     \
	F(struct curl_slist *, curl_slist_append,                                          \
	  (struct curl_slist *list, const char *s), (list, s), NULL, 0)                    \
	F(char *, curl_easy_escape, (CURL *c, const char *s, int n), (c, s, n), NULL, 0)   \
	F(char *, curl_easy_unescape, (CURL *c, const char *s, int n, int *outn),          \
	  (c, s, n, outn), NULL, 0)                                                        \
	F(char *, curl_version, (void), (), (char *)curl_why(), 0)                         \
	F(const char *, curl_easy_strerror, (CURLcode e), (e), curl_why(), 0)              \
	/* free: no-ops on NULL, without loading anything */                               \
	V(curl_easy_cleanup, (CURL *c), (c), !c)                                           \
	V(curl_slist_free_all, (struct curl_slist *list), (list), !list)                   \
	V(curl_free, (void *p), (p), !p)                                                   \
	V(curl_global_cleanup, (void), (), !cmn_lazy_loaded(&LIB))                         \
	/* transfers */                                                                    \
	M(curl_easy_setopt)                                                                \
	M(curl_easy_getinfo)                                                               \
	F(CURLcode, curl_easy_perform, (CURL *c), (c), CURLE_FAILED_INIT, 0)               \
	V(curl_easy_reset, (CURL *c), (c), 0)                                              \
	F(CURL *, curl_easy_duphandle, (CURL *c), (c), NULL, 0)

CMN_LAZY_DEFINE_LIB(cmn_lazy_curl, CURL_FNS, "libcurl", CMN_LAZY_CURL_SONAME);
#define LIB cmn_lazy_curl

static const char *curl_why(void)
{
	const char *why = cmn_lazy_error(&cmn_lazy_curl);
	return why ? why : "libcurl is not loaded";
}

CMN_LAZY_TRAMPOLINES(CURL_FNS)

/*
 * curl_easy_setopt takes one argument whose type the option number encodes:
 * [0, 10000) long, [10000, 20000) a data pointer (strings, lists, callback
 * data), [20000, 30000) a function pointer, [30000, 40000) curl_off_t,
 * [40000, 50000) a struct curl_blob pointer. The argument is read in that
 * type and passed on in that type, as libcurl reads it with va_arg.
 */
typedef CURLcode (*setopt_fn)(CURL *, CURLoption, ...);
typedef void (*any_fn)(void);

CMN_LAZY_HIDDEN CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	CURLcode r = CURLE_BAD_FUNCTION_ARGUMENT;
	va_list ap;
	va_start(ap, option);
	if (!cmn_lazy_load(&LIB)) {
		r = CURLE_FAILED_INIT;
		goto out;
	}
	setopt_fn f = CMN_LAZY_FN(LIB, setopt_fn, curl_easy_setopt);
	long o = (long)option;
	if (o >= CURLOPTTYPE_LONG && o < CURLOPTTYPE_OBJECTPOINT)
		r = f(curl, option, va_arg(ap, long));
	else if (o >= CURLOPTTYPE_OBJECTPOINT && o < CURLOPTTYPE_FUNCTIONPOINT)
		r = f(curl, option, va_arg(ap, void *));
	else if (o >= CURLOPTTYPE_FUNCTIONPOINT && o < CURLOPTTYPE_OFF_T)
		r = f(curl, option, va_arg(ap, any_fn));
	else if (o >= CURLOPTTYPE_OFF_T && o < CURLOPTTYPE_BLOB)
		r = f(curl, option, va_arg(ap, curl_off_t));
	else if (o >= CURLOPTTYPE_BLOB && o < CURLOPTTYPE_BLOB + 10000)
		r = f(curl, option, va_arg(ap, struct curl_blob *));
	else
		r = CURLE_UNKNOWN_OPTION;   /* a type this file does not know: refuse */
out:
	va_end(ap);
	return r;
}

/*
 * curl_easy_getinfo's argument is always a pointer to where the answer goes;
 * its pointee type follows CURLINFO_TYPEMASK (char **, long *, double *,
 * struct curl_slist ** or other pointers, curl_socket_t *, curl_off_t *).
 */
typedef CURLcode (*getinfo_fn)(CURL *, CURLINFO, ...);

CMN_LAZY_HIDDEN CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	CURLcode r = CURLE_BAD_FUNCTION_ARGUMENT;
	va_list ap;
	va_start(ap, info);
	if (!cmn_lazy_load(&LIB)) {
		r = CURLE_FAILED_INIT;
		goto out;
	}
	getinfo_fn f = CMN_LAZY_FN(LIB, getinfo_fn, curl_easy_getinfo);
	switch ((long)info & CURLINFO_TYPEMASK) {
	case CURLINFO_STRING:
		r = f(curl, info, va_arg(ap, char **));
		break;
	case CURLINFO_LONG:
		r = f(curl, info, va_arg(ap, long *));
		break;
	case CURLINFO_DOUBLE:
		r = f(curl, info, va_arg(ap, double *));
		break;
	case CURLINFO_PTR:   /* also CURLINFO_SLIST: struct curl_slist **, certinfo... */
		r = f(curl, info, va_arg(ap, void *));
		break;
	case CURLINFO_SOCKET:
		r = f(curl, info, va_arg(ap, curl_socket_t *));
		break;
	case CURLINFO_OFF_T:
		r = f(curl, info, va_arg(ap, curl_off_t *));
		break;
	default:
		r = CURLE_UNKNOWN_OPTION;
		break;
	}
out:
	va_end(ap);
	return r;
}
