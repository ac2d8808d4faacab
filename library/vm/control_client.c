/* A client of an engine's control socket (control_client.h,
 * docs/control-protocol.md).
 *
 * One non-blocking GSocket for both modes.  Output goes through a queue of
 * whole lines (a line that carries a descriptor sends it with its first
 * byte, SCM_RIGHTS on the same sendmsg); input is split into lines here, so
 * that the 16 MiB line limit is ours to enforce.  The engine answers
 * requests in order, so replies are matched against a FIFO of pending calls
 * by their increasing integer ids; a reply out of order, a line that is not
 * a JSON object, or one that is too long is a protocol error that closes the
 * client. */
#include "library/vm/control_client.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdmessage.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>
#include <unistd.h>

#define CONTROL_LINE_MAX (16u << 20)
#define READ_CHUNK 65536

G_DEFINE_QUARK(hg - control - error - quark, hg_control_error)

typedef struct {
	gint64 id;
	GTask *task; /* async calls; NULL for sync ones */
	JsonObject *result; /* sync calls: the reply, once done */
	GError *error;
	bool done;
} PendingCall;

typedef struct {
	GBytes *line;
	gsize offset;
	int fd; /* sent with the line's first byte; -1: none.  Owned. */
} OutMessage;

struct _HangarControlClient {
	GObject parent_instance;

	GSocketConnection *connection;
	GSocket *socket;
	bool async_mode;
	bool closed;
	bool greeted;
	char *engine_version;
	gint64 next_id;

	GByteArray *in;
	GQueue pending; /* of PendingCall *, oldest first */
	GQueue outgoing; /* of OutMessage * */
	GSource *in_source, *out_source;
	GMainContext *context; /* async mode: where the sources run */
	GTask *connect_task; /* async mode, until the greeting */
};

