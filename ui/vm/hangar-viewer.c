/* The embedded viewer (hangar-viewer.h).
 *
 * SPICE: a SpiceSession with "unix-path" opens every channel on the
 * engine's spice.sock itself; the SpiceDisplay for channel 0 is made when
 * that channel appears and then follows the session on its own.  "connected" is its "ready" (a
 * primary surface and the first frame); errors come as channel events.
 *
 * VNC: the app connects the socket (GSocketClient) and hands gtk-vnc a dup of
 * the descriptor: vnc_display_open_fd wraps the fd it gets in a GSocket that
 * closes it when the display closes, so the connection keeps its own.
 *
 * Both libraries call back from inside their own signal emissions; the
 * teardown after a failure and the "disconnected" signal go through an idle,
 * so a handler may reconnect at once without destroying a session under
 * its own feet.  Main thread only. */
#include "ui/vm/hangar-viewer.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <spice-client-gtk.h>
#include <unistd.h>
#include <vncdisplay.h>

/* An engine that has its sockets up answers within milliseconds; this
 * bounds a server that accepts and then never speaks. */
#define CONNECT_TIMEOUT_S 20

struct _HangarViewer {
	GtkOverlay parent_instance;

	HgDisplayProtocol protocol;
	char *socket_path;
	gboolean open; /* connecting or connected */
	gboolean connected; /* the first frame arrived */

	GtkWidget *display; /* SpiceDisplay or VncDisplay, or NULL */
	GtkWidget *hint_revealer; /* a reference: dispose may run after the children went */

	/* SPICE */
	SpiceSession *session;
	/* VNC */
	GCancellable *cancellable;
	GSocketConnection *vnc_connection;

	gboolean keyboard_grabbed, pointer_grabbed;

	guint timeout_id;
	guint failure_idle_id;
	char *failure_reason, *failure_detail;
};

G_DEFINE_TYPE(HangarViewer, hangar_viewer, GTK_TYPE_OVERLAY)

enum { SIGNAL_CONNECTED, SIGNAL_DISCONNECTED, SIGNAL_GRAB_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void viewer_set_grab(HangarViewer *self, gboolean keyboard, gboolean pointer)
{
	gboolean was = self->keyboard_grabbed || self->pointer_grabbed;
	gboolean now = keyboard || pointer;

