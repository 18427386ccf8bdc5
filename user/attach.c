/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Attaching the meter's programs to interfaces, and an earlier agent's
 * attachments on this pin path: each taken over or removed, never anyone
 * else's (user/meter.h, struct attachment).
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
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
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfix.skel.h"
#include "errline.h"
#include "meter.h"

#define LOCK_DIR "/run/bpfix"

/*
 * TCX (kernel 6.6) orders a tc hook's programs itself, and a program
 * attached through a link is that link's: nobody else replaces or
 * detaches it, and it goes with the last reference to its link (ours,
 * and its pin). These uapi numbers are in neither linux/bpf.h here (6.1)
 * nor libbpf 1.1.2, whose bpf_link_create() passes an attach type it does
 * not know, the ifindex (target_fd) and the flags through to
 * BPF_LINK_CREATE unchanged: all TCX needs for the head or the tail of a
 * hook (no relative program, no expected revision).
 */
#define BPFIX_TCX_INGRESS   46	/* enum bpf_attach_type */
#define BPFIX_TCX_EGRESS    47
#define BPFIX_LINK_TYPE_TCX 11	/* enum bpf_link_type */
#ifndef BPF_F_BEFORE
#define BPF_F_BEFORE (1U << 3)	/* with no relative program: the hook's head */
#endif

/* struct bpf_link_info as far as its tcx member (6.6): the union is where
 * linux/bpf.h's netns member, of the same two words, is. */
struct tcx_link_info {
	__u32 type, id, prog_id;
	__u32 pad_;
	__u32 ifindex, attach_type;
};
_Static_assert(offsetof(struct tcx_link_info, ifindex) == offsetof(struct bpf_link_info, netns),
	       "the tcx member starts the union");

static const __u32 tcx_types[2] = { BPFIX_TCX_INGRESS, BPFIX_TCX_EGRESS };
static const char *const tcx_where[2] = { "ingress", "egress" };

static void attachment_init(struct attachment *a, unsigned int ifindex, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->ifindex = ifindex;
	a->lock_fd = a->link_fd[0] = a->link_fd[1] = -1;
	snprintf(a->name, sizeof(a->name), "%s", name);
}

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

/* One filter on a clsact hook as the kernel's dump has it; prog_id 0
 * for one that is not cls_bpf. */
struct tc_filter {
	__u32 prio, handle, prog_id;
};

/* Called for each filter; non-zero stops the walk. */
typedef int (*tc_filter_fn)(void *ctx, const struct tc_filter *f);

/* The filter in RTM_NEWTFILTER @nh: TCA_KIND "bpf", and TCA_OPTIONS'
 * TCA_BPF_ID, each read within its attribute's bounds. */
static void tc_filter_parse(struct nlmsghdr *nh, struct tc_filter *f)
{
	struct tcmsg *t = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*t)), bpf = 0;
	struct rtattr *rta = (struct rtattr *)((char *)t + NLMSG_ALIGN(sizeof(*t)));
	__u32 id = 0;

	f->prio = TC_H_MAJ(t->tcm_info) >> 16;
	f->handle = t->tcm_handle;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == TCA_KIND) {
			bpf = RTA_PAYLOAD(rta) == 4 && !memcmp(RTA_DATA(rta), "bpf", 4);
		} else if (rta->rta_type == TCA_OPTIONS) {
			int olen = (int)RTA_PAYLOAD(rta);
			struct rtattr *o = RTA_DATA(rta);

			for (; RTA_OK(o, olen); o = RTA_NEXT(o, olen))
				if (o->rta_type == TCA_BPF_ID && RTA_PAYLOAD(o) >= sizeof(id))
					memcpy(&id, RTA_DATA(o), sizeof(id));
		}
	}
	f->prog_id = bpf ? id : 0;
}

/* Every filter on IFINDEX's clsact ingress (@egress 0) or egress hook,
 * from the kernel's dump, to @fn. 0, or a negative errno if the dump
 * fails; no clsact is no filters. */
