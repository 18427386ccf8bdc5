// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of following the node: links_parse() over hand-built netlink
 * buffers (each row: the bytes, the events it must hand on, what it must
 * count as malformed), cut short at every length and shifted off
 * alignment; and the -i / --exclude patterns (config_iface_wanted).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <cmocka.h>
#include "config.h"
#include "links.h"

#define BUF 4096

struct seen {
	struct link_event ev[8];
	int n;
};

static void record_event(void *ctx, const struct link_event *ev)
{
	struct seen *s = ctx;

	assert_true(s->n < 8);
	s->ev[s->n++] = *ev;
}

/* Attribute @type with @len octets of @data at @p; returns its aligned size. */
static size_t put_attr(uint8_t *p, uint16_t type, const void *data, uint16_t len)
{
	struct rtattr rta = { .rta_len = (unsigned short)RTA_LENGTH(len), .rta_type = type };

	memcpy(p, &rta, sizeof(rta));
	memcpy(p + RTA_LENGTH(0), data, len);
	return RTA_ALIGN(rta.rta_len);
}

/* One link message at @p: @name (NULL: none) and @mtu (0: none). */
static size_t put_link(uint8_t *p, uint16_t type, int ifindex, unsigned int flags,
		       const char *name, uint32_t mtu)
{
	struct nlmsghdr nh = { .nlmsg_type = type };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex,
				 .ifi_flags = flags };
	size_t off = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(ifi)));

	memset(p, 0, off);
	memcpy(p + NLMSG_HDRLEN, &ifi, sizeof(ifi));
	if (name)
		off += put_attr(p + off, IFLA_IFNAME, name, (uint16_t)(strlen(name) + 1));
	if (mtu)
		off += put_attr(p + off, IFLA_MTU, &mtu, sizeof(mtu));
	nh.nlmsg_len = (uint32_t)off;
	memcpy(p, &nh, sizeof(nh));
	return off;
}

static size_t put_done(uint8_t *p)
{
	struct nlmsghdr nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(int)), .nlmsg_type = NLMSG_DONE };

	memset(p, 0, nh.nlmsg_len);
	memcpy(p, &nh, sizeof(nh));
	return NLMSG_ALIGN(nh.nlmsg_len);
}

static size_t put_error(uint8_t *p, int error)
{
	struct nlmsghdr nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr)),
			       .nlmsg_type = NLMSG_ERROR };

	memset(p, 0, nh.nlmsg_len);
	memcpy(p, &nh, sizeof(nh));
	memcpy(p + NLMSG_HDRLEN, &error, sizeof(error));
	return NLMSG_ALIGN(nh.nlmsg_len);
}

static void parse(const uint8_t *buf, size_t len, struct seen *s, struct links_parsed *r)
{
	memset(s, 0, sizeof(*s));
	links_parse(buf, len, record_event, s, r);
	assert_int_equal(r->events, (uint32_t)s->n);
}

static void test_new_and_del(void **state)
{
	uint8_t buf[BUF];
	struct links_parsed r;
	struct seen s;
	size_t n = 0;

	(void)state;
	n += put_link(buf + n, RTM_NEWLINK, 7, 0x1003, "veth7", 1500);
	n += put_link(buf + n, RTM_DELLINK, 8, 0, "lxc0123456789ab", 0);
	n += put_done(buf + n);
	parse(buf, n, &s, &r);
	assert_int_equal(s.n, 2);
	assert_int_equal(r.malformed, 0);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.error, 0);
	assert_int_equal(s.ev[0].gone, 0);
	assert_int_equal(s.ev[0].ifindex, 7);
	assert_int_equal(s.ev[0].flags, 0x1003);
	assert_int_equal(s.ev[0].mtu, 1500);
	assert_string_equal(s.ev[0].name, "veth7");
	assert_int_equal(s.ev[1].gone, 1);
	assert_int_equal(s.ev[1].ifindex, 8);
	assert_int_equal(s.ev[1].mtu, 0);
	assert_string_equal(s.ev[1].name, "lxc0123456789ab");	/* 15: the longest */
}

static void test_error_and_ack(void **state)
{
	uint8_t buf[BUF];
	struct links_parsed r;
	struct seen s;

	(void)state;
	parse(buf, put_error(buf, -EPERM), &s, &r);
	assert_int_equal(r.error, -EPERM);
	assert_int_equal(r.done, 1);
	parse(buf, put_error(buf, 0), &s, &r);	/* an ack */
	assert_int_equal(r.error, 0);
	assert_int_equal(r.done, 0);
	assert_int_equal(r.malformed, 0);
}

