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

const HgDeviceClass hg_debug_exit_class = {
	.name = "isa-debug-exit",
	.bus = "isa",
	.state_version = 1,
	.save = hg_device_save_nothing, /* no state */
	.load = hg_device_load_nothing,
};

HgDevice *hg_debug_exit_create(HgMachine *m, const char *id, uint16_t port)
{
	DebugExit *d = g_new0(DebugExit, 1);
	hg_device_init(&d->dev, &hg_debug_exit_class, m, id);
	hg_address_space_register(&m->pio, port, 4, &debug_exit_ops, d, id);
	hg_machine_add_device(m, &d->dev);
	return &d->dev;
}
