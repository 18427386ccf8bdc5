// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Load, pin, attach, flip, drain. One cleanup path undoes exactly what was
 * done: a clsact qdisc is removed only if this agent created it, an XDP
 * program only while it is still ours.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfix.skel.h"
#include "errline.h"
#include "journal.h"
#include "budget.h"
#include "meter.h"
#include "privs.h"

#define BPF_FS_MAGIC_ 0xcafe4a11
#define NEEDS_CAPS "needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON; run as root"
#define SECCOMP_DENIED "bpf() denied by a seccomp filter (container runtime default " \
	"profile?): run with --security-opt seccomp=unconfined or a profile allowing bpf"
#define USERNS_DENIED "in a user namespace (rootless container, PrivateUsers=), " \
	"capabilities do not reach bpf(): run in the host's user namespace (" NEEDS_CAPS ")"

/* The maps pinned under pin_dir, by their names in the object. */
static struct bpf_map *skel_map(struct bpfix *skel, int i)
{
	struct bpf_map *maps[] = {
		skel->maps.flow_table_0, skel->maps.flow_table_1, skel->maps.flow_tables,
		skel->maps.flow_epoch, skel->maps.stats, skel->maps.frag_table,
		skel->maps.tunnels, skel->maps.tunnel_next,
	};
	return i < (int)ARRAY_SIZE(maps) ? maps[i] : NULL;
}

/* bpffs at /sys/fs/bpf, mounted if missing (`ip netns exec` gives a fresh
 * /sys without it). */
static int ensure_bpffs(const char *pin_dir, char *err, size_t errlen)
{
	struct statfs st;
	char parent[PATH_MAX], *slash;

	if (!statfs(pin_dir, &st) && st.f_type == BPF_FS_MAGIC_)
		return 0;	/* exists, on bpffs (the mount point itself, too) */
	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (!statfs(parent, &st) && st.f_type == BPF_FS_MAGIC_)
		return 0;
	if (strncmp(pin_dir, "/sys/fs/bpf/", 12))
		return err_line(err, errlen, -ENOTDIR, "--pin-path %s: %s is not on a bpf filesystem",
			    pin_dir, parent);
	if (!statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC_)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return err_line(err, errlen, -errno, "cannot mount bpffs at /sys/fs/bpf: %s%s",
			    strerror(errno),
			    errno == EPERM ? " (needs CAP_SYS_ADMIN; or mount it first: "
					     "mount -t bpf bpf /sys/fs/bpf)" : "");
	return 0;
}

/* How a pinned map compares with the one we are about to create. */
enum pin_match {
	PIN_SAME = 1,		/* reused as it is */
	PIN_RESIZED,		/* same type and layout, another size (--flows) */
	PIN_OTHER,		/* another type or layout */
};

/* @info is filled in for the caller's message. */
static int pin_compare(const char *path, const struct bpf_map *map, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	int fd, ret;

	memset(info, 0, sizeof(*info));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		ret = PIN_OTHER;
	else if (info->type != bpf_map__type(map) || info->key_size != bpf_map__key_size(map) ||
		 info->value_size != bpf_map__value_size(map))
		ret = PIN_OTHER;
	else
		ret = info->max_entries == bpf_map__max_entries(map) ? PIN_SAME : PIN_RESIZED;
	close(fd);
	return ret;
}

/*
 * An earlier run left pins. Compatible ones are reused (the kernel never
 * stopped metering into them, so nothing is lost across a restart). If any
 * differs (another --flows, a map of an older bpfix), the old flow tables
 * are kept open for one last drain and every old pin is removed. A flow
 * table of another layout (key or value size, map type) cannot be drained
 * with ours, nor be one of ours: it is refused, and nothing is removed.
 */
