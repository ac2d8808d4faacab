/* hangarctl: what the command files share (docs/hangarctl.md).
 *
 * Every command is a function that parses its own options (a GOptionContext
 * each, with the global options added so they work after the command name
 * too), does its work through libhangar_library, prints one result (human
 * text on stdout, or one JSON object with --json) and returns an exit code
 * from HgctlExit.  Errors go through hgctl_fail*, which print them the
 * way --json asks and return the exit code that goes with them. */
#pragma once

#include <glib.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

#include "library/vm/vm_library.h"
#include "library/vm/vm_runtime.h"

/* The exit codes scripts rely on; docs/hangarctl.md lists them. */
typedef enum {
	HGCTL_EXIT_OK = 0,
	HGCTL_EXIT_FAILED = 1, /* the operation failed: engine error, I/O, timeout */
	HGCTL_EXIT_USAGE = 2, /* bad command line */
	HGCTL_EXIT_NO_VM = 3, /* no such VM */
	HGCTL_EXIT_STATE = 4, /* not running, already running, running when it must be stopped */
	HGCTL_EXIT_BROKEN = 5, /* the VM folder cannot be loaded */
} HgctlExit;

/* The global options: set by main.c, before or after the command name. */
typedef struct {
	gboolean json;
	char *library_root; /* NULL: $HANGAR_LIBRARY, else $XDG_DATA_HOME/hangar */
} HgctlGlobals;

extern HgctlGlobals hgctl_globals;

typedef struct {
	const char *name;
	const char *parameters; /* e.g. "VM FILE.png", or ""; translated */
	const char *summary; /* one line for the command list; translated */
	const char *description; /* a paragraph under COMMAND --help; may be NULL */
	int (*run)(int argc, char **argv);
} HgctlCommand;

/* main.c */
/* A context for a command's options, with the global options added and the
 * command's help text set.  entries may be NULL. */
GOptionContext *hgctl_option_context_new(const HgctlCommand *command, const GOptionEntry *entries);
/* Parses argv; on a bad option prints the error (as --json asks) and
 * returns false.  Afterwards argv holds the command name and its
 * positional arguments. */
bool hgctl_parse_options(GOptionContext *context, const HgctlCommand *command, int *argc,
			 char ***argv);
/* Checks the positional argument count (argv[0] is the command name);
 * prints a usage error otherwise. */
bool hgctl_expect_arguments(const HgctlCommand *command, int argc, int min, int max);

/* output.c: results */
/* Prints the JSON object (steals it) on stdout with a newline. */
void hgctl_print_json(JsonObject *object);

/* output.c: errors.  Each prints the message (stderr, "hangarctl: ..."; or
 * {"error": {"code", "message"}} on stdout with --json) and returns the
 * exit code, so a command ends with "return hgctl_fail(...)". */
int hgctl_fail(HgctlExit exit_code, const char *code, const char *format, ...) G_GNUC_PRINTF(3, 4);
/* The exit code and error code that a library GError stands for. */
int hgctl_fail_error(const GError *error);
int hgctl_fail_usage(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* output.c: shared JSON and text pieces */
/* Everything info shows about a VM (config, state, runtime files, last
 * exit); create, start and friends print the same object. */
JsonObject *hgctl_vm_to_json(const HgVmEntry *entry, HgVmState state);
void hgctl_print_vm_human(const HgVmEntry *entry, HgVmState state);
/* exit.json of the VM's last run as an object, or NULL when there is none. */
JsonObject *hgctl_last_exit_json(const char *vm_id);
/* "stopped", "running", ... in the user's language. */
const char *hgctl_state_label(HgVmState state);
/* The VM's name for messages: its name, or its id when broken. */
const char *hgctl_vm_label(const HgVmEntry *entry);

/* commands_library.c helpers shared with the others */
/* Opens the library from --library / $HANGAR_LIBRARY / the default.  On
 * failure prints the error and returns NULL with *exit_code set. */
HgVmLibrary *hgctl_open_library(int *exit_code);
/* The VM named on the command line.  Unknown names exit 3, ambiguous ones
 * 2; with need_config, a broken folder exits 5.  On failure prints the
 * error and returns NULL with *exit_code set. */
HgVmEntry *hgctl_lookup_vm(HgVmLibrary *lib, const char *id_or_name, bool need_config,
			   int *exit_code);

/* commands_lifecycle.c: ends a running VM's engine at once (quit) and
 * waits until it is gone; on failure prints the error, sets *exit_code. */
bool hgctl_force_stop(const HgVmEntry *entry, int *exit_code);

/* The commands. */
int hgctl_cmd_list(int argc, char **argv);
int hgctl_cmd_create(int argc, char **argv);
int hgctl_cmd_info(int argc, char **argv);
int hgctl_cmd_rename(int argc, char **argv);
int hgctl_cmd_duplicate(int argc, char **argv);
int hgctl_cmd_delete(int argc, char **argv);
int hgctl_cmd_version(int argc, char **argv);
int hgctl_cmd_start(int argc, char **argv);
int hgctl_cmd_stop(int argc, char **argv);
int hgctl_cmd_pause(int argc, char **argv);
int hgctl_cmd_resume(int argc, char **argv);
int hgctl_cmd_reset(int argc, char **argv);
int hgctl_cmd_screenshot(int argc, char **argv);
int hgctl_cmd_console(int argc, char **argv);
int hgctl_cmd_snapshot_create(int argc, char **argv);
int hgctl_cmd_snapshot_list(int argc, char **argv);
int hgctl_cmd_snapshot_revert(int argc, char **argv);
int hgctl_cmd_snapshot_delete(int argc, char **argv);
int hgctl_cmd_snapshot_rename(int argc, char **argv);
int hgctl_cmd_clone(int argc, char **argv);
int hgctl_cmd_convert(int argc, char **argv);
int hgctl_cmd_import(int argc, char **argv);

/* The command table (main.c), for the commands' own --help. */
const HgctlCommand *hgctl_find_command(const char *name);
/* The command's parameters in the user's language ("" stays "": gettext
 * would answer "" with the catalog's header). */
const char *hgctl_command_parameters(const HgctlCommand *command);
