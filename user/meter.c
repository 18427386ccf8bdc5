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
#define BPFIX_TC_HANDLE 0xb9f1	/* our cls_bpf filter's handle, both hooks */
#define BPFIX_TC_PRIO   1	/* meter before other classifiers can drop */
#define LOCK_DIR "/run/bpfix"
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

static void open_dead_progs(struct meter *m)
{
	int dfd = dup(m->pin_dir_fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((e = readdir(d)) && m->n_dead < DEAD_PROGS) {
		struct dead_prog *p = &m->dead[m->n_dead];
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (strncmp(e->d_name, "bpfix_", 6) || !strchr(e->d_name, '-'))
			continue;
		snprintf(p->pin, sizeof(p->pin), "%s/%s", m->pin_dir, e->d_name);
		p->fd = bpf_obj_get(p->pin);
		if (p->fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(p->fd, &info, &len) || !info.id) {
			close(p->fd);
			continue;
		}
		p->id = info.id;
		snprintf(p->name, sizeof(p->name), "%s", info.name);
		m->n_dead++;
	}
	closedir(d);
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

/* The earlier agent's programs, once every attachment of theirs is taken
 * over or removed (@unpin), or when we stop. */
static void close_dead_progs(struct meter *m, int unpin)
{
	for (int i = 0; i < m->n_dead; i++) {
		if (unpin)
			unlink(m->dead[i].pin);
		close(m->dead[i].fd);
	}
	m->n_dead = 0;
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
	open_dead_progs(m);
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

/* ---- attach ------------------------------------------------------------- */

static int prog_name_of_id(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	name[0] = '\0';
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		close(fd);
		return -errno;
	}
	close(fd);
	snprintf(name, len, "%s", info.name);
	return 0;
}

/* Program @id is an earlier bpfix agent's: one it pinned here, or (an
 * agent of a bpfix that pinned none) one named like ours, where the
 * kernel tells the name (CAP_SYS_ADMIN), and only on interfaces this
 * agent meters (m->pinned_only unset): elsewhere it may be another pin
 * path's. Returns its pinned fd (to be left open), -1 for a program known
 * by name only, -ENOENT for another owner's; @name says whose, for the
 * messages. */
static int earlier_prog(struct meter *m, __u32 id, char *name, size_t len)
{
	for (int i = 0; i < m->n_dead; i++)
		if (m->dead[i].id == id) {
			snprintf(name, len, "%s", m->dead[i].name);
			return m->dead[i].fd;
		}
	name[0] = '\0';
	if (m->pinned_only)
		return -ENOENT;
	if (!prog_name_of_id(id, name, len) && !strncmp(name, "bpfix_", 6) &&
	    (m->adopted || m->stale_fd[0] >= 0 || m->stale_fd[1] >= 0))
		return -1;
	return -ENOENT;
}

/* "program 'NAME' (id N)", or "program id N" where its name is unknown. */
static const char *prog_words(char *buf, size_t len, const char *name, __u32 id)
{
	if (*name)
		snprintf(buf, len, "program '%s' (id %u)", name, id);
	else
		snprintf(buf, len, "program id %u (its name readable only with CAP_SYS_ADMIN)",
			 id);
	return buf;
}

/* Filters on IFINDEX's clsact hooks, from the kernel's dump: a qdisc
 * with anyone's filter on it is never removed. A negative errno if the
 * dump fails (then nothing is removed either). */
static int tc_filters_left(unsigned int ifindex)
{
	const __u32 parents[] = { TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
				  TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS) };
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	int fd, n = 0, ret = 0;
	size_t i;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	for (i = 0; i < ARRAY_SIZE(parents) && !ret; i++) {
		struct {
			struct nlmsghdr nh;
			struct tcmsg t;
		} req = {
			.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETTFILTER,
				.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = i + 1 },
			.t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = (int)ifindex,
			       .tcm_parent = parents[i] },
		};
		int done = 0;

		if (send(fd, &req, sizeof(req), 0) < 0) {
			ret = -errno;
			break;
		}
		while (!done && !ret) {
			ssize_t len = recv(fd, buf, sizeof(buf), 0);
			struct nlmsghdr *nh;

			if (len < 0 && errno == EINTR)
				continue;
			if (len <= 0) {
				ret = len < 0 ? -errno : -EIO;
				break;
			}
			for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (__u32)len);
			     nh = NLMSG_NEXT(nh, len)) {
				if (nh->nlmsg_type == NLMSG_DONE) {
					done = 1;
					break;
				}
				if (nh->nlmsg_type == NLMSG_ERROR) {
					ret = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
					if (ret == -EINVAL || ret == -ENOENT)
						ret = 0;	/* no clsact: no filters */
					done = 1;
					break;
				}
				/* a priority's head has handle 0: not a filter */
				if (nh->nlmsg_type == RTM_NEWTFILTER &&
				    ((struct tcmsg *)NLMSG_DATA(nh))->tcm_handle)
					n++;
			}
		}
	}
	close(fd);
	return ret ? ret : n;
}