	self->keyboard_grabbed = keyboard;
	self->pointer_grabbed = pointer;
	gtk_revealer_set_reveal_child(GTK_REVEALER(self->hint_revealer), now);
	if (was != now)
		g_signal_emit(self, signals[SIGNAL_GRAB_CHANGED], 0, now);
}

/* Drops everything of the current connection without emitting anything but
 * a grab change. */
static void viewer_teardown(HangarViewer *self)
{
	self->open = FALSE;
	g_clear_handle_id(&self->timeout_id, g_source_remove);
	if (self->cancellable) {
		g_cancellable_cancel(self->cancellable);
		g_clear_object(&self->cancellable);
	}
	if (self->session) {
		g_autoptr(GList) channels = spice_session_get_channels(self->session);

		/* Closing emits channel events, some later from an idle. */
		for (GList *l = channels; l; l = l->next)
			g_signal_handlers_disconnect_by_data(l->data, self);
		g_signal_handlers_disconnect_by_data(self->session, self);
		spice_session_disconnect(self->session);
	}
	if (self->display) {
		g_signal_handlers_disconnect_by_data(self->display, self);
		if (VNC_IS_DISPLAY(self->display))
			vnc_display_close(VNC_DISPLAY(self->display));
		gtk_container_remove(GTK_CONTAINER(self), self->display);
		self->display = NULL;
	}
	g_clear_object(&self->session);
	if (self->vnc_connection) {
		g_io_stream_close(G_IO_STREAM(self->vnc_connection), NULL, NULL);
		g_clear_object(&self->vnc_connection);
	}
	self->connected = FALSE;
	viewer_set_grab(self, FALSE, FALSE);
}

static gboolean viewer_on_failure_idle(gpointer data)
{
	HangarViewer *self = data;
	g_autofree char *reason = g_steal_pointer(&self->failure_reason);
	g_autofree char *detail = g_steal_pointer(&self->failure_detail);

	self->failure_idle_id = 0;
	viewer_teardown(self);
	g_signal_emit(self, signals[SIGNAL_DISCONNECTED], 0, reason, detail);
	return G_SOURCE_REMOVE;
}

/* The connection failed or ended: report it once, from an idle. */
static void viewer_fail(HangarViewer *self, const char *reason, const char *detail)
{
	if (!self->open || self->failure_idle_id)
		return;
	self->failure_reason = g_strdup(reason);
	self->failure_detail = g_strdup(detail);
	self->failure_idle_id = g_idle_add(viewer_on_failure_idle, self);
}

static void viewer_set_connected(HangarViewer *self)
{
	if (self->connected || !self->open || self->failure_idle_id)
		return;
	self->connected = TRUE;
	g_clear_handle_id(&self->timeout_id, g_source_remove);
	g_signal_emit(self, signals[SIGNAL_CONNECTED], 0);
}

static gboolean viewer_on_timeout(gpointer data)
{
	HangarViewer *self = data;
	g_autofree char *detail = NULL;

	self->timeout_id = 0;
	detail = g_strdup_printf("no first frame from %s within %d s", self->socket_path,
				 CONNECT_TIMEOUT_S);
	viewer_fail(self, _("The virtual machine’s screen did not answer."), detail);
	return G_SOURCE_REMOVE;
}

static void viewer_add_display(HangarViewer *self, GtkWidget *display)
{
	self->display = display;
	gtk_widget_set_hexpand(display, TRUE);
	gtk_widget_set_vexpand(display, TRUE);
	gtk_widget_set_can_focus(display, TRUE);
	gtk_container_add(GTK_CONTAINER(self), display);
	gtk_widget_show(display);
}

/* ---- SPICE ---- */

static void spice_on_channel_event(SpiceChannel *channel, SpiceChannelEvent event,
				   HangarViewer *self)
{
	const GError *error = spice_channel_get_error(channel);
	g_autofree char *detail = NULL;
	const char *reason;

	switch (event) {
	case SPICE_CHANNEL_OPENED:
	case SPICE_CHANNEL_SWITCHING:
	case SPICE_CHANNEL_NONE:
		return;
	case SPICE_CHANNEL_CLOSED:
		reason = _("The virtual machine’s screen closed the connection.");
		break;
	case SPICE_CHANNEL_ERROR_AUTH:
		reason = _("The virtual machine’s screen refused the connection: authentication "
			   "failed.");
		break;
	case SPICE_CHANNEL_ERROR_CONNECT:
		reason = _("Could not connect to the virtual machine’s screen.");
		break;
	case SPICE_CHANNEL_ERROR_TLS:
	case SPICE_CHANNEL_ERROR_LINK:
	case SPICE_CHANNEL_ERROR_IO:
	default:
		reason = _("The connection to the virtual machine’s screen was lost.");
		break;
	}
	/* Only the main and display channels matter to what the user sees; a
	 * failing inputs or cursor channel is worth a log line. */
	detail = g_strdup_printf("SPICE %s channel on %s: event %d%s%s",
				 G_OBJECT_TYPE_NAME(channel), self->socket_path, event,
				 error ? ": " : "", error ? error->message : "");
	if (!SPICE_IS_MAIN_CHANNEL(channel) && !SPICE_IS_DISPLAY_CHANNEL(channel)) {
		g_debug("%s", detail);
		return;
	}
	viewer_fail(self, reason, detail);
}

static void spice_on_ready(GObject *display, GParamSpec *pspec, HangarViewer *self)
{
	gboolean ready = FALSE;

	g_object_get(display, "ready", &ready, NULL);
	if (ready)
		viewer_set_connected(self);
}

static void spice_on_keyboard_grab(SpiceDisplay *display, int grabbed, HangarViewer *self)
{
	viewer_set_grab(self, grabbed != 0, self->pointer_grabbed);
}

static void spice_on_mouse_grab(SpiceDisplay *display, int grabbed, HangarViewer *self)
{
	viewer_set_grab(self, self->keyboard_grabbed, grabbed != 0);
}

/* The display is made when its channel appears, as virt-viewer does: by
 * then the main channel knows the mouse mode, which a SpiceDisplay made
 * earlier would read as unset (a warning in spice-gtk 0.42). */
static void spice_add_display(HangarViewer *self)
{
	SpiceDisplay *display = spice_display_new(self->session, 0);

	g_object_set(display, "scaling", TRUE, "resize-guest", FALSE, "grab-keyboard", TRUE,
		     "grab-mouse", TRUE, NULL);
	g_signal_connect(display, "notify::ready", G_CALLBACK(spice_on_ready), self);
	g_signal_connect(display, "keyboard-grab", G_CALLBACK(spice_on_keyboard_grab), self);
	g_signal_connect(display, "mouse-grab", G_CALLBACK(spice_on_mouse_grab), self);
	viewer_add_display(self, GTK_WIDGET(display));
	spice_on_ready(G_OBJECT(display), NULL, self);
}

static void spice_on_channel_new(SpiceSession *session, SpiceChannel *channel, HangarViewer *self)
{
	int id = -1;

	g_signal_connect_object(channel, "channel-event", G_CALLBACK(spice_on_channel_event), self,
				0);
	g_object_get(channel, "channel-id", &id, NULL);
	if (SPICE_IS_DISPLAY_CHANNEL(channel) && id == 0 && !self->display)
		spice_add_display(self);
}

static void viewer_connect_spice(HangarViewer *self)
{
	self->session = spice_session_new();
	g_object_set(self->session, "unix-path", self->socket_path, NULL);
	g_signal_connect(self->session, "channel-new", G_CALLBACK(spice_on_channel_new), self);
	if (!spice_session_connect(self->session)) {
		g_autofree char *detail = g_strdup_printf(
			"spice_session_connect(unix-path=%s) failed", self->socket_path);
		viewer_fail(self, _("Could not connect to the virtual machine’s screen."), detail);
	}
}

/* ---- VNC ---- */

static void vnc_on_initialized(VncDisplay *display, HangarViewer *self)
{
	viewer_set_connected(self);
}

static void vnc_on_disconnected(VncDisplay *display, HangarViewer *self)
{
	g_autofree char *detail =
		g_strdup_printf("VNC server on %s closed the connection", self->socket_path);
	viewer_fail(self, _("The virtual machine’s screen closed the connection."), detail);
}

static void vnc_on_error(VncDisplay *display, const char *message, HangarViewer *self)
{
	g_autofree char *detail = g_strdup_printf("VNC on %s: %s", self->socket_path, message);
	viewer_fail(self, _("The connection to the virtual machine’s screen failed."), detail);
}

static void vnc_on_auth_failure(VncDisplay *display, const char *message, HangarViewer *self)
{
	g_autofree char *detail =
		g_strdup_printf("VNC authentication on %s: %s", self->socket_path, message);
	viewer_fail(
		self,
		_("The virtual machine’s screen refused the connection: authentication failed."),
		detail);
}

static void vnc_on_auth_unsupported(VncDisplay *display, GValueArray *types, HangarViewer *self)
{
	g_autofree char *detail =
		g_strdup_printf("VNC server on %s offers no authentication type gtk-vnc supports",
				self->socket_path);
	viewer_fail(self, _("The virtual machine’s screen asks for an unsupported kind of login."),
		    detail);
}

/* The engine's unix socket needs no credentials; a server that asks for
 * them is not the one Hangar started. */
static void vnc_on_auth_credential(VncDisplay *display, GValueArray *credentials,
				   HangarViewer *self)
{
	g_autofree char *detail = g_strdup_printf(
		"VNC server on %s asked for %u credential(s) (password or user name)",
		self->socket_path, credentials ? credentials->n_values : 0);
	viewer_fail(self, _("The virtual machine’s screen asks for a password."), detail);
}

static void vnc_on_keyboard_grab(VncDisplay *display, HangarViewer *self)
{
	viewer_set_grab(self, TRUE, self->pointer_grabbed);
}

static void vnc_on_keyboard_ungrab(VncDisplay *display, HangarViewer *self)
{
	viewer_set_grab(self, FALSE, self->pointer_grabbed);
}

static void vnc_on_pointer_grab(VncDisplay *display, HangarViewer *self)
{
	viewer_set_grab(self, self->keyboard_grabbed, TRUE);
}

static void vnc_on_pointer_ungrab(VncDisplay *display, HangarViewer *self)
{
	viewer_set_grab(self, self->keyboard_grabbed, FALSE);
}

static void vnc_on_socket_connected(GObject *source, GAsyncResult *result, gpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketConnection) connection =
		g_socket_client_connect_finish(G_SOCKET_CLIENT(source), result, &error);
	HangarViewer *self;
	VncDisplay *display;
	int fd;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* the viewer may be gone */
	self = data;
	g_clear_object(&self->cancellable);
	if (!connection) {
		g_autofree char *detail =
			g_strdup_printf("connecting to %s: %s", self->socket_path, error->message);
		viewer_fail(self, _("Could not connect to the virtual machine’s screen."), detail);
		return;
	}

