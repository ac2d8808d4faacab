#include "tests/harness/pci.h"

static void select_register(HgTest *t, uint8_t devfn, unsigned reg)
{
	hg_test_outl(t, 0xcf8, 0x80000000u | (devfn << 8) | (reg & 0xfc));
}

uint32_t hg_test_pci_readl(HgTest *t, uint8_t devfn, unsigned reg)
{
	select_register(t, devfn, reg);
	return hg_test_inl(t, 0xcfc);
}

uint16_t hg_test_pci_readw(HgTest *t, uint8_t devfn, unsigned reg)
{
	select_register(t, devfn, reg);
	return hg_test_inw(t, 0xcfc + (reg & 2));
}

uint8_t hg_test_pci_readb(HgTest *t, uint8_t devfn, unsigned reg)
{
	select_register(t, devfn, reg);
	return hg_test_inb(t, 0xcfc + (reg & 3));
}

void hg_test_pci_writel(HgTest *t, uint8_t devfn, unsigned reg, uint32_t v)
{
	select_register(t, devfn, reg);
	hg_test_outl(t, 0xcfc, v);
}

void hg_test_pci_writew(HgTest *t, uint8_t devfn, unsigned reg, uint16_t v)
{
	select_register(t, devfn, reg);
	hg_test_outw(t, 0xcfc + (reg & 2), v);
}

void hg_test_pci_writeb(HgTest *t, uint8_t devfn, unsigned reg, uint8_t v)
{
	select_register(t, devfn, reg);
	hg_test_outb(t, 0xcfc + (reg & 3), v);
}

uint8_t hg_test_pci_find_capability(HgTest *t, uint8_t devfn, uint8_t id)
{
	unsigned hops = 0;

	for (uint8_t p = hg_test_pci_readb(t, devfn, 0x34); p && hops < 48;
	     p = hg_test_pci_readb(t, devfn, p + 1), hops++)
		if (hg_test_pci_readb(t, devfn, p) == id)
			return p;
	g_error("PCI %02x.%x has no capability 0x%02x", devfn >> 3, devfn & 7, id);
	return 0;
}