static int tc_walk(unsigned int ifindex, int egress, tc_filter_fn fn, void *ctx)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct {
		struct nlmsghdr nh;
		struct tcmsg t;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETTFILTER,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = (int)ifindex,
		       .tcm_parent = TC_H_MAKE(TC_H_CLSACT,
					       egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS) },
	};
	int fd, done = 0, stop = 0, ret = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0)
		ret = -errno;
	while (!done && !ret) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0) {
			ret = len < 0 ? -errno : -EIO;
			break;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (__u32)len); nh = NLMSG_NEXT(nh, len)) {
			struct tc_filter f;

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
			/* a priority's head has handle 0: not a filter; the
			 * rest of the dump is still read after a stop */
			if (nh->nlmsg_type != RTM_NEWTFILTER ||
			    nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcmsg)) || stop)
				continue;
			tc_filter_parse(nh, &f);
			if (f.handle)
				stop = fn(ctx, &f);
		}
	}
	close(fd);
	return ret;
}

static int count_filter(void *ctx, const struct tc_filter *f)
{
	(void)f;
	(*(int *)ctx)++;
	return 0;
}

/* Filters on IFINDEX's clsact hooks: a qdisc with anyone's filter on it
 * is never removed. A negative errno if the dump fails (then nothing is
 * removed either). */
static int tc_filters_left(unsigned int ifindex)
{
	int n = 0, ret = tc_walk(ifindex, 0, count_filter, &n);

	if (!ret)
		ret = tc_walk(ifindex, 1, count_filter, &n);
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
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, query, .handle = m->tc_handle,
			    .priority = m->tc_prio);

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

/* An earlier agent's filters on a hook, wherever they are: at this
 * run's --tc-prio and --tc-handle, another run's, or prio 1, where bpfix
 * attached before TCX (and where a successor that did not look would
 * leave them metering into the tables it adopts: each packet twice). */
#define TC_EARLIER_MAX 8

struct tc_earlier_walk {
	struct meter *m;
	struct tc_filter f[TC_EARLIER_MAX];
	int n;
};

static int collect_earlier(void *ctx, const struct tc_filter *f)
{
	struct tc_earlier_walk *w = ctx;
	char name[BPF_OBJ_NAME_LEN];

	if (f->prog_id && earlier_prog(w->m, f->prog_id, name, sizeof(name)) != -ENOENT)
		w->f[w->n++] = *f;
	return w->n == TC_EARLIER_MAX;
}

/* Remove the earlier agent's tc filters on @a (it meters in another mode
 * now, or not at all), but for one in this run's slot if @keep_ours (the
 * legacy attach takes that over): counted, and said with -v. */
static void remove_tc_earlier(struct meter *m, struct attachment *a, int keep_ours)
{
	char name[BPF_OBJ_NAME_LEN];

	for (int egress = 0; egress < 2; egress++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
				    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		const char *what = egress ? "tc egress filter" : "tc ingress filter";
		struct tc_earlier_walk w = { .m = m };

		if (tc_walk(a->ifindex, egress, collect_earlier, &w))
			continue;
		for (int i = 0; i < w.n; i++) {
			DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = w.f[i].handle,
					    .priority = w.f[i].prio);

			if (keep_ours && w.f[i].prio == m->tc_prio && w.f[i].handle == m->tc_handle)
				continue;
			earlier_prog(m, w.f[i].prog_id, name, sizeof(name));
			a->inherited = 1;
			if (bpf_tc_detach(&hook, &opts)) {
				say_earlier(m, a, what, name, w.f[i].prog_id, "cannot remove it");
				continue;
			}
			m->removed++;
			say_earlier(m, a, what, name, w.f[i].prog_id, "removed");
		}
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

/* ---- TCX links ---------------------------------------------------------- */
/*
 * Our links are pinned on the pin path as tcx-NETNS-IFINDEX-ingress and
 * -egress, so that a killed agent's go on metering into the pinned
 * tables, as its legacy filters would, and its successor (holding the pin
 * path's lock, so that agent is gone) finds them: it puts its program in
 * their place (BPF_LINK_UPDATE: where the link is among the others, with
 * no moment unmetered), or unpins them where it meters otherwise. The
 * namespace is in the name because ifindexes are per namespace and a pin
 * path is not.
 */

static void tcx_pin_path(const struct meter *m, unsigned int ifindex, int dir, char *buf,
			 size_t len)
{
	snprintf(buf, len, "%s/tcx-%lu-%u-%s", m->pin_dir, m->netns_ino, ifindex, tcx_where[dir]);
}

/* The link pinned at @path, if it still holds hook @dir of @ifindex: its
 * fd, and its program's id in *@prog_id. -ENOENT: no pin; -ESTALE: a pin
 * of a link that holds nothing here (its interface went: the kernel
 * keeps such a link, detached, as long as it is pinned); another negative
 * errno: a pin that cannot be opened, left as it is. */
static int tcx_pinned(const char *path, unsigned int ifindex, int dir, __u32 *prog_id)
{
	struct tcx_link_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPFIX_LINK_TYPE_TCX ||
	    info.ifindex != ifindex || info.attach_type != tcx_types[dir]) {
		close(fd);
		return -ESTALE;
	}
	*prog_id = info.prog_id;
	return fd;
}