/* The clsact qdisc goes only if this agent created it, or an earlier
 * agent's filters were on it, and no filter is left on it: never from
 * anyone's word in a file (a lock file outlives the namespace and
 * interface it names, whose numbers are reused at once). */
static void remove_qdisc_if_empty(struct attachment *a, int verbose)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int left;

	if (!a->created_qdisc && !a->inherited)
		return;
	left = tc_filters_left(a->ifindex);
	if (!left)
		bpf_tc_hook_destroy(&hook);
	else if (verbose)
		fprintf(stderr, "bpfix: %s: the clsact qdisc an earlier agent's filters were on "
			"stays: %s\n", a->name,
			left > 0 ? "it holds others' filters" : "its filters cannot be listed");
}

/* The lock file names who holds the interface; whether a qdisc is ours is
 * decided from the qdisc (remove_qdisc_if_empty), never from this file. */
static void lock_write(struct attachment *a)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", getpid());

	if (ftruncate(a->lock_fd, 0) || pwrite(a->lock_fd, buf, n, 0) != n)
		return;	/* the lock itself is the flock; the text is a courtesy */
}

/* One running bpfix per interface (per network namespace): a lock file
 * held for the agent's life; a crashed agent's lock goes with it. The
 * file is unlinked only under its lock, so a lock is good only while the
 * path still names the file locked (else: taken again on the new one). */
static int lock_iface(struct attachment *a, char *err, size_t errlen)
{
	char pid[64];
	struct stat ns, held, named;
	ssize_t n;
	int tries;

	if (stat("/proc/self/ns/net", &ns))
		ns.st_ino = 0;
	/* Its own error first: a read-only /run says EROFS here, and only
	 * ENOENT at the open below. */
	if (mkdir(LOCK_DIR, 0700) && errno != EEXIST)
		return err_line(err, errlen, -errno, "%s: %s (where running agents keep their "
			    "interface locks)", LOCK_DIR, strerror(errno));
	snprintf(a->lock_path, sizeof(a->lock_path), LOCK_DIR "/%lu-%u.lock",
		 (unsigned long)ns.st_ino, a->ifindex);
	for (tries = 0; tries < 8; tries++) {
		a->lock_fd = open(a->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (a->lock_fd < 0)
			return err_line(err, errlen, -errno, "%s: %s", a->lock_path,
				    strerror(errno));
		if (flock(a->lock_fd, LOCK_EX | LOCK_NB)) {
			n = pread(a->lock_fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			close(a->lock_fd);
			a->lock_fd = -1;
			return err_line(err, errlen, -EBUSY,
				    "%s: already metered by another bpfix (pid %s)", a->name,
				    *pid ? pid : "?");
		}
		if (!fstat(a->lock_fd, &held) && !stat(a->lock_path, &named) &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
			lock_write(a);
			return 0;
		}
		close(a->lock_fd);
		a->lock_fd = -1;
	}
	return err_line(err, errlen, -EBUSY, "%s: %s removed again each time it was locked",
		    a->name, a->lock_path);
}

static void unlock_iface(struct attachment *a)
{
	if (a->lock_fd < 0)
		return;
	/* Clean exit: the file goes too, while we hold it. */
	unlink(a->lock_path);
	close(a->lock_fd);
	a->lock_fd = -1;
}

/* An earlier agent's tc filter at @point, if one is there: its program's
 * id and whose it is (earlier_prog), or -ENOENT with *@id 0 for none. */
static int tc_earlier(struct meter *m, struct attachment *a, enum bpf_tc_attach_point point,
		      __u32 *id, char *name, size_t len)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, query, .handle = BPFIX_TC_HANDLE,
			    .priority = BPFIX_TC_PRIO);

	*id = 0;
	name[0] = '\0';
	if (bpf_tc_query(&hook, &query))
		return -ENOENT;
	*id = query.prog_id;
	return earlier_prog(m, *id, name, len);
}