enum { SIGNAL_EVENT, SIGNAL_CLOSED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE(HangarControlClient, hangar_control_client, G_TYPE_OBJECT)

static void out_message_free(OutMessage *m)
{
	g_bytes_unref(m->line);
	if (m->fd >= 0)
		close(m->fd);
	g_free(m);
}

static void pending_call_free(PendingCall *call)
{
	g_clear_object(&call->task);
	if (call->result)
		json_object_unref(call->result);
	g_clear_error(&call->error);
	g_free(call);
}

static void client_stop_sources(HangarControlClient *self)
{
	if (self->in_source) {
		g_source_destroy(self->in_source);
		g_clear_pointer(&self->in_source, g_source_unref);
	}
	if (self->out_source) {
		g_source_destroy(self->out_source);
		g_clear_pointer(&self->out_source, g_source_unref);
	}
}

/* Ends the connection: every pending call fails with error (or
 * G_IO_ERROR_CLOSED), and, when emit is set, "closed" is emitted once. */
static void client_shut(HangarControlClient *self, const GError *error, bool emit)
{
	GQueue pending = G_QUEUE_INIT;
	PendingCall *call;

	if (self->closed)
		return;
	self->closed = true;
	g_object_ref(self);
	client_stop_sources(self);
	if (self->socket)
		g_socket_close(self->socket, NULL);
	g_queue_clear_full(&self->outgoing, (GDestroyNotify)out_message_free);
	/* Moved aside first: a callback may call into the client again. */
	pending = self->pending;
	g_queue_init(&self->pending);
	while ((call = g_queue_pop_head(&pending))) {
		GError *e = error ? g_error_copy(error)
				  : g_error_new(G_IO_ERROR, G_IO_ERROR_CLOSED,
						"the engine closed its control connection");
		if (call->task) {
			g_task_return_error(call->task, e);
			pending_call_free(call);
		} else {
			/* A sync caller owns its record and reads it. */
			call->error = e;
			call->done = true;
		}
	}
	if (self->connect_task) {
		GTask *task = g_steal_pointer(&self->connect_task);
		g_task_return_error(task, error ? g_error_copy(error)
						: g_error_new(G_IO_ERROR, G_IO_ERROR_CLOSED,
							      "the engine closed the connection "
							      "before its greeting"));
		g_object_unref(task);
	}
	if (emit)
		g_signal_emit(self, signals[SIGNAL_CLOSED], 0);
	g_object_unref(self);
}

static void client_protocol_error(HangarControlClient *self, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);

static void client_protocol_error(HangarControlClient *self, const char *fmt, ...)
{
	va_list args;
	g_autoptr(GError) error = NULL;

	va_start(args, fmt);
	g_autofree char *message = g_strdup_vprintf(fmt, args);
	va_end(args);
	error = g_error_new(HG_CONTROL_ERROR, HG_CONTROL_ERROR_PROTOCOL,
			    "the engine broke the control protocol: %s", message);
	client_shut(self, error, true);
}

/* ---- incoming lines ---- */

static void handle_greeting(HangarControlClient *self, JsonObject *greeting)
{
	JsonNode *version = json_object_get_member(greeting, "version");

	if (!version || !JSON_NODE_HOLDS_VALUE(version) ||
	    json_node_get_value_type(version) != G_TYPE_STRING) {
		client_protocol_error(self, "the greeting has no version");
		return;
	}
	self->engine_version = g_strdup(json_node_get_string(version));
	self->greeted = true;
	if (self->connect_task) {
		GTask *task = g_steal_pointer(&self->connect_task);
		g_task_return_pointer(task, g_object_ref(self), g_object_unref);
		g_object_unref(task);
	}
}

static void handle_event(HangarControlClient *self, JsonObject *msg)
{
	JsonNode *name = json_object_get_member(msg, "event");
	JsonNode *data = json_object_get_member(msg, "data");
	JsonNode *stamp = json_object_get_member(msg, "timestamp");
	g_autoptr(JsonObject) empty = NULL;
	gint64 timestamp_us = 0;

	if (!JSON_NODE_HOLDS_VALUE(name) || json_node_get_value_type(name) != G_TYPE_STRING) {
		client_protocol_error(self, "an event without a name");
		return;
	}
	if (stamp && JSON_NODE_HOLDS_OBJECT(stamp)) {
		JsonObject *t = json_node_get_object(stamp);
		timestamp_us =
			json_object_get_int_member_with_default(t, "seconds", 0) * G_USEC_PER_SEC +
			json_object_get_int_member_with_default(t, "microseconds", 0);
	}
	if (!data || !JSON_NODE_HOLDS_OBJECT(data))
		empty = json_object_new();
	g_signal_emit(self, signals[SIGNAL_EVENT], 0, json_node_get_string(name),
		      empty ? empty : json_node_get_object(data), timestamp_us);
}

static GError *reply_error(JsonObject *err)
{
	const char *class = json_object_get_string_member_with_default(err, "class", "");
	const char *desc = json_object_get_string_member_with_default(err, "desc", "");

	return g_error_new_literal(HG_CONTROL_ERROR,
				   strcmp(class, "CommandNotFound") == 0
					   ? HG_CONTROL_ERROR_COMMAND_NOT_FOUND
					   : HG_CONTROL_ERROR_GENERIC,
				   *desc ? desc : class);
}

static void handle_reply(HangarControlClient *self, JsonObject *msg)
{
	PendingCall *call = g_queue_peek_head(&self->pending);
	JsonNode *id = json_object_get_member(msg, "id");
	JsonNode *ret = json_object_get_member(msg, "return");
	JsonNode *err = json_object_get_member(msg, "error");

	if (!call) {
		client_protocol_error(self, "a reply nobody asked for");
		return;
	}
	if (!id || !JSON_NODE_HOLDS_VALUE(id) || json_node_get_value_type(id) != G_TYPE_INT64 ||
	    json_node_get_int(id) != call->id) {
		client_protocol_error(
			self, "a reply out of order (expected id %" G_GINT64_FORMAT ")", call->id);
		return;
	}
	if (!(ret && JSON_NODE_HOLDS_OBJECT(ret)) && !(err && JSON_NODE_HOLDS_OBJECT(err))) {
		client_protocol_error(self, "a reply with neither a return nor an error object");
		return;
	}
	g_queue_pop_head(&self->pending);
	if (call->task) {
		if (ret && JSON_NODE_HOLDS_OBJECT(ret))
			g_task_return_pointer(call->task,
					      json_object_ref(json_node_get_object(ret)),
					      (GDestroyNotify)json_object_unref);
		else
			g_task_return_error(call->task, reply_error(json_node_get_object(err)));
		pending_call_free(call);
		return;
	}
	if (ret && JSON_NODE_HOLDS_OBJECT(ret))
		call->result = json_object_ref(json_node_get_object(ret));
	else
		call->error = reply_error(json_node_get_object(err));
	call->done = true;
}

static void handle_line(HangarControlClient *self, const char *line, gsize length)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) error = NULL;
	JsonNode *root;
	JsonObject *msg;

	if (!json_parser_load_from_data(parser, line, length, &error)) {
		client_protocol_error(self, "a line that is not JSON (%s)", error->message);
		return;
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		client_protocol_error(self, "a line that is not a JSON object");
		return;
	}
	msg = json_node_get_object(root);
	if (!self->greeted) {
		JsonNode *greeting = json_object_get_member(msg, "greeting");
		if (!greeting || !JSON_NODE_HOLDS_OBJECT(greeting)) {
			client_protocol_error(self, "the first line is not a greeting");
			return;
		}
		handle_greeting(self, json_node_get_object(greeting));
	} else if (json_object_has_member(msg, "event")) {
		handle_event(self, msg);
	} else {
		handle_reply(self, msg);
	}
}

