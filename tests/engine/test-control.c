/* The control socket protocol (docs/control-protocol.md), exercised against
 * an engine in harness mode (no KVM needed): replies, errors for every kind
 * of bad request, limits, and that the engine stays alive and answering. */
#include <errno.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"

typedef struct {
	HgTest *t;
	char *path;
	int fd;
	GString *pending; /* bytes read past the last line */
} Control;

static char *control_read_line(Control *c)
{
	return hg_test_read_line(c->fd, c->pending, 10000);
}

static JsonObject *parse_object(const char *line)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_assert_true(json_parser_load_from_data(p, line, -1, &error));
	g_assert_no_error(error);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)));
	return json_object_ref(json_node_get_object(json_parser_get_root(p)));
}

/* The next reply, skipping events. */
static JsonObject *control_reply(Control *c)
{
	for (;;) {
		g_autofree char *line = control_read_line(c);
		g_assert_nonnull(line);
		JsonObject *o = parse_object(line);
		if (!json_object_has_member(o, "event"))
			return o;
		json_object_unref(o);
	}
}

static void control_send_raw(Control *c, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(c->fd, p, len);
		g_assert_cmpint(n, >, 0);
		p += n;
		len -= n;
	}
}

static JsonObject *control_exchange(Control *c, const char *line)
{
	control_send_raw(c, line, strlen(line));
	control_send_raw(c, "\n", 1);
	return control_reply(c);
}

static Control *control_connect_to(HgTest *t, const char *path)
{
	Control *c = g_new0(Control, 1);
	c->t = t;
	c->path = g_strdup(path);
	c->fd = hg_test_connect_unix(path);
	c->pending = g_string_new(NULL);
	g_autofree char *greeting = control_read_line(c);
	g_assert_nonnull(greeting);
	g_autoptr(JsonObject) o = parse_object(greeting);
	g_assert_true(json_object_has_member(o, "greeting"));
	return c;
}

static Control *control_start(void)
{
	HgTest *t = hg_test_start("--control", "@DIR@/control.sock", NULL);
	g_autofree char *path = g_build_filename(hg_test_dir(t), "control.sock", NULL);
	return control_connect_to(t, path);
}

static void control_close(Control *c)
{
	close(c->fd);
	g_string_free(c->pending, TRUE);
	g_free(c->path);
	g_free(c);
}

static void control_finish(Control *c)
{
	HgTest *t = c->t;
	control_close(c);
	hg_test_quit(t);
}

static const char *error_class(JsonObject *reply)
{
	g_assert_true(json_object_has_member(reply, "error"));
	JsonObject *e = json_object_get_object_member(reply, "error");
	g_assert_nonnull(json_object_get_string_member(e, "desc"));
	return json_object_get_string_member(e, "class");
}

static void assert_alive(Control *c)
{
	g_autoptr(JsonObject) r = control_exchange(c, "{\"execute\":\"query-status\"}");
	g_assert_true(json_object_has_member(r, "return"));
}

static void test_greeting_and_query_status(void)
{
	Control *c = control_start();
	g_autoptr(JsonObject) r = control_exchange(c, "{\"id\":1,\"execute\":\"query-status\"}");
	g_assert_cmpint(json_object_get_int_member(r, "id"), ==, 1);
	JsonObject *ret = json_object_get_object_member(r, "return");
	g_assert_cmpstr(json_object_get_string_member(ret, "status"), ==, "paused");
	g_assert_false(json_object_get_boolean_member(ret, "running"));
	control_finish(c);
}

