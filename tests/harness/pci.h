/* PCI configuration space through the harness, with mechanism #1 (0xCF8 /
 * 0xCFC) as a guest does it; bus 0 only. */
#pragma once

#include <stdint.h>

#include "tests/harness/harness.h"

uint32_t hg_test_pci_readl(HgTest *t, uint8_t devfn, unsigned reg);
uint16_t hg_test_pci_readw(HgTest *t, uint8_t devfn, unsigned reg);
uint8_t hg_test_pci_readb(HgTest *t, uint8_t devfn, unsigned reg);
void hg_test_pci_writel(HgTest *t, uint8_t devfn, unsigned reg, uint32_t v);
void hg_test_pci_writew(HgTest *t, uint8_t devfn, unsigned reg, uint16_t v);
void hg_test_pci_writeb(HgTest *t, uint8_t devfn, unsigned reg, uint8_t v);
/* The offset of the first capability with this ID; fails the test if none. */
uint8_t hg_test_pci_find_capability(HgTest *t, uint8_t devfn, uint8_t id);
