/* Running the hangarctl binary from the tests (hangarctl-test-util.h). */
#include "hangarctl-test-util.h"

#include <string.h>

char *library_root;

/* ---- running hangarctl ---- */

GSubprocess *ctl_spawnv(GSubprocessFlags flags, const char *const *args)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	GSubprocess *proc;

	g_ptr_array_add(argv, (char *)g_getenv("HANGARCTL"));
	g_ptr_array_add(argv, "--library");
	g_ptr_array_add(argv, library_root);
	for (; *args; args++)
		g_ptr_array_add(argv, (char *)*args);
	g_ptr_array_add(argv, NULL);
	proc = g_subprocess_newv((const char *const *)argv->pdata, flags, &error);
	g_assert_no_error(error);
	return proc;
}

int wait_status_to_exit(GSubprocess *proc)
{
	g_assert_true(g_subprocess_get_if_exited(proc));
	return g_subprocess_get_exit_status(proc);
}

/* Runs hangarctl with the arguments (NULL-terminated) and input on stdin;
 * returns its exit code and, when asked, its output. */
int ctl_run(const char *input, char **out, char **err, const char *first, ...)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *stdout_text = NULL, *stderr_text = NULL;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		g_ptr_array_add(args, (char *)a);
	va_end(ap);
	g_ptr_array_add(args, NULL);
	proc = ctl_spawnv(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
				  G_SUBPROCESS_FLAGS_STDERR_PIPE,
			  (const char *const *)args->pdata);
	g_subprocess_communicate_utf8(proc, input ? input : "", NULL, &stdout_text, &stderr_text,
				      &error);
	g_assert_no_error(error);
	g_test_message("hangarctl %s ... -> %d\nstdout: %s\nstderr: %s", first ? first : "",
		       wait_status_to_exit(proc), stdout_text, stderr_text);
	if (out)
		*out = g_steal_pointer(&stdout_text);
	if (err)
		*err = g_steal_pointer(&stderr_text);
	return wait_status_to_exit(proc);
}


/* stdout must be exactly one JSON object. */
JsonObject *parse_object(const char *text)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	JsonNode *root;

	json_parser_load_from_data(parser, text, -1, &error);
	g_assert_no_error(error);
	root = json_parser_get_root(parser);
	g_assert_nonnull(root);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
	return json_object_ref(json_node_get_object(root));
}

/* hangarctl --json ARGS...: the exit code, and the object it printed. */
int ctl_json(JsonObject **object, const char *first, ...)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *stdout_text = NULL, *stderr_text = NULL;
	va_list ap;

	g_ptr_array_add(args, "--json");
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		g_ptr_array_add(args, (char *)a);
	va_end(ap);
	g_ptr_array_add(args, NULL);
	proc = ctl_spawnv(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
				  G_SUBPROCESS_FLAGS_STDERR_PIPE,
			  (const char *const *)args->pdata);
	g_subprocess_communicate_utf8(proc, "", NULL, &stdout_text, &stderr_text, &error);
	g_assert_no_error(error);
	g_test_message("hangarctl --json %s ... -> %d\nstdout: %s\nstderr: %s", first,
		       wait_status_to_exit(proc), stdout_text, stderr_text);
	*object = parse_object(stdout_text);
	return wait_status_to_exit(proc);
}

/* An error object as the design says: {"error": {"code", "message"}}. */
void assert_json_error(JsonObject *object, const char *code)
{
	JsonObject *error;

	g_assert_true(json_object_has_member(object, "error"));
	error = json_object_get_object_member(object, "error");
	g_assert_cmpstr(json_object_get_string_member(error, "code"), ==, code);
	g_assert_cmpuint(strlen(json_object_get_string_member(error, "message")), >, 0);
}

char *vm_state(const char *vm)
{
	g_autoptr(JsonObject) info = NULL;

	g_assert_cmpint(ctl_json(&info, "info", vm, NULL), ==, 0);
	return g_strdup(json_object_get_string_member(info, "state"));
}

