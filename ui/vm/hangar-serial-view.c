/* The serial console view (hangar-serial-view.h).
 *
 * Escape sequences are stripped, not rendered: CSI (ESC [ ... final byte),
 * OSC (ESC ] ... BEL or ESC \) and two-byte ESC sequences vanish, so colours
 * and cursor movement are lost but the text reads clean.  "\r\n" and a lone
 * "\r" end a line, backspace takes back the character before it on the same
 * line, other control characters are dropped, and bytes that are not UTF-8
 * show as U+FFFD (a sequence split across two reads is joined first).
 *
 * Lines typed in the entry are sent with "\r", what a terminal's Enter key
 * sends and what serial consoles (getty, boot loaders, firmware) expect.
 *
 * Main thread only. */
#include "ui/vm/hangar-serial-view.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <string.h>

#define READ_SIZE 4096
/* Dropping old lines one at a time would touch the buffer on every read;
 * let a few hundred more gather and drop them together. */
#define TRIM_SLACK 500

typedef enum {
	ANSI_TEXT,
	ANSI_ESCAPE, /* after ESC */
	ANSI_CSI, /* after ESC [ : parameters until a final byte 0x40..0x7e */
	ANSI_OSC, /* after ESC ] : until BEL or ESC \ */
	ANSI_OSC_ESCAPE,
} AnsiState;

struct _HangarSerialView {
	GtkBox parent_instance;

	GtkWidget *scrolled, *text_view, *entry;
	GtkWidget *status_bar, *status_label, *reconnect_button;
	GtkTextBuffer *buffer;
	gboolean follow_end;
	GtkTextTag *note_tag;

	char *socket_path;
	GCancellable *cancellable; /* the connect and the reads of one connection */
	GSocketConnection *connection;
	GByteArray *write_queue;
	gboolean writing;

	AnsiState ansi;
	gboolean after_cr;
	GByteArray *partial_utf8; /* the start of a character split across reads */
};

G_DEFINE_TYPE(HangarSerialView, hangar_serial_view, GTK_TYPE_BOX)

enum { PROP_0, PROP_CONNECTED, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void serial_view_read_next(HangarSerialView *self);
static void serial_view_write_next(HangarSerialView *self);

/* status NULL: connected, nothing to say. */
static void serial_view_show_status(HangarSerialView *self, const char *status,
				    gboolean offer_reconnect)
{
	gtk_label_set_text(GTK_LABEL(self->status_label), status ? status : "");
	gtk_widget_set_visible(self->status_bar, status != NULL);
	gtk_widget_set_visible(self->reconnect_button, offer_reconnect && self->socket_path);
}

/* ---- text ---- */

/* Following the end: the view sticks to the last line until the user
 * scrolls up, and again once they scroll back down.  The text view lays out
 * lines in idles, so "at the end" is judged when the adjustment changes, not
 * when text is inserted. */
static gboolean adjustment_at_end(GtkAdjustment *adj)
{
	return gtk_adjustment_get_value(adj) + gtk_adjustment_get_page_size(adj) >=
	       gtk_adjustment_get_upper(adj) - 4.0;
}

static void serial_view_on_adjustment_value(GtkAdjustment *adj, HangarSerialView *self)
{
	self->follow_end = adjustment_at_end(adj);
}

static void serial_view_on_adjustment_changed(GtkAdjustment *adj, HangarSerialView *self)
{
	if (self->follow_end && !adjustment_at_end(adj))
		gtk_adjustment_set_value(adj, gtk_adjustment_get_upper(adj) -
						      gtk_adjustment_get_page_size(adj));
}

static void serial_view_trim(HangarSerialView *self)
{
	int lines = gtk_text_buffer_get_line_count(self->buffer);
	GtkTextIter start, cut;

	if (lines <= HANGAR_SERIAL_VIEW_MAX_LINES + TRIM_SLACK)
		return;
	gtk_text_buffer_get_start_iter(self->buffer, &start);
	gtk_text_buffer_get_iter_at_line(self->buffer, &cut, lines - HANGAR_SERIAL_VIEW_MAX_LINES);
	gtk_text_buffer_delete(self->buffer, &start, &cut);
}

static void serial_view_append(HangarSerialView *self, const char *text, gssize length,
			       GtkTextTag *tag)
{
	GtkTextIter end;

	gtk_text_buffer_get_end_iter(self->buffer, &end);
	if (tag)
		gtk_text_buffer_insert_with_tags(self->buffer, &end, text, (int)length, tag, NULL);
	else
		gtk_text_buffer_insert(self->buffer, &end, text, (int)length);
	serial_view_trim(self);
}

/* Backspace on text already in the buffer: the last character, unless it
 * ends a line. */
static void serial_view_erase_in_buffer(HangarSerialView *self)
{
	GtkTextIter end, before;

	gtk_text_buffer_get_end_iter(self->buffer, &end);
	before = end;
	if (gtk_text_iter_backward_char(&before) && gtk_text_iter_get_char(&before) != '\n')
		gtk_text_buffer_delete(self->buffer, &before, &end);
}

/* Takes back the last UTF-8 character of out, unless it ends a line;
 * FALSE when out holds nothing to take back. */
static gboolean erase_last_char(GByteArray *out)
{
	guint len = out->len;

	if (len == 0 || out->data[len - 1] == '\n')
		return len != 0;
	while (len > 0 && (out->data[len - 1] & 0xc0) == 0x80)
		len--;
	if (len > 0)
		len--;
	g_byte_array_set_size(out, len);
	return TRUE;
}

/* How many bytes at the end of data start a UTF-8 character that the next
 * read completes. */
static guint incomplete_utf8_tail(const guint8 *data, guint len)
{
	for (guint back = 1; back <= 3 && back <= len; back++) {
		guint8 c = data[len - back];
		guint need;

		if ((c & 0xc0) == 0x80)
			continue; /* a continuation byte: look further back */
		if ((c & 0xe0) == 0xc0)
			need = 2;
		else if ((c & 0xf0) == 0xe0)
			need = 3;
		else if ((c & 0xf8) == 0xf0)
			need = 4;
		else
			return 0;
		return back < need ? back : 0;
	}
	return 0;
}

static void serial_view_feed(HangarSerialView *self, const guint8 *data, gsize length)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autofree char *text = NULL;
	guint tail;

