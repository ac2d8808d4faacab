/* The Bochs/QEMU debug console port: firmware logs byte by byte to it. */
#include "devices/platform/debugcon.h"

#define DEBUGCON_READBACK 0xE9

typedef struct {
	HgDevice dev;
	HgChardev *backend;
} Debugcon;

static uint64_t debugcon_read(void *opaque, uint64_t offset, unsigned size)
{
	return DEBUGCON_READBACK;
}

static void debugcon_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	Debugcon *d = opaque;
	uint8_t byte = value;
	hg_chardev_write(d->backend, &byte, 1);
}

static const HgIoOps debugcon_ops = {.read = debugcon_read, .write = debugcon_write};

const HgDeviceClass hg_debugcon_class = {
	.name = "debugcon",
	.bus = "isa",
	.state_version = 1,
	.save = hg_device_save_nothing, /* no state */
	.load = hg_device_load_nothing,
};

HgDevice *hg_debugcon_create(HgMachine *m, const char *id, uint16_t port, HgChardev *backend)
{
	Debugcon *d = g_new0(Debugcon, 1);
	hg_device_init(&d->dev, &hg_debugcon_class, m, id);
	d->backend = backend;
	hg_address_space_register(&m->pio, port, 1, &debugcon_ops, d, id);
	hg_machine_add_device(m, &d->dev);
	return &d->dev;
}
