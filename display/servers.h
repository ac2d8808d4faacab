/* The VNC and SPICE servers live in a module of their own
 * (libhangar-display-servers.so), loaded the first time one is asked for:
 * libvncserver and libspice-server bring TLS, GStreamer and C++ runtimes
 * with them, about 8 MiB of resident memory that an engine serving no
 * display (tests, benchmarks, headless VMs) should not pay
 * (tests/bench/bench-memory.py). */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "display/spice.h"
#include "display/vnc.h"

typedef struct {
	HgVnc *(*vnc_new)(HgConsole *console, HgInput *input, const HgVncConfig *config,
			  GError **error);
	void (*vnc_free)(HgVnc *v);
	bool (*vnc_add_client)(HgVnc *v, int fd, GError **error);
	bool (*vnc_parse_address)(const char *text, char **host, int *port, GError **error);
	char *(*vnc_read_password)(const char *path, GError **error);
	HgSpice *(*spice_new)(HgConsole *console, HgInput *input, const HgSpiceConfig *config,
			      GError **error);
	void (*spice_free)(HgSpice *s);
	bool (*spice_add_client)(HgSpice *s, int fd, GError **error);
	bool (*spice_parse_address)(const char *text, char **host, int *port, GError **error);
	char *(*spice_read_ticket)(const char *path, GError **error);
} HgDisplayServers;

/* Load the module (once) and return its entry points, or NULL with an
 * error naming where it was looked for.  It is found beside the engine
 * binary (the build tree), then in HANGAR_MODULE_DIR (the installed
 * place); the environment variable HANGAR_MODULE_DIR overrides both. */
const HgDisplayServers *hg_display_servers(GError **error);