/* Whether the kernel has TCX: it answers a query of lo's hook (ifindex 1
 * in every namespace); a kernel before 6.6 knows no such attach type. */
static int tcx_probe(void)
{
	DECLARE_LIBBPF_OPTS(bpf_prog_query_opts, q);

	return !bpf_prog_query_opts(1, BPFIX_TCX_INGRESS, &q) || errno != EINVAL;
}

/* Detach and unpin an earlier agent's links on @a (it meters otherwise
 * now, or not at all), and the pins of links that hold nothing here. */
static void remove_tcx_earlier(struct meter *m, struct attachment *a)
{
	char path[PATH_MAX + 64], name[BPF_OBJ_NAME_LEN], what[32];

	for (int dir = 0; dir < 2; dir++) {
		__u32 id = 0;
		int fd;

		tcx_pin_path(m, a->ifindex, dir, path, sizeof(path));
		fd = tcx_pinned(path, a->ifindex, dir, &id);
		if (fd < 0 && fd != -ESTALE)
			continue;
		if (fd >= 0)
			bpf_link_detach(fd);	/* now, not when the kernel frees it */
		unlink(path);
		if (fd < 0)
			continue;
		close(fd);
		if (earlier_prog(m, id, name, sizeof(name)) == -ENOENT)
			prog_name_of_id(id, name, sizeof(name));
		m->removed++;
		snprintf(what, sizeof(what), "TCX %s link", tcx_where[dir]);
		say_earlier(m, a, what, name, id, "removed");
	}
}

static int attach_tcx_hook(struct meter *m, struct attachment *a, int dir,
			   const struct bpf_program *prog, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_link_create_opts, opts,
			    .flags = m->tc_position == TC_POS_FIRST ? BPF_F_BEFORE : 0);
	char path[PATH_MAX + 64], name[BPF_OBJ_NAME_LEN], what[32];
	__u32 id = 0;
	int fd, ret;

	tcx_pin_path(m, a->ifindex, dir, path, sizeof(path));
	fd = tcx_pinned(path, a->ifindex, dir, &id);
	if (fd == -ESTALE)
		unlink(path);
	else if (fd < 0 && fd != -ENOENT)
		return err_line(err, errlen, fd, "%s: %s", path, strerror(-fd));
	if (fd >= 0) {
		ret = bpf_link_update(fd, bpf_program__fd(prog), NULL);
		if (ret) {
			close(fd);
			return err_line(err, errlen, ret, "%s: cannot take over the TCX %s link "
				    "pinned at %s: %s", a->name, tcx_where[dir], path,
				    strerror(-ret));
		}
		a->link_fd[dir] = fd;
		if (earlier_prog(m, id, name, sizeof(name)) == -ENOENT)
			prog_name_of_id(id, name, sizeof(name));
		m->taken_over++;
		snprintf(what, sizeof(what), "TCX %s link", tcx_where[dir]);
		say_earlier(m, a, what, name, id, "taken over");
		return 0;
	}
	fd = bpf_link_create(bpf_program__fd(prog), (int)a->ifindex, tcx_types[dir], &opts);
	if (fd < 0)
		return err_line(err, errlen, fd, "%s: cannot attach a TCX %s link: %s", a->name,
			    tcx_where[dir], strerror(-fd));
	if (bpf_obj_pin(fd, path)) {
		ret = -errno;
		close(fd);
		return err_line(err, errlen, ret, "%s: %s", path, strerror(-ret));
	}
	chmod(path, 0600);
	a->link_fd[dir] = fd;
	return 0;
}

