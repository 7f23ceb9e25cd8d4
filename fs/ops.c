/* SPDX-License-Identifier: BSD-3-Clause
 * Directory and attribute operations: nodes are directories, every node
 * holds the same stream files, symbolic links are extra edges.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "filters/log.h"
#include "fs/fs.h"

struct fs_config fs_cfg;

static const char *const file_names[FS_NFILES] = {
	[FS_ALL] = "all", [FS_NEW] = "new", [FS_PCAP] = "pcap", [FS_PCAPNG] = "pcapng",
	[FS_FILTER] = "filter", [FS_STATS] = "stats", [FS_LOG] = "log",
	[FS_SOCKET] = ".socket",
};

/* Files only the mount root has. */
static bool root_only(enum fs_file f)
{
	return f == FS_LOG || f == FS_SOCKET;
}

static enum fs_file file_by_name(const char *name, bool root)
{
	for (int f = FS_ALL; f <= FS_SOCKET; f++)
		if (strcmp(name, file_names[f]) == 0 && (!root_only(f) || root))
			return (enum fs_file)f;
	return FS_DIR;
}

/* A node or link named like one of the files would hide or be hidden by
 * it (anywhere: a node can be moved to the top, where `log` is).  0 or
 * -EINVAL with a line in the log. */
static int name_free(const char *op, const char *name)
{
	if (file_by_name(name, true) == FS_DIR)
		return 0;
	pfs_log("%s %s: the name of a file every node holds", op, name);
	return -EINVAL;
}

void fs_fill_attr(struct stat *st, fuse_ino_t ino, size_t link_len)
{
	enum fs_file f = fs_ino_file(ino);
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs_cfg.uid;
	st->st_gid = fs_cfg.gid;
	st->st_atim = st->st_mtim = st->st_ctim = fs_cfg.mounted;
	st->st_blksize = 1 << 20;	/* so cat and friends read 1 MiB at once */
	if (f == FS_DIR) {
		st->st_mode = S_IFDIR | fs_cfg.dir_mode;
		st->st_nlink = 2;
	} else if (f == FS_LINK) {
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = (off_t)link_len;
	} else {
		mode_t mode = fs_cfg.file_mode;
		if (f == FS_STATS || root_only(f))
			mode &= 0444;
		st->st_mode = S_IFREG | mode;
		st->st_nlink = 1;
		if (f == FS_LOG)
			st->st_size = (off_t)pfs_log_size();
		if (f == FS_SOCKET)	/* its path and a newline */
			st->st_size = (off_t)strlen(fs_clients_path()) + 1;
	}
	fs_attrs_apply(st);
}

static char *link_text(struct pfs_node *dir, const struct pfs_entry *e);

/* Resolve an inode (graph lock held): its node, and for FS_LINK the text
 * it reads as (malloc'd). */
static int resolve(fuse_ino_t ino, struct pfs_node **node, char **text)
{
	uint64_t id = fs_ino_id(ino);
	if (fs_ino_file(ino) == FS_LINK) {
		struct pfs_node *dir;
		struct pfs_entry *e = pfs_link_by_id(id, &dir);
		*node = e ? pfs_entry_node(e) : NULL;
		if (e && !(*text = link_text(dir, e)))
			return -ENOMEM;
	} else {
		*node = pfs_node_by_id(id);
		if (*node && root_only(fs_ino_file(ino)) && *node != pfs_graph_root())
			*node = NULL;
	}
	return *node ? 0 : -ENOENT;
}

static fuse_ino_t entry_ino(const struct pfs_entry *e)
{
	return pfs_entry_link(e) ? fs_ino(pfs_entry_link_id(e), FS_LINK)
				 : fs_ino(pfs_node_id(pfs_entry_node(e)), FS_DIR);
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino, size_t link_len)
{
	struct fuse_entry_param e = { .ino = ino };
	fs_fill_attr(&e.attr, ino, link_len);
	fuse_reply_entry(req, &e);
}

