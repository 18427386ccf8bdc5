/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Attaching the meter's programs to interfaces, and an earlier agent's
 * attachments on this pin path: each taken over or removed, never anyone
 * else's (user/meter.h, struct attachment).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfix.skel.h"
#include "errline.h"
#include "meter.h"

#define BPFIX_TC_HANDLE 0xb9f1	/* our cls_bpf filter's handle, both hooks */
#define BPFIX_TC_PRIO   1	/* meter before other classifiers can drop */
#define LOCK_DIR "/run/bpfix"

/* ---- an earlier agent's programs ---------------------------------------- */

void attach_find_earlier(struct meter *m)
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

/* The earlier agent's programs, once every attachment of theirs is taken
 * over or removed (@unpin), or when we stop. */
void attach_forget_earlier(struct meter *m, int unpin)
{
	for (int i = 0; i < m->n_dead; i++) {
		if (unpin)
			unlink(m->dead[i].pin);
		close(m->dead[i].fd);
	}
	m->n_dead = 0;
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
static void remove_earlier_elsewhere(struct meter *m)
{
	struct if_nameindex *ifs, *i;
	char scratch[256];

	if (!m->n_dead)
		return;	/* no earlier agent's programs pinned on this pin path */
	m->pinned_only = 1;
	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++) {
		struct attachment o = { .ifindex = i->if_index, .lock_fd = -1 };
		int metered = meter_iface(m, i->if_index) != NULL;

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

/* Undo what attaching @a did, and let its lock go. */
static void detach_one(struct meter *m, struct attachment *a)
{
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

		bpf_xdp_detach(a->ifindex, xdp_mode_flag(m->mode) | XDP_FLAGS_REPLACE, &xopts);
	}
	unlock_iface(a);
	memset(a, 0, sizeof(*a));
	a->lock_fd = -1;
}

struct attachment *meter_iface(struct meter *m, unsigned int ifindex)
{
	for (int i = 0; i < m->n_att; i++)
		if (m->att[i].ifindex == ifindex)
			return &m->att[i];
	return NULL;
}

int meter_iface_intact(struct meter *m, const struct attachment *a)
{
	const struct bpf_program *prog = m->mode == MODE_TC ? m->skel->progs.bpfix_tc_ingress :
							      m->skel->progs.bpfix_xdp;
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, query, .handle = BPFIX_TC_HANDLE,
			    .priority = BPFIX_TC_PRIO);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), id = 0;

	if (!a->attached_in)
		return 1;
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return 1;	/* cannot tell: say nothing */
	if (m->mode == MODE_TC)
		return !bpf_tc_query(&hook, &query) && query.prog_id == info.id;
	if (bpf_xdp_query_id(a->ifindex, xdp_mode_flag(m->mode), &id))
		return 1;
	return id == info.id;
}

/* Room for one more attachment: grown by half, up to MAX_FOLLOWED. */
static int att_room(struct meter *m)
{
	struct attachment *n;
	int cap;

	if (m->n_att < m->cap_att)
		return 0;
	if (m->cap_att >= MAX_FOLLOWED)
		return -ENOSPC;
	cap = m->cap_att ? m->cap_att + m->cap_att / 2 : 16;
	if (cap > MAX_FOLLOWED)
		cap = MAX_FOLLOWED;
	n = realloc(m->att, sizeof(*n) * (size_t)cap);
	if (!n)
		return -ENOMEM;
	m->att = n;
	m->cap_att = cap;
	return 0;
}

int meter_attach_iface(struct meter *m, unsigned int ifindex, const char *name, char *err,
		       size_t errlen)
{
	struct attachment *a;
	int ret;

	if (meter_iface(m, ifindex))
		return 0;
	ret = att_room(m);
	if (ret == -ENOSPC)
		return err_line(err, errlen, ret, "%s: at most %d interfaces are metered",
			    name, MAX_FOLLOWED);
	if (ret)
		return err_line(err, errlen, ret, "%s: %s", name, strerror(-ret));
	a = &m->att[m->n_att];
	memset(a, 0, sizeof(*a));
	a->lock_fd = -1;
	a->ifindex = ifindex;
	snprintf(a->name, sizeof(a->name), "%s", name);
	ret = lock_iface(a, err, errlen);
	if (!ret)
		ret = m->mode == MODE_TC ? attach_tc(m, a, err, errlen)
					 : attach_xdp(m, a, err, errlen);
	m->n_att++;
	if (ret)
		meter_detach_iface(m, ifindex);
	return ret;
}

void meter_detach_iface(struct meter *m, unsigned int ifindex)
{
	struct attachment *a = meter_iface(m, ifindex);

	if (!a)
		return;
	detach_one(m, a);
	*a = m->att[--m->n_att];
}

void meter_forget_iface(struct meter *m, unsigned int ifindex)
{
	struct attachment *a = meter_iface(m, ifindex);

	if (!a)
		return;
	unlock_iface(a);
	*a = m->att[--m->n_att];
}

int meter_attach(struct meter *m, const struct iface *ifs, int n, int verbose, char *err,
		 size_t errlen)
{
	int i, ret;

	m->verbose = verbose;
	for (i = 0; i < n; i++) {
		ret = meter_attach_iface(m, ifs[i].ifindex, ifs[i].name, err, errlen);
		if (ret) {
			meter_detach(m);
			return ret;
		}
	}
	remove_earlier_elsewhere(m);
	if (m->verbose && (m->taken_over || m->removed))
		fprintf(stderr, "bpfix: an earlier agent's attachments: %u taken over, %u removed\n",
			m->taken_over, m->removed);
	/* Every one of them dealt with: its programs' pins go. */
	attach_forget_earlier(m, 1);
	return 0;
}

void meter_detach(struct meter *m)
{
	while (m->n_att > 0)
		detach_one(m, &m->att[--m->n_att]);
}