/* Handles every complete line in the buffer.  Returns false once the
 * client is closed. */
static bool process_input(HangarControlClient *self)
{
	gsize start = 0;

	g_object_ref(self);
	while (!self->closed) {
		guint8 *nl = memchr(self->in->data + start, '\n', self->in->len - start);
		gsize length;
		if (!nl)
			break;
		length = nl - (self->in->data + start);
		if (length && self->in->data[start + length - 1] == '\r')
			length--;
		if (length)
			handle_line(self, (const char *)self->in->data + start, length);
		start = nl - self->in->data + 1;
	}
	if (!self->closed) {
		g_byte_array_remove_range(self->in, 0, start);
		if (self->in->len > CONTROL_LINE_MAX)
			client_protocol_error(self, "a line longer than %u MiB",
					      CONTROL_LINE_MAX >> 20);
	}
	bool open = !self->closed;
	g_object_unref(self);
	return open;
}

/* One non-blocking read.  Returns false when the connection ended (closed
 * then), true otherwise (including "nothing yet"). */
static bool client_read(HangarControlClient *self, GCancellable *cancellable, GError **error)
{
	guint8 chunk[READ_CHUNK];
	g_autoptr(GError) local = NULL;
	gssize n;

	n = g_socket_receive(self->socket, (char *)chunk, sizeof(chunk), cancellable, &local);
	if (n < 0 && g_error_matches(local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
		return true;
	if (n < 0 && g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return true;
	}
	if (n <= 0) {
		client_shut(self, NULL, true);
		return false;
	}
	g_byte_array_append(self->in, chunk, n);
	return process_input(self);
}

/* ---- outgoing lines ---- */

/* Sends what it can without blocking.  Returns false on a send error (the
 * client is closed then). */
static bool client_flush(HangarControlClient *self)
{
	OutMessage *m;

	while ((m = g_queue_peek_head(&self->outgoing))) {
		gsize size;
		const guint8 *data = g_bytes_get_data(m->line, &size);
		GOutputVector vector = {data + m->offset, size - m->offset};
		g_autoptr(GSocketControlMessage) fds = NULL;
		GSocketControlMessage *messages[1];
		g_autoptr(GError) error = NULL;
		gssize n;

		if (m->fd >= 0 && m->offset == 0) {
			fds = g_unix_fd_message_new();
			if (!g_unix_fd_message_append_fd(G_UNIX_FD_MESSAGE(fds), m->fd, &error)) {
				client_shut(self, error, true);
				return false;
			}
			messages[0] = fds;
		}
		n = g_socket_send_message(self->socket, NULL, &vector, 1, fds ? messages : NULL,
					  fds ? 1 : 0, G_SOCKET_MSG_NONE, NULL, &error);
		if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
			return true;
		if (n < 0) {
			client_shut(self, error, true);
			return false;
		}
		m->offset += n;
		if (m->fd >= 0) {
			/* The descriptor went with the first byte. */
			close(m->fd);
			m->fd = -1;
		}
		if (m->offset == size)
			out_message_free(g_queue_pop_head(&self->outgoing));
	}
	return true;
}

static gboolean on_socket_writable(GSocket *socket, GIOCondition condition, gpointer data)
{
	HangarControlClient *self = data;

	if (client_flush(self) && !g_queue_is_empty(&self->outgoing))
		return G_SOURCE_CONTINUE;
	if (self->out_source) {
		/* Not destroyed: returning G_SOURCE_REMOVE does that. */
		g_clear_pointer(&self->out_source, g_source_unref);
	}
	return G_SOURCE_REMOVE;
}

static void client_schedule_flush(HangarControlClient *self)
{
	if (!client_flush(self) || g_queue_is_empty(&self->outgoing) || self->out_source)
		return;
	self->out_source = g_socket_create_source(self->socket, G_IO_OUT, NULL);
	g_source_set_callback(self->out_source, G_SOURCE_FUNC(on_socket_writable), self, NULL);
	g_source_attach(self->out_source, self->context);
}

static PendingCall *client_queue_request(HangarControlClient *self, const char *command,
					 JsonObject *arguments, int fd, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	OutMessage *m;
	PendingCall *call;
	gsize length;
	char *text;

	if (self->closed) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED,
			    "the control connection is closed");
		return NULL;
	}
	m = g_new0(OutMessage, 1);
	m->fd = -1;
	if (fd >= 0) {
		m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (m->fd < 0) {
			int saved = errno;
			g_free(m);
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
				    "cannot pass the descriptor: %s", g_strerror(saved));
			return NULL;
		}
	}
	call = g_new0(PendingCall, 1);
	call->id = ++self->next_id;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_int_value(b, call->id);
	json_builder_set_member_name(b, "execute");
	json_builder_add_string_value(b, command);
	if (arguments) {
		JsonNode *args = json_node_new(JSON_NODE_OBJECT);
		json_node_set_object(args, arguments);
		json_builder_set_member_name(b, "arguments");
		json_builder_add_value(b, args);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, &length);
	text = g_realloc(text, length + 2);
	text[length++] = '\n';
	text[length] = '\0';
	m->line = g_bytes_new_take(text, length);
	g_queue_push_tail(&self->outgoing, m);
	g_queue_push_tail(&self->pending, call);
	return call;
}