/* The length of the text an entry's link reads as (0 for a child). */
static size_t link_len(struct pfs_node *dir, const struct pfs_entry *e)
{
	char *text = pfs_entry_link(e) ? link_text(dir, e) : NULL;
	size_t len = text ? strlen(text) : 0;
	free(text);
	return len;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	pfs_graph_lock();
	struct pfs_node *dir = pfs_node_by_id(fs_ino_id(parent));
	int err = ENOENT;
	if (dir && fs_ino_file(parent) == FS_DIR) {
		pfs_node_grow(dir);
		enum fs_file f = file_by_name(name, dir == pfs_graph_root());
		struct pfs_entry *e = f == FS_DIR ? pfs_node_entry(dir, name) : NULL;
		if (f != FS_DIR && (dir != pfs_graph_root() || root_only(f))) {
			reply_entry(req, fs_ino(pfs_node_id(dir), f), 0);
			err = 0;
		} else if (e) {
			reply_entry(req, entry_ino(e), link_len(dir, e));
			err = 0;
		}
	}
	pfs_graph_unlock();
	if (err)
		fuse_reply_err(req, err);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct pfs_node *n;
	char *text = NULL;
	struct stat st;
	pfs_graph_lock();
	int rc = resolve(ino, &n, &text);
	if (rc == 0)
		fs_fill_attr(&st, ino, text ? strlen(text) : 0);
	pfs_graph_unlock();
	free(text);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, 0);
}

/* Truncating a stream or filter file (`echo x > filter`) is allowed and
 * means nothing (they have no size), and so are times; owners and modes
 * are kept (fs/attrs.c). */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	(void)fi;
	const int owner = FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID | FUSE_SET_ATTR_MODE;
	if (to_set & ~(owner | FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		       FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	struct pfs_node *n;
	char *text = NULL;
	struct stat cur;
	pfs_graph_lock();
	int rc = resolve(ino, &n, &text);
	if (rc == 0)
		fs_fill_attr(&cur, ino, text ? strlen(text) : 0);
	pfs_graph_unlock();
	free(text);
	if (rc == 0 && (to_set & owner))
		rc = fs_attrs_set(&cur, attr, to_set, fuse_req_ctx(req)->uid);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		op_getattr(req, ino, NULL);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct pfs_node *n;
	char *text = NULL;
	pfs_graph_lock();
	int rc = fs_ino_file(ino) == FS_LINK ? resolve(ino, &n, &text) : -EINVAL;
	pfs_graph_unlock();
	if (rc || !text)
		fuse_reply_err(req, rc ? -rc : ENOMEM);
	else
		fuse_reply_readlink(req, text);
	free(text);
}

/* The directory parent of a request, with the graph lock held. */
static struct pfs_node *dir_of(fuse_ino_t ino)
{
	return fs_ino_file(ino) == FS_DIR ? pfs_node_by_id(fs_ino_id(ino)) : NULL;
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)mode;
	struct pfs_node *n = NULL;
	struct pfs_stage *st = NULL;
	int rc = name_free("mkdir", name);
	/* Parsed (a bpf= expression compiled) before the lock is taken. */
	if (rc == 0)
		rc = fs_spec_parse(req, name, true, &st);
	pfs_graph_lock();
	struct pfs_node *dir = dir_of(parent);
	if (rc == 0 && !dir) {
		pfs_stage_free(st);
		rc = -ENOENT;
	} else if (rc == 0) {
		rc = pfs_node_mkdir(dir, name, st, &n);
	}
	uint64_t id = n ? pfs_node_id(n) : 0;
	pfs_graph_unlock();
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, fs_ino(id, FS_DIR), 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	pfs_graph_lock();
	struct pfs_node *dir = dir_of(parent);
	struct pfs_entry *e = dir ? pfs_node_entry(dir, name) : NULL;
	uint64_t id = e && !pfs_entry_link(e) ? pfs_node_id(pfs_entry_node(e)) : 0;
	int rc = dir ? pfs_node_rmdir(dir, name) : -ENOENT;
	pfs_graph_unlock();
	if (rc == 0)
		fs_attrs_forget(fs_ino(id, FS_DIR), FS_NFILES);
	fuse_reply_err(req, -rc);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct pfs_stage *st = NULL;
	int rc = flags & RENAME_EXCHANGE ? -EINVAL
		 : file_by_name(name, true) != FS_DIR ? -EPERM : name_free("mv", newname);
	/* A new name that is a filter spec is the node's new filter: parsed
	 * (a bpf= expression compiled) before the lock is taken. */
	if (rc == 0 && strcmp(name, newname) && pfs_name_is_spec(newname))
		rc = fs_spec_parse(req, newname, true, &st);
	pfs_graph_lock();
	struct pfs_node *from = dir_of(parent), *to = dir_of(newparent);
	if (rc == 0 && (!from || !to)) {
		pfs_stage_free(st);
		rc = -ENOENT;
	} else if (rc == 0) {
		rc = pfs_node_rename(from, name, to, newname, st);
	}
	pfs_graph_unlock();
	fuse_reply_err(req, -rc);
}

