/* SPDX-License-Identifier: Apache-2.0 */
/* Files made durable together in rounds of parallel fsyncs: see fileset.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileset.h"
#include "common/internal.h"

void cmn_fileset_free(struct cmn_fileset *s)
{
	for (size_t i = 0; i < s->nf; i++) {
		if (s->f[i].fd >= 0)
			close(s->f[i].fd);
		if (s->f[i].tmp)
			unlink(s->f[i].tmp);
		free(s->f[i].tmp);
		free(s->f[i].path);
	}
	for (size_t i = 0; i < s->nd; i++)
		free(s->dirs[i]);
	free(s->f);
	free(s->dirs);
	memset(s, 0, sizeof(*s));
}

static int add_dir(cvmf_ctx *ctx, struct cmn_fileset *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dir = slash ? path : ".";
	size_t len = slash ? (size_t)(slash - path) : 1;
	if (slash && len == 0)
		len = 1;        /* "/name" */
	for (size_t i = 0; i < s->nd; i++)
		if (strlen(s->dirs[i]) == len && !memcmp(s->dirs[i], dir, len))
			return 0;
	char **nv = realloc(s->dirs, (s->nd + 1) * sizeof(*nv));
	if (!nv)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	s->dirs = nv;
	if (!(s->dirs[s->nd] = strndup(dir, len)))
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	s->nd++;
	return 0;
}

/* The fsyncs of a round, shared out to a pool of threads that lives as long
 * as the writer. */
#define POOL_THREADS 7
struct sync_item {
	int fd;                         /* or -1 and dir */
	const char *dir;
	const char *name;               /* for the error */
	int err;
};

struct cmn_syncpool {
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	struct sync_item *items;
	size_t n, next, finished;
	bool quit;
	pthread_t t[POOL_THREADS];
	unsigned nt;
};

