/* Running VMs: the engine process of each, its runtime folder and its
 * state.
 *
 * A running VM's files live in $XDG_RUNTIME_DIR/hangar/<vm-id>/ (0700):
 *   control.sock  the control protocol (docs/control-protocol.md)
 *   spice.sock    SPICE, vnc.sock VNC (the engine's defaults with --vm-id)
 *   serial.sock   COM1 (engine --serial unix:PATH,log=serial.log)
 *   serial.log    a copy of COM1's output (rotated to serial.log.old)
 *   engine.log    the engine's stdout and stderr
 *   exit.json     how the last run ended: {"status": N} or {"signal": N},
 *                 and "reason".  The engine writes it when it ends on its own
 *                 (with --vm-id), so a run nobody watched still has one;
 *                 hg_engine_watch writes it when the engine was killed.
 * Engines are started in their own session (setsid), so they outlive the
 * app or hangarctl that started them; anyone can reattach through
 * control.sock. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <stdbool.h>

#include "library/vm/vm_library.h"

typedef enum {
	HG_VM_STATE_STOPPED,
	HG_VM_STATE_RUNNING,
	HG_VM_STATE_PAUSED,
	HG_VM_STATE_CRASHED, /* stopped, and exit.json says it ended badly */
} HgVmState;

const char *hg_vm_state_to_string(HgVmState state); /* "stopped", "running", ... */

/* $XDG_RUNTIME_DIR/hangar/<vm-id> and a file in it (not created). */
char *hg_vm_runtime_dir(const char *vm_id);
char *hg_vm_runtime_file(const char *vm_id, const char *name);

/* Asks the engine over control.sock (a short blocking exchange, about a
 * millisecond; a stale socket with no listener reads as not running).
 * When not running: CRASHED if exit.json records a bad end, else STOPPED. */
HgVmState hg_vm_probe_state(const char *vm_id);

/* The engine binary: $HANGAR_ENGINE, else engine/hangar-engine in the build
 * tree beside this program (running uninstalled), else the installed one. */
char *hg_engine_path(void);

/* The engine's command line for this VM (argv[0] is the engine path).
 * Checks that disk images and firmware exist, naming any that does not.
 * Every drive with an image gets format= from vm.json, so the engine never
 * probes one; a disk whose file is not in its recorded format, or has no
 * recorded format (hg_engine_start records it first), is an
 * HG_VM_ERROR_INVALID error that says so. */
GStrv hg_engine_argv(const HgVmEntry *entry, GError **error);

/* Starts the VM's engine: disk formats recorded where vm.json has none
 * (hg_vm_entry_record_disk_formats: the caller's entry is not changed, so
 * reload it to see them), runtime folder made (stale sockets and exit.json
 * of an earlier run removed), engine.log truncated, engine spawned in its
 * own session, then waits until control.sock answers, the engine exits
 * (HG_VM_ERROR_ENGINE with the describe_exit text and the log's last lines)
 * or about 10 s pass.  Refused (HG_VM_ERROR_RUNNING) when it already runs.
 * With paused, the guest waits for cont.  Returns the process: wait on it
 * to supervise (hg_engine_watch records exit.json). */
GSubprocess *hg_engine_start(const HgVmEntry *entry, bool paused, GCancellable *cancellable,
			     GError **error);
/* The same, continuing a saved machine (a live snapshot's folder) instead
 * of booting: the engine's --restore. */
GSubprocess *hg_engine_start_restore(const HgVmEntry *entry, const char *restore_dir, bool paused,
				     GCancellable *cancellable, GError **error);
/* Records the process' end in exit.json when it exits, then calls back
 * (on the thread default main context) with the description. */
typedef void (*HgEngineExitFunc)(const char *vm_id, int wait_status, const char *reason,
				 gpointer user_data);
void hg_engine_watch(GSubprocess *engine, const char *vm_id, HgEngineExitFunc on_exit,
		     gpointer user_data);

/* Plain words for an engine's end, from docs/exit-codes.md: "powered off",
 * "killed by signal 9 (Killed)", "the guest hit an instruction KVM cannot
 * run (status 6)", ... */
char *hg_engine_describe_exit(int wait_status);
/* The last n lines of engine.log (NULL when there is none). */
char *hg_vm_log_tail(const char *vm_id, unsigned n_lines);
/* The last n lines the guest wrote to its serial port (serial.log, kept
 * by the engine; terminal escape codes removed), NULL when none. */
char *hg_vm_serial_tail(const char *vm_id, unsigned n_lines);
/* What exit.json says about the last run: TRUE and its reason when the
 * engine ended badly (not status 0). */
bool hg_vm_last_exit(const char *vm_id, int *wait_status, char **reason);