static int check_pins(struct meter *m, char *err, size_t errlen)
{
	char path[PATH_MAX + 64];
	int i, found = 0, compatible = 1;
	struct bpf_map *map, *other = NULL;	/* a map of another layout, not a flow table */

	for (i = 0; (map = skel_map(m->skel, i)); i++) {
		struct bpf_map_info info;
		int ok;

		snprintf(path, sizeof(path), "%s/%s", m->pin_dir, bpf_map__name(map));
		ok = pin_compare(path, map, &info);
		if (ok == -ENOENT)
			continue;
		found = 1;
		if (ok != PIN_SAME)
			compatible = 0;
		if (ok != PIN_OTHER)
			continue;
		if (strncmp(bpf_map__name(map), "flow_table_", 11)) {
			other = other ? other : map;
			continue;
		}
		return err_line(err, errlen, -EEXIST, "%s: a pinned map of another layout (type %u, "
			    "key %u, value %u octets; bpfix's: type %u, key %u, value %u): "
			    "not bpfix's to drain or remove; use another --pin-path", path,
			    info.type, info.key_size, info.value_size, bpf_map__type(map),
			    bpf_map__key_size(map), bpf_map__value_size(map));
	}
	if (!found)
		return 0;
	if (compatible) {
		m->adopted = 1;
		return 0;
	}
	/* Ours to replace only where a bpfix journal says this directory is
	 * bpfix's: a stats or epoch map of another layout beside no journal
	 * is another tool's. */
	if (other && !journal_pinned(m->pin_dir))
		return err_line(err, errlen, -EEXIST, "%s/%s: a pinned map of another layout and "
				"no bpfix journal beside it: another tool's? use another --pin-path",
				m->pin_dir, bpf_map__name(other));
	for (i = 0; i < FLOW_TABLES; i++) {
		snprintf(path, sizeof(path), "%s/flow_table_%d", m->pin_dir, i);
		m->stale_fd[i] = bpf_obj_get(path);
	}
	for (i = 0; (map = skel_map(m->skel, i)); i++) {
		snprintf(path, sizeof(path), "%s/%s", m->pin_dir, bpf_map__name(map));
		if (unlink(path) && errno != ENOENT)
			return err_line(err, errlen, -errno, "%s: cannot remove stale pin: %s",
				    path, strerror(errno));
	}
	return 0;
}

/* The drain buffers, unless they are the hooks' (the journal's). */
static void free_buffers(struct meter *m)
{
	if (!m->buffers_external) {
		free(m->drain.keys);
		free(m->drain.values);
	}
	memset(&m->drain, 0, sizeof(m->drain));
	m->buffers_external = 0;
}

static int alloc_batch(struct meter *m, uint32_t batch)
{
	free_buffers(m);
	m->drain.batch = batch;
	m->drain.keys = calloc(batch, sizeof(*m->drain.keys));
	m->drain.values = calloc((size_t)batch * m->ncpus, sizeof(*m->drain.values));
	return m->drain.keys && m->drain.values ? 0 : -ENOMEM;
}

/*
 * One agent per pin path: a flock on the directory, taken before anything
 * is pinned in it. The lock and the directory are one thing only if the
 * directory is never removed under a lock: it is removed only by the agent
 * that holds the lock (meter_close), and a lock that turns out to be on a
 * directory removed meanwhile (the path now names another inode, or none)
 * is let go and taken again on what the path names now.
 */
static int lock_pin_dir(struct meter *m, char *err, size_t errlen)
{
	struct stat held, named;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		if (!mkdir(m->pin_dir, 0700))
			m->created_dir = 1;
		else if (errno != EEXIST)
			return err_line(err, errlen, -errno, "--pin-path %s: %s%s", m->pin_dir,
				    strerror(errno),
				    errno == EACCES || errno == EPERM ? " (" NEEDS_CAPS ")" : "");
		m->pin_dir_fd = open(m->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (m->pin_dir_fd < 0 && errno == ENOENT)
			continue;	/* removed by the agent that held it: make it again */
		if (m->pin_dir_fd < 0)
			return err_line(err, errlen, -errno, "--pin-path %s: %s", m->pin_dir,
				    strerror(errno));
		/* A read-only bpffs would only show when pinning, as a load error. */
		if (faccessat(m->pin_dir_fd, ".", W_OK, AT_EACCESS))
			return err_line(err, errlen, -errno, "--pin-path %s: %s", m->pin_dir,
				    strerror(errno));
		if (flock(m->pin_dir_fd, LOCK_EX | LOCK_NB))
			return err_line(err, errlen, -EBUSY,
				    "--pin-path %s: another bpfix is running with it", m->pin_dir);
		if (!fstat(m->pin_dir_fd, &held) && !stat(m->pin_dir, &named) &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
			m->pin_locked = 1;
			return 0;
		}
		close(m->pin_dir_fd);
		m->pin_dir_fd = -1;
	}
	return err_line(err, errlen, -EBUSY, "--pin-path %s: removed again each time it was "
		    "locked: another bpfix starting and stopping with it?", m->pin_dir);
}