static void test_socket_is_private(void)
{
	Control *c = control_start();
	struct stat st;
	g_assert_cmpint(stat(c->path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	control_finish(c);
}

static void test_id_is_echoed_whatever_its_type(void)
{
	Control *c = control_start();
	g_autoptr(JsonObject) r1 =
		control_exchange(c, "{\"id\":\"abc\",\"execute\":\"query-version\"}");
	g_assert_cmpstr(json_object_get_string_member(r1, "id"), ==, "abc");
	g_autoptr(JsonObject) r2 =
		control_exchange(c, "{\"id\":{\"n\":[1,2]},\"execute\":\"no-such\"}");
	g_assert_true(JSON_NODE_HOLDS_OBJECT(json_object_get_member(r2, "id")));
	g_assert_cmpstr(error_class(r2), ==, "CommandNotFound");
	control_finish(c);
}

static void test_malformed_json_gets_an_error(void)
{
	Control *c = control_start();
	g_autoptr(JsonObject) r = control_exchange(c, "{\"execute\": \"query-status\"");
	g_assert_cmpstr(error_class(r), ==, "GenericError");
	assert_alive(c);
	control_finish(c);
}

static void test_non_object_requests_get_an_error(void)
{
	const char *bad[] = {"[1,2,3]", "42", "\"query-status\"", "null",
			     "{\"execute\":17}", "{\"id\":3}", "{\"execute\":\"stop\",\"x\":1}",
			     "{\"execute\":\"stop\",\"arguments\":[]}"};
	Control *c = control_start();
	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(JsonObject) r = control_exchange(c, bad[i]);
		g_assert_cmpstr(error_class(r), ==, "GenericError");
	}
	assert_alive(c);
	control_finish(c);
}

static void test_unknown_command_is_command_not_found(void)
{
	Control *c = control_start();
	g_autoptr(JsonObject) r = control_exchange(c, "{\"id\":7,\"execute\":\"fly\"}");
	g_assert_cmpstr(error_class(r), ==, "CommandNotFound");
	g_assert_cmpint(json_object_get_int_member(r, "id"), ==, 7);
	control_finish(c);
}

static void test_bad_arguments_are_refused(void)
{
	Control *c = control_start();
	g_autoptr(JsonObject) r1 =
		control_exchange(c, "{\"execute\":\"query-status\",\"arguments\":{\"x\":1}}");
	g_assert_cmpstr(error_class(r1), ==, "GenericError");
	g_autoptr(JsonObject) r2 = control_exchange(c, "{\"execute\":\"save-state\"}");
	g_assert_cmpstr(error_class(r2), ==, "GenericError");
	g_autoptr(JsonObject) r3 =
		control_exchange(c, "{\"execute\":\"save-state\",\"arguments\":{\"path\":5}}");
	g_assert_cmpstr(error_class(r3), ==, "GenericError");
	control_finish(c);
}

static void test_invalid_utf8_and_binary_garbage(void)
{
	Control *c = control_start();
	static const char garbage[] = "\xff\xfe\x00\x01{\"execute\":\"stop\"}\x80\x81";
	control_send_raw(c, garbage, sizeof(garbage) - 1);
	control_send_raw(c, "\n", 1);
	g_autoptr(JsonObject) r = control_reply(c);
	g_assert_cmpstr(error_class(r), ==, "GenericError");
	assert_alive(c);
	control_finish(c);
}

static void test_oversized_request_is_refused_and_skipped(void)
{
	Control *c = control_start();
	size_t len = 1 << 20;
	g_autofree char *big = g_malloc(len);
	memset(big, 'a', len);
	control_send_raw(c, "{\"execute\":\"", 12);
	control_send_raw(c, big, len);
	control_send_raw(c, "\"}\n", 3);
	g_autoptr(JsonObject) r = control_reply(c);
	g_assert_cmpstr(error_class(r), ==, "GenericError");
	/* The rest of the long line was skipped; the next request is read. */
	assert_alive(c);
	control_finish(c);
}

static void test_blank_lines_and_crlf_are_tolerated(void)
{
	Control *c = control_start();
	g_autoptr(JsonObject) r = control_exchange(c, "\n\r\n{\"execute\":\"query-status\"}\r");
	g_assert_true(json_object_has_member(r, "return"));
	control_finish(c);
}

static void test_split_writes_form_one_request(void)
{
	Control *c = control_start();
	const char *req = "{\"id\":9,\"execute\":\"query-status\"}\n";
	for (const char *p = req; *p; p++) {
		control_send_raw(c, p, 1);
		g_usleep(200);
	}
	g_autoptr(JsonObject) r = control_reply(c);
	g_assert_cmpint(json_object_get_int_member(r, "id"), ==, 9);
	control_finish(c);
}

static void test_a_client_that_does_not_read_blocks_nobody(void)
{
	Control *slow = control_start();
	Control *other = control_connect_to(slow->t, slow->path);
	/* Thousands of requests whose replies the slow client never reads. */
	GString *burst = g_string_new(NULL);
	for (int i = 0; i < 2000; i++)
		g_string_append(burst, "{\"execute\":\"query-version\"}\n");
	for (int round = 0; round < 20; round++) {
		ssize_t n = send(slow->fd, burst->str, burst->len, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			break;
	}
	g_string_free(burst, TRUE);
	assert_alive(other);
	control_close(other);
	control_finish(slow);
}

static void test_save_state_writes_a_restorable_machine(void)
{
	Control *c = control_start();
	g_autofree char *dir = g_build_filename(hg_test_dir(c->t), "saved", NULL);
	g_autofree char *req = g_strdup_printf(
		"{\"execute\":\"save-state\",\"arguments\":{\"path\":\"%s\"}}", dir);
	hg_test_writel(c->t, 0x1000, 0xfeedf00d);
	g_autoptr(JsonObject) r = control_exchange(c, req);
	g_assert_true(json_object_has_member(r, "return"));
	g_autofree char *state = g_build_filename(dir, "state", NULL);
	g_autofree char *ram = g_build_filename(dir, "ram", NULL);
	g_assert_true(g_file_test(state, G_FILE_TEST_IS_REGULAR));
	g_assert_true(g_file_test(ram, G_FILE_TEST_IS_REGULAR));

	HgTest *restored = hg_test_start("--restore", dir, NULL);
	g_assert_cmphex(hg_test_readl(restored, 0x1000), ==, 0xfeedf00d);
	hg_test_quit(restored);
	control_finish(c);
}

static void test_restore_of_garbage_state_fails_cleanly(void)
{
	g_autofree char *dir = g_dir_make_tmp("hangar-bad-state-XXXXXX", NULL);
	g_autofree char *state = g_build_filename(dir, "state", NULL);
	g_autofree char *ram = g_build_filename(dir, "ram", NULL);
	const char *engine = g_getenv("HANGAR_ENGINE");
	g_autofree char *sock = g_build_filename(dir, "h.sock", NULL);
	const char *argv[] = {engine, "--test-harness", sock, "--restore", dir, NULL};
	g_autofree char *err = NULL;
	int status;

	g_assert_true(g_file_set_contents(state, "\x01\x02garbage state\xff", -1, NULL));
	g_assert_true(g_file_set_contents(ram, "", 0, NULL));
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
				   &err, &status, NULL));
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 10);
	g_assert_nonnull(strstr(err, "cannot restore"));
	unlink(state);
	unlink(ram);
	rmdir(dir);
}