static void say_earlier(struct meter *m, struct attachment *a, const char *what, const char *name,
			__u32 id, const char *done)
{
	char pw[96];

	if (m->verbose)
		fprintf(stderr, "bpfix: %s: an earlier agent's %s, %s: %s\n", a->name, what,
			prog_words(pw, sizeof(pw), name, id), done);
}

/* Remove the earlier agent's tc filters on @a (it meters in another mode
 * now, or not at all): counted, and said with -v. */
static void remove_tc_earlier(struct meter *m, struct attachment *a)
{
	const enum bpf_tc_attach_point points[] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	char name[BPF_OBJ_NAME_LEN];
	__u32 id;

	for (size_t i = 0; i < ARRAY_SIZE(points); i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
				    .attach_point = points[i]);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFIX_TC_HANDLE,
				    .priority = BPFIX_TC_PRIO);
		const char *what = i ? "tc egress filter" : "tc ingress filter";

		if (tc_earlier(m, a, points[i], &id, name, sizeof(name)) == -ENOENT)
			continue;
		a->inherited = 1;
		if (bpf_tc_detach(&hook, &opts)) {
			say_earlier(m, a, what, name, id, "cannot remove it");
			continue;
		}
		m->removed++;
		say_earlier(m, a, what, name, id, "removed");
	}
}

/* Remove the earlier agent's XDP programs on @a, but for the one in the
 * mode @keep (XDP_FLAGS_DRV_MODE or _SKB_MODE, 0 for none), which the
 * attach takes over. */
static void remove_xdp_earlier(struct meter *m, struct attachment *a, __u32 keep)
{
	DECLARE_LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[BPF_OBJ_NAME_LEN];

	if (bpf_xdp_query(a->ifindex, 0, &q))
		return;
	for (int i = 0; i < 2; i++) {
		__u32 flag = i ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
		__u32 id = i ? q.skb_prog_id : q.drv_prog_id;
		const char *what = i ? "generic XDP program" : "native XDP program";
		int fd, own = -1;

		if (!id || flag == keep)
			continue;
		fd = earlier_prog(m, id, name, sizeof(name));
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			fd = own = bpf_prog_get_fd_by_id(id);
		{
			DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, xopts, .old_prog_fd = fd);

			/* only while it is still that program */
			if (bpf_xdp_detach(a->ifindex, flag | (fd >= 0 ? XDP_FLAGS_REPLACE : 0),
					   fd >= 0 ? &xopts : NULL)) {
				say_earlier(m, a, what, name, id, "cannot remove it");
			} else {
				m->removed++;
				say_earlier(m, a, what, name, id, "removed");
			}
		}
		if (own >= 0)
			close(own);
	}
}

static int attach_tc_hook(struct meter *m, struct attachment *a, enum bpf_tc_attach_point point,
			  const struct bpf_program *prog, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFIX_TC_HANDLE,
			    .priority = BPFIX_TC_PRIO, .prog_fd = bpf_program__fd(prog));
	const char *where = point == BPF_TC_INGRESS ? "ingress" : "egress";
	char name[BPF_OBJ_NAME_LEN], pw[96], what[32];
	__u32 id;
	int ret;

	/* Our handle already taken: an earlier bpfix's filter (we hold the
	 * interface lock, so no live one) is taken over; anyone else's is
	 * not. */
	ret = tc_earlier(m, a, point, &id, name, sizeof(name));
	if (id && ret == -ENOENT)
		return err_line(err, errlen, -EBUSY,
			    "%s: tc %s filter handle 0x%x prio %u belongs to %s, not to a bpfix "
			    "that ran with this --pin-path", a->name, where, BPFIX_TC_HANDLE,
			    BPFIX_TC_PRIO, prog_words(pw, sizeof(pw), name, id));
	if (id)
		opts.flags = BPF_TC_F_REPLACE;
	ret = bpf_tc_attach(&hook, &opts);
	if (ret)
		return err_line(err, errlen, ret, "%s: cannot attach tc %s: %s", a->name, where,
			    strerror(-ret));
	if (id) {
		a->inherited = 1;
		m->taken_over++;
		snprintf(what, sizeof(what), "tc %s filter", where);
		say_earlier(m, a, what, name, id, "taken over");
	}
	return 0;
}

