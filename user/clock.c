// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's clocks (clock.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "clock.h"

static int64_t ts_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_timens_offset_ns(const char *path)
{
	FILE *f = fopen(path, "r");
	char name[32];
	long long sec, nsec;
	int64_t off = 0;

	if (!f)
		return 0;	/* no time namespaces (before 5.6): no offset */
	while (fscanf(f, "%31s %lld %lld", name, &sec, &nsec) == 3)
		if (!strcmp(name, "monotonic"))
			off = (int64_t)sec * 1000000000 + nsec;
	fclose(f);
	return off;
}

int64_t clock_mono_offset_ns(void)
{
	/* Read once: a process cannot change its time namespace's offsets
	 * once it runs in it. */
	static int64_t timens = INT64_MIN;
	int64_t w0, b, w1;

	if (timens == INT64_MIN)
		timens = clock_timens_offset_ns("/proc/self/timens_offsets");
	/* Bracket the monotonic read with two wall-clock reads and use their
	 * midpoint: the error is half the time between them. */
	w0 = ts_ns(CLOCK_REALTIME);
	b = ts_ns(CLOCK_MONOTONIC) - timens;
	w1 = ts_ns(CLOCK_REALTIME);
	return w0 + (w1 - w0) / 2 - b;
}

uint64_t clock_kernel_to_wall_ms(uint64_t kernel_ns, int64_t offset_ns)
{
	int64_t wall = (int64_t)kernel_ns + offset_ns;

	return wall > 0 ? (uint64_t)wall / 1000000 : 0;
}

uint64_t clock_wall_ms(void)
{
	return (uint64_t)ts_ns(CLOCK_REALTIME) / 1000000;
}

uint64_t clock_wall_ns(void)
{
	return (uint64_t)ts_ns(CLOCK_REALTIME);
}

uint64_t clock_mono_ns(void)
{
	return (uint64_t)ts_ns(CLOCK_MONOTONIC);
}

uint64_t clock_mono_ms(void)
{
	return clock_mono_ns() / 1000000;
}