	fd = dup(g_socket_get_fd(g_socket_connection_get_socket(connection)));
	if (fd < 0) {
		g_autofree char *detail = g_strdup_printf("dup: %s", g_strerror(errno));
		viewer_fail(self, _("Could not connect to the virtual machine’s screen."), detail);
		return;
	}
	self->vnc_connection = g_steal_pointer(&connection);

	display = VNC_DISPLAY(vnc_display_new());
	vnc_display_set_scaling(display, TRUE);
	vnc_display_set_keep_aspect_ratio(display, TRUE);
	/* The server decides the size (the guest's mode); the widget scales. */
	vnc_display_set_allow_resize(display, FALSE);
	vnc_display_set_keyboard_grab(display, TRUE);
	vnc_display_set_pointer_grab(display, TRUE);
	vnc_display_set_shared_flag(display, TRUE);
	g_signal_connect(display, "vnc-initialized", G_CALLBACK(vnc_on_initialized), self);
	g_signal_connect(display, "vnc-disconnected", G_CALLBACK(vnc_on_disconnected), self);
	g_signal_connect(display, "vnc-error", G_CALLBACK(vnc_on_error), self);
	g_signal_connect(display, "vnc-auth-failure", G_CALLBACK(vnc_on_auth_failure), self);
	g_signal_connect(display, "vnc-auth-unsupported", G_CALLBACK(vnc_on_auth_unsupported),
			 self);
	g_signal_connect(display, "vnc-auth-credential", G_CALLBACK(vnc_on_auth_credential), self);
	g_signal_connect(display, "vnc-keyboard-grab", G_CALLBACK(vnc_on_keyboard_grab), self);
	g_signal_connect(display, "vnc-keyboard-ungrab", G_CALLBACK(vnc_on_keyboard_ungrab), self);
	g_signal_connect(display, "vnc-pointer-grab", G_CALLBACK(vnc_on_pointer_grab), self);
	g_signal_connect(display, "vnc-pointer-ungrab", G_CALLBACK(vnc_on_pointer_ungrab), self);
	viewer_add_display(self, GTK_WIDGET(display));