/* Where a link's text leads, from directory `dir`: absolute paths must be
 * inside the mount.  NULL if it is not a node. */
static struct pfs_node *follow(struct pfs_node *dir, const char *text)
{
	size_t mlen = strlen(fs_cfg.mountpoint);
	if (text[0] == '/') {
		if (strncmp(text, fs_cfg.mountpoint, mlen) || (text[mlen] && text[mlen] != '/'))
			return NULL;
		text += mlen;
		dir = pfs_graph_root();
	}
	char *path = strdup(text), *save = NULL;
	struct pfs_node *n = dir;
	for (char *c = path ? strtok_r(path, "/", &save) : NULL; c && n;
	     c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, "..") == 0) {
			n = pfs_node_home(n) ? pfs_node_home(n)
		    : n == pfs_graph_root() ? NULL : pfs_graph_root();
		} else if (strcmp(c, ".") != 0) {
			struct pfs_entry *e = pfs_node_entry(n, c);
			n = e ? pfs_entry_node(e) : NULL;
		}
	}
	free(path);
	return n == pfs_graph_root() ? NULL : n;
}

/* The nodes from the root down to n (n last): a malloc'd array of *depth. */
static struct pfs_node **path_of(struct pfs_node *n, size_t *depth)
{
	*depth = 0;
	for (struct pfs_node *m = n; m; m = pfs_node_home(m))
		++*depth;
	struct pfs_node **path = malloc(*depth * sizeof(*path) + 1);
	size_t i = *depth;
	for (struct pfs_node *m = n; path && m; m = pfs_node_home(m))
		path[--i] = m;
	return path;
}

/* The relative path from directory node dir (the root: NULL) to node to. */
static char *relative_path(struct pfs_node *dir, struct pfs_node *to)
{
	size_t nd = 0, nt, k = 0, len = 0;
	struct pfs_node **d = dir ? path_of(dir, &nd) : NULL, **t = path_of(to, &nt);
	char *text = NULL;
	FILE *out = (dir && !d) || !t ? NULL : open_memstream(&text, &len);
	while (out && k < nd && k < nt && d[k] == t[k])
		k++;
	for (size_t i = k; out && i < nd; i++)
		fputs("../", out);
	for (size_t i = k; out && i < nt; i++)
		fprintf(out, "%s%s", pfs_node_name(t[i]), i + 1 < nt ? "/" : "");
	if (out && fclose(out) != 0) {
		free(text);
		text = NULL;
	}
	free(d);
	free(t);
	return text;
}

/* What a link reads as: its text while that still leads to its target;
 * once a mv has moved either end, the relative path that does.  So `ls
 * -l` always shows where a node's data comes from.  (malloc'd) */
static char *link_text(struct pfs_node *dir, const struct pfs_entry *e)
{
	if (follow(dir, pfs_entry_link(e)) == pfs_entry_node(e))
		return strdup(pfs_entry_link(e));
	return relative_path(dir == pfs_graph_root() ? NULL : dir, pfs_entry_node(e));
}