/* ---- an earlier agent's programs ---------------------------------------- */
/*
 * Each agent pins the programs it attaches in its pin directory, as
 * NAME.ID. The programs an earlier agent on this pin path pinned (we hold
 * the directory's lock, so that agent is gone) are how its attachments are
 * known: a filter or XDP attachment whose program id is one of theirs is
 * its. Ids, not names: the kernel gives a program's name by id only with
 * CAP_SYS_ADMIN (BPF_PROG_GET_FD_BY_ID), which the agent does not need,
 * while an fd from a pin gives the id with CAP_BPF, and is the old_prog_fd
 * an XDP replace or detach needs.
 */

/* The programs this mode attaches. */
static struct bpf_program *mode_prog(struct meter *m, int i)
{
	struct bpf_program *tc[] = { m->skel->progs.bpfix_tc_ingress,
				     m->skel->progs.bpfix_tc_egress, NULL };
	struct bpf_program *xdp[] = { m->skel->progs.bpfix_xdp, NULL, NULL };

	return i < 3 ? (m->mode == MODE_TC ? tc : xdp)[i] : NULL;
}


/* Ours, before they are attached anywhere: a successor knows them then. */
static int pin_progs(struct meter *m, char *err, size_t errlen)
{
	struct bpf_program *prog;
	int i;

	for (i = 0; (prog = mode_prog(m, i)); i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			return err_line(err, errlen, -errno, "%s: %s", bpf_program__name(prog),
				    strerror(errno));
		snprintf(m->prog_pin[i], sizeof(m->prog_pin[i]), "%s/%s-%u", m->pin_dir,
			 bpf_program__name(prog), info.id);
		if (bpf_obj_pin(fd, m->prog_pin[i])) {
			int ret = -errno;

			m->prog_pin[i][0] = '\0';
			return err_line(err, errlen, ret, "%s/%s-%u: %s", m->pin_dir,
				    bpf_program__name(prog), info.id, strerror(-ret));
		}
		chmod(m->prog_pin[i], 0600);
	}
	return 0;
}

static void unpin_progs(struct meter *m)
{
	for (int i = 0; i < 3; i++)
		if (m->prog_pin[i][0])
			unlink(m->prog_pin[i]);
	memset(m->prog_pin, 0, sizeof(m->prog_pin));
}