	if (self->partial_utf8->len) {
		g_byte_array_append(out, self->partial_utf8->data, self->partial_utf8->len);
		g_byte_array_set_size(self->partial_utf8, 0);
	}
	for (gsize i = 0; i < length; i++) {
		guint8 c = data[i];
		gboolean was_cr = self->after_cr;

		self->after_cr = FALSE;
		switch (self->ansi) {
		case ANSI_ESCAPE:
			self->ansi = c == '[' ? ANSI_CSI : c == ']' ? ANSI_OSC : ANSI_TEXT;
			continue;
		case ANSI_CSI:
			if (c >= 0x40 && c <= 0x7e)
				self->ansi = ANSI_TEXT;
			continue;
		case ANSI_OSC:
			if (c == 0x07)
				self->ansi = ANSI_TEXT;
			else if (c == 0x1b)
				self->ansi = ANSI_OSC_ESCAPE;
			continue;
		case ANSI_OSC_ESCAPE:
			self->ansi = c == '\\' ? ANSI_TEXT : ANSI_OSC;
			continue;
		case ANSI_TEXT:
			break;
		}
		switch (c) {
		case 0x1b:
			self->ansi = ANSI_ESCAPE;
			break;
		case '\r':
			g_byte_array_append(out, (const guint8 *)"\n", 1);
			self->after_cr = TRUE;
			break;
		case '\n':
			if (!was_cr)
				g_byte_array_append(out, &c, 1);
			break;
		case '\t':
			g_byte_array_append(out, &c, 1);
			break;
		case '\b':
			if (!erase_last_char(out))
				serial_view_erase_in_buffer(self);
			break;
		default:
			if (c >= 0x20 && c != 0x7f)
				g_byte_array_append(out, &c, 1);
			break;
		}
	}

	tail = incomplete_utf8_tail(out->data, out->len);
	if (tail) {
		g_byte_array_append(self->partial_utf8, out->data + out->len - tail, tail);
		g_byte_array_set_size(out, out->len - tail);
	}
	if (out->len == 0)
		return;
	text = g_utf8_make_valid((const char *)out->data, out->len);
	serial_view_append(self, text, -1, NULL);
}

