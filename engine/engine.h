/* One running engine: the machine, its platform devices, its boot
 * configuration and its lifecycle (run, pause, reset, save, quit), shared by
 * main.c, the control socket and the harness. */
#pragma once

#include <glib.h>

#include "engine/harness.h"
#include "engine/machine.h"
#include "engine/platform.h"

typedef struct HgControl HgControl;

typedef struct {
	HgMachineConfig config;
	HgMachine *machine;
	HgPlatform platform;
	HgControl *control;
	HgHarness *harness;
	struct HgSpice *spice; /* the SPICE server, or NULL */
	struct HgVnc *vnc; /* the VNC server, or NULL */
	GMainLoop *loop;
	int exit_status;
	char *exit_reason; /* hg_engine_quit's reason, for exit.json */
	bool quitting;
} HgEngine;

/* Lifecycle (main thread).  Each emits the matching control event. */
void hg_engine_pause(HgEngine *e);
void hg_engine_resume(HgEngine *e);
bool hg_engine_reset(HgEngine *e, GError **error);
/* Ends the main loop; the process exits with status. */
void hg_engine_quit(HgEngine *e, int status, const char *reason);
/* Pauses (if running) and writes the state; the VM stays paused. */
bool hg_engine_save_state(HgEngine *e, const char *dir, GError **error);
/* Handle what a vCPU asked for (installed as machine->on_guest_request). */
void hg_engine_handle_guest_request(HgMachine *m, void *engine);

const char *hg_engine_status_name(HgEngine *e);
