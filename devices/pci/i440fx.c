/* i440FX PCI and memory controller (Intel 82441FX PMC datasheet, order
 * 290549): host bridge 8086:1237, configuration mechanism #1 (PCI 3.0,
 * 3.2.2.3.2: CONFIG_ADDRESS at 0xCF8 taken only by 32-bit accesses,
 * CONFIG_DATA at 0xCFC-0xCFF), and its registers firmware writes: PAM0-6
 * (0x59-0x5F, BIOS shadowing) and SMRAM (0x72).  PAM is stored but not yet
 * acted on: the BIOS area below 1 MiB is RAM (engine/boot.c), which is
 * what shadowing ends with. */
#include "devices/pci/i440fx.h"

#define CONFIG_ADDRESS 0xcf8
#define CONFIG_DATA 0xcfc
#define CONFIG_ADDRESS_ENABLE 0x80000000u

#define I440FX_PAM0 0x59
#define I440FX_PAM_COUNT 7
#define I440FX_SMRAM 0x72

typedef struct {
	HgPciDevice pci;
	HgPciBus *bus;
	uint32_t config_address;
} I440fx;

static uint64_t config_address_read(void *opaque, uint64_t offset, unsigned size)
{
	I440fx *h = opaque;
	return size == 4 ? h->config_address : ~0ull;
}

static void config_address_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	I440fx *h = opaque;
	if (size == 4)
		h->config_address = value & 0x80fffffc; /* reserved bits read 0 */
}

/* The function and register CONFIG_ADDRESS selects, or false when
 * disabled or not on bus 0 (nothing behind a bridge yet). */
static bool config_target(I440fx *h, uint64_t port_offset, uint8_t *devfn, unsigned *reg)
{
	uint32_t a = h->config_address;

	if (!(a & CONFIG_ADDRESS_ENABLE) || ((a >> 16) & 0xff) != 0)
		return false;
	*devfn = (a >> 8) & 0xff;
	*reg = (a & 0xfc) + port_offset;
	return true;
}

static uint64_t config_data_read(void *opaque, uint64_t offset, unsigned size)
{
	I440fx *h = opaque;
	uint8_t devfn;
	unsigned reg;

	if (offset + size > 4 || !config_target(h, offset, &devfn, &reg))
		return ~0ull;
	return hg_pci_bus_config_read(h->bus, devfn, reg, size);
}

static void config_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	I440fx *h = opaque;
	uint8_t devfn;
	unsigned reg;

	if (offset + size > 4 || !config_target(h, offset, &devfn, &reg))
		return;
	hg_pci_bus_config_write(h->bus, devfn, reg, size, value);
}

static const HgIoOps config_address_ops = {.read = config_address_read,
					   .write = config_address_write};
static const HgIoOps config_data_ops = {.read = config_data_read, .write = config_data_write};

static void i440fx_reset(HgDevice *dev)
{
	I440fx *h = (I440fx *)dev;
	hg_pci_device_reset(&h->pci);
	h->config_address = 0;
	for (unsigned i = 0; i < I440FX_PAM_COUNT; i++)
		h->pci.config[I440FX_PAM0 + i] = 0;
	h->pci.config[I440FX_SMRAM] = 0x02; /* C_BASE_SEG = 010b (fixed) */
}

static GVariant *i440fx_save(HgDevice *dev)
{
	I440fx *h = (I440fx *)dev;
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	hg_pci_device_save(&h->pci, &b);
	g_variant_builder_add(&b, "{sv}", "config-address",
			      g_variant_new_uint32(h->config_address));
	return g_variant_builder_end(&b);
}

static bool i440fx_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	I440fx *h = (I440fx *)dev;
	return hg_pci_device_load(&h->pci, r, error) &&
	       hg_record_u32(r, "config-address", &h->config_address, error);
}

static void i440fx_destroy(HgDevice *dev)
{
	I440fx *h = (I440fx *)dev;
	hg_pci_device_finalize(&h->pci);
	hg_pci_bus_free(h->bus);
	g_free(h);
}

const HgDeviceClass hg_i440fx_class = {
	.name = "i440fx-host-bridge",
	.bus = "pci",
	.state_version = 1,
	.reset = i440fx_reset,
	.save = i440fx_save,
	.load = i440fx_load,
	.destroy = i440fx_destroy,
};

HgDevice *hg_i440fx_create(HgMachine *m, const char *id, HgPciBus **bus_out, GError **error)
{
	I440fx *h = g_new0(I440fx, 1);

	hg_pci_device_init(&h->pci, &hg_i440fx_class, m, id, 0x8086, 0x1237, 0x060000, 0x02, 0);
	for (unsigned i = 0; i < I440FX_PAM_COUNT; i++)
		h->pci.wmask[I440FX_PAM0 + i] = 0x33; /* read/write enables, both halves */
	h->pci.wmask[I440FX_SMRAM] = 0x78; /* D_OPEN, D_CLS, D_LCK, G_SMRAME */
	h->bus = hg_pci_bus_new(m);
	i440fx_reset(&h->pci.dev);
	if (!hg_address_space_register(&m->pio, CONFIG_ADDRESS, 1, &config_address_ops, h, id) ||
	    !hg_address_space_register(&m->pio, CONFIG_DATA, 4, &config_data_ops, h, id) ||
	    !hg_pci_bus_plug(h->bus, &h->pci, HG_PCI_DEVFN(0, 0), error)) {
		if (error && !*error)
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
				    "PCI configuration ports 0xcf8/0xcfc are taken");
		return NULL;
	}
	*bus_out = h->bus;
	return &h->pci.dev;
}