int meter_open(struct meter *m, const struct bpfix_config *cfg, char *err, size_t errlen)
{
	struct bpf_map *map;
	char path[PATH_MAX + 64];
	__u32 zero = 0;
	int i, ret;

	memset(m, 0, sizeof(*m));
	m->pin_dir_fd = -1;
	m->stale_fd[0] = m->stale_fd[1] = -1;
	m->mode = cfg->mode;
	m->table_entries = cfg->flows;
	snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", cfg->pin_path);

	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus <= 0)
		return err_line(err, errlen, -EINVAL, "cannot count possible CPUs");

	ret = ensure_bpffs(m->pin_dir, err, errlen);
	if (ret)
		return ret;
	ret = lock_pin_dir(m, err, errlen);
	if (ret)
		return ret;

	m->skel = bpfix__open();
	if (!m->skel)
		return err_line(err, errlen, -errno, "cannot open the BPF object: %s", strerror(errno));
	/* Off, no program reads dedup_recent: one slot, not 22 KiB per CPU. */
	m->skel->rodata->dedup_enabled = cfg->dedup ? 1 : 0;
	ret = bpf_map__set_max_entries(m->skel->maps.dedup_recent,
				       cfg->dedup ? 1u << DEDUP_SLOTS_LOG2 : 1);
	if (ret)
		return err_line(err, errlen, ret, "dedup_recent: %s", strerror(-ret));
	/* Before load: the verifier prunes what the settings rule out. */
	m->skel->rodata->tunnel_mode = (__u8)cfg->tunnels;
	memcpy((void *)m->skel->rodata->tunnel_vxlan_ports, cfg->vxlan_ports,
	       sizeof(cfg->vxlan_ports));
	memcpy((void *)m->skel->rodata->tunnel_geneve_ports, cfg->geneve_ports,
	       sizeof(cfg->geneve_ports));
	/* The journal creates and pins "flows" (journal.h): only its type is ours. */
	bpf_map__set_autocreate(m->skel->maps.flows, false);
	for (i = 0; i < FLOW_TABLES; i++) {
		map = skel_map(m->skel, i);
		ret = bpf_map__set_max_entries(map, cfg->flows);
		if (ret)
			return err_line(err, errlen, ret, "--flows %u: %s", cfg->flows, strerror(-ret));
	}
	ret = bpf_map__set_max_entries(m->skel->maps.frag_table, budget_frag_entries(cfg->flows));
	if (ret)
		return err_line(err, errlen, ret, "frag_table: %s", strerror(-ret));
	ret = check_pins(m, err, errlen);
	if (ret)
		return ret;
	attach_find_earlier(m);
	for (i = 0; (map = skel_map(m->skel, i)); i++) {
		snprintf(path, sizeof(path), "%s/%s", m->pin_dir, bpf_map__name(map));
		ret = bpf_map__set_pin_path(map, path);
		if (ret)
			return err_line(err, errlen, ret, "%s: %s", path, strerror(-ret));
	}

	ret = bpfix__load(m->skel);
	if (ret) {
		if ((ret == -EPERM || ret == -EACCES || ret == -ENOSYS) && privs_bpf_seccomp_denied())
			return err_line(err, errlen, ret, "cannot load the BPF programs: " SECCOMP_DENIED);
		if ((ret == -EPERM || ret == -EACCES) && !privs_in_init_userns())
			return err_line(err, errlen, ret, "cannot load the BPF programs: " USERNS_DENIED);
		if (ret == -EPERM || ret == -EACCES)
			return err_line(err, errlen, ret,
				    "cannot load the BPF programs: missing privileges (" NEEDS_CAPS ")");
		return err_line(err, errlen, ret, "cannot load the BPF programs: %s%s", strerror(-ret),
			    getenv("BPFIX_VERBOSE") ? "" : " (run with -vv for libbpf's log)");
	}
	m->pinned = 1;
	for (i = 0; (map = skel_map(m->skel, i)); i++)
		chmod(bpf_map__get_pin_path(map), 0600);
	ret = pin_progs(m, err, errlen);
	if (ret)
		return ret;

	m->table_fd[0] = bpf_map__fd(m->skel->maps.flow_table_0);
	m->table_fd[1] = bpf_map__fd(m->skel->maps.flow_table_1);
	m->tables_fd = bpf_map__fd(m->skel->maps.flow_tables);
	m->epoch_fd = bpf_map__fd(m->skel->maps.flow_epoch);
	m->stats_fd = bpf_map__fd(m->skel->maps.stats);
	m->frag_fd = bpf_map__fd(m->skel->maps.frag_table);
	if (bpf_map_lookup_elem(m->epoch_fd, &zero, &m->epoch))
		return err_line(err, errlen, -errno, "flow_epoch: %s", strerror(errno));

	ret = alloc_batch(m, meter_drain_batch((uint32_t)m->ncpus));
	if (ret)
		return err_line(err, errlen, ret, "out of memory");
	return 0;
}


void meter_close(struct meter *m, int unpin)
{
	int i;

	meter_detach(m);
	/* Ours are attached nowhere now; an earlier agent's stay pinned
	 * unless meter_attach dealt with its attachments. */
	unpin_progs(m);
	attach_forget_earlier(m, 0);
	if (m->skel && unpin && m->pinned) {
		struct bpf_map *map;

		for (i = 0; (map = skel_map(m->skel, i)); i++)
			bpf_map__unpin(map, NULL);
	}
	/* Only removes it if empty (an earlier run's pins stay), and only
	 * under its lock: an agent that lost the lock leaves the directory
	 * to the one that holds it (lock_pin_dir). */
	if (m->pin_locked && ((unpin && m->pinned) || m->created_dir))
		rmdir(m->pin_dir);
	for (i = 0; i < FLOW_TABLES; i++)
		if (m->stale_fd[i] >= 0)
			close(m->stale_fd[i]);
	bpfix__destroy(m->skel);
	if (m->pin_dir_fd >= 0)
		close(m->pin_dir_fd);
	free_buffers(m);
	free(m->att);
	memset(m, 0, sizeof(*m));
	m->pin_dir_fd = -1;
	m->stale_fd[0] = m->stale_fd[1] = -1;
}

/* ---- epochs and drains -------------------------------------------------- */