static void op_symlink(fuse_req_t req, const char *text, fuse_ino_t parent,
		       const char *name)
{
	pfs_graph_lock();
	struct pfs_node *dir = dir_of(parent);
	struct pfs_node *target = dir ? follow(dir, text) : NULL;
	int rc = !dir ? -ENOENT : name_free("ln -s", name);
	if (rc == 0 && !target) {
		pfs_log("ln -s %s %s: the target is not a node of this mount", text, name);
		rc = -EINVAL;
	} else if (rc == 0) {
		rc = pfs_node_link(dir, name, target, text);
	}
	struct pfs_entry *e = rc == 0 ? pfs_node_entry(dir, name) : NULL;
	struct fuse_entry_param ep = { .ino = e ? entry_ino(e) : 0 };
	if (e)
		fs_fill_attr(&ep.attr, ep.ino, link_len(dir, e));
	pfs_graph_unlock();
	if (rc || !e)
		fuse_reply_err(req, rc ? -rc : ENOMEM);
	else
		fuse_reply_entry(req, &ep);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	pfs_graph_lock();
	struct pfs_node *dir = dir_of(parent);
	int rc = !dir ? -ENOENT : file_by_name(name, true) != FS_DIR ? -EPERM
		 : pfs_node_unlink(dir, name);
	pfs_graph_unlock();
	fuse_reply_err(req, -rc);
}

struct dirbuf {
	char *p;
	size_t size;
};

static void dirbuf_add(fuse_req_t req, struct dirbuf *b, const char *name,
		       fuse_ino_t ino, mode_t type)
{
	struct stat st = { .st_ino = ino, .st_mode = type };
	size_t old = b->size;
	b->size += fuse_add_direntry(req, NULL, 0, name, NULL, 0);
	char *p = realloc(b->p, b->size);
	if (!p) {
		b->size = old;
		return;
	}
	b->p = p;
	fuse_add_direntry(req, b->p + old, b->size - old, name, &st, (off_t)b->size);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	struct dirbuf b = { NULL, 0 };
	pfs_graph_lock();
	struct pfs_node *dir = dir_of(ino);
	if (dir) {
		bool root = dir == pfs_graph_root();
		if (off == 0)
			pfs_node_grow(dir);	/* once per listing */
		dirbuf_add(req, &b, ".", ino, S_IFDIR);
		struct pfs_node *home = pfs_node_home(dir);
		dirbuf_add(req, &b, "..", home ? fs_ino(pfs_node_id(home), FS_DIR) : 1, S_IFDIR);
		for (int f = FS_ALL; f <= FS_SOCKET; f++)
			if (root ? root_only(f) : !root_only(f))
				dirbuf_add(req, &b, file_names[f], fs_ino(pfs_node_id(dir), f),
					   S_IFREG);
		for (struct pfs_entry *e = pfs_node_entries(dir); e; e = pfs_entry_next(e))
			dirbuf_add(req, &b, pfs_entry_name(e), entry_ino(e),
				   pfs_entry_link(e) ? S_IFLNK : S_IFDIR);
	}
	pfs_graph_unlock();
	if (!dir)
		fuse_reply_err(req, ENOTDIR);
	else if ((size_t)off < b.size)
		fuse_reply_buf(req, b.p + off, b.size - (size_t)off < size ? b.size - (size_t)off : size);
	else
		fuse_reply_buf(req, NULL, 0);
	free(b.p);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs st = { .f_bsize = 1 << 20, .f_namemax = NAME_MAX };
	fuse_reply_statfs(req, &st);
}

/* ---- files -------------------------------------------------------------- */

/* The text of filter or stats, taken whole at open (graph lock held);
 * NULL when out of memory. */