/* Our link on hook @dir goes: detached at once (the kernel frees a link
 * in a work item after its last reference goes), then its pin and fd. */
static void detach_tcx_hook(struct meter *m, struct attachment *a, int dir)
{
	char path[PATH_MAX + 64];

	if (a->link_fd[dir] < 0)
		return;
	bpf_link_detach(a->link_fd[dir]);
	tcx_pin_path(m, a->ifindex, dir, path, sizeof(path));
	unlink(path);
	close(a->link_fd[dir]);
	a->link_fd[dir] = -1;
}

static int attach_tcx(struct meter *m, struct attachment *a, char *err, size_t errlen)
{
	int ret;

	/* Another mode's leftovers first: XDP, legacy filters and the
	 * clsact they were on, if nothing else is. */
	remove_xdp_earlier(m, a, 0);
	remove_tc_earlier(m, a, 0);
	remove_qdisc_if_empty(a, m->verbose);
	a->inherited = 0;
	ret = attach_tcx_hook(m, a, 0, m->skel->progs.bpfix_tc_ingress, err, errlen);
	if (ret)
		return ret;
	a->attached_in = 1;
	ret = attach_tcx_hook(m, a, 1, m->skel->progs.bpfix_tc_egress, err, errlen);
	if (ret)
		return ret;
	a->attached_eg = 1;
	return 0;
}

/* ---- legacy tc: cls_bpf filters on clsact --------------------------------- */

static int attach_tc_hook(struct meter *m, struct attachment *a, enum bpf_tc_attach_point point,
			  const struct bpf_program *prog, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = m->tc_handle,
			    .priority = m->tc_prio, .prog_fd = bpf_program__fd(prog));
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
			    "that ran with this --pin-path", a->name, where, m->tc_handle,
			    m->tc_prio, prog_words(pw, sizeof(pw), name, id));
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
	remove_tcx_earlier(m, a);
	/* Another run's slot: removed, not moved (a filter cannot change
	 * its priority), before ours goes in: never both metering. */
	remove_tc_earlier(m, a, 1);
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
	remove_tcx_earlier(m, a);
	remove_tc_earlier(m, a, 0);
	remove_qdisc_if_empty(a, m->verbose);
	a->inherited = 0;
	remove_xdp_earlier(m, a, xdp_mode_flag(m->mode));
	if (!bpf_xdp_query_id(a->ifindex, 0, &id) && id) {
		old_fd = earlier_prog(m, id, name, sizeof(name));
		if (old_fd == -ENOENT)
			return err_line(err, errlen, -EBUSY,
				    "%s: XDP %s is attached; bpfix leaves it alone (meter %s with "
				    "-m tc)", a->name, prog_words(pw, sizeof(pw), name, id), a->name);
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
	char name[BPF_OBJ_NAME_LEN], path[PATH_MAX + 64];

	for (int dir = 0; dir < 2; dir++) {
		tcx_pin_path(m, a->ifindex, dir, path, sizeof(path));
		if (!access(path, F_OK))
			return 1;
	}
	for (int egress = 0; egress < 2; egress++) {
		struct tc_earlier_walk w = { .m = m };

		if (!tc_walk(a->ifindex, egress, collect_earlier, &w) && w.n)
			return 1;
	}
	if (bpf_xdp_query(a->ifindex, 0, &q))
		return 0;
	return (q.drv_prog_id && earlier_prog(m, q.drv_prog_id, name, sizeof(name)) != -ENOENT) ||
	       (q.skb_prog_id && earlier_prog(m, q.skb_prog_id, name, sizeof(name)) != -ENOENT);
}

/* The pins of an earlier agent's links in this namespace whose interfaces
 * are gone: such a link meters nothing, and holds its program and our
 * tables' memory for as long as it is pinned. */
