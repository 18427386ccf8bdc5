/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's small shared helpers: the one way to write an error line,
 * and the one ARRAY_SIZE. */
#ifndef BPFIX_ERRLINE_H
#define BPFIX_ERRLINE_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The line that explains a failure, for the caller that prints it (STYLE:
 * one line naming the object and the cause): formatted into @err, control
 * characters (a name or URI the user typed, an interface name) replaced by
 * '?' so it stays one line and passes no terminal escape through. Returns
 * @ret, a negative errno, for `return err_line(err, errlen, -ENOENT, ...)`.
 */
int err_line(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* BPFIX_ERRLINE_H */