/* ---- GObject ---- */

static void hangar_control_client_dispose(GObject *object)
{
	HangarControlClient *self = HANGAR_CONTROL_CLIENT(object);

	client_shut(self, NULL, false);
	g_clear_object(&self->connection);
	g_clear_pointer(&self->context, g_main_context_unref);
	G_OBJECT_CLASS(hangar_control_client_parent_class)->dispose(object);
}

static void hangar_control_client_finalize(GObject *object)
{
	HangarControlClient *self = HANGAR_CONTROL_CLIENT(object);

	g_free(self->engine_version);
	g_byte_array_unref(self->in);
	G_OBJECT_CLASS(hangar_control_client_parent_class)->finalize(object);
}

static void hangar_control_client_class_init(HangarControlClientClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = hangar_control_client_dispose;
	object_class->finalize = hangar_control_client_finalize;
	signals[SIGNAL_EVENT] =
		g_signal_new("event", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			     NULL, G_TYPE_NONE, 3, G_TYPE_STRING, JSON_TYPE_OBJECT, G_TYPE_INT64);
	signals[SIGNAL_CLOSED] = g_signal_new("closed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
					      0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void hangar_control_client_init(HangarControlClient *self)
{
	self->in = g_byte_array_new();
	g_queue_init(&self->pending);
	g_queue_init(&self->outgoing);
}

static HangarControlClient *client_new(GSocketConnection *connection)
{
	HangarControlClient *self = g_object_new(HANGAR_TYPE_CONTROL_CLIENT, NULL);

	self->connection = g_object_ref(connection);
	self->socket = g_socket_connection_get_socket(connection);
	g_socket_set_blocking(self->socket, FALSE);
	return self;
}

static void prefix_connect_error(GError **error, const char *socket_path)
{
	g_prefix_error(error, "cannot connect to the engine at %s: ", socket_path);
}

/* ---- sync mode ---- */

/* Reads and dispatches until call is done (or, with call NULL, until the
 * greeting), the connection closes, or cancellable fires. */
static bool client_wait_sync(HangarControlClient *self, PendingCall *call,
			     GCancellable *cancellable, GError **error)
{
	while (call ? !call->done : !self->greeted) {
		GIOCondition cond;
		if (self->closed)
			return true;
		if (!client_flush(self))
			continue; /* closed: the loop ends above */
		cond = G_IO_IN | (g_queue_is_empty(&self->outgoing) ? 0 : G_IO_OUT);
		if (!g_socket_condition_wait(self->socket, cond, cancellable, error))
			return false;
		if (g_socket_condition_check(self->socket, G_IO_IN | G_IO_HUP | G_IO_ERR)) {
			g_autoptr(GError) local = NULL;
			client_read(self, cancellable, &local);
			if (local) {
				g_propagate_error(error, g_steal_pointer(&local));
				return false;
			}
		}
	}
	return true;
}

HangarControlClient *hangar_control_client_connect_sync(const char *socket_path,
							GCancellable *cancellable, GError **error)
{
	g_autoptr(GSocketClient) socket_client = g_socket_client_new();
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(socket_path);
	g_autoptr(GSocketConnection) connection = NULL;
	g_autoptr(HangarControlClient) self = NULL;

	connection = g_socket_client_connect(socket_client, G_SOCKET_CONNECTABLE(address),
					     cancellable, error);
	if (!connection) {
		prefix_connect_error(error, socket_path);
		return NULL;
	}
	self = client_new(connection);
	if (!client_wait_sync(self, NULL, cancellable, error))
		return NULL;
	if (!self->greeted) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED,
			    "the engine at %s closed the connection before its greeting "
			    "(too many clients?)",
			    socket_path);
		return NULL;
	}
	return g_steal_pointer(&self);
}