static void remove_tcx_defunct(struct meter *m)
{
	int dfd = dup(m->pin_dir_fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	char prefix[32], ifname[IF_NAMESIZE];
	struct dirent *e;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	snprintf(prefix, sizeof(prefix), "tcx-%lu-", m->netns_ino);
	while ((e = readdir(d))) {
		unsigned int ifindex;

		if (strncmp(e->d_name, prefix, strlen(prefix)) ||
		    sscanf(e->d_name + strlen(prefix), "%u-", &ifindex) != 1 ||
		    if_indextoname(ifindex, ifname))
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
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
		struct attachment o;
		int metered = meter_iface(m, i->if_index) != NULL;

		attachment_init(&o, i->if_index, i->if_name);
		if (metered || !has_earlier(m, &o))
			continue;
		if (lock_iface(&o, scratch, sizeof(scratch))) {
			if (m->verbose)
				fprintf(stderr, "bpfix: %s: an earlier agent's attachments left "
					"alone: %s\n", o.name, scratch);
			continue;
		}
		remove_tcx_earlier(m, &o);
		remove_tc_earlier(m, &o, 0);
		remove_qdisc_if_empty(&o, m->verbose);
		remove_xdp_earlier(m, &o, 0);
		unlock_iface(&o);
	}
	if (ifs)
		if_freenameindex(ifs);
	m->pinned_only = 0;
	remove_tcx_defunct(m);
}

/* Undo what attaching @a did, and let its lock go. */
static void detach_one(struct meter *m, struct attachment *a)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = m->tc_handle,
			    .priority = m->tc_prio);

	if (m->mode == MODE_TC && m->tcx) {
		detach_tcx_hook(m, a, 0);
		detach_tcx_hook(m, a, 1);
	} else if (m->mode == MODE_TC) {
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
	attachment_init(a, 0, "");
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
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, query, .handle = m->tc_handle,
			    .priority = m->tc_prio);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), id = 0;

	if (!a->attached_in)
		return 1;
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return 1;	/* cannot tell: say nothing */
	if (m->mode == MODE_TC && a->link_fd[0] >= 0) {
		/* a TCX link: still on this interface's hook, with our program */
		struct tcx_link_info li = {};
		__u32 llen = sizeof(li);

		if (bpf_obj_get_info_by_fd(a->link_fd[0], &li, &llen))
			return 1;
		return li.ifindex == a->ifindex && li.prog_id == info.id;
	}
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
	attachment_init(a, ifindex, name);
	ret = lock_iface(a, err, errlen);
	if (!ret)
		ret = m->mode != MODE_TC ? attach_xdp(m, a, err, errlen)
		      : m->tcx		 ? attach_tcx(m, a, err, errlen)
					 : attach_tc(m, a, err, errlen);
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
	/* Our TCX links went with the device: the kernel keeps each while
	 * its pin holds it, detached; the pin and our fd go. */
	for (int dir = 0; dir < 2; dir++) {
		char path[PATH_MAX + 64];

		if (a->link_fd[dir] < 0)
			continue;
		tcx_pin_path(m, a->ifindex, dir, path, sizeof(path));
		unlink(path);
		close(a->link_fd[dir]);
	}
	unlock_iface(a);
	*a = m->att[--m->n_att];
}

int meter_attach(struct meter *m, const struct bpfix_config *cfg, const struct iface *ifs, int n,
		 char *err, size_t errlen)
{
	struct stat ns;
	int i, ret;

	m->verbose = cfg->verbose;
	m->tc_position = cfg->tc_position;
	m->tc_prio = cfg->tc_prio;
	m->tc_handle = cfg->tc_handle;
	m->netns_ino = stat("/proc/self/ns/net", &ns) ? 0 : (unsigned long)ns.st_ino;
	if (m->mode == MODE_TC && cfg->tc_mode != TC_MODE_LEGACY) {
		m->tcx = tcx_probe();
		if (!m->tcx && cfg->tc_mode == TC_MODE_TCX)
			return err_line(err, errlen, -EOPNOTSUPP, "--tc-mode tcx: this kernel has "
				    "no TCX (Linux 6.6 and later); use --tc-mode legacy");
	}
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