static int attach_tc(struct meter *m, struct attachment *a, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int ret;

	remove_xdp_earlier(m, a, 0);
	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST)
		return err_line(err, errlen, ret, "%s: cannot create clsact qdisc: %s", a->name,
			    strerror(-ret));
	a->created_qdisc = !ret;
	ret = attach_tc_hook(m, a, BPF_TC_INGRESS, m->skel->progs.bpfix_tc_ingress, err, errlen);
	if (ret)
		return ret;
	a->attached_in = 1;
	ret = attach_tc_hook(m, a, BPF_TC_EGRESS, m->skel->progs.bpfix_tc_egress, err, errlen);
	if (ret)
		return ret;
	a->attached_eg = 1;
	return 0;
}

static __u32 xdp_mode_flag(enum attach_mode mode)
{
	return mode == MODE_XDP ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

static int attach_xdp(struct meter *m, struct attachment *a, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	int prog_fd = bpf_program__fd(m->skel->progs.bpfix_xdp);
	__u32 flags = xdp_mode_flag(m->mode) | XDP_FLAGS_UPDATE_IF_NOEXIST;
	char name[BPF_OBJ_NAME_LEN] = "", pw[96];
	__u32 id = 0;
	int ret, old_fd = -1, own = -1;

	/* Another mode's leftovers first: tc filters, XDP in the other mode;
	 * then the clsact they were on, if nothing else is. */
	remove_tc_earlier(m, a);
	remove_qdisc_if_empty(a, m->verbose);
	a->inherited = 0;
	remove_xdp_earlier(m, a, xdp_mode_flag(m->mode));
	if (!bpf_xdp_query_id(a->ifindex, 0, &id) && id) {
		old_fd = earlier_prog(m, id, name, sizeof(name));
		if (old_fd == -ENOENT)
			return err_line(err, errlen, -EBUSY,
				    "%s: XDP %s is attached; bpfix leaves it alone", a->name,
				    prog_words(pw, sizeof(pw), name, id));
		/* An earlier bpfix's program: replace it in place. */
		if (old_fd < 0)
			old_fd = own = bpf_prog_get_fd_by_id(id);
		if (old_fd >= 0) {
			opts.old_prog_fd = old_fd;
			flags = xdp_mode_flag(m->mode) | XDP_FLAGS_REPLACE;
		}
	}
	ret = bpf_xdp_attach(a->ifindex, prog_fd, flags, &opts);
	if (own >= 0)
		close(own);
	if (ret == -EOPNOTSUPP && m->mode == MODE_XDP)
		return err_line(err, errlen, ret,
			    "%s: the driver cannot run native XDP; try -m xdp-generic", a->name);
	if (ret == -EEXIST || ret == -EBUSY)
		return err_line(err, errlen, ret,
			    "%s: another XDP program is attached in another mode", a->name);
	if (ret)
		return err_line(err, errlen, ret, "%s: cannot attach XDP (%s): %s", a->name,
			    m->mode == MODE_XDP ? "native" : "generic", strerror(-ret));
	a->attached_in = 1;
	if (id) {
		m->taken_over++;
		say_earlier(m, a, m->mode == MODE_XDP ? "native XDP program" : "generic XDP program",
			    name, id, "taken over");
	}
	return 0;
}

/* Whether any earlier agent's attachment is on @a. */
static int has_earlier(struct meter *m, struct attachment *a)
{
	DECLARE_LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[BPF_OBJ_NAME_LEN];
	__u32 id;

	if (tc_earlier(m, a, BPF_TC_INGRESS, &id, name, sizeof(name)) != -ENOENT ||
	    tc_earlier(m, a, BPF_TC_EGRESS, &id, name, sizeof(name)) != -ENOENT)
		return 1;
	if (bpf_xdp_query(a->ifindex, 0, &q))
		return 0;
	return (q.drv_prog_id && earlier_prog(m, q.drv_prog_id, name, sizeof(name)) != -ENOENT) ||
	       (q.skb_prog_id && earlier_prog(m, q.skb_prog_id, name, sizeof(name)) != -ENOENT);
}

/*
 * AN EARLIER AGENT'S ATTACHMENTS on interfaces this run does not meter
 * (it ran with -i A -i B, this one with -i A): removed, so that nothing
 * meters into the tables unseen, each under that interface's lock (an
 * interface another live bpfix holds is its, and left alone), with its
 * clsact if nothing else is on it, and its stale lock file. Only those
 * of programs it pinned here: a program known by its name alone may be
 * another pin path's agent's, whose successor takes it over.
 */
static void remove_earlier_elsewhere(struct meter *m, const struct bpfix_config *cfg)
{
	struct if_nameindex *ifs, *i;
	char scratch[256];

	if (!m->n_dead)
		return;	/* no earlier agent's programs pinned on this pin path */
	m->pinned_only = 1;
	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++) {
		struct attachment o = { .ifindex = i->if_index, .lock_fd = -1 };
		int metered = 0;

		for (int k = 0; k < cfg->n_ifaces; k++)
			metered |= cfg->ifaces[k].ifindex == i->if_index;
		snprintf(o.name, sizeof(o.name), "%s", i->if_name);
		if (metered || !has_earlier(m, &o))
			continue;
		if (lock_iface(&o, scratch, sizeof(scratch))) {
			if (m->verbose)
				fprintf(stderr, "bpfix: %s: an earlier agent's attachments left "
					"alone: %s\n", o.name, scratch);
			continue;
		}
		remove_tc_earlier(m, &o);
		remove_qdisc_if_empty(&o, m->verbose);
		remove_xdp_earlier(m, &o, 0);
		unlock_iface(&o);
	}
	if (ifs)
		if_freenameindex(ifs);
	m->pinned_only = 0;
}