static JsonObject *execute_sync(HangarControlClient *self, const char *command,
				JsonObject *arguments, int fd, GCancellable *cancellable,
				GError **error)
{
	PendingCall *call;
	JsonObject *result;

	if (self->async_mode) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "this client was connected with connect_async: use execute_async");
		return NULL;
	}
	call = client_queue_request(self, command, arguments, fd, error);
	if (!call)
		return NULL;
	if (!client_wait_sync(self, call, cancellable, error)) {
		/* Cancelled mid-call: the reply would now be unmatched, so the
		 * connection cannot go on. */
		if (!call->done) {
			g_queue_remove(&self->pending, call);
			client_shut(self, NULL, true);
		}
		pending_call_free(call);
		return NULL;
	}
	if (call->error) {
		g_propagate_error(error, g_steal_pointer(&call->error));
		pending_call_free(call);
		return NULL;
	}
	result = g_steal_pointer(&call->result);
	pending_call_free(call);
	return result;
}

JsonObject *hangar_control_client_execute_sync(HangarControlClient *client, const char *command,
					       JsonObject *arguments, GCancellable *cancellable,
					       GError **error)
{
	g_return_val_if_fail(HANGAR_IS_CONTROL_CLIENT(client), NULL);
	return execute_sync(client, command, arguments, -1, cancellable, error);
}

static JsonObject *add_client_arguments(const char *protocol)
{
	JsonObject *args = json_object_new();
	json_object_set_string_member(args, "protocol", protocol);
	return args;
}

bool hangar_control_client_add_display_client_sync(HangarControlClient *client,
						   const char *protocol, int fd,
						   GCancellable *cancellable, GError **error)
{
	g_autoptr(JsonObject) args = add_client_arguments(protocol);
	g_autoptr(JsonObject) result = NULL;

	g_return_val_if_fail(HANGAR_IS_CONTROL_CLIENT(client), false);
	g_return_val_if_fail(fd >= 0, false);
	result = execute_sync(client, "add_client", args, fd, cancellable, error);
	return result != NULL;
}

/* ---- async mode ---- */

