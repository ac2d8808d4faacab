/* Whole-machine save and restore (see state.h).  The state file is written
 * to a temporary name, synced and renamed, so a crash never leaves a state
 * directory that looks whole but is not. */
#include "engine/state.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/device.h"
#include "engine/block_queue.h"
#include "engine/kvm.h"
#include "engine/vcpu.h"

#define STATE_FILE_MAX (64u << 20)

static bool state_write_file(const char *path, GVariant *v, GError **error)
{
	g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
	gsize size = g_variant_get_size(v);
	g_autofree void *data = g_malloc(size);
	int fd;
	bool ok;

	g_variant_store(v, data);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create %s: %s",
			    tmp, g_strerror(errno));
		return false;
	}
	ok = write(fd, data, size) == (ssize_t)size && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot write %s: %s",
			    path, g_strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

bool hg_state_save(HgMachine *m, const char *dir, GError **error)
{
	g_autofree char *state_path = g_build_filename(dir, "state", NULL);
	g_autofree char *ram_path = g_build_filename(dir, "ram", NULL);
	GVariantBuilder b, vcpus, devices;

	if (g_mkdir_with_parents(dir, 0700) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create %s: %s",
			    dir, g_strerror(errno));
		return false;
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "format", g_variant_new_string(HG_STATE_FORMAT));
	g_variant_builder_add(&b, "{sv}", "version", g_variant_new_uint32(HG_STATE_VERSION));
	g_variant_builder_add(&b, "{sv}", "ram-size", g_variant_new_uint64(m->memory.size));
	g_variant_builder_add(&b, "{sv}", "harness", g_variant_new_boolean(m->harness_mode));
	g_variant_builder_add(&b, "{sv}", "clock-ns", g_variant_new_uint64(hg_clock_ns(m)));

	g_variant_builder_init(&vcpus, G_VARIANT_TYPE("aa{sv}"));
	for (unsigned i = 0; i < m->n_vcpus; i++) {
		GVariant *v = hg_vcpu_save_state(m->vcpus[i], error);
		if (!v) {
			g_variant_builder_clear(&vcpus);
			g_variant_builder_clear(&b);
			return false;
		}
		g_variant_builder_add_value(&vcpus, v);
	}
	g_variant_builder_add(&b, "{sv}", "vcpus", g_variant_builder_end(&vcpus));
	if (m->kvm) {
		GVariant *vm = hg_kvm_save_vm_state(m->kvm, error);
		if (!vm) {
			g_variant_builder_clear(&b);
			return false;
		}
		if (m->kvmclock_saved) {
			/* Paused: the guest's time is where it stopped, not
			 * where KVM's clock has run on to since. */
			GVariantDict d;
			g_autoptr(GVariant) measured = g_variant_ref_sink(vm);
			g_variant_dict_init(&d, measured);
			g_variant_dict_insert(&d, "kvmclock", "t", m->kvmclock_at_pause);
			vm = g_variant_dict_end(&d);
		}
		g_variant_builder_add(&b, "{sv}", "vm", vm);
	}

	g_variant_builder_init(&devices, G_VARIANT_TYPE_VARDICT);
	g_mutex_lock(&m->device_lock);
	/* No request may be half done in a saved record. */
	hg_machine_drain_io(m);
	for (guint i = 0; i < m->devices->len; i++) {
		HgDevice *dev = g_ptr_array_index(m->devices, i);
		g_autoptr(GVariant) record = hg_device_save(dev);
		g_variant_builder_add(&devices, "{sv}", dev->id, record);
	}
	g_mutex_unlock(&m->device_lock);
	g_variant_builder_add(&b, "{sv}", "devices", g_variant_builder_end(&devices));

	g_autoptr(GVariant) record = g_variant_ref_sink(g_variant_builder_end(&b));
	/* RAM first: the state file's arrival marks the directory complete. */
	return hg_memory_save(&m->memory, ram_path, error) &&
	       state_write_file(state_path, record, error);
}

static bool state_fail(GError **error, const char *dir, const char *why)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "saved state %s: %s", dir, why);
	return false;
}

