/* SPDX-License-Identifier: Apache-2.0 */
/* The loader behind the lazily loaded libraries (see common/lazy.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "common/internal.h"
#include "common/lazy.h"

/* One lock for every library: taken only until a library is loaded (or has
 * failed to load); afterwards cmn_lazy_load() is one acquire load. */
static pthread_mutex_t g_lazy_lock = PTHREAD_MUTEX_INITIALIZER;

static void *handle_of(const struct cmn_lazy_lib *lib)
{
	return __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
}

/* Under the lock: dlopen lib and resolve every listed function, or keep why not. */
static void load_locked(struct cmn_lazy_lib *lib)
{
	lib->tried = true;
	lib->why[0] = '\0';
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(lib->why, sizeof(lib->why), "%s", e ? e : "dlopen failed");
		return;
	}
	for (unsigned i = 0; i < lib->nsyms; i++) {
		(void)dlerror();
		void *p = dlsym(h, lib->syms[i]);
		if (!p) {
			snprintf(lib->why, sizeof(lib->why),
				 "%s has no function %s (a newer version is needed)",
				 lib->soname, lib->syms[i]);
			for (unsigned j = 0; j < i; j++)
				lib->fns[j] = NULL;
			dlclose(h);
			return;
		}
		lib->fns[i] = p;
	}
	/* Publish: the slots written above are visible to whoever sees the handle. */
	__atomic_store_n(&lib->handle, h, __ATOMIC_RELEASE);
}

bool cmn_lazy_load(struct cmn_lazy_lib *lib)
{
	if (handle_of(lib))
		return true;
	pthread_mutex_lock(&g_lazy_lock);
	if (!lib->tried)
		load_locked(lib);
	bool ok = lib->handle != NULL;
	pthread_mutex_unlock(&g_lazy_lock);
	return ok;
}

int cmn_lazy_require(cvmf_ctx *ctx, struct cmn_lazy_lib *lib)
{
	if (cmn_lazy_load(lib))
		return 0;
	return cmn_error(ctx, CVMF_E_IO, "%s (%s) could not be loaded: %s", lib->name,
			  lib->soname, lib->why);
}

bool cmn_lazy_loaded(const struct cmn_lazy_lib *lib)
{
	return handle_of(lib) != NULL;
}

const char *cmn_lazy_error(const struct cmn_lazy_lib *lib)
{
	const char *why = NULL;
	pthread_mutex_lock(&g_lazy_lock);
	if (lib->tried && !lib->handle)
		why = lib->why;
	pthread_mutex_unlock(&g_lazy_lock);
	return why;
}

int cmn_lazy_set_soname(struct cmn_lazy_lib *lib, const char *soname)
{
	int r = -1;
	pthread_mutex_lock(&g_lazy_lock);
	if (!lib->handle) {
		lib->soname = soname;
		lib->tried = false;
		lib->why[0] = '\0';
		r = 0;
	}
	pthread_mutex_unlock(&g_lazy_lock);
	return r;
}
