// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Least privilege. Once the programs are loaded, attached and pinned, the
 * agent keeps only what the rest of its life needs:
 *   CAP_BPF        map operations on its fds (kernel.unprivileged_bpf_disabled)
 *   CAP_NET_ADMIN  detaching its programs at shutdown
 * and drops every other capability from the effective, permitted,
 * inheritable and bounding sets, with no_new_privs set. Raw capset(2):
 * no libcap dependency for two system calls.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include "errline.h"
#include "privs.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const int kept[] = { CAP_BPF, CAP_NET_ADMIN };

static int is_kept(int cap)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kept); i++)
		if (kept[i] == cap)
			return 1;
	return 0;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = 40;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 40;
		fclose(f);
	}
	return last;
}

int privs_drop(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int cap, last = last_cap();
	size_t i;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return -errno;
	}
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which
	 * goes with the capset below. */
	for (cap = 0; cap <= last; cap++)
		if (!is_kept(cap) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EPERM) {
			snprintf(err, errlen, "dropping capability %d: %s", cap, strerror(errno));
			return -errno;
		}
	for (i = 0; i < 2; i++) {
		__u32 keep = 0;

		for (cap = 0; cap < 32; cap++)
			if (is_kept((int)i * 32 + cap))
				keep |= 1u << cap;
		/* Keep only what we have and need; never gain anything. */
		data[i].permitted &= keep;
		data[i].effective &= keep;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data)) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -errno;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

uint64_t privs_effective(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return (uint64_t)data[1].effective << 32 | data[0].effective;
}

/* Seccomp mode 2 (a filter) in /proc/self/status. */
static int seccomp_filtered(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	int mode = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode == 2;
}

int privs_in_init_userns(void)
{
	FILE *f = fopen("/proc/self/uid_map", "r");
	unsigned long inside, outside, count;
	int n;

	if (!f)
		return 1;	/* no user namespaces at all */
	n = fscanf(f, "%lu %lu %lu", &inside, &outside, &count);
	fclose(f);
	return n == 3 && inside == 0 && outside == 0 && count == 4294967295ul;
}

int privs_bpf_seccomp_denied(void)
{
	union bpf_attr attr;
	int fd;

	/* In a user namespace, CAP_BPF in the effective set does not reach
	 * bpf(): an EPERM there is not a filter's doing. */
	if (!(privs_effective() & (1ull << CAP_BPF)) || !seccomp_filtered() ||
	    !privs_in_init_userns())
		return 0;
	/* The smallest map there is: with CAP_BPF only a filter refuses it. */
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = (int)syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EPERM || errno == ENOSYS;
}
