/* isa-debug-exit, compatible with QEMU's (hw/misc/debugexit.c behaviour):
 * test guests end the engine with an exit status of their choosing. */
#include "devices/platform/debug_exit.h"

typedef struct {
	HgDevice dev;
} DebugExit;

static void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	DebugExit *d = opaque;
	hg_machine_request(d->dev.machine, HG_GUEST_REQUEST_DEBUG_EXIT, (int)((value << 1) | 1),
			   "debug-exit port written");
}

static const HgIoOps debug_exit_ops = {.write = debug_exit_write};

static GVariant *debug_exit_save(HgDevice *dev)
{
	return g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0); /* no state */
}

static bool debug_exit_load(HgDevice *dev, GVariantDict *record, GError **error)
{
	return true;
}

const HgDeviceClass hg_debug_exit_class = {
	.name = "isa-debug-exit",
	.bus = "isa",
	.state_version = 1,
	.save = debug_exit_save,
	.load = debug_exit_load,
};

HgDevice *hg_debug_exit_create(HgMachine *m, const char *id, uint16_t port)
{
	DebugExit *d = g_new0(DebugExit, 1);
	hg_device_init(&d->dev, &hg_debug_exit_class, m, id);
	hg_address_space_register(&m->pio, port, 4, &debug_exit_ops, d, id);
	hg_machine_add_device(m, &d->dev);
	return &d->dev;
}
