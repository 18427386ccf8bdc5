/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the benchmarks share. */
#ifndef BPFIX_TESTS_BENCH_H
#define BPFIX_TESTS_BENCH_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pin the calling thread to @cpu (< 0: the one it runs on), so per-CPU
 * slots and caches stay put and figures do not mix two CPUs' speeds.
 * Returns the CPU, or -errno after one line naming @who. */
static inline int bench_pin_cpu(const char *who, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		int err = errno;

		fprintf(stderr, "%s: cpu %d: %s\n", who, cpu, strerror(err));
		return -err;
	}
	return cpu;
}

static inline int bench_cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* The median of @n figures (sorts @v). */
static inline double bench_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* BPFIX_TESTS_BENCH_H */
