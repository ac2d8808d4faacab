/* i8042 reset line (8042 command 0xFE, "pulse output port bit 0") and a
 * status register that says "nothing to read, ready for input", so that
 * reboot code which waits for the input buffer to drain proceeds.  Also the
 * port 0x92 "fast A20/reset" of the PS/2 system control port A, which Linux
 * and firmware use as another reset path. */
#include "devices/platform/i8042.h"

#define I8042_DATA 0x60
#define I8042_STATUS_COMMAND 0x64
#define SYSTEM_CONTROL_A 0x92

#define STATUS_SYSTEM_FLAG 0x04
#define COMMAND_PULSE_RESET 0xFE
#define SYSCTL_A_RESET 0x01
#define SYSCTL_A_A20 0x02

typedef struct {
	HgDevice dev;
	uint8_t system_control_a;
} I8042;

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0; /* no keyboard yet: nothing to read */
}

static uint64_t i8042_status_read(void *opaque, uint64_t offset, unsigned size)
{
	return STATUS_SYSTEM_FLAG; /* output buffer empty, input buffer empty */
}

static void i8042_command_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	I8042 *k = opaque;
	if ((value & 0xff) == COMMAND_PULSE_RESET)
		hg_machine_request(k->dev.machine, HG_GUEST_REQUEST_RESET, 0,
				   "keyboard controller reset");
}

static uint64_t sysctl_a_read(void *opaque, uint64_t offset, unsigned size)
{
	I8042 *k = opaque;
	return k->system_control_a;
}

static void sysctl_a_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	I8042 *k = opaque;
	/* A 0 -> 1 transition of bit 0 resets the machine. */
	bool reset = (value & SYSCTL_A_RESET) && !(k->system_control_a & SYSCTL_A_RESET);
	k->system_control_a = value & ~SYSCTL_A_RESET;
	if (reset)
		hg_machine_request(k->dev.machine, HG_GUEST_REQUEST_RESET, 0,
				   "system control port A reset");
}

static const HgIoOps i8042_data_ops = {.read = i8042_data_read};
static const HgIoOps i8042_command_ops = {.read = i8042_status_read,
					  .write = i8042_command_write};
static const HgIoOps sysctl_a_ops = {.read = sysctl_a_read, .write = sysctl_a_write};

static void i8042_reset(HgDevice *dev)
{
	I8042 *k = (I8042 *)dev;
	k->system_control_a = SYSCTL_A_A20; /* A20 on, as KVM's memory has no wrap */
}

static GVariant *i8042_save(HgDevice *dev)
{
	I8042 *k = (I8042 *)dev;
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "system-control-a",
			      g_variant_new_byte(k->system_control_a));
	return g_variant_builder_end(&b);
}

static bool i8042_load(HgDevice *dev, GVariantDict *record, GError **error)
{
	I8042 *k = (I8042 *)dev;
	return hg_record_u8(record, "system-control-a", &k->system_control_a, error);
}

const HgDeviceClass hg_i8042_class = {
	.name = "i8042",
	.bus = "isa",
	.state_version = 1,
	.reset = i8042_reset,
	.save = i8042_save,
	.load = i8042_load,
};

HgDevice *hg_i8042_create(HgMachine *m, const char *id)
{
	I8042 *k = g_new0(I8042, 1);
	hg_device_init(&k->dev, &hg_i8042_class, m, id);
	i8042_reset(&k->dev);
	/* 0x61 between them is KVM's in-kernel PIT speaker port. */
	hg_address_space_register(&m->pio, I8042_DATA, 1, &i8042_data_ops, k, id);
	hg_address_space_register(&m->pio, I8042_STATUS_COMMAND, 1, &i8042_command_ops, k, id);
	hg_address_space_register(&m->pio, SYSTEM_CONTROL_A, 1, &sysctl_a_ops, k, id);
	hg_machine_add_device(m, &k->dev);
	return &k->dev;
}
