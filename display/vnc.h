/* The VNC server (RFB 3.3/3.7/3.8, libvncserver): the console's screen,
 * keyboard and pointer for VNC clients.
 *
 * Where clients come from:
 *   - the VM's vnc.sock: a unix socket, mode 0600, whose clients skip
 *     authentication (the file's mode and its 0700 folder are the control);
 *   - hg_vnc_add_client: a connected socket handed over by the app, also
 *     without authentication;
 *   - optional TCP (loopback unless configured), always with VNC
 *     authentication: the password's first 8 characters, DES challenge
 *     and response, as the protocol defines it.  That is weak protection:
 *     keep TCP on loopback or behind an SSH tunnel.
 * Up to 16 local and 16 TCP clients share the screen; wrong passwords are
 * not rate-limited.
 *
 * Display: a shadow copy of the console that only its dirty rectangles
 * update; clients get damage-only updates in the encoding they prefer
 * (Raw, Hextile, ZRLE, Tight ...), and the new size on a mode change
 * (DesktopSize / ExtendedDesktopSize).  No cursor is painted into the
 * picture: clients that announce the Cursor (RichCursor) or XCursor
 * pseudo-encodings get the guest's cursor shape (console.h; an empty one
 * while it is hidden or the guest has none), and with PointerPos its
 * position; other clients see no guest cursor.  Cursors too large for one
 * of libvncserver's messages (about 88x88) are scaled down.  Input: the QEMU extended key event passes PC scancodes through
 * unchanged; plain key events are keysyms, mapped to scancodes for a US
 * layout (keysym_to_qnum.h); the pointer is absolute, or relative with the
 * QEMU pointer-type-change extension while the guest has no absolute
 * device.  No clipboard.
 *
 * Threads: network I/O (listening, handshakes, authentication and every
 * byte to and from a client) runs on the server's own relay thread, which
 * buffers output so that a slow or stuck client never makes anyone wait;
 * libvncserver runs on the display thread's GMainContext
 * (hg_console_context), so encoding happens there.  Neither ever makes a
 * vCPU wait.  A client whose socket accepts nothing for 5 s while output is
 * pending is dropped.  The functions below may be called from any thread
 * but the display thread's own listeners; hg_vnc_new and hg_vnc_free wait
 * for the display thread to do the work, so start the console thread
 * first and free the server before stopping it. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "display/console.h"
#include "display/input.h"

typedef struct HgVnc HgVnc;

typedef struct {
	const char *unix_path; /* vnc.sock, or NULL for none */
	const char *tcp_host; /* NULL: no TCP */
	int tcp_port;
	const char *password; /* required with tcp_host; VNC uses 8 characters */
	const char *name; /* the desktop name clients show (optional) */
} HgVncConfig;

HgVnc *hg_vnc_new(HgConsole *console, HgInput *input, const HgVncConfig *config, GError **error);
/* Disconnects the clients and removes vnc.sock. */
void hg_vnc_free(HgVnc *v);

/* Serve a connected stream socket as a new client, without
 * authentication; takes the fd (closed on failure). */
bool hg_vnc_add_client(HgVnc *v, int fd, GError **error);

/* "[HOST:]PORT" or "[V6ADDR]:PORT" (--vnc-tcp); without a host, the
 * loopback address 127.0.0.1. */
bool hg_vnc_parse_address(const char *text, char **host, int *port, GError **error);
/* The password in a password file: its first line, not empty. */
char *hg_vnc_read_password(const char *path, GError **error);
