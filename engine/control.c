/* The control socket server (docs/control-protocol.md).  Plain fds on the
 * main loop rather than GIO streams, so that every limit is explicit: a
 * request line is at most CONTROL_LINE_MAX bytes (a longer one is answered
 * with an error and skipped to its newline), output to a client that does
 * not read is queued up to CONTROL_OUTPUT_MAX and then the client is
 * dropped; nothing a client sends can block the engine or grow its memory
 * without bound. */
#include "engine/control.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/pci/piix4_pm.h"
#include "devices/storage/ahci.h"
#include "display/console.h"
#include "display/servers.h"
#include "engine/snapshot.h"
#include "engine/state.h"

#define CONTROL_LINE_MAX (64u << 10)
#define CONTROL_OUTPUT_MAX (4u << 20)
#define CONTROL_MAX_CLIENTS 16
#define CONTROL_MAX_PENDING_FDS 8
#define CONTROL_PROTOCOL_VERSION 1

typedef struct {
	HgControl *control;
	int fd;
	guint in_watch;
	guint out_watch;
	GByteArray *in;
	GByteArray *out;
	bool discarding; /* skipping the rest of an oversized line */
	GArray *fds; /* passed with SCM_RIGHTS, waiting for add_client */
} ControlClient;

struct HgControl {
	HgEngine *engine;
	ControlClient *current; /* the client whose request runs now */
	int listen_fd;
	guint listen_watch;
	char *path;
	GPtrArray *clients;
};

typedef JsonNode *(*CommandHandler)(HgControl *c, JsonObject *args, GError **error);

typedef struct {
	const char *name;
	CommandHandler handler;
	const char *const *arguments; /* accepted argument names; NULL: none */
	bool required_first; /* the first listed argument must be present */
} ControlCommand;

/* Error classes, as QMP names them, so that QEMU users read them at once. */
#define CLASS_GENERIC "GenericError"
#define CLASS_NOT_FOUND "CommandNotFound"

static void client_free(ControlClient *cl);

static gboolean client_writable(int fd, GIOCondition cond, gpointer data);

static void client_flush(ControlClient *cl)
{
	while (cl->out->len) {
		ssize_t n = send(cl->fd, cl->out->data, cl->out->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		g_byte_array_remove_range(cl->out, 0, n);
	}
	if (cl->out->len && !cl->out_watch)
		cl->out_watch = g_unix_fd_add(cl->fd, G_IO_OUT, client_writable, cl);
}

static gboolean client_writable(int fd, GIOCondition cond, gpointer data)
{
	ControlClient *cl = data;
	cl->out_watch = 0;
	client_flush(cl);
	return G_SOURCE_REMOVE;
}

/* Queue one JSON object as a line; false if the client was dropped. */
static void client_send(ControlClient *cl, JsonNode *node)
{
	g_autofree char *text = json_to_string(node, FALSE);

	if (cl->out->len + strlen(text) + 1 > CONTROL_OUTPUT_MAX) {
		/* Not reading its replies: let it go rather than hold memory. */
		g_debug("control: dropping a client that does not read");
		shutdown(cl->fd, SHUT_RDWR);
		return;
	}
	g_byte_array_append(cl->out, (const guint8 *)text, strlen(text));
	g_byte_array_append(cl->out, (const guint8 *)"\n", 1);
	client_flush(cl);
}

static JsonNode *build_error_reply(JsonNode *id, const char *klass, const char *desc)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	if (id) {
		json_builder_set_member_name(b, "id");
		json_builder_add_value(b, json_node_copy(id));
	}
	json_builder_set_member_name(b, "error");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "class");
	json_builder_add_string_value(b, klass);
	json_builder_set_member_name(b, "desc");
	json_builder_add_string_value(b, desc);
	json_builder_end_object(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static JsonNode *empty_object(void)
{
	JsonNode *n = json_node_new(JSON_NODE_OBJECT);
	json_node_take_object(n, json_object_new());
	return n;
}

/* ---- commands ---- */

static JsonNode *cmd_query_status(HgControl *c, JsonObject *args, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "status");
	json_builder_add_string_value(b, hg_engine_status_name(c->engine));
	json_builder_set_member_name(b, "running");
	json_builder_add_boolean_value(b, c->engine->machine->run_state == HG_RUN_STATE_RUNNING);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static JsonNode *cmd_query_version(HgControl *c, JsonObject *args, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_string_value(b, HANGAR_VERSION);
	json_builder_set_member_name(b, "protocol");
	json_builder_add_int_value(b, CONTROL_PROTOCOL_VERSION);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static JsonNode *cmd_stop(HgControl *c, JsonObject *args, GError **error)
{
	hg_engine_pause(c->engine);
	return empty_object();
}

static JsonNode *cmd_cont(HgControl *c, JsonObject *args, GError **error)
{
	if (c->engine->machine->harness_mode) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "the test harness engine has no vCPU to run");
		return NULL;
	}
	hg_engine_resume(c->engine);
	return empty_object();
}