/* ---- the connection ---- */

static void serial_view_close(HangarSerialView *self)
{
	gboolean was_connected = self->connection != NULL;

	if (self->cancellable) {
		g_cancellable_cancel(self->cancellable);
		g_clear_object(&self->cancellable);
	}
	if (self->connection) {
		g_io_stream_close(G_IO_STREAM(self->connection), NULL, NULL);
		g_clear_object(&self->connection);
	}
	g_byte_array_set_size(self->write_queue, 0);
	g_byte_array_set_size(self->partial_utf8, 0);
	self->writing = FALSE;
	self->ansi = ANSI_TEXT;
	self->after_cr = FALSE;
	gtk_widget_set_sensitive(self->entry, FALSE);
	if (was_connected)
		g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_CONNECTED]);
}

static void serial_view_on_read(GObject *source, GAsyncResult *result, gpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes =
		g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), result, &error);
	HangarSerialView *self;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* closed on purpose; the view may be gone */
	self = data;
	if (!bytes) {
		g_autofree char *status = g_strdup_printf(
			_("The serial console connection failed: %s"), error->message);
		serial_view_close(self);
		serial_view_show_status(self, status, TRUE);
		return;
	}
	if (g_bytes_get_size(bytes) == 0) {
		/* The engine ended, or another program holds the console (the
		 * engine serves one client and closes a second at once). */
		serial_view_close(self);
		serial_view_show_status(self,
					_("The serial console closed the connection. Another "
					  "program may be using it, or the machine stopped."),
					TRUE);
		return;
	}
	serial_view_feed(self, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
	serial_view_read_next(self);
}

static void serial_view_read_next(HangarSerialView *self)
{
	GInputStream *input = g_io_stream_get_input_stream(G_IO_STREAM(self->connection));

	g_input_stream_read_bytes_async(input, READ_SIZE, G_PRIORITY_DEFAULT, self->cancellable,
					serial_view_on_read, self);
}

static void serial_view_on_written(GObject *source, GAsyncResult *result, gpointer data)
{
	g_autoptr(GError) error = NULL;
	gsize written = 0;
	HangarSerialView *self;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, &written, &error) &&
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	self = data;
	self->writing = FALSE;
	if (error) {
		g_autofree char *status = g_strdup_printf(
			_("Could not send to the serial console: %s"), error->message);
		serial_view_close(self);
		serial_view_show_status(self, status, TRUE);
		return;
	}
	g_byte_array_remove_range(self->write_queue, 0, (guint)written);
	serial_view_write_next(self);
}

/* Writes what is queued; the queue's head stays put while it is written. */
static void serial_view_write_next(HangarSerialView *self)
{
	GOutputStream *output;

	if (self->writing || !self->connection || self->write_queue->len == 0)
		return;
	output = g_io_stream_get_output_stream(G_IO_STREAM(self->connection));
	self->writing = TRUE;
	g_output_stream_write_all_async(output, self->write_queue->data, self->write_queue->len,
					G_PRIORITY_DEFAULT, self->cancellable,
					serial_view_on_written, self);
}

static void serial_view_on_connected(GObject *source, GAsyncResult *result, gpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketConnection) connection =
		g_socket_client_connect_finish(G_SOCKET_CLIENT(source), result, &error);
	HangarSerialView *self;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	self = data;
	if (!connection) {
		g_autofree char *status =
			g_strdup_printf(_("Could not connect to the serial console (%s): %s"),
					self->socket_path, error->message);
		g_clear_object(&self->cancellable);
		serial_view_show_status(self, status, TRUE);
		return;
	}
	self->connection = g_steal_pointer(&connection);
	serial_view_show_status(self, NULL, FALSE);
	gtk_widget_set_sensitive(self->entry, TRUE);
	g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_CONNECTED]);
	serial_view_read_next(self);
	serial_view_write_next(self);
}

