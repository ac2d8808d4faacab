/* The SPICE server (libspice-server): the console's screen, a keyboard and
 * a pointer for SPICE clients.
 *
 * Where clients come from:
 *   - the VM's spice.sock: a unix socket, mode 0600, whose clients skip
 *     authentication (the file's mode and its 0700 folder are the
 *     control);
 *   - hg_spice_add_client: a connected socket handed over by the app (the
 *     control socket will pass these with SCM_RIGHTS), also without
 *     authentication;
 *   - optional TCP, where the client must give the ticket (password).
 * A new client replaces the one connected before (SPICE serves one).
 *
 * Display: a QXL-interface "simple display" fed with the console's dirty
 * rectangles, the primary surface re-created on mode changes, the
 * guest's cursor (console.h) as cursor commands, or a plain arrow while
 * the guest has none of its own.  Input: SPICE keyboard scancodes (PC set 1) to qnum; the
 * mouse in server mode (relative) or client mode (absolute, offered while
 * the guest drives an absolute pointer: hg_input_has_absolute).
 *
 * Threads: the server runs on the display thread's GMainContext
 * (hg_console_context), spice-server's worker on its own thread; neither
 * ever makes a vCPU wait.  The functions below may be called from any
 * thread; they have the display thread do the work and wait for it, so
 * they need the console's thread running (hg_console_start_thread before
 * hg_spice_new, hg_spice_free before hg_console_stop_thread). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "display/console.h"
#include "display/input.h"

typedef struct HgSpice HgSpice;

typedef struct {
	const char *unix_path; /* spice.sock, or NULL for none */
	const char *tcp_host; /* NULL: no TCP; "" listens on every address */
	int tcp_port;
	const char *ticket; /* the TCP password; required with tcp_host */
	const char *name; /* what clients show as the VM's name (optional) */
	const uint8_t *uuid; /* 16 bytes (optional) */
} HgSpiceConfig;

HgSpice *hg_spice_new(HgConsole *console, HgInput *input, const HgSpiceConfig *config,
		      GError **error);
/* Disconnects the clients and removes spice.sock. */
void hg_spice_free(HgSpice *s);

/* Serve a connected stream socket as a new client, without
 * authentication; takes the fd (closed on failure). */
bool hg_spice_add_client(HgSpice *s, int fd, GError **error);

/* "HOST:PORT" or "[V6ADDR]:PORT" (--spice-tcp). */
bool hg_spice_parse_address(const char *text, char **host, int *port, GError **error);
/* The ticket in a password file: its first line (at most 60 bytes, the
 * SPICE limit), not empty. */
char *hg_spice_read_ticket(const char *path, GError **error);