static void item_sync(struct sync_item *it)
{
	int fd = it->fd;
	if (fd < 0 && (fd = open(it->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		it->err = errno;
		return;
	}
	it->err = fsync(fd) ? errno : 0;
	if (fd != it->fd)
		close(fd);
}

/* Take and run items until none is left; called with mu held, returns with it. */
static void pool_work(struct cmn_syncpool *p)
{
	while (p->next < p->n) {
		struct sync_item *it = &p->items[p->next++];
		pthread_mutex_unlock(&p->mu);
		item_sync(it);
		pthread_mutex_lock(&p->mu);
		if (++p->finished == p->n)
			pthread_cond_broadcast(&p->done);
	}
}

static void *pool_thread(void *arg)
{
	struct cmn_syncpool *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->quit) {
		pool_work(p);
		if (!p->quit)
			pthread_cond_wait(&p->go, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct cmn_syncpool *cmn_syncpool_new(void)
{
	struct cmn_syncpool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (unsigned i = 0; i < POOL_THREADS; i++)
		if (pthread_create(&p->t[p->nt], NULL, pool_thread, p) == 0)
			p->nt++;
	return p;       /* without threads, the caller does the work alone */
}

void cmn_syncpool_free(struct cmn_syncpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nt; i++)
		pthread_join(p->t[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p);
}

static void pool_run(struct cmn_syncpool *p, struct sync_item *items, size_t n)
{
	pthread_mutex_lock(&p->mu);
	p->items = items;
	p->n = n;
	p->next = p->finished = 0;
	pthread_cond_broadcast(&p->go);
	pool_work(p);   /* this thread works too */
	while (p->finished < p->n)
		pthread_cond_wait(&p->done, &p->mu);
	p->items = NULL;
	p->n = p->next = p->finished = 0;
	pthread_mutex_unlock(&p->mu);
}

int cmn_fileset_sync(cvmf_ctx *ctx, struct cmn_syncpool *p, struct cmn_fileset *const *sets,
		      size_t nsets)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < nsets; i++)
		n += sets[i]->nf + sets[i]->nd;
	if (!n)
		return 0;
	struct sync_item *it = calloc(n, sizeof(*it));
	if (!it)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	for (size_t i = 0; i < nsets; i++) {
		for (size_t j = 0; j < sets[i]->nf; j++)
			if (sets[i]->f[j].fd >= 0)
				it[k++] = (struct sync_item){ sets[i]->f[j].fd, NULL,
							      sets[i]->f[j].path, 0 };
		for (size_t j = 0; j < sets[i]->nd; j++)
			it[k++] = (struct sync_item){ -1, sets[i]->dirs[j], sets[i]->dirs[j], 0 };
	}
	pool_run(p, it, k);
	int r = 0;
	for (size_t i = 0; i < k && !r; i++)
		if (it[i].err)
			r = cmn_error(ctx, CVMF_E_IO, "cannot sync '%s': %s", it[i].name,
				       strerror(it[i].err));
	free(it);
	for (size_t i = 0; i < nsets; i++) {
		for (size_t j = 0; j < sets[i]->nd; j++)
			free(sets[i]->dirs[j]);
		sets[i]->nd = 0;
		for (size_t j = 0; j < sets[i]->nf; j++) {
			struct cmn_pending *f = &sets[i]->f[j];
			if (f->fd >= 0 && close(f->fd) != 0 && !r)
				r = cmn_error(ctx, CVMF_E_IO, "cannot write '%s': %s", f->path,
					       strerror(errno));
			f->fd = -1;
		}
	}
	return r;
}

int cmn_fileset_commit(cvmf_ctx *ctx, struct cmn_syncpool *p, struct cmn_fileset *s,
		       void (*renamed)(const char *tag))
{
	int r = 0;
	for (size_t i = 0; i < s->nf && !r; i++) {
		struct cmn_pending *f = &s->f[i];
		if (!f->tmp)
			continue;
		if (rename(f->tmp, f->path) != 0) {
			r = cmn_error(ctx, CVMF_E_IO, "cannot rename '%s' to '%s': %s", f->tmp,
				       f->path, strerror(errno));
			break;
		}
		free(f->tmp);
		f->tmp = NULL;
		if (f->tag && renamed)
			renamed(f->tag);
		r = add_dir(ctx, s, f->path);
	}
	struct cmn_fileset *one = s;
	if (!r)
		r = cmn_fileset_sync(ctx, p, &one, 1);
	cmn_fileset_free(s);
	return r;
}

/* Create path's parent directories; each directory that gets a new entry is
 * fsync'd in round 1. */
static int make_parents(cvmf_ctx *ctx, const char *path, struct cmn_fileset *s)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return 0;
	struct stat st;
	char *parent = strndup(path, (size_t)(slash - path));
	if (!parent)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	int r = 0;
	if (stat(parent, &st) != 0) {
		r = make_parents(ctx, parent, s);
		if (!r && mkdir(parent, 0755) != 0 && errno != EEXIST)
			r = cmn_error(ctx, CVMF_E_IO, "cannot create directory '%s': %s",
				       parent, strerror(errno));
		if (!r)
			r = add_dir(ctx, s, parent);
	} else if (!S_ISDIR(st.st_mode)) {
		r = cmn_error(ctx, CVMF_E_IO, "'%s' is in the way (not a directory)", parent);
	}
	free(parent);
	return r;
}

int cmn_fileset_put(cvmf_ctx *ctx, struct cmn_fileset *s, const char *path, const void *buf,
		    size_t len, mode_t mode, bool in_place, const char *tag)
{
	struct cmn_pending f = { NULL, NULL, -1, tag };
	const char *slash = strrchr(path, '/');
	int r = 0;
	if ((r = make_parents(ctx, path, s)))
		goto out;
	if (!(f.path = strdup(path))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (!in_place && asprintf(&f.tmp, "%.*s/.tmp-%ld-%s", slash ? (int)(slash - path) : 1,
				  slash ? path : ".", (long)getpid(), slash ? slash + 1 : path) < 0) {
		f.tmp = NULL;
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	const char *name = f.tmp ? f.tmp : path;
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	f.fd = open(name, flags, mode);
	if (f.fd < 0 && errno == EEXIST && unlink(name) == 0)
		f.fd = open(name, flags, mode);
	if (f.fd < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "cannot create '%s': %s", name, strerror(errno));
		goto out;
	}
	if (in_place && (r = add_dir(ctx, s, path)))   /* a new entry there */
		goto out;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(f.fd, (const char *)buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = cmn_error(ctx, CVMF_E_IO, "cannot write '%s': %s", path,
				       w < 0 ? strerror(errno) : "short write");
			goto out;
		}
		off += (size_t)w;
	}
	/* Start the write-back now; the fsync later waits for less. */
	sync_file_range(f.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	struct cmn_pending *nf = realloc(s->f, (s->nf + 1) * sizeof(*nf));
	if (!nf) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	s->f = nf;
	s->f[s->nf++] = f;
	f = (struct cmn_pending){ NULL, NULL, -1, NULL };
out:
	if (f.fd >= 0)
		close(f.fd);
	if (f.tmp)
		unlink(f.tmp);
	free(f.tmp);
	free(f.path);
	return r;
}
