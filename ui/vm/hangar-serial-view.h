/* The serial console view: what the guest writes to COM1 (the engine's
 * serial.sock), in a read-only monospace text view that follows the end and
 * keeps the last 10,000 lines, with an entry below whose lines go to the
 * guest on Enter.
 *
 * The engine serves one client at a time and keeps what the guest writes
 * while nobody is connected, so the VM page connects only while the console
 * is shown and nothing is lost in between. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HANGAR_TYPE_SERIAL_VIEW (hangar_serial_view_get_type())
G_DECLARE_FINAL_TYPE(HangarSerialView, hangar_serial_view, HANGAR, SERIAL_VIEW, GtkBox)

/* The most lines the view keeps; older ones are dropped. */
#define HANGAR_SERIAL_VIEW_MAX_LINES 10000

GtkWidget *hangar_serial_view_new(void);

/* Connects to socket_path (the engine's serial.sock), dropping an earlier
 * connection; the text so far stays. */
void hangar_serial_view_connect(HangarSerialView *view, const char *socket_path);
/* Closes the connection; the text stays.  reason (NULL: none) is shown. */
void hangar_serial_view_disconnect(HangarSerialView *view, const char *reason);
gboolean hangar_serial_view_is_connected(HangarSerialView *view);

/* A line of Hangar's own in the text ("The machine started again"), set
 * apart from the guest's output. */
void hangar_serial_view_add_note(HangarSerialView *view, const char *note);
void hangar_serial_view_clear(HangarSerialView *view);
/* The whole text shown (tests). */
char *hangar_serial_view_get_text(HangarSerialView *view);
/* Writes bytes to the guest as the entry does (tests, pasting). */
void hangar_serial_view_send(HangarSerialView *view, const char *data, gsize length);

G_END_DECLS