static char *snapshot(struct fs_open *of, size_t *len)
{
	char *t = NULL;
	if (of->file == FS_STATS)
		return pfs_node_stats(of->node, len);
	if (of->file == FS_SOCKET && asprintf(&t, "%s\n", fs_clients_path()) >= 0) {
		*len = strlen(t);
		return t;
	}
	if (asprintf(&t, "%s\n", pfs_node_spec(of->node)) < 0)
		return NULL;
	*len = strlen(t);
	return t;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	enum fs_file f = fs_ino_file(ino);
	if (f == FS_DIR || f == FS_LINK) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	int acc = fi->flags & O_ACCMODE, rc = 0;
	struct fs_open *of = NULL;
	pfs_graph_lock();
	struct pfs_node *n = pfs_node_by_id(fs_ino_id(ino));
	if (!n)
		rc = -ENOENT;
	else if (acc != O_RDONLY && (f == FS_STATS || root_only(f)))
		rc = -EACCES;
	else if (!(of = fs_open_new(f, n)))
		rc = -ENOMEM;
	else if (fs_is_stream(f))
		/* Only the owner's readers may hold back a lossless producer:
		 * another user's unread file must not stall the owner's. */
		rc = fs_stream_open(of, fi->flags, fuse_req_ctx(req)->uid == fs_cfg.uid);
	else if (acc == O_RDONLY && f != FS_LOG && !(of->text = snapshot(of, &of->text_len)))
		rc = -ENOMEM;
	pfs_graph_unlock();
	if (rc) {
		if (of)
			fs_open_put(of);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)of;
	fi->direct_io = 1;
	fi->nonseekable = fs_is_stream(f);
	fuse_reply_open(req, fi);
}

/*
 * The open file of a request, with a reference for the request's time: a
 * reader killed in the middle of a read closes its file at once, and the
 * release may come while the read is still being served.
 */
static struct fs_open *open_get(struct fuse_file_info *fi)
{
	struct fs_open *of = (struct fs_open *)(uintptr_t)fi->fh;
	fs_open_get(of);
	return of;
}

/* `log` is read as a file that only grows (tail -f, less +F follow it). */
static void read_log(fuse_req_t req, size_t size, off_t off)
{
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fuse_reply_buf(req, buf, pfs_log_read((uint64_t)off, buf, size));
	free(buf);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	struct fs_open *of = open_get(fi);
	if (fs_is_stream(of->file))
		fs_stream_read(req, of, size, fi->flags);
	else if (of->file == FS_LOG)
		read_log(req, size, off);
	else if (!of->text || (size_t)off >= of->text_len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, of->text + off,
			       of->text_len - (size_t)off < size ? of->text_len - (size_t)off : size);
	fs_open_put(of);
}

/* `echo 'port 80' > filter`: the spec's trailing newline and blanks go. */
static void write_filter(fuse_req_t req, struct fs_open *of, const char *buf, size_t size)
{
	char *spec = strndup(buf, size);
	if (!spec) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t len = strlen(spec);
	while (len && strchr(" \t\r\n", spec[len - 1]))
		spec[--len] = '\0';
	/* Parsed (a bpf= expression compiled) without the graph lock. */
	struct pfs_stage *st = NULL;
	int rc = len ? fs_spec_parse(req, spec, false, &st) : -EINVAL;
	if (!len)
		pfs_log("%s/filter: an empty spec (write one, such as `tcp`)",
			pfs_node_name(of->node));
	if (st) {
		pfs_graph_lock();
		rc = pfs_node_set_filter(of->node, st);
		pfs_graph_unlock();
	}
	free(spec);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	(void)off;
	struct fs_open *of = open_get(fi);
	if (fs_is_stream(of->file))
		fs_stream_write(req, of, buf, size);
	else if (of->file == FS_FILTER)
		write_filter(req, of, buf, size);
	else
		fuse_reply_err(req, EBADF);
	fs_open_put(of);
}

static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	(void)ino;
	struct fs_open *of = open_get(fi);
	if (fs_is_stream(of->file)) {
		fs_stream_poll(req, of, ph);
	} else {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLOUT);
	}
	fs_open_put(of);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_open_release((struct fs_open *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Large requests: libfuse asks the kernel for max_write / page size
	 * pages per request, which also bounds direct-I/O reads. */
	conn->max_write = 1 << 20;
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.symlink = op_symlink,
	.unlink = op_unlink,
	.readdir = op_readdir,
	.statfs = op_statfs,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.poll = op_poll,
	.release = op_release,
};