static JsonNode *cmd_system_reset(HgControl *c, JsonObject *args, GError **error)
{
	if (!hg_engine_reset(c->engine, error))
		return NULL;
	return empty_object();
}

static JsonNode *cmd_system_powerdown(HgControl *c, JsonObject *args, GError **error)
{
	HgEngine *e = c->engine;

	if (!e->platform.power_management) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "this machine has no power button");
		return NULL;
	}
	g_mutex_lock(&e->machine->device_lock);
	hg_piix4_pm_press_power_button(e->platform.power_management);
	g_mutex_unlock(&e->machine->device_lock);
	return empty_object();
}

static JsonNode *cmd_quit(HgControl *c, JsonObject *args, GError **error)
{
	hg_engine_quit(c->engine, HG_EXIT_OK, "quit command");
	return empty_object();
}

static JsonNode *cmd_save_state(HgControl *c, JsonObject *args, GError **error)
{
	JsonNode *path = json_object_get_member(args, "path");

	if (!JSON_NODE_HOLDS_VALUE(path) || json_node_get_value_type(path) != G_TYPE_STRING ||
	    !*json_node_get_string(path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"path\" must be a non-empty string");
		return NULL;
	}
	if (!hg_engine_save_state(c->engine, json_node_get_string(path), error))
		return NULL;
	return empty_object();
}

static JsonNode *cmd_screendump(HgControl *c, JsonObject *args, GError **error)
{
	JsonNode *path = json_object_get_member(args, "filename");

	if (!JSON_NODE_HOLDS_VALUE(path) || json_node_get_value_type(path) != G_TYPE_STRING ||
	    !*json_node_get_string(path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"filename\" must be a non-empty string");
		return NULL;
	}
	if (!hg_console_screendump(c->engine->platform.console, json_node_get_string(path),
				   error))
		return NULL;
	return empty_object();
}

/* A display client connected by the app itself: the socket comes with
 * the request (SCM_RIGHTS) and is served without authentication, since
 * only the control socket's owner can pass it. */
static JsonNode *cmd_add_client(HgControl *c, JsonObject *args, GError **error)
{
	const char *protocol = json_object_get_string_member_with_default(args, "protocol", "");
	ControlClient *cl = c->current;
	HgEngine *e = c->engine;
	int fd;
	bool ok;

	if (!cl || cl->fds->len == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "add_client needs a socket passed with the request (SCM_RIGHTS)");
		return NULL;
	}
	fd = g_array_index(cl->fds, int, 0);
	g_array_remove_index(cl->fds, 0);
	/* A running server means its module is loaded. */
	if (strcmp(protocol, "spice") == 0 && e->spice) {
		ok = hg_display_servers(NULL)->spice_add_client(e->spice, fd, error);
	} else if (strcmp(protocol, "vnc") == 0 && e->vnc) {
		ok = hg_display_servers(NULL)->vnc_add_client(e->vnc, fd, error);
	} else {
		close(fd);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"protocol\" must name a running display server: spice or vnc");
		return NULL;
	}
	return ok ? empty_object() : NULL;
}

static const char *const add_client_args[] = {"protocol", NULL};
static const char *const save_state_args[] = {"path", NULL};
static const char *const screendump_args[] = {"filename", NULL};

/* A string argument that must be there and not be empty. */
static const char *string_argument(JsonObject *args, const char *name, GError **error)
{
	JsonNode *n = json_object_get_member(args, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING ||
	    !*json_node_get_string(n)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"%s\" must be a non-empty string", name);
		return NULL;
	}
	return json_node_get_string(n);
}