bool hg_state_open(const char *dir, HgSavedState *saved, GError **error)
{
	g_autofree char *state_path = g_build_filename(dir, "state", NULL);
	g_autofree char *data = NULL;
	gsize len;
	const char *format = NULL;
	uint32_t version = 0;
	g_autoptr(GVariant) vcpus = NULL;

	memset(saved, 0, sizeof(*saved));
	if (!g_file_get_contents(state_path, &data, &len, error))
		return false;
	if (len > STATE_FILE_MAX)
		return state_fail(error, dir, "state file is implausibly large");
	GBytes *bytes = g_bytes_new_take(g_steal_pointer(&data), len);
	g_autoptr(GVariant) v = g_variant_new_from_bytes(G_VARIANT_TYPE_VARDICT, bytes, FALSE);
	g_bytes_unref(bytes);
	/* Untrusted bytes: normalise before use, so every later read is of a
	 * well-formed value. */
	saved->record = g_variant_ref_sink(g_variant_get_normal_form(v));
	g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT(saved->record);

	if (!g_variant_dict_lookup(&dict, "format", "&s", &format) ||
	    strcmp(format, HG_STATE_FORMAT) != 0)
		return state_fail(error, dir, "not a Hangar machine state");
	if (!g_variant_dict_lookup(&dict, "version", "u", &version) ||
	    version != HG_STATE_VERSION)
		return state_fail(error, dir, "state version not supported by this engine");
	if (!g_variant_dict_lookup(&dict, "ram-size", "t", &saved->ram_size) ||
	    !g_variant_dict_lookup(&dict, "harness", "b", &saved->harness_mode))
		return state_fail(error, dir, "RAM size or mode missing");
	vcpus = g_variant_dict_lookup_value(&dict, "vcpus", G_VARIANT_TYPE("aa{sv}"));
	if (!vcpus)
		return state_fail(error, dir, "vCPU records missing");
	saved->n_vcpus = g_variant_n_children(vcpus);
	if (saved->n_vcpus > HG_MAX_VCPUS || (!saved->harness_mode && saved->n_vcpus == 0))
		return state_fail(error, dir, "impossible vCPU count");
	saved->ram_path = g_build_filename(dir, "ram", NULL);
	return true;
}

void hg_saved_state_clear(HgSavedState *saved)
{
	if (saved->record)
		g_variant_unref(saved->record);
	g_free(saved->ram_path);
	memset(saved, 0, sizeof(*saved));
}

bool hg_state_load(HgMachine *m, HgSavedState *saved, GError **error)
{
	g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT(saved->record);
	g_autoptr(GVariant) vcpus = g_variant_dict_lookup_value(&dict, "vcpus", NULL);
	g_autoptr(GVariant) devices =
		g_variant_dict_lookup_value(&dict, "devices", G_VARIANT_TYPE_VARDICT);
	uint64_t clock_ns = 0;

	if (!devices)
		return state_fail(error, "", "device records missing");
	if (saved->n_vcpus != m->n_vcpus)
		return state_fail(error, "", "vCPU count differs from the configuration");
	if (m->kvm) {
		g_autoptr(GVariant) vm =
			g_variant_dict_lookup_value(&dict, "vm", G_VARIANT_TYPE_VARDICT);
		if (!vm)
			return state_fail(error, "", "VM record missing");
		if (!hg_kvm_load_vm_state(m->kvm, vm, error))
			return false;
	}
	for (unsigned i = 0; i < m->n_vcpus; i++) {
		g_autoptr(GVariant) v = g_variant_get_child_value(vcpus, i);
		if (!hg_vcpu_load_state(m->vcpus[i], v, error))
			return false;
	}
	/* The clock first: device timers were saved as machine-clock deadlines. */
	if (g_variant_dict_lookup(&dict, "clock-ns", "t", &clock_ns))
		hg_clock_set_ns(m, clock_ns);
	/* Every device in the machine must have a record, and every record a
	 * device: a mismatch means a different configuration. */
	if (g_variant_n_children(devices) != m->devices->len)
		return state_fail(error, "", "the saved machine has a different set of devices");
	g_mutex_lock(&m->device_lock);
	for (guint i = 0; i < m->devices->len; i++) {
		HgDevice *dev = g_ptr_array_index(m->devices, i);
		g_auto(GVariantDict) devs = G_VARIANT_DICT_INIT(devices);
		g_autoptr(GVariant) rec =
			g_variant_dict_lookup_value(&devs, dev->id, G_VARIANT_TYPE_VARDICT);
		if (!rec || !hg_device_load(dev, rec, error)) {
			g_mutex_unlock(&m->device_lock);
			if (!rec)
				return state_fail(error, "", "a device has no saved record");
			return false;
		}
	}
	g_mutex_unlock(&m->device_lock);
	return true;
}
