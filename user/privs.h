/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Dropping the capabilities the agent no longer needs after attaching. */
#ifndef BPFIX_PRIVS_H
#define BPFIX_PRIVS_H

#include <stddef.h>
#include <stdint.h>

/* Keep CAP_BPF and CAP_NET_ADMIN (if held), drop every other capability
 * from all sets, set no_new_privs. 0 or a negative errno with @err. */
int privs_drop(char *err, size_t errlen);
/* The effective set as a bit mask (bit n = capability n). */
uint64_t privs_effective(void);
/* 1 when bpf() fails with EPERM or ENOSYS although CAP_BPF is effective and
 * a seccomp filter is installed: a container runtime's default profile
 * (podman's and Docker's allow bpf() only with CAP_SYS_ADMIN), not missing
 * capabilities. */
int privs_bpf_seccomp_denied(void);
/* 1 in the initial user namespace, where capabilities reach bpf(). */
int privs_in_init_userns(void);

#endif /* BPFIX_PRIVS_H */
