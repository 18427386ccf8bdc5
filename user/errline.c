// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* err_line() (errline.h). */
#include <stdarg.h>
#include <stdio.h>
#include "errline.h"

int err_line(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	char *c;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (c = err; errlen && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return ret;
}