/* Each row a buffer that is wrong in one way, and what must come of it. */
static void test_malformed(void **state)
{
	uint8_t buf[BUF];
	struct links_parsed r;
	struct seen s;
	struct nlmsghdr nh;
	struct rtattr rta;
	size_t n, off = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct ifinfomsg)));

	(void)state;
	/* nlmsg_len past the buffer: nothing of it, and nothing after */
	n = put_link(buf, RTM_NEWLINK, 3, 0, "eth0", 1500);
	put_link(buf + n, RTM_NEWLINK, 4, 0, "eth1", 1500);
	memcpy(&nh, buf, sizeof(nh));
	nh.nlmsg_len = BUF * 2;
	memcpy(buf, &nh, sizeof(nh));
	parse(buf, 2 * n, &s, &r);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.malformed, 1);

	/* nlmsg_len shorter than a header */
	n = put_link(buf, RTM_NEWLINK, 3, 0, "eth0", 1500);
	nh.nlmsg_len = 4;
	nh.nlmsg_type = RTM_NEWLINK;
	memcpy(buf, &nh, sizeof(nh));
	parse(buf, n, &s, &r);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.malformed, 1);

	/* too short for an ifinfomsg: skipped, the next one read */
	nh.nlmsg_len = NLMSG_HDRLEN + 4;
	memcpy(buf, &nh, sizeof(nh));
	n = NLMSG_ALIGN(nh.nlmsg_len);
	n += put_link(buf + n, RTM_NEWLINK, 5, 0, "eth5", 9000);
	parse(buf, n, &s, &r);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ev[0].ifindex, 5);
	assert_int_equal(r.malformed, 1);

	/* an attribute running past its message */
	n = put_link(buf, RTM_NEWLINK, 3, 0, "eth0", 0);
	memcpy(&rta, buf + off, sizeof(rta));
	rta.rta_len = 200;
	memcpy(buf + off, &rta, sizeof(rta));
	parse(buf, n, &s, &r);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.malformed, 1);

	/* an attribute shorter than its own header */
	rta.rta_len = 2;
	memcpy(buf + off, &rta, sizeof(rta));
	parse(buf, n, &s, &r);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.malformed, 1);

	/* a name without its NUL, and one of 16 octets */
	n = put_link(buf, RTM_NEWLINK, 3, 0, NULL, 0);
	n += put_attr(buf + n, IFLA_IFNAME, "abcd", 4);
	nh.nlmsg_len = (uint32_t)n;
	nh.nlmsg_type = RTM_NEWLINK;
	memcpy(buf, &nh, sizeof(nh));
	parse(buf, n, &s, &r);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.malformed, 1);
	n = put_link(buf, RTM_NEWLINK, 3, 0, "abcdefghijklmnop", 0);
	parse(buf, n, &s, &r);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.malformed, 1);

	/* an MTU of two octets */
	n = put_link(buf, RTM_NEWLINK, 3, 0, "eth0", 0);
	n += put_attr(buf + n, IFLA_MTU, "\x05\xdc", 2);
	nh.nlmsg_len = (uint32_t)n;
	memcpy(buf, &nh, sizeof(nh));
	parse(buf, n, &s, &r);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.malformed, 1);

	/* ifindex 0 (or negative) names no interface */
	parse(buf, put_link(buf, RTM_NEWLINK, 0, 0, "eth0", 1500), &s, &r);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.malformed, 1);
	parse(buf, put_link(buf, RTM_DELLINK, -3, 0, "eth0", 1500), &s, &r);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.malformed, 1);

	/* a tail shorter than a header after a good message */
	n = put_link(buf, RTM_NEWLINK, 3, 0, "eth0", 1500);
	parse(buf, n + 7, &s, &r);
	assert_int_equal(s.n, 1);
	assert_int_equal(r.malformed, 1);
}

/* Every prefix of a good buffer: never an event that was not whole (its
 * name and MTU as sent), never a read past the length (ASan in the fuzz
 * build; here the bytes past it are poison a reader would show). */
static void test_every_cut(void **state)
{
	uint8_t buf[BUF];
	size_t n = 0, one, cut;

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	one = put_link(buf, RTM_NEWLINK, 11, 1, "veth11", 1400);
	n = one + put_link(buf + one, RTM_DELLINK, 12, 0, "veth12", 1400);
	for (cut = 0; cut <= n; cut++) {
		struct links_parsed r;
		struct seen s;

		parse(buf, cut, &s, &r);
		assert_int_equal(s.n, cut == n ? 2 : cut >= one ? 1 : 0);
		for (int i = 0; i < s.n; i++) {
			assert_int_equal(s.ev[i].ifindex, 11u + i);
			assert_string_equal(s.ev[i].name, i ? "veth12" : "veth11");
			assert_int_equal(s.ev[i].mtu, 1400);
		}
		assert_int_equal(r.malformed, cut == n || cut == one || cut == 0 ? 0 : 1);
	}
}

/* The kernel's buffers are aligned, a fuzzer's are not. */
static void test_unaligned(void **state)
{
	uint8_t raw[BUF + 8], *buf = raw + 1;
	struct links_parsed r;
	struct seen s;
	uint8_t aligned[BUF] __attribute__((aligned(8)));
	size_t n = put_link(aligned, RTM_NEWLINK, 9, 0, "veth9", 1500);

	(void)state;
	memcpy(buf, aligned, n);
	parse(buf, n, &s, &r);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ev[0].name, "veth9");
	assert_int_equal(s.ev[0].mtu, 1500);
}

static int cfg_parse(struct bpfix_config *cfg, char *err, ...)
{
	char *argv[32] = { "bpfix" };
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return config_parse(cfg, argc, argv, err, 256);
}

