/* The embedded viewer: one VM's screen through spice-gtk's SpiceDisplay (over
 * the engine's spice.sock) or gtk-vnc's VncDisplay (over vnc.sock), scaled to
 * the widget, with a "Press Ctrl+Alt to release" hint shown while it holds
 * the keyboard or the pointer.
 *
 * It knows sockets, not VMs: the VM page says which protocol and which
 * socket, so the viewer can be tested against a bare engine. */
#pragma once

#include <gtk/gtk.h>

#include "library/vm/vm_config.h"

G_BEGIN_DECLS

#define HANGAR_TYPE_VIEWER (hangar_viewer_get_type())
G_DECLARE_FINAL_TYPE(HangarViewer, hangar_viewer, HANGAR, VIEWER, GtkOverlay)

/* Signals:
 *   "connected" (): the first frame arrived; the screen is showing.
 *   "disconnected" (const char *reason, const char *detail): the
 *     connection ended without hangar_viewer_disconnect being called, or
 *     never came up (refused, authentication failed, timed out).  reason is
 *     plain words for the user; detail is for a developer (may be NULL).
 *   "grab-changed" (gboolean grabbed): the viewer took or let go of the
 *     keyboard or pointer. */

GtkWidget *hangar_viewer_new(void);

/* Drops any earlier connection (without "disconnected") and connects to
 * socket_path, a unix socket served by the engine's SPICE or VNC server. */
void hangar_viewer_connect(HangarViewer *viewer, HgDisplayProtocol protocol,
			   const char *socket_path);
/* Closes the connection, if any; emits nothing. */
void hangar_viewer_disconnect(HangarViewer *viewer);

/* Connecting or connected. */
gboolean hangar_viewer_is_open(HangarViewer *viewer);
/* The first frame has arrived and the connection is still up. */
gboolean hangar_viewer_is_connected(HangarViewer *viewer);
HgDisplayProtocol hangar_viewer_get_protocol(HangarViewer *viewer);

/* Presses the keys in order and releases them in reverse (a key
 * combination such as Ctrl+Alt+Delete), as GDK keyvals. */
void hangar_viewer_send_keys(HangarViewer *viewer, const guint *keyvals, guint n_keyvals);

gboolean hangar_viewer_get_grabbed(HangarViewer *viewer);
/* Lets go of the keyboard and pointer (leaving fullscreen, say). */
void hangar_viewer_release_grab(HangarViewer *viewer);
/* Gives the display widget the keyboard focus. */
void hangar_viewer_focus(HangarViewer *viewer);

/* The screen as the viewer last received it (guest resolution), or NULL
 * when not connected.  Full transfer. */
GdkPixbuf *hangar_viewer_get_pixbuf(HangarViewer *viewer);

G_END_DECLS