void hangar_serial_view_connect(HangarSerialView *self, const char *socket_path)
{
	g_autoptr(GSocketClient) client = NULL;
	g_autoptr(GSocketAddress) address = NULL;

	g_return_if_fail(HANGAR_IS_SERIAL_VIEW(self));
	g_return_if_fail(socket_path != NULL);

	serial_view_close(self);
	g_free(self->socket_path);
	self->socket_path = g_strdup(socket_path);
	serial_view_show_status(self, _("Connecting to the serial console…"), FALSE);

	client = g_socket_client_new();
	address = g_unix_socket_address_new(socket_path);
	self->cancellable = g_cancellable_new();
	g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(address), self->cancellable,
				      serial_view_on_connected, self);
}

void hangar_serial_view_disconnect(HangarSerialView *self, const char *reason)
{
	g_return_if_fail(HANGAR_IS_SERIAL_VIEW(self));

	serial_view_close(self);
	serial_view_show_status(self, reason, FALSE);
}

gboolean hangar_serial_view_is_connected(HangarSerialView *self)
{
	g_return_val_if_fail(HANGAR_IS_SERIAL_VIEW(self), FALSE);
	return self->connection != NULL;
}

void hangar_serial_view_add_note(HangarSerialView *self, const char *note)
{
	GtkTextIter end;
	g_autofree char *line = NULL;

	g_return_if_fail(HANGAR_IS_SERIAL_VIEW(self));

	/* On a line of its own: after whatever the guest left unfinished. */
	gtk_text_buffer_get_end_iter(self->buffer, &end);
	line = g_strdup_printf("%s── %s ──\n", gtk_text_iter_starts_line(&end) ? "" : "\n", note);
	serial_view_append(self, line, -1, self->note_tag);
}

void hangar_serial_view_clear(HangarSerialView *self)
{
	g_return_if_fail(HANGAR_IS_SERIAL_VIEW(self));
	gtk_text_buffer_set_text(self->buffer, "", 0);
}

char *hangar_serial_view_get_text(HangarSerialView *self)
{
	GtkTextIter start, end;

	g_return_val_if_fail(HANGAR_IS_SERIAL_VIEW(self), NULL);
	gtk_text_buffer_get_bounds(self->buffer, &start, &end);
	return gtk_text_buffer_get_text(self->buffer, &start, &end, FALSE);
}

void hangar_serial_view_send(HangarSerialView *self, const char *data, gsize length)
{
	g_return_if_fail(HANGAR_IS_SERIAL_VIEW(self));

	if (!self->connection)
		return;
	g_byte_array_append(self->write_queue, (const guint8 *)data, (guint)length);
	serial_view_write_next(self);
}

static void serial_view_on_entry_activate(GtkEntry *entry, HangarSerialView *self)
{
	const char *text = gtk_entry_get_text(entry);

	hangar_serial_view_send(self, text, strlen(text));
	hangar_serial_view_send(self, "\r", 1);
	gtk_entry_set_text(entry, "");
}

static void serial_view_on_reconnect(GtkButton *button, HangarSerialView *self)
{
	if (self->socket_path) {
		g_autofree char *path = g_strdup(self->socket_path);
		hangar_serial_view_connect(self, path);
	}
}

/* ---- the widget ---- */

static void hangar_serial_view_get_property(GObject *object, guint prop_id, GValue *value,
					    GParamSpec *pspec)
{
	HangarSerialView *self = HANGAR_SERIAL_VIEW(object);

	switch (prop_id) {
	case PROP_CONNECTED:
		g_value_set_boolean(value, self->connection != NULL);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
	}
}

static void hangar_serial_view_dispose(GObject *object)
{
	HangarSerialView *self = HANGAR_SERIAL_VIEW(object);

	if (self->cancellable) {
		g_cancellable_cancel(self->cancellable);
		g_clear_object(&self->cancellable);
	}
	if (self->connection) {
		g_io_stream_close(G_IO_STREAM(self->connection), NULL, NULL);
		g_clear_object(&self->connection);
	}
	G_OBJECT_CLASS(hangar_serial_view_parent_class)->dispose(object);
}

static void hangar_serial_view_finalize(GObject *object)
{
	HangarSerialView *self = HANGAR_SERIAL_VIEW(object);

	g_free(self->socket_path);
	g_byte_array_unref(self->write_queue);
	g_byte_array_unref(self->partial_utf8);
	G_OBJECT_CLASS(hangar_serial_view_parent_class)->finalize(object);
}