int meter_flip(struct meter *m)
{
	__u32 zero = 0, next = m->epoch + 1, old = m->epoch & (FLOW_TABLES - 1);

	if (bpf_map_update_elem(m->epoch_fd, &zero, &next, BPF_ANY))
		return -errno;
	/* Re-storing the same inner map makes the kernel synchronize_rcu():
	 * every program that may have read the old epoch has returned. */
	if (bpf_map_update_elem(m->tables_fd, &old, &m->table_fd[old], BPF_ANY))
		return -errno;
	m->epoch = next;
	return old;
}

/* Hand @n drained flows to @fn from the drain buffers, each with its index
 * in the staging. */
static void fold_batch(struct meter *m, uint32_t n, drain_fn fn, void *ctx)
{
	const struct drain_hooks *d = &m->drain;

	for (uint32_t i = 0; i < n; i++) {
		if (d->ahead && i + d->ahead_dist < n)
			d->ahead(d->ahead_ctx, &d->keys[i + d->ahead_dist]);
		fn(ctx, m->buffers_external ? i : DRAIN_UNSTAGED, &d->keys[i],
		   &d->values[(size_t)i * m->ncpus], m->ncpus);
	}
}

/* Journal staging: a key still set after a kill is a flow drained and not
 * yet folded, so the keys the last batch wrote are zeroed before the next. */
static void clear_staged(struct meter *m)
{
	if (m->buffers_external) {
		memset(m->drain.keys, 0, sizeof(*m->drain.keys) * m->keys_dirty);
		m->keys_dirty = 0;
	}
}

/*
 * The batch call refused (-ENOSPC): one hash bucket holds more flows than a
 * drain batch. Read it into memory of our own, as large as it takes, and
 * pass it on through the drain buffers a batch at a time, so the journal's
 * staging stays the drain's buffers (crash safety is lost only for the
 * moment between the read and the copy). Counted in big_buckets. Returns
 * what the batch call did (0 or -ENOENT at the end), *@n the flows.
 */
static int drain_big_bucket(struct meter *m, int fd, __u64 *in, __u64 *out, __u32 *n,
			    drain_fn fn, void *ctx)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct flow_key *keys = NULL;
	struct flow_counters *values = NULL;
	__u32 room = m->drain.batch, done;
	int ret;

	do {
		free(keys);
		free(values);
		room *= 2;
		keys = calloc(room, sizeof(*keys));
		values = calloc((size_t)room * m->ncpus, sizeof(*values));
		if (!keys || !values) {
			ret = -ENOMEM;
			break;
		}
		*n = room;
		ret = bpf_map_lookup_and_delete_batch(fd, in, out, keys, values, n, &opts);
	} while (ret == -ENOSPC && room < (1u << 24));
	if (ret && ret != -ENOENT) {
		free(keys);
		free(values);
		return ret;
	}
	m->big_buckets++;
	for (done = 0; done < *n;) {
		__u32 c = *n - done < m->drain.batch ? *n - done : m->drain.batch;

		clear_staged(m);
		memcpy(m->drain.keys, keys + done, sizeof(*keys) * c);
		memcpy(m->drain.values, values + (size_t)done * m->ncpus,
		       sizeof(*values) * c * m->ncpus);
		m->keys_dirty = c;
		fold_batch(m, c, fn, ctx);
		done += c;
	}
	free(keys);
	free(values);
	return ret;
}

long meter_drain_fd(struct meter *m, int fd, drain_fn fn, void *ctx)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 in = 0, out = 0;
	long total = 0;
	int first = 1;

	for (;;) {
		__u32 count = m->drain.batch;
		int ret;

		clear_staged(m);
		ret = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in, &out, m->drain.keys,
						      m->drain.values, &count, &opts);
		if (ret == -ENOSPC) {
			ret = drain_big_bucket(m, fd, first ? NULL : &in, &out, &count, fn, ctx);
		} else if (!ret || ret == -ENOENT) {
			m->keys_dirty = count;
			fold_batch(m, count, fn, ctx);
		}
		if (ret && ret != -ENOENT)
			return ret;
		total += count;
		if (ret == -ENOENT)
			return total;
		in = out;
		first = 0;
	}
}

void meter_set_drain_hooks(struct meter *m, const struct drain_hooks *h)
{
	free_buffers(m);
	m->drain = *h;
	m->keys_dirty = h->batch;	/* whatever an earlier agent left is folded first */
	m->buffers_external = 1;
}

long meter_drain(struct meter *m, int slot, drain_fn fn, void *ctx)
{
	return meter_drain_fd(m, m->table_fd[slot], fn, ctx);
}