int meter_attach(struct meter *m, const struct bpfix_config *cfg, char *err, size_t errlen)
{
	int i, ret;

	m->verbose = cfg->verbose;
	for (i = 0; i < cfg->n_ifaces; i++) {
		struct attachment *a = &m->att[m->n_att++];

		memset(a, 0, sizeof(*a));
		a->lock_fd = -1;
		a->ifindex = cfg->ifaces[i].ifindex;
		snprintf(a->name, sizeof(a->name), "%s", cfg->ifaces[i].name);
		ret = lock_iface(a, err, errlen);
		if (!ret)
			ret = m->mode == MODE_TC ? attach_tc(m, a, err, errlen)
						 : attach_xdp(m, a, err, errlen);
		if (ret) {
			meter_detach(m);
			return ret;
		}
	}
	remove_earlier_elsewhere(m, cfg);
	if (m->verbose && (m->taken_over || m->removed))
		fprintf(stderr, "bpfix: an earlier agent's attachments: %u taken over, %u removed\n",
			m->taken_over, m->removed);
	/* Every one of them dealt with: its programs' pins go. */
	close_dead_progs(m, 1);
	return 0;
}

void meter_detach(struct meter *m)
{
	int i;

	for (i = m->n_att - 1; i >= 0; i--) {
		struct attachment *a = &m->att[i];
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFIX_TC_HANDLE,
				    .priority = BPFIX_TC_PRIO);

		if (m->mode == MODE_TC) {
			if (a->attached_in) {
				hook.attach_point = BPF_TC_INGRESS;
				bpf_tc_detach(&hook, &opts);
			}
			if (a->attached_eg) {
				hook.attach_point = BPF_TC_EGRESS;
				bpf_tc_detach(&hook, &opts);
			}
			remove_qdisc_if_empty(a, 0);
		} else if (a->attached_in) {
			/* Only while it is still ours. */
			DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, xopts,
					    .old_prog_fd = bpf_program__fd(m->skel->progs.bpfix_xdp));

			bpf_xdp_detach(a->ifindex, xdp_mode_flag(m->mode) | XDP_FLAGS_REPLACE,
				       &xopts);
		}
		unlock_iface(a);
		memset(a, 0, sizeof(*a));
	}
	m->n_att = 0;
}

void meter_close(struct meter *m, int unpin)
{
	int i;

	meter_detach(m);
	/* Ours are attached nowhere now; an earlier agent's stay pinned
	 * unless meter_attach dealt with its attachments. */
	unpin_progs(m);
	close_dead_progs(m, 0);
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
