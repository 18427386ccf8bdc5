// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A build without the HTTP endpoint: the static one (make static, for
 * small devices). Debian's libmicrohttpd is built with HTTPS, and a static
 * link of it needs gnutls' p11-kit and libunistring, which bookworm ships
 * no static archives of. --metrics is then one clear error; everything
 * else the agent does is the same. Linked instead of metrics_http.c.
 */
#include <stdio.h>
#include "metrics.h"

struct metrics *metrics_open(const struct bpfix_config *cfg, char *err, size_t errlen)
{
	if (cfg->metrics[0])
		snprintf(err, errlen, "--metrics %s: this bpfix is built without the HTTP "
			 "endpoint (the static build); use the dynamic one", cfg->metrics);
	return NULL;
}

int metrics_start(struct metrics *m, char *err, size_t errlen)
{
	(void)m;
	(void)err;
	(void)errlen;
	return 0;
}

void metrics_publish(struct metrics *m, const struct metrics_snapshot *s)
{
	(void)m;
	(void)s;
}

void metrics_alive(struct metrics *m)
{
	(void)m;
}

void metrics_ready(struct metrics *m)
{
	(void)m;
}

void metrics_stopping(struct metrics *m)
{
	(void)m;
}

void metrics_close(struct metrics *m)
{
	(void)m;
}
