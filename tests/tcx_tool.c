// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TCX from the shell, for tests/ns/test_coexist.sh: iproute2 6.1 and
 * bpftool 7.1 here know no TCX. Run in the interface's namespace.
 *
 *   tcx_tool attach IFACE ingress|egress PROG_PIN LINK_PIN [first|last]
 *       attach the pinned program through a TCX link, pinned at LINK_PIN
 *       (rm LINK_PIN detaches it)
 *   tcx_tool show IFACE ingress|egress
 *       the hook's programs by name, in the order they run
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>

#define TCX_INGRESS 46	/* enum bpf_attach_type (6.6), user/attach.c */
#define TCX_EGRESS  47
#define F_BEFORE    (1U << 3)

static int usage(void)
{
	fprintf(stderr, "usage: tcx_tool attach IFACE ingress|egress PROG_PIN LINK_PIN "
		"[first|last]\n       tcx_tool show IFACE ingress|egress\n");
	return 2;
}

static int show(unsigned int ifindex, unsigned int type)
{
	DECLARE_LIBBPF_OPTS(bpf_prog_query_opts, q);
	__u32 ids[64];

	q.prog_ids = ids;
	q.prog_cnt = 64;
	if (bpf_prog_query_opts((int)ifindex, type, &q)) {
		fprintf(stderr, "tcx_tool: query: %s\n", strerror(errno));
		return 1;
	}
	for (__u32 i = 0; i < q.prog_cnt; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			snprintf(info.name, sizeof(info.name), "id%u", ids[i]);
		if (fd >= 0)
			close(fd);
		printf("%s%s", i ? " " : "", info.name);
	}
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int ifindex, type;

	if (argc < 4)
		return usage();
	ifindex = if_nametoindex(argv[2]);
	if (!ifindex) {
		fprintf(stderr, "tcx_tool: %s: no such interface\n", argv[2]);
		return 1;
	}
	if (!strcmp(argv[3], "ingress"))
		type = TCX_INGRESS;
	else if (!strcmp(argv[3], "egress"))
		type = TCX_EGRESS;
	else
		return usage();
	if (!strcmp(argv[1], "show") && argc == 4)
		return show(ifindex, type);
	if (!strcmp(argv[1], "attach") && (argc == 6 || argc == 7)) {
		DECLARE_LIBBPF_OPTS(bpf_link_create_opts, opts);
		int prog = bpf_obj_get(argv[4]), link;

		if (argc == 7 && !strcmp(argv[6], "first"))
			opts.flags = F_BEFORE;
		else if (argc == 7 && strcmp(argv[6], "last"))
			return usage();
		if (prog < 0) {
			fprintf(stderr, "tcx_tool: %s: %s\n", argv[4], strerror(errno));
			return 1;
		}
		link = bpf_link_create(prog, (int)ifindex, type, &opts);
		if (link < 0 || bpf_obj_pin(link, argv[5])) {
			fprintf(stderr, "tcx_tool: attach %s to %s %s: %s\n", argv[4], argv[2],
				argv[3], strerror(link < 0 ? -link : errno));
			return 1;
		}
		return 0;
	}
	return usage();
}