static JsonNode *cmd_blockdev_change_medium(HgControl *c, JsonObject *args, GError **error)
{
	const char *id = string_argument(args, "id", error);
	const char *filename = id ? string_argument(args, "filename", error) : NULL;

	if (!filename || !hg_ahci_change_medium(c->engine->machine, id, filename, error))
		return NULL;
	return empty_object();
}

static JsonNode *cmd_eject(HgControl *c, JsonObject *args, GError **error)
{
	const char *id = string_argument(args, "id", error);
	JsonNode *force = json_object_get_member(args, "force");

	if (!id)
		return NULL;
	if (force && (!JSON_NODE_HOLDS_VALUE(force) ||
		      json_node_get_value_type(force) != G_TYPE_BOOLEAN)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"force\" must be true or false");
		return NULL;
	}
	if (!hg_ahci_eject(c->engine->machine, id, force && json_node_get_boolean(force), error))
		return NULL;
	return empty_object();
}

/* A live snapshot: disk snapshots named "disk-snapshot", state into "path". */
static JsonNode *cmd_snapshot_save(HgControl *c, JsonObject *args, GError **error)
{
	const char *path = string_argument(args, "path", error);
	const char *name = path ? string_argument(args, "disk-snapshot", error) : NULL;
	HgSnapshotReport report;

	if (!name)
		return NULL;
	if (!g_path_is_absolute(path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"path\" must be absolute");
		return NULL;
	}
	if (!hg_engine_snapshot(c->engine, path, name, &report, error))
		return NULL;
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "pause-us");
	json_builder_add_int_value(b, report.pause_us);
	json_builder_set_member_name(b, "disks");
	json_builder_add_int_value(b, report.disks);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static JsonNode *cmd_snapshot_delete_disks(HgControl *c, JsonObject *args, GError **error)
{
	const char *name = string_argument(args, "disk-snapshot", error);
	int deleted = name ? hg_engine_delete_disk_snapshot(c->engine, name, error) : -1;

	if (deleted < 0)
		return NULL;
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "deleted");
	json_builder_add_int_value(b, deleted);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static const char *const snapshot_save_args[] = {"path", "disk-snapshot", NULL};
static const char *const snapshot_delete_args[] = {"disk-snapshot", NULL};
static const char *const change_medium_args[] = {"id", "filename", NULL};
static const char *const eject_args[] = {"id", "force", NULL};

static const ControlCommand control_commands[] = {
	{"query-status", cmd_query_status, NULL, false},
	{"query-version", cmd_query_version, NULL, false},
	{"stop", cmd_stop, NULL, false},
	{"cont", cmd_cont, NULL, false},
	{"system_reset", cmd_system_reset, NULL, false},
	{"system_powerdown", cmd_system_powerdown, NULL, false},
	{"quit", cmd_quit, NULL, false},
	{"save-state", cmd_save_state, save_state_args, true},
	{"screendump", cmd_screendump, screendump_args, true},
	{"add_client", cmd_add_client, add_client_args, true},
	{"blockdev-change-medium", cmd_blockdev_change_medium, change_medium_args, true},
	{"eject", cmd_eject, eject_args, true},
	{"snapshot-save", cmd_snapshot_save, snapshot_save_args, true},
	{"snapshot-delete-disks", cmd_snapshot_delete_disks, snapshot_delete_args, true},
};

static const ControlCommand *find_command(const char *name)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(control_commands); i++)
		if (strcmp(control_commands[i].name, name) == 0)
			return &control_commands[i];
	return NULL;
}

static bool check_arguments(const ControlCommand *cmd, JsonObject *args, char **problem)
{
	g_autoptr(GList) members = json_object_get_members(args);

	for (GList *l = members; l; l = l->next) {
		bool known = false;
		for (const char *const *a = cmd->arguments; a && *a; a++)
			known |= strcmp(*a, l->data) == 0;
		if (!known) {
			*problem = g_strdup_printf("%s does not take an argument \"%s\"", cmd->name,
						   (const char *)l->data);
			return false;
		}
	}
	if (cmd->required_first && !json_object_has_member(args, cmd->arguments[0])) {
		*problem = g_strdup_printf("%s needs the argument \"%s\"", cmd->name,
					   cmd->arguments[0]);
		return false;
	}
	return true;
}

