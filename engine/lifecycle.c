/* Run, pause, reset, save and quit.  All on the main thread; the vCPU
 * threads are only ever parked and released from here. */
#include <string.h>

#include "engine/boot.h"
#include "engine/control.h"
#include "engine/engine.h"
#include "engine/state.h"
#include "engine/vcpu.h"

static void engine_emit(HgEngine *e, const char *event, JsonNode *data)
{
	if (e->control)
		hg_control_emit(e->control, event, data);
	else if (data)
		json_node_unref(data);
}

static JsonNode *reason_node(const char *reason)
{
	JsonBuilder *b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "reason");
	json_builder_add_string_value(b, reason ? reason : "");
	json_builder_end_object(b);
	JsonNode *n = json_builder_get_root(b);
	g_object_unref(b);
	return n;
}

const char *hg_engine_status_name(HgEngine *e)
{
	if (e->quitting)
		return "shutdown";
	return e->machine->run_state == HG_RUN_STATE_RUNNING ? "running" : "paused";
}

void hg_engine_pause(HgEngine *e)
{
	HgMachine *m = e->machine;
	bool was_running = m->run_state == HG_RUN_STATE_RUNNING;

	hg_vcpus_pause(m);
	if (was_running)
		engine_emit(e, "STOP", NULL);
}

void hg_engine_resume(HgEngine *e)
{
	HgMachine *m = e->machine;

	if (m->run_state != HG_RUN_STATE_PAUSED || e->quitting || m->harness_mode)
		return;
	hg_vcpus_resume(m);
	engine_emit(e, "RESUME", NULL);
}

bool hg_engine_reset(HgEngine *e, GError **error)
{
	HgMachine *m = e->machine;
	bool was_running = m->run_state == HG_RUN_STATE_RUNNING;

	hg_vcpus_pause(m);
	/* Power-on state for every vCPU (APs back to waiting for INIT/SIPI),
	 * devices to their reset values, then the loader again. */
	for (unsigned i = 0; i < m->n_vcpus; i++)
		if (!hg_vcpu_load_state(m->vcpus[i], m->vcpus[i]->power_on_state, error))
			return false;
	hg_machine_reset_devices(m);
	if (m->kvm && !hg_boot_load(m, &e->config.boot, error))
		return false;
	engine_emit(e, "RESET", NULL);
	if (was_running)
		hg_vcpus_resume(m);
	return true;
}

void hg_engine_quit(HgEngine *e, int status, const char *reason)
{
	if (e->quitting)
		return;
	e->quitting = true;
	e->exit_status = status;
	e->exit_reason = g_strdup(reason ? reason : "");
	if (e->machine->n_vcpus)
		hg_vcpus_pause(e->machine);
	JsonBuilder *b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "reason");
	json_builder_add_string_value(b, reason ? reason : "");
	json_builder_set_member_name(b, "exit-status");
	json_builder_add_int_value(b, status);
	json_builder_end_object(b);
	engine_emit(e, "SHUTDOWN", json_builder_get_root(b));
	g_object_unref(b);
	g_main_loop_quit(e->loop);
}

bool hg_engine_save_state(HgEngine *e, const char *dir, GError **error)
{
	hg_engine_pause(e);
	return hg_state_save(e->machine, dir, error);
}

void hg_engine_handle_guest_request(HgMachine *m, void *data)
{
	HgEngine *e = data;
	HgGuestRequest request;
	int value;
	g_autofree char *reason = NULL;
	g_autoptr(GError) error = NULL;

	g_mutex_lock(&m->run_lock);
	request = m->guest_request;
	value = m->debug_exit_value;
	reason = g_strdup(m->failure_reason);
	m->guest_request = HG_GUEST_REQUEST_NONE;
	g_mutex_unlock(&m->run_lock);

	switch (request) {
	case HG_GUEST_REQUEST_NONE:
		return;
	case HG_GUEST_REQUEST_RESET:
		if (e->config.no_reboot) {
			hg_engine_quit(e, HG_EXIT_GUEST_RESET, reason);
			return;
		}
		engine_emit(e, "GUEST_RESET", reason_node(reason));
		if (!hg_engine_reset(e, &error)) {
			g_printerr("hangar-engine: reset failed: %s\n", error->message);
			hg_engine_quit(e, HG_EXIT_GUEST_FAILURE, error->message);
		}
		return;
	case HG_GUEST_REQUEST_POWEROFF:
		hg_engine_quit(e, HG_EXIT_OK, reason);
		return;
	case HG_GUEST_REQUEST_DEBUG_EXIT:
		hg_engine_quit(e, value, reason);
		return;
	case HG_GUEST_REQUEST_FAILURE:
		g_printerr("hangar-engine: %s\n", reason);
		hg_engine_quit(e, HG_EXIT_GUEST_FAILURE, reason);
		return;
	}
}