static void test_screendump_writes_a_png(void)
{
	Control *c = control_start();
	g_autofree char *png = g_build_filename(hg_test_dir(c->t), "screen.png", NULL);
	g_autofree char *req = g_strdup_printf(
		"{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"%s\"}}", png);
	g_autoptr(JsonObject) r = control_exchange(c, req);
	g_autofree char *data = NULL;
	gsize len;

	g_assert_true(json_object_has_member(r, "return"));
	g_assert_true(g_file_get_contents(png, &data, &len, NULL));
	g_assert_cmpuint(len, >, 33);
	g_assert_cmpmem(data, 8, "\x89PNG\r\n\x1a\n", 8);
	/* IHDR: width and height, big-endian, right after the chunk header. */
	g_assert_cmpmem(data + 12, 4, "IHDR", 4);
	g_assert_cmpuint(GUINT32_FROM_BE(*(uint32_t *)(data + 16)), ==, 640);
	g_assert_cmpuint(GUINT32_FROM_BE(*(uint32_t *)(data + 20)), ==, 480);
	g_autoptr(JsonObject) bad = control_exchange(
		c, "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"/nonexistent/x.png\"}}");
	g_assert_cmpstr(error_class(bad), ==, "GenericError");
	control_finish(c);
}

/* Send one request line with a file descriptor attached (SCM_RIGHTS). */
static JsonObject *control_exchange_with_fd(Control *c, const char *line, int fd)
{
	g_autofree char *text = g_strconcat(line, "\n", NULL);
	union {
		char space[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {text, strlen(text)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.space,
			     .msg_controllen = sizeof(control.space)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	g_assert_cmpint(sendmsg(c->fd, &msg, 0), ==, (ssize_t)strlen(text));
	return control_reply(c);
}

static void test_add_client_serves_a_passed_socket(void)
{
	HgTest *t = hg_test_start("--control", "@DIR@/control.sock", "--vnc", "@DIR@/vnc.sock",
				  NULL);
	g_autofree char *path = g_build_filename(hg_test_dir(t), "control.sock", NULL);
	Control *c = control_connect_to(t, path);
	int pair[2];
	char greeting[12];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
	g_autoptr(JsonObject) r = control_exchange_with_fd(
		c, "{\"execute\":\"add_client\",\"arguments\":{\"protocol\":\"vnc\"}}", pair[1]);
	close(pair[1]);
	g_assert_true(json_object_has_member(r, "return"));
	/* The engine now speaks RFB on the other end. */
	g_assert_cmpuint(hg_test_read_fd(pair[0], greeting, sizeof(greeting), 10000), ==, 12);
	g_assert_cmpmem(greeting, 4, "RFB ", 4);
	close(pair[0]);

	g_autoptr(JsonObject) no_fd = control_exchange(
		c, "{\"execute\":\"add_client\",\"arguments\":{\"protocol\":\"vnc\"}}");
	g_assert_cmpstr(error_class(no_fd), ==, "GenericError");
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
	g_autoptr(JsonObject) no_server = control_exchange_with_fd(
		c, "{\"execute\":\"add_client\",\"arguments\":{\"protocol\":\"spice\"}}",
		pair[1]);
	close(pair[1]);
	g_assert_cmpstr(error_class(no_server), ==, "GenericError");
	/* The engine closed its copy: the other end sees EOF. */
	char b;
	g_assert_cmpuint(hg_test_read_fd(pair[0], &b, 1, 10000), ==, 0);
	close(pair[0]);
	control_finish(c);
}

static void test_quit_replies_then_exits(void)
{
	Control *c = control_start();
	g_autoptr(JsonObject) r = control_exchange(c, "{\"id\":\"q\",\"execute\":\"quit\"}");
	g_assert_true(json_object_has_member(r, "return"));
	/* hg_test_quit finds the engine already gone with status 0. */
	control_finish(c);
}

static void test_too_many_clients_are_turned_away(void)
{
	Control *first = control_start();
	Control *extra[15];
	for (unsigned i = 0; i < G_N_ELEMENTS(extra); i++)
		extra[i] = control_connect_to(first->t, first->path);
	/* The 17th is closed at once without a greeting. */
	int fd = hg_test_connect_unix(first->path);
	char b;
	g_assert_cmpuint(hg_test_read_fd(fd, &b, 1, 5000), ==, 0);
	close(fd);
	for (unsigned i = 0; i < G_N_ELEMENTS(extra); i++)
		control_close(extra[i]);
	assert_alive(first);
	control_finish(first);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/control/greeting-then-query-status-says-paused",
			test_greeting_and_query_status);
	g_test_add_func("/control/socket-is-private-to-the-user", test_socket_is_private);
	g_test_add_func("/control/id-is-echoed-whatever-its-type",
			test_id_is_echoed_whatever_its_type);
	g_test_add_func("/control/malformed-json-gets-an-error", test_malformed_json_gets_an_error);
	g_test_add_func("/control/non-object-requests-get-an-error",
			test_non_object_requests_get_an_error);
	g_test_add_func("/control/unknown-command-is-command-not-found",
			test_unknown_command_is_command_not_found);
	g_test_add_func("/control/bad-arguments-are-refused", test_bad_arguments_are_refused);
	g_test_add_func("/control/invalid-utf8-and-binary-garbage",
			test_invalid_utf8_and_binary_garbage);
	g_test_add_func("/control/oversized-request-is-refused-and-skipped",
			test_oversized_request_is_refused_and_skipped);
	g_test_add_func("/control/blank-lines-and-crlf-are-tolerated",
			test_blank_lines_and_crlf_are_tolerated);
	g_test_add_func("/control/split-writes-form-one-request",
			test_split_writes_form_one_request);
	g_test_add_func("/control/a-client-that-does-not-read-blocks-nobody",
			test_a_client_that_does_not_read_blocks_nobody);
	g_test_add_func("/control/save-state-writes-a-restorable-machine",
			test_save_state_writes_a_restorable_machine);
	g_test_add_func("/control/restore-of-garbage-state-fails-cleanly",
			test_restore_of_garbage_state_fails_cleanly);
	g_test_add_func("/control/screendump-writes-a-png", test_screendump_writes_a_png);
	g_test_add_func("/control/add-client-serves-a-passed-socket",
			test_add_client_serves_a_passed_socket);
	g_test_add_func("/control/quit-replies-then-exits", test_quit_replies_then_exits);
	g_test_add_func("/control/too-many-clients-are-turned-away",
			test_too_many_clients_are_turned_away);
	return g_test_run();
}