static bool request_members_known(JsonObject *req, char **problem)
{
	g_autoptr(GList) members = json_object_get_members(req);

	for (GList *l = members; l; l = l->next) {
		const char *k = l->data;
		if (strcmp(k, "id") && strcmp(k, "execute") && strcmp(k, "arguments")) {
			*problem = g_strdup_printf("unknown request member \"%s\"", k);
			return false;
		}
	}
	return true;
}

static JsonNode *control_execute_line(HgControl *c, const char *line, size_t len)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) error = NULL;
	JsonObject *req, *args;
	JsonNode *root, *id, *exec_node, *args_node, *result;
	const ControlCommand *cmd;
	g_autofree char *problem = NULL;

	if (!g_utf8_validate(line, len, NULL))
		return build_error_reply(NULL, CLASS_GENERIC, "request is not valid UTF-8");
	if (!json_parser_load_from_data(parser, line, len, &error)) {
		g_autofree char *desc = g_strdup_printf("malformed JSON: %s", error->message);
		return build_error_reply(NULL, CLASS_GENERIC, desc);
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return build_error_reply(NULL, CLASS_GENERIC, "a request must be a JSON object");
	req = json_node_get_object(root);
	id = json_object_get_member(req, "id");
	exec_node = json_object_get_member(req, "execute");
	if (!exec_node || !JSON_NODE_HOLDS_VALUE(exec_node) ||
	    json_node_get_value_type(exec_node) != G_TYPE_STRING)
		return build_error_reply(id, CLASS_GENERIC,
					 "a request needs \"execute\" with a command name");
	if (!request_members_known(req, &problem))
		return build_error_reply(id, CLASS_GENERIC, problem);
	cmd = find_command(json_node_get_string(exec_node));
	if (!cmd) {
		g_autofree char *desc = g_strdup_printf("the command %s has not been found",
							json_node_get_string(exec_node));
		return build_error_reply(id, CLASS_NOT_FOUND, desc);
	}
	args_node = json_object_get_member(req, "arguments");
	if (args_node && !JSON_NODE_HOLDS_OBJECT(args_node))
		return build_error_reply(id, CLASS_GENERIC, "\"arguments\" must be an object");
	g_autoptr(JsonObject) no_args = json_object_new();
	args = args_node ? json_node_get_object(args_node) : no_args;
	if (!check_arguments(cmd, args, &problem))
		return build_error_reply(id, CLASS_GENERIC, problem);

	result = cmd->handler(c, args, &error);
	if (!result)
		return build_error_reply(id, CLASS_GENERIC, error ? error->message : "failed");

	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	if (id) {
		json_builder_set_member_name(b, "id");
		json_builder_add_value(b, json_node_copy(id));
	}
	json_builder_set_member_name(b, "return");
	json_builder_add_value(b, result);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static void client_process_input(ControlClient *cl)
{
	for (;;) {
		guint8 *nl = memchr(cl->in->data, '\n', cl->in->len);
		if (!nl)
			break;
		size_t len = nl - cl->in->data;
		if (cl->discarding) {
			cl->discarding = false;
		} else {
			/* Tolerate CRLF and blank lines. */
			size_t n = len;
			if (n && cl->in->data[n - 1] == '\r')
				n--;
			if (n) {
				cl->control->current = cl;
				g_autoptr(JsonNode) reply = control_execute_line(
					cl->control, (const char *)cl->in->data, n);
				cl->control->current = NULL;
				client_send(cl, reply);
			}
		}
		g_byte_array_remove_range(cl->in, 0, len + 1);
	}
	if (cl->in->len > CONTROL_LINE_MAX) {
		if (!cl->discarding) {
			g_autoptr(JsonNode) reply = build_error_reply(
				NULL, CLASS_GENERIC, "request longer than 65536 bytes; ignored");
			client_send(cl, reply);
		}
		cl->discarding = true;
		g_byte_array_set_size(cl->in, 0);
	}
}

/* Take file descriptors sent with a request (SCM_RIGHTS), a few at most;
 * the rest are closed at once. */
static void client_take_fds(ControlClient *cl, struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++) {
			if (cl->fds->len < CONTROL_MAX_PENDING_FDS)
				g_array_append_val(cl->fds, fds[i]);
			else
				close(fds[i]);
		}
	}
}