static int frag_entry_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct frag_entry *)a)->key, &((const struct frag_entry *)b)->key,
		      sizeof(struct frag_key));
}

long meter_read_frags(struct meter *m, struct frag_snapshot *fs)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t cap = bpf_map__max_entries(m->skel->maps.frag_table);
	__u64 in = 0, out = 0;
	int first = 1;

	if (fs->cap < cap) {
		frag_snapshot_free(fs);
		fs->e = calloc(cap, sizeof(*fs->e));
		fs->keys = calloc(cap, sizeof(*fs->keys));
		fs->ports = calloc(cap, sizeof(*fs->ports));
		if (!fs->e || !fs->keys || !fs->ports) {
			frag_snapshot_free(fs);
			return -ENOMEM;
		}
		fs->cap = cap;
	}
	fs->n = 0;
	for (;;) {
		__u32 i, count = fs->cap - fs->n;
		int ret;

		if (!count)
			break;	/* entries added while we read: the rest next sweep */
		ret = bpf_map_lookup_batch(m->frag_fd, first ? NULL : &in, &out, fs->keys,
					   fs->ports, &count, &opts);
		if (ret == -ENOSPC)
			break;	/* a bucket larger than the room left: next sweep */
		if (ret && ret != -ENOENT)
			return ret;
		for (i = 0; i < count; i++) {
			fs->e[fs->n].key = fs->keys[i];
			fs->e[fs->n].ports = fs->ports[i];
			fs->n++;
		}
		if (ret == -ENOENT)
			break;
		in = out;
		first = 0;
	}
	qsort(fs->e, fs->n, sizeof(*fs->e), frag_entry_cmp);
	return fs->n;
}

int frag_snapshot_find(void *ctx, const struct frag_key *fk, struct frag_ports *out)
{
	const struct frag_snapshot *fs = ctx;
	const struct frag_entry *e;
	struct frag_entry want = { .key = *fk };

	e = bsearch(&want, fs->e, fs->n, sizeof(*fs->e), frag_entry_cmp);
	if (!e)
		return -ENOENT;
	*out = e->ports;
	return 0;
}

void frag_snapshot_free(struct frag_snapshot *fs)
{
	free(fs->e);
	free(fs->keys);
	free(fs->ports);
	memset(fs, 0, sizeof(*fs));
}

int meter_flows_type(const struct meter *m, int *btf_fd, __u32 *key_type_id,
		     __u32 *value_type_id)
{
	*btf_fd = bpf_object__btf_fd(m->skel->obj);
	*key_type_id = bpf_map__btf_key_type_id(m->skel->maps.flows);
	*value_type_id = bpf_map__btf_value_type_id(m->skel->maps.flows);
	return *btf_fd >= 0 && *value_type_id ? 0 : -ENOENT;
}

void stats_sum(const struct bpfix_stats *percpu, int ncpus, struct bpfix_stats *sum)
{
	const __u64 *p = (const __u64 *)percpu;
	__u64 *s = (__u64 *)sum;
	size_t i;
	int c;

	memset(sum, 0, sizeof(*sum));
	for (c = 0; c < ncpus; c++)
		for (i = 0; i < BPFIX_STAT_COUNT; i++)
			s[i] += p[(size_t)c * BPFIX_STAT_COUNT + i];
}

long meter_read_tunnels(struct meter *m, struct tunnel_ends *by_ref, uint32_t n_refs)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = bpf_map__fd(m->skel->maps.tunnels);
	struct tunnel_ends keys[256];
	__u32 refs[256], in = 0, out = 0, count;
	long got = 0;
	int first = 1, ret;

	do {
		count = ARRAY_SIZE(keys);
		ret = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, refs, &count, &opts);
		if (ret && errno != ENOENT)
			return -errno;
		for (__u32 i = 0; i < count; i++) {
			if (refs[i] && refs[i] < n_refs) {
				by_ref[refs[i]] = keys[i];
				got++;
			}
		}
		in = out;
		first = 0;
	} while (!ret);
	return got;
}

int meter_read_stats(struct meter *m, struct bpfix_stats *sum)
{
	struct bpfix_stats *percpu = calloc(m->ncpus, sizeof(*percpu));
	__u32 zero = 0;
	int ret = 0;

	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->stats_fd, &zero, percpu))
		ret = -errno;
	else
		stats_sum(percpu, m->ncpus, sum);
	free(percpu);
	return ret;
}