static void test_patterns(void **state)
{
	static struct bpfix_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(cfg_parse(&cfg, err, "-i", "veth*", "-i", "/^lxc[0-9a-f]+$/", "-i", "lo",
				   "--exclude", "veth9*", "--exclude", "/health/",
				   "--exclude", "lxchealth", NULL), 0);
	assert_int_equal(cfg.n_ifaces, 1);	/* lo: a name, resolved */
	assert_int_equal(cfg.n_match, 2);
	assert_int_equal(cfg.n_exclude, 3);
	assert_true(config_has_patterns(&cfg));
	assert_true(config_iface_wanted(&cfg, "veth0"));
	assert_true(config_iface_wanted(&cfg, "veth"));
	assert_false(config_iface_wanted(&cfg, "veth90"));	/* excluded by glob */
	assert_true(config_iface_wanted(&cfg, "lxc00ff"));
	assert_false(config_iface_wanted(&cfg, "lxc00fg"));	/* anchored regex */
	assert_false(config_iface_wanted(&cfg, "lxc_health"));
	assert_true(config_iface_wanted(&cfg, "lo"));
	assert_false(config_iface_wanted(&cfg, "eth0"));
	assert_false(config_iface_wanted(&cfg, "xveth0"));

	/* a glob in brackets; an unanchored regex matches inside */
	assert_int_equal(cfg_parse(&cfg, err, "-i", "eth[0-9]", "-i", "/ns/", NULL), 0);
	assert_int_equal(cfg.n_ifaces, 0);
	assert_true(config_iface_wanted(&cfg, "eth3"));
	assert_false(config_iface_wanted(&cfg, "eth10"));
	assert_true(config_iface_wanted(&cfg, "ens5"));
	/* nothing matches yet: not an error (the agent says so) */
	assert_int_equal(cfg_parse(&cfg, err, "-i", "nosuchthing*", NULL), 0);
	assert_int_equal(cfg.n_match, 1);
	assert_false(config_iface_wanted(&cfg, "lo"));
}

static void test_pattern_errors(void **state)
{
	static struct bpfix_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(cfg_parse(&cfg, err, "-i", "nosuchif0", NULL), -EINVAL);
	assert_string_equal(err, "nosuchif0: no such interface");
	assert_int_equal(cfg_parse(&cfg, err, "-i", "/a[/", NULL), -EINVAL);
	assert_non_null(strstr(err, "-i /a[/: "));
	assert_int_equal(cfg_parse(&cfg, err, "--exclude", "/(/", NULL), -EINVAL);
	assert_non_null(strstr(err, "--exclude /(/: "));
	assert_int_equal(cfg_parse(&cfg, err, "-i", "/", NULL), -EINVAL);
	assert_string_equal(err, "-i '/': not an interface name or pattern");
	assert_int_equal(cfg_parse(&cfg, err, "-i", "veth*", "-i", "veth*", NULL), -EINVAL);
	assert_string_equal(err, "-i veth*: given twice");
	/* a lone '[' is part of a name (an escape sequence, test_ifnames) */
	assert_int_equal(cfg_parse(&cfg, err, "-i", "no\033[2Jsuch", NULL), -EINVAL);
	assert_string_equal(err, "no?[2Jsuch: no such interface");
	/* an --exclude name that does not exist is fine: it may come */
	assert_int_equal(cfg_parse(&cfg, err, "-i", "lo", "--exclude", "nosuchif0", NULL), 0);
	/* regexes whose compiled form would take gigabytes (fuzz_config: a
	 * 127-character one took 12 GB in glibc's regcomp) are refused first */
	assert_int_equal(cfg_parse(&cfg, err, "-i", "/a++++++++++++++++++++++++/", NULL), -EINVAL);
	assert_string_equal(err, "-i /a++++++++++++++++++++++++/: one repetition right after "
			    "another (undefined in POSIX)");
	assert_int_equal(cfg_parse(&cfg, err, "-i", "/((a{1,15}){1,15}){1,15}/", NULL), -EINVAL);
	assert_string_equal(err, "-i /((a{1,15}){1,15}){1,15}/: nested bounds that multiply past "
			    "what a name can hold");
	assert_int_equal(cfg_parse(&cfg, err, "--exclude", "/x{1,99}/", NULL), -EINVAL);
	assert_string_equal(err, "--exclude /x{1,99}/: a bound past an interface name's 15 "
			    "characters");
	/* ... and what names need is not */
	assert_int_equal(cfg_parse(&cfg, err, "-i", "/^(eth|ens)[0-9]{1,3}(p[0-9]+)?$/", NULL), 0);
	assert_int_equal(cfg_parse(&cfg, err, "-i", "/(a{1,15}){1,15}|[[:alpha:]]+|(b*)*/", NULL), 0);
	assert_int_equal(cfg_parse(&cfg, err, "-i", "/[]{+*]x{2}/", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_del),
		cmocka_unit_test(test_error_and_ack),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_every_cut),
		cmocka_unit_test(test_unaligned),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_pattern_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