static gboolean client_readable(int fd, GIOCondition cond, gpointer data)
{
	ControlClient *cl = data;
	guint8 buf[16384];
	union {
		char space[CMSG_SPACE(sizeof(int) * CONTROL_MAX_PENDING_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.space,
			     .msg_controllen = sizeof(control.space)};
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n >= 0)
		client_take_fds(cl, &msg);
	if (n <= 0) {
		cl->in_watch = 0;
		g_ptr_array_remove(cl->control->clients, cl); /* frees it */
		return G_SOURCE_REMOVE;
	}
	g_byte_array_append(cl->in, buf, n);
	client_process_input(cl);
	return G_SOURCE_CONTINUE;
}

static void client_free(ControlClient *cl)
{
	for (guint i = 0; i < cl->fds->len; i++)
		close(g_array_index(cl->fds, int, i));
	g_array_unref(cl->fds);
	if (cl->in_watch)
		g_source_remove(cl->in_watch);
	if (cl->out_watch)
		g_source_remove(cl->out_watch);
	close(cl->fd);
	g_byte_array_unref(cl->in);
	g_byte_array_unref(cl->out);
	g_free(cl);
}

static void client_send_greeting(ControlClient *cl)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "greeting");
	json_builder_add_value(b, cmd_query_version(cl->control, NULL, NULL));
	json_builder_end_object(b);
	g_autoptr(JsonNode) n = json_builder_get_root(b);
	client_send(cl, n);
}

static gboolean control_accept(int fd, GIOCondition cond, gpointer data)
{
	HgControl *c = data;
	int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	ControlClient *cl;

	if (client < 0)
		return G_SOURCE_CONTINUE;
	if (c->clients->len >= CONTROL_MAX_CLIENTS) {
		close(client);
		return G_SOURCE_CONTINUE;
	}
	cl = g_new0(ControlClient, 1);
	cl->control = c;
	cl->fd = client;
	cl->in = g_byte_array_new();
	cl->out = g_byte_array_new();
	cl->fds = g_array_new(FALSE, FALSE, sizeof(int));
	cl->in_watch = g_unix_fd_add(client, G_IO_IN | G_IO_HUP | G_IO_ERR, client_readable, cl);
	g_ptr_array_add(c->clients, cl);
	client_send_greeting(cl);
	return G_SOURCE_CONTINUE;
}

HgControl *hg_control_new(HgEngine *engine, const char *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	HgControl *c;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "control socket path too long: %s", path);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(path);
	/* Created 0600 from the start: no window where others could connect. */
	mode_t old_umask = umask(0177);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	umask(old_umask);
	if (!ok || listen(fd, 8) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot listen on %s: %s", path, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	c = g_new0(HgControl, 1);
	c->engine = engine;
	c->listen_fd = fd;
	c->path = g_strdup(path);
	c->clients = g_ptr_array_new_with_free_func((GDestroyNotify)client_free);
	c->listen_watch = g_unix_fd_add(fd, G_IO_IN, control_accept, c);
	return c;
}

void hg_control_free(HgControl *c)
{
	if (!c)
		return;
	/* Last words (the quit reply, SHUTDOWN) reach clients that read. */
	for (guint i = 0; i < c->clients->len; i++) {
		ControlClient *cl = g_ptr_array_index(c->clients, i);
		for (int tries = 0; cl->out->len && tries < 100; tries++) {
			client_flush(cl);
			if (cl->out->len)
				g_usleep(1000);
		}
	}
	g_ptr_array_unref(c->clients);
	g_source_remove(c->listen_watch);
	close(c->listen_fd);
	unlink(c->path);
	g_free(c->path);
	g_free(c);
}

void hg_control_emit(HgControl *c, const char *event, JsonNode *data)
{
	gint64 now = g_get_real_time();
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "event");
	json_builder_add_string_value(b, event);
	json_builder_set_member_name(b, "data");
	json_builder_add_value(b, data ? data : empty_object());
	json_builder_set_member_name(b, "timestamp");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "seconds");
	json_builder_add_int_value(b, now / G_USEC_PER_SEC);
	json_builder_set_member_name(b, "microseconds");
	json_builder_add_int_value(b, now % G_USEC_PER_SEC);
	json_builder_end_object(b);
	json_builder_end_object(b);
	g_autoptr(JsonNode) n = json_builder_get_root(b);
	for (guint i = 0; i < c->clients->len; i++)
		client_send(g_ptr_array_index(c->clients, i), n);
}