static void hangar_serial_view_class_init(HangarSerialViewClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->get_property = hangar_serial_view_get_property;
	object_class->dispose = hangar_serial_view_dispose;
	object_class->finalize = hangar_serial_view_finalize;

	properties[PROP_CONNECTED] = g_param_spec_boolean(
		"connected", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
	g_object_class_install_properties(object_class, N_PROPS, properties);
	gtk_widget_class_set_css_name(GTK_WIDGET_CLASS(klass), "hangar-serial-view");
}

static void hangar_serial_view_init(HangarSerialView *self)
{
	GtkAdjustment *vadjustment;

	self->follow_end = TRUE;
	self->write_queue = g_byte_array_new();
	self->partial_utf8 = g_byte_array_new();

	gtk_orientable_set_orientation(GTK_ORIENTABLE(self), GTK_ORIENTATION_VERTICAL);

	self->text_view = gtk_text_view_new();
	gtk_text_view_set_monospace(GTK_TEXT_VIEW(self->text_view), TRUE);
	gtk_text_view_set_editable(GTK_TEXT_VIEW(self->text_view), FALSE);
	gtk_text_view_set_cursor_visible(GTK_TEXT_VIEW(self->text_view), FALSE);
	gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(self->text_view), GTK_WRAP_CHAR);
	gtk_text_view_set_left_margin(GTK_TEXT_VIEW(self->text_view), 6);
	gtk_text_view_set_right_margin(GTK_TEXT_VIEW(self->text_view), 6);
	self->buffer = gtk_text_view_get_buffer(GTK_TEXT_VIEW(self->text_view));
	self->note_tag = gtk_text_buffer_create_tag(self->buffer, "hangar-note", "style",
						    PANGO_STYLE_ITALIC, "foreground", "gray", NULL);

	self->scrolled = gtk_scrolled_window_new(NULL, NULL);
	gtk_widget_set_vexpand(self->scrolled, TRUE);
	gtk_container_add(GTK_CONTAINER(self->scrolled), self->text_view);
	vadjustment = gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(self->scrolled));
	g_signal_connect_object(vadjustment, "value-changed",
				G_CALLBACK(serial_view_on_adjustment_value), self, 0);
	g_signal_connect_object(vadjustment, "changed",
				G_CALLBACK(serial_view_on_adjustment_changed), self, 0);
	gtk_container_add(GTK_CONTAINER(self), self->scrolled);

	self->status_bar = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
	gtk_widget_set_margin_start(self->status_bar, 6);
	gtk_widget_set_margin_end(self->status_bar, 6);
	self->status_label = gtk_label_new(NULL);
	gtk_label_set_xalign(GTK_LABEL(self->status_label), 0.0);
	gtk_label_set_line_wrap(GTK_LABEL(self->status_label), TRUE);
	gtk_label_set_selectable(GTK_LABEL(self->status_label), TRUE);
	gtk_widget_set_hexpand(self->status_label, TRUE);
	gtk_style_context_add_class(gtk_widget_get_style_context(self->status_label), "dim-label");
	self->reconnect_button = gtk_button_new_with_mnemonic(_("_Reconnect"));
	gtk_widget_set_valign(self->reconnect_button, GTK_ALIGN_CENTER);
	g_signal_connect(self->reconnect_button, "clicked", G_CALLBACK(serial_view_on_reconnect),
			 self);
	gtk_container_add(GTK_CONTAINER(self->status_bar), self->status_label);
	gtk_container_add(GTK_CONTAINER(self->status_bar), self->reconnect_button);
	gtk_container_add(GTK_CONTAINER(self), self->status_bar);

	self->entry = gtk_entry_new();
	gtk_entry_set_placeholder_text(GTK_ENTRY(self->entry),
				       _("Type a line for the serial console and press Enter"));
	gtk_widget_set_sensitive(self->entry, FALSE);
	g_signal_connect(self->entry, "activate", G_CALLBACK(serial_view_on_entry_activate), self);
	gtk_container_add(GTK_CONTAINER(self), self->entry);

	gtk_widget_show_all(GTK_WIDGET(self));
	gtk_widget_hide(self->status_bar);
}

GtkWidget *hangar_serial_view_new(void)
{
	return g_object_new(HANGAR_TYPE_SERIAL_VIEW, NULL);
}
