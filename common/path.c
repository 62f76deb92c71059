/* SPDX-License-Identifier: Apache-2.0 */
/* Path normalisation: the one rule of common/path.h. */
#include <stdlib.h>
#include <string.h>

#include "common/path.h"

enum cmn_path_err cmn_path_norm(const char *in, unsigned flags, char **ret)
{
	if ((flags & CMN_PATH_ABSOLUTE) && in[0] != '/')
		return CMN_PATH_E_RELATIVE;
	char *out = malloc(strlen(in) + 2);
	if (!out)
		return CMN_PATH_E_NOMEM;
	enum cmn_path_err e = CMN_PATH_OK;
	size_t o = 0;
	const char *p = in[0] == '/' ? in + 1 : in;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (n == 0) {
			/* "" (the root), "a//b", "a/" */
			if ((flags & CMN_PATH_CANONICAL) && (*p || p != in + (in[0] == '/'))) {
				e = CMN_PATH_E_EMPTY;
				break;
			}
		} else if (n == 1 && p[0] == '.') {
			if (!(flags & CMN_PATH_RESOLVE)) {
				e = CMN_PATH_E_DOT;
				break;
			}
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (!(flags & CMN_PATH_RESOLVE)) {
				e = CMN_PATH_E_DOTDOT;
				break;
			}
			if (!o) {
				e = CMN_PATH_E_ABOVE;
				break;
			}
			while (out[o - 1] != '/')
				o--;
			o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	if (!e && !o) {
		if (flags & CMN_PATH_ROOT_OK)
			out[o++] = '/';
		else
			e = CMN_PATH_E_ROOT;
	}
	if (e) {
		free(out);
		return e;
	}
	out[o] = '\0';
	*ret = out;
	return CMN_PATH_OK;
}

const char *cmn_path_strerror(enum cmn_path_err e)
{
	switch (e) {
	case CMN_PATH_OK: return "is valid";
	case CMN_PATH_E_RELATIVE: return "is not absolute";
	case CMN_PATH_E_DOT: return "has a '.' component";
	case CMN_PATH_E_DOTDOT: return "has a '..' component";
	case CMN_PATH_E_ABOVE: return "climbs above the root";
	case CMN_PATH_E_EMPTY: return "has an empty component";
	case CMN_PATH_E_ROOT: return "is the root directory";
	case CMN_PATH_E_NOMEM: return "could not be normalised (out of memory)";
	}
	return "is not a valid path";
}
