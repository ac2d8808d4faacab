/* What the hangarctl tests share: running the real binary ($HANGARCTL) on
 * the test's library and reading what it prints. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_NO_VM 3
#define EXIT_STATE 4
#define EXIT_BROKEN 5

extern char *library_root; /* passed as --library; the test sets it */

GSubprocess *ctl_spawnv(GSubprocessFlags flags, const char *const *args);
int wait_status_to_exit(GSubprocess *proc);
/* Runs hangarctl with the arguments (NULL-terminated) and input on stdin;
 * returns its exit code and, when asked, its output. */
int ctl_run(const char *input, char **out, char **err, const char *first, ...)
	G_GNUC_NULL_TERMINATED;
#define ctl(...) ctl_run(NULL, NULL, NULL, __VA_ARGS__, NULL)
/* stdout must be exactly one JSON object. */
JsonObject *parse_object(const char *text);
/* hangarctl --json ARGS...: the exit code, and the object it printed. */
int ctl_json(JsonObject **object, const char *first, ...) G_GNUC_NULL_TERMINATED;
/* An error object as the design says: {"error": {"code", "message"}}. */
void assert_json_error(JsonObject *object, const char *code);
char *vm_state(const char *vm);