	if (!vnc_display_open_fd(display, fd)) {
		g_autofree char *detail =
			g_strdup_printf("vnc_display_open_fd on %s failed", self->socket_path);
		close(fd);
		viewer_fail(self, _("Could not connect to the virtual machine’s screen."), detail);
	}
}

static void viewer_connect_vnc(HangarViewer *self)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(self->socket_path);

	self->cancellable = g_cancellable_new();
	g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(address), self->cancellable,
				      vnc_on_socket_connected, self);
}

/* ---- the widget ---- */

void hangar_viewer_connect(HangarViewer *self, HgDisplayProtocol protocol, const char *socket_path)
{
	g_return_if_fail(HANGAR_IS_VIEWER(self));
	g_return_if_fail(socket_path != NULL);

	hangar_viewer_disconnect(self);
	self->protocol = protocol;
	g_free(self->socket_path);
	self->socket_path = g_strdup(socket_path);
	self->open = TRUE;
	self->timeout_id = g_timeout_add_seconds(CONNECT_TIMEOUT_S, viewer_on_timeout, self);
	if (protocol == HG_DISPLAY_VNC)
		viewer_connect_vnc(self);
	else
		viewer_connect_spice(self);
}

void hangar_viewer_disconnect(HangarViewer *self)
{
	g_return_if_fail(HANGAR_IS_VIEWER(self));

	g_clear_handle_id(&self->failure_idle_id, g_source_remove);
	g_clear_pointer(&self->failure_reason, g_free);
	g_clear_pointer(&self->failure_detail, g_free);
	viewer_teardown(self);
}

gboolean hangar_viewer_is_open(HangarViewer *self)
{
	g_return_val_if_fail(HANGAR_IS_VIEWER(self), FALSE);
	return self->open;
}

gboolean hangar_viewer_is_connected(HangarViewer *self)
{
	g_return_val_if_fail(HANGAR_IS_VIEWER(self), FALSE);
	return self->connected;
}

HgDisplayProtocol hangar_viewer_get_protocol(HangarViewer *self)
{
	g_return_val_if_fail(HANGAR_IS_VIEWER(self), HG_DISPLAY_SPICE);
	return self->protocol;
}

