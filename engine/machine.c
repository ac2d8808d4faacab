#include "engine/machine.h"

#include <string.h>
#include <unistd.h>
#include <time.h>

#include "devices/device.h"
#include "engine/block_queue.h"
#include "engine/kvm.h"
#include "engine/vcpu.h"

HgMachine *hg_machine_new(bool harness_mode, uint64_t ram_size, const char *ram_file,
			  GError **error)
{
	HgMachine *m = g_new0(HgMachine, 1);
	bool ok;

	m->harness_mode = harness_mode;
	g_mutex_init(&m->device_lock);
	g_mutex_init(&m->run_lock);
	g_cond_init(&m->run_cond);
	m->run_state = HG_RUN_STATE_PAUSED;
	hg_address_space_init(&m->pio, "pio");
	hg_address_space_init(&m->mmio, "mmio");
	m->devices = g_ptr_array_new();
	m->timers = g_ptr_array_new();
	/* The clock starts at 0, frozen until the guest first runs. */
	m->clock_frozen = true;
	m->clock_frozen_at = 0;
	m->timer_fd = -1;
	m->memory.fd = -1;

	ok = ram_file ? hg_memory_init_from_file(&m->memory, ram_file, ram_size, error)
		      : hg_memory_init(&m->memory, ram_size, error);
	if (!ok) {
		hg_machine_free(m);
		return NULL;
	}
	if (!harness_mode) {
		m->kvm = hg_kvm_new(error);
		if (!m->kvm || !hg_kvm_map_ram(m->kvm, &m->memory, error)) {
			hg_machine_free(m);
			return NULL;
		}
	}
	return m;
}

void hg_machine_free(HgMachine *m)
{
	if (!m)
		return;
	if (m->n_vcpus)
		hg_vcpus_stop(m);
	for (unsigned i = 0; i < m->n_vcpus; i++)
		hg_vcpu_free(m->vcpus[i]);
	for (guint i = m->devices->len; i > 0; i--)
		hg_device_free(g_ptr_array_index(m->devices, i - 1));
	g_ptr_array_unref(m->devices);
	if (m->timer_watch)
		g_source_remove(m->timer_watch);
	if (m->timer_fd >= 0)
		close(m->timer_fd);
	g_ptr_array_unref(m->timers);
	hg_kvm_free(m->kvm);
	hg_memory_destroy(&m->memory);
	hg_address_space_destroy(&m->pio);
	hg_address_space_destroy(&m->mmio);
	g_free(m->failure_reason);
	g_mutex_clear(&m->device_lock);
	g_mutex_clear(&m->run_lock);
	g_cond_clear(&m->run_cond);
	g_free(m);
}

void hg_machine_add_device(HgMachine *m, HgDevice *dev)
{
	g_ptr_array_add(m->devices, dev);
}

HgDevice *hg_machine_find_device(HgMachine *m, const char *id)
{
	for (guint i = 0; i < m->devices->len; i++) {
		HgDevice *dev = g_ptr_array_index(m->devices, i);
		if (strcmp(dev->id, id) == 0)
			return dev;
	}
	return NULL;
}

void hg_machine_reset_devices(HgMachine *m)
{
	g_mutex_lock(&m->device_lock);
	hg_machine_drain_io(m);
	for (guint i = 0; i < m->devices->len; i++) {
		HgDevice *dev = g_ptr_array_index(m->devices, i);
		if (dev->klass->reset)
			dev->klass->reset(dev);
	}
	g_mutex_unlock(&m->device_lock);
}

void hg_irq_set_level(HgMachine *m, unsigned gsi, bool level)
{
	if (gsi >= HG_NUM_GSIS)
		return;
	if (m->irq_levels[gsi] == level)
		return;
	m->irq_levels[gsi] = level;
	if (m->kvm)
		hg_kvm_irq_line(m->kvm, gsi, level);
	if (m->irq_observer)
		m->irq_observer(m, gsi, level, m->irq_observer_data);
}

void hg_machine_send_msi(HgMachine *m, uint64_t address, uint32_t data)
{
	if (m->kvm)
		hg_kvm_signal_msi(m->kvm, address, data);
	if (m->msi_observer)
		m->msi_observer(m, address, data, m->irq_observer_data);
}

static gboolean machine_dispatch_request(gpointer data)
{
	HgMachine *m = data;
	if (m->on_guest_request)
		m->on_guest_request(m, m->on_guest_request_data);
	return G_SOURCE_REMOVE;
}

void hg_machine_request(HgMachine *m, HgGuestRequest request, int value, const char *reason)
{
	g_mutex_lock(&m->run_lock);
	/* The first request wins until the main thread has handled it. */
	if (m->guest_request == HG_GUEST_REQUEST_NONE) {
		m->guest_request = request;
		m->debug_exit_value = value;
		g_free(m->failure_reason);
		m->failure_reason = g_strdup(reason);
		g_idle_add(machine_dispatch_request, m);
	}
	g_mutex_unlock(&m->run_lock);
}
