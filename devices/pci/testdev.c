/* Hangar's PCI test device, in the spirit of QEMU's pci-testdev and edu: a
 * device with every kind of BAR and interrupt, whose registers make the
 * PCI core do things the tests then observe.  Never created for guests.
 *
 *   BAR0  4 KiB memory:  0x00 scratch (rw), 0x04 INTx level (write 0/1),
 *                        0x08 notify (write a vector: MSI-X, else MSI)
 *   BAR1  256 B I/O:     0x00 scratch (rw, 32-bit)
 *   BAR2  8 KiB 64-bit prefetchable memory: MSI-X table at 0 (4 vectors),
 *                        PBA at 0x1000
 *   MSI capability with 4 vectors, 64-bit addresses. */
#include "devices/pci/testdev.h"

#define TESTDEV_VECTORS 4
#define TESTDEV_PBA_OFFSET 0x1000

typedef struct {
	HgPciDevice pci;
	uint32_t mem_scratch;
	uint32_t io_scratch;
} PciTestdev;

static uint64_t testdev_mem_read(void *opaque, uint64_t offset, unsigned size)
{
	PciTestdev *t = opaque;
	if (offset == 0x00)
		return t->mem_scratch;
	if (offset == 0x04)
		return t->pci.intx_level;
	return 0;
}

static void testdev_mem_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	PciTestdev *t = opaque;
	if (offset == 0x00)
		t->mem_scratch = value;
	else if (offset == 0x04)
		hg_pci_set_intx(&t->pci, value & 1);
	else if (offset == 0x08)
		hg_pci_notify(&t->pci, (unsigned)value);
}

static uint64_t testdev_io_read(void *opaque, uint64_t offset, unsigned size)
{
	PciTestdev *t = opaque;
	return offset == 0 ? t->io_scratch : 0;
}

static void testdev_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	PciTestdev *t = opaque;
	if (offset == 0)
		t->io_scratch = value;
}

static uint64_t testdev_msix_read(void *opaque, uint64_t offset, unsigned size)
{
	PciTestdev *t = opaque;
	if (offset >= TESTDEV_PBA_OFFSET)
		return hg_msix_pba_read(&t->pci, offset - TESTDEV_PBA_OFFSET, size);
	return hg_msix_table_read(&t->pci, offset, size);
}

static void testdev_msix_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	PciTestdev *t = opaque;
	if (offset < TESTDEV_PBA_OFFSET)
		hg_msix_table_write(&t->pci, offset, size, value);
}

static const HgIoOps testdev_mem_ops = {.read = testdev_mem_read, .write = testdev_mem_write};
static const HgIoOps testdev_io_ops = {.read = testdev_io_read, .write = testdev_io_write};
static const HgIoOps testdev_msix_ops = {.read = testdev_msix_read, .write = testdev_msix_write};

static void testdev_reset(HgDevice *dev)
{
	PciTestdev *t = (PciTestdev *)dev;
	hg_pci_device_reset(&t->pci);
	t->mem_scratch = t->io_scratch = 0;
}

static GVariant *testdev_save(HgDevice *dev)
{
	PciTestdev *t = (PciTestdev *)dev;
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	hg_pci_device_save(&t->pci, &b);
	g_variant_builder_add(&b, "{sv}", "mem-scratch", g_variant_new_uint32(t->mem_scratch));
	g_variant_builder_add(&b, "{sv}", "io-scratch", g_variant_new_uint32(t->io_scratch));
	return g_variant_builder_end(&b);
}

static bool testdev_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	PciTestdev *t = (PciTestdev *)dev;
	return hg_pci_device_load(&t->pci, r, error) &&
	       hg_record_u32(r, "mem-scratch", &t->mem_scratch, error) &&
	       hg_record_u32(r, "io-scratch", &t->io_scratch, error);
}

static void testdev_destroy(HgDevice *dev)
{
	PciTestdev *t = (PciTestdev *)dev;
	hg_pci_device_finalize(&t->pci);
	g_free(t);
}

const HgDeviceClass hg_pci_testdev_class = {
	.name = "pci-testdev",
	.bus = "pci",
	.state_version = 1,
	.reset = testdev_reset,
	.save = testdev_save,
	.load = testdev_load,
	.destroy = testdev_destroy,
};

HgDevice *hg_pci_testdev_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, GError **error)
{
	PciTestdev *t = g_new0(PciTestdev, 1);

	/* 1234: the vendor ID QEMU's and Bochs' virtual devices use. */
	hg_pci_device_init(&t->pci, &hg_pci_testdev_class, m, "pci-testdev", 0x1234, 0x5a4e,
			   0xff0000, 0x01, 1);
	hg_pci_register_bar(&t->pci, 0, HG_PCI_BAR_MEM32, false, 0x1000, &testdev_mem_ops, t);
	hg_pci_register_bar(&t->pci, 1, HG_PCI_BAR_IO, false, 0x100, &testdev_io_ops, t);
	hg_pci_register_bar(&t->pci, 2, HG_PCI_BAR_MEM64, true, 0x2000, &testdev_msix_ops, t);
	hg_pci_add_msi(&t->pci, 2, true);
	hg_pci_add_msix(&t->pci, TESTDEV_VECTORS, 2, 0, 2, TESTDEV_PBA_OFFSET);
	if (!hg_pci_bus_plug(bus, &t->pci, devfn, error)) {
		testdev_destroy(&t->pci.dev);
		return NULL;
	}
	return &t->pci.dev;
}