void hangar_viewer_send_keys(HangarViewer *self, const guint *keyvals, guint n_keyvals)
{
	g_return_if_fail(HANGAR_IS_VIEWER(self));

	if (!self->connected || !self->display)
		return;
	if (SPICE_IS_DISPLAY(self->display))
		spice_display_send_keys(SPICE_DISPLAY(self->display), keyvals, (int)n_keyvals,
					SPICE_DISPLAY_KEY_EVENT_CLICK);
	else if (VNC_IS_DISPLAY(self->display))
		vnc_display_send_keys(VNC_DISPLAY(self->display), keyvals, (int)n_keyvals);
}

gboolean hangar_viewer_get_grabbed(HangarViewer *self)
{
	g_return_val_if_fail(HANGAR_IS_VIEWER(self), FALSE);
	return self->keyboard_grabbed || self->pointer_grabbed;
}

void hangar_viewer_release_grab(HangarViewer *self)
{
	g_return_if_fail(HANGAR_IS_VIEWER(self));

	if (!self->display)
		return;
	if (SPICE_IS_DISPLAY(self->display)) {
		spice_display_keyboard_ungrab(SPICE_DISPLAY(self->display));
		spice_display_mouse_ungrab(SPICE_DISPLAY(self->display));
	} else if (VNC_IS_DISPLAY(self->display)) {
		vnc_display_force_grab(VNC_DISPLAY(self->display), FALSE);
	}
}

void hangar_viewer_focus(HangarViewer *self)
{
	g_return_if_fail(HANGAR_IS_VIEWER(self));

	if (self->display)
		gtk_widget_grab_focus(self->display);
}

GdkPixbuf *hangar_viewer_get_pixbuf(HangarViewer *self)
{
	g_return_val_if_fail(HANGAR_IS_VIEWER(self), NULL);

	if (!self->connected || !self->display)
		return NULL;
	if (SPICE_IS_DISPLAY(self->display))
		return spice_display_get_pixbuf(SPICE_DISPLAY(self->display));
	if (VNC_IS_DISPLAY(self->display))
		return vnc_display_get_pixbuf(VNC_DISPLAY(self->display));
	return NULL;
}

static void hangar_viewer_dispose(GObject *object)
{
	HangarViewer *self = HANGAR_VIEWER(object);

	hangar_viewer_disconnect(self);
	G_OBJECT_CLASS(hangar_viewer_parent_class)->dispose(object);
}

static void hangar_viewer_finalize(GObject *object)
{
	HangarViewer *self = HANGAR_VIEWER(object);

	g_free(self->socket_path);
	g_object_unref(self->hint_revealer);
	G_OBJECT_CLASS(hangar_viewer_parent_class)->finalize(object);
}

static void hangar_viewer_class_init(HangarViewerClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = hangar_viewer_dispose;
	object_class->finalize = hangar_viewer_finalize;

	signals[SIGNAL_CONNECTED] =
		g_signal_new("connected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_DISCONNECTED] =
		g_signal_new("disconnected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
	signals[SIGNAL_GRAB_CHANGED] =
		g_signal_new("grab-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
	gtk_widget_class_set_css_name(GTK_WIDGET_CLASS(klass), "hangar-viewer");
}

static void hangar_viewer_init(HangarViewer *self)
{
	GtkWidget *label;

	self->protocol = HG_DISPLAY_SPICE;
	/* What screen readers and the UI tests find it by. */
	atk_object_set_name(gtk_widget_get_accessible(GTK_WIDGET(self)), _("Guest screen"));

	/* Both libraries release on Ctrl+Alt (left keys) by default. */
	label = gtk_label_new(_("Press Ctrl+Alt to release the keyboard and mouse"));
	gtk_style_context_add_class(gtk_widget_get_style_context(label), "app-notification");
	gtk_widget_show(label);
	self->hint_revealer = g_object_ref_sink(gtk_revealer_new());
	gtk_revealer_set_transition_type(GTK_REVEALER(self->hint_revealer),
					 GTK_REVEALER_TRANSITION_TYPE_SLIDE_DOWN);
	gtk_widget_set_halign(self->hint_revealer, GTK_ALIGN_CENTER);
	gtk_widget_set_valign(self->hint_revealer, GTK_ALIGN_START);
	gtk_container_add(GTK_CONTAINER(self->hint_revealer), label);
	gtk_widget_show(self->hint_revealer);
	gtk_overlay_add_overlay(GTK_OVERLAY(self), self->hint_revealer);
	gtk_overlay_set_overlay_pass_through(GTK_OVERLAY(self), self->hint_revealer, TRUE);
}

GtkWidget *hangar_viewer_new(void)
{
	return g_object_new(HANGAR_TYPE_VIEWER, NULL);
}