static gboolean on_socket_readable(GSocket *socket, GIOCondition condition, gpointer data)
{
	HangarControlClient *self = data;
	bool open;

	g_object_ref(self);
	open = client_read(self, NULL, NULL);
	g_object_unref(self);
	/* client_shut destroyed the source when the connection ended. */
	return open ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void on_connected(GObject *source, GAsyncResult *result, gpointer data)
{
	GTask *task = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketConnection) connection =
		g_socket_client_connect_finish(G_SOCKET_CLIENT(source), result, &error);
	HangarControlClient *self;

	if (!connection) {
		prefix_connect_error(&error, g_task_get_task_data(task));
		g_task_return_error(task, g_steal_pointer(&error));
		g_object_unref(task);
		return;
	}
	self = client_new(connection);
	self->async_mode = true;
	self->context = g_main_context_ref_thread_default();
	/* The client owns the task until the greeting completes it. */
	self->connect_task = task;
	self->in_source = g_socket_create_source(self->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(self->in_source, G_SOURCE_FUNC(on_socket_readable), self, NULL);
	g_source_attach(self->in_source, self->context);
	/* The task's result holds the reference from here; until then, the
	 * source's callback uses this one. */
	g_object_set_data_full(G_OBJECT(task), "client", self, g_object_unref);
}

void hangar_control_client_connect_async(const char *socket_path, GCancellable *cancellable,
					 GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GSocketClient) socket_client = g_socket_client_new();
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(socket_path);
	GTask *task = g_task_new(NULL, cancellable, callback, user_data);

	g_task_set_source_tag(task, hangar_control_client_connect_async);
	g_task_set_task_data(task, g_strdup(socket_path), g_free);
	g_socket_client_connect_async(socket_client, G_SOCKET_CONNECTABLE(address), cancellable,
				      on_connected, task);
}

HangarControlClient *hangar_control_client_connect_finish(GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

static void execute_async(HangarControlClient *self, const char *command, JsonObject *arguments,
			  int fd, GCancellable *cancellable, GAsyncReadyCallback callback,
			  gpointer user_data, gpointer source_tag)
{
	GTask *task = g_task_new(self, cancellable, callback, user_data);
	g_autoptr(GError) error = NULL;
	PendingCall *call;

	/* A cancelled call still gets its reply from the engine, which keeps
	 * the order; the task then reports the cancellation (GTask checks the
	 * cancellable when it returns). */
	g_task_set_source_tag(task, source_tag);
	if (!self->async_mode) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
					"this client was connected with connect_sync: use "
					"execute_sync");
		g_object_unref(task);
		return;
	}
	call = client_queue_request(self, command, arguments, fd, &error);
	if (!call) {
		g_task_return_error(task, g_steal_pointer(&error));
		g_object_unref(task);
		return;
	}
	call->task = task;
	client_schedule_flush(self);
}

void hangar_control_client_execute_async(HangarControlClient *client, const char *command,
					 JsonObject *arguments, GCancellable *cancellable,
					 GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(HANGAR_IS_CONTROL_CLIENT(client));
	execute_async(client, command, arguments, -1, cancellable, callback, user_data,
		      hangar_control_client_execute_async);
}

JsonObject *hangar_control_client_execute_finish(HangarControlClient *client, GAsyncResult *result,
						 GError **error)
{
	g_return_val_if_fail(g_task_is_valid(result, client), NULL);
	return g_task_propagate_pointer(G_TASK(result), error);
}

void hangar_control_client_add_display_client_async(HangarControlClient *client,
						    const char *protocol, int fd,
						    GCancellable *cancellable,
						    GAsyncReadyCallback callback,
						    gpointer user_data)
{
	g_autoptr(JsonObject) args = add_client_arguments(protocol);

	g_return_if_fail(HANGAR_IS_CONTROL_CLIENT(client));
	g_return_if_fail(fd >= 0);
	execute_async(client, "add_client", args, fd, cancellable, callback, user_data,
		      hangar_control_client_add_display_client_async);
}

bool hangar_control_client_add_display_client_finish(HangarControlClient *client,
						     GAsyncResult *result, GError **error)
{
	g_autoptr(JsonObject) ret = NULL;

	g_return_val_if_fail(g_task_is_valid(result, client), false);
	ret = g_task_propagate_pointer(G_TASK(result), error);
	return ret != NULL;
}

/* ---- both ---- */

const char *hangar_control_client_get_engine_version(HangarControlClient *client)
{
	g_return_val_if_fail(HANGAR_IS_CONTROL_CLIENT(client), NULL);
	return client->engine_version;
}

bool hangar_control_client_is_closed(HangarControlClient *client)
{
	g_return_val_if_fail(HANGAR_IS_CONTROL_CLIENT(client), true);
	return client->closed;
}

void hangar_control_client_close(HangarControlClient *client)
{
	g_return_if_fail(HANGAR_IS_CONTROL_CLIENT(client));
	/* Asked for, so no "closed": that signal means the engine went away. */
	client_shut(client, NULL, false);
}
