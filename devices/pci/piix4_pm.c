/* PIIX4 power management, function 3 (Intel 82371AB PIIX4 datasheet, order
 * 290562: 7.0 function 3 configuration registers, 7.2 power management I/O
 * registers, 11.6 ACPI support) as the ACPI fixed hardware of the ACPI
 * specification (6.5: 4.8.3.1 PM1 event registers, 4.8.3.2 PM1 control,
 * 4.8.3.3 PM timer, 4.8.4.1 GPE blocks, 7.4.2 sleep states).
 * 8086:7113, class 0x068000, revision 0x03.
 *
 * Configuration space: PMBA (0x40, bits 15:6, bit 0 reads 1) places the
 * 64-byte PM I/O block, which is decoded while PMREGMISC.PMIOSE (0x80 bit 0)
 * is set.  DEVACTB (0x58) is stored; its APMC_EN (bit 25) is preset at
 * power-on, which tells SeaBIOS that SMM set-up is done, so it never waits
 * on an SMI handler that does not exist here.  SMBBA (0x90) and SMBHSTCFG
 * (0xD2) are stored, but there is no SMBus controller behind them: the host
 * enable bit (SMBHSTCFG bit 0) reads 0 whatever is written, and its ports
 * read as all ones, as unclaimed ports do.
 *
 * PM I/O block at PMBA:
 *   +0 PM1_STS  TMR_STS (set when PM_TMR bit 23 toggles), PWRBTN_STS, and
 *               the never-set BM/GBL/RTC/PWRBTNOR/WAK bits; write 1 to clear
 *   +2 PM1_EN   TMR_EN, GBL_EN, PWRBTN_EN, RTC_EN
 *   +4 PM1_CNT  SCI_EN reads 1 always (no SMM, so ACPI mode is fixed on and
 *               the FADT has no SMI_CMD); BM_RLD and SLP_TYP are stored;
 *               SLP_EN with SLP_TYP 0 (\_S5 in the DSDT is {0, 0}) powers
 *               the machine off; other sleep types are not supported
 *   +8 PM_TMR   24 bits at 3.579545 MHz, from the machine clock
 *   the rest of the block reads as zero (no processor control, no GPIO).
 * GPE0 block at 0xAFE0 (fixed, 4 bytes, where QEMU's PIIX4 puts it and the
 * FADT says): two status bytes (write 1 to clear) and two enable bytes.
 * Nothing raises a GPE yet.
 * APM ports 0xB2 (APMC) and 0xB3 (APMS): plain storage; no SMI.
 *
 * SCI is IRQ 9, level: (PM1_STS & PM1_EN) || (GPE0_STS & GPE0_EN).  The
 * timer's status is computed when looked at; while TMR_EN is set and
 * TMR_STS clear, a machine timer waits for the next bit-23 toggle to raise
 * the SCI on time.
 *
 * The power button (hg_piix4_pm_press_power_button) only sets PWRBTN_STS:
 * an ACPI operating system that enabled PWRBTN_EN sees the SCI and shuts
 * down through S5.  Without one, nothing happens, as on a PC without ACPI.
 *
 * Threads: port and configuration handlers run on vCPU threads (or the
 * harness), the timer and the power button on the main thread; always with
 * machine->device_lock held. */
#include "devices/pci/piix4_pm.h"

/* Configuration registers (datasheet 7.1). */
#define PM_PMBA 0x40
#define PM_PMBA_IO_SPACE 0x00000001u
#define PM_PMBA_BASE_MASK 0xffc0u
#define PM_DEVACTB 0x58
#define PM_DEVACTB_APMC_EN (1u << 25)
#define PM_PMREGMISC 0x80
#define PM_PMREGMISC_PMIOSE 0x01
#define PM_SMBBA 0x90
#define PM_SMBHSTCFG 0xd2
#define PM_STATUS 0x0280 /* fast back-to-back capable, medium DEVSEL */

/* The PM I/O block (datasheet 7.2; ACPI 4.8.3). */
#define PM_IO_SIZE 64
#define PM1_STS 0x00
#define PM1_EN 0x02
#define PM1_CNT 0x04
#define PM_TMR 0x08

#define PM1_TMR 0x0001 /* TMR_STS / TMR_EN */
#define PM1_BM_STS 0x0010
#define PM1_GBL 0x0020 /* GBL_STS / GBL_EN */
#define PM1_PWRBTN 0x0100 /* PWRBTN_STS / PWRBTN_EN */
#define PM1_RTC 0x0400 /* RTC_STS / RTC_EN */
#define PM1_PWRBTNOR_STS 0x0800
#define PM1_WAK_STS 0x8000
#define PM1_STS_BITS                                                                               \
	(PM1_TMR | PM1_BM_STS | PM1_GBL | PM1_PWRBTN | PM1_RTC | PM1_PWRBTNOR_STS | PM1_WAK_STS)
#define PM1_EN_BITS (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_RTC)

#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_BM_RLD 0x0002
#define PM1_CNT_SLP_TYP 0x1c00
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_EN 0x2000
#define PM1_CNT_STORED (PM1_CNT_BM_RLD | PM1_CNT_SLP_TYP)
/* The sleep type the DSDT's \_S5 names. */
#define PM_SLP_TYP_S5 0

#define PM_TIMER_HZ 3579545ull
#define PM_TIMER_BITS 24
#define PM_TIMER_STATUS_BIT 23
#define NS_PER_SECOND 1000000000ull

#define PM_SCI_IRQ 9

#define GPE0_BLOCK_PORT 0xafe0
#define GPE0_BLOCK_SIZE 4
#define APM_CONTROL_PORT 0xb2 /* APMC; APMS follows at 0xb3 */

typedef struct {
	HgPciDevice pci;
	HgTimer *timer; /* the next PM_TMR bit-23 toggle, while it matters */
	uint16_t pm1_sts;
	uint16_t pm1_en;
	uint16_t pm1_cnt; /* PM1_CNT_STORED bits only */
	uint64_t timer_seen; /* PM timer ticks when TMR_STS was last brought up to date */
	uint16_t gpe0_sts;
	uint16_t gpe0_en;
	uint8_t apm_control;
	uint8_t apm_status;
	bool pm_io_mapped;
	uint16_t pm_io_base; /* valid while mapped */
	bool sleep_type_logged;
} Piix4Pm;

/* PM timer ticks at a machine-clock time, and the first time at which the
 * count reaches ticks; split so that nothing overflows 64 bits. */
static uint64_t pm_timer_ticks_at(uint64_t ns)
{
	return ns / NS_PER_SECOND * PM_TIMER_HZ + ns % NS_PER_SECOND * PM_TIMER_HZ / NS_PER_SECOND;
}

static uint64_t pm_timer_ns_of(uint64_t ticks)
{
	return ticks / PM_TIMER_HZ * NS_PER_SECOND +
	       (ticks % PM_TIMER_HZ * NS_PER_SECOND + PM_TIMER_HZ - 1) / PM_TIMER_HZ;
}

static uint64_t pm_timer_now(Piix4Pm *pm)
{
	return pm_timer_ticks_at(hg_clock_ns(pm->pci.dev.machine));
}

/* TMR_STS is set by every toggle of bit 23 since it was last looked at. */
static void pm_timer_catch_up(Piix4Pm *pm)
{
	uint64_t now = pm_timer_now(pm);

	if (now >> PM_TIMER_STATUS_BIT != pm->timer_seen >> PM_TIMER_STATUS_BIT)
		pm->pm1_sts |= PM1_TMR;
	pm->timer_seen = now;
}

/* IRQ 9 is a shared level line: a PIRQ the guest routed there and asserted
 * keeps it high whatever the SCI does.  (The PCI core, for its part, sets
 * the line from its PIRQs alone, so the OS should not route PIRQs to IRQ 9;
 * the DSDT's link devices do not offer it.) */
static bool pm_pci_drives_sci_irq(Piix4Pm *pm)
{
	HgPciBus *bus = pm->pci.bus;

	for (unsigned p = 0; bus && p < 4; p++)
		if (bus->routed_irq[p] == PM_SCI_IRQ && bus->pirq_asserted[p])
			return true;
	return false;
}

/* Bring TMR_STS up to date, drive the SCI, and keep the timer armed for the
 * next toggle while that toggle would raise it. */
static void pm_update(Piix4Pm *pm)
{
	HgMachine *m = pm->pci.dev.machine;
	bool sci;

	pm_timer_catch_up(pm);
	sci = (pm->pm1_sts & pm->pm1_en & PM1_EN_BITS) || (pm->gpe0_sts & pm->gpe0_en);
	hg_irq_set_level(m, PM_SCI_IRQ, sci || pm_pci_drives_sci_irq(pm));
	if ((pm->pm1_en & PM1_TMR) && !(pm->pm1_sts & PM1_TMR)) {
		uint64_t toggle = ((pm->timer_seen >> PM_TIMER_STATUS_BIT) + 1)
				  << PM_TIMER_STATUS_BIT;
		uint64_t deadline = pm_timer_ns_of(toggle);
		if (!pm->timer->armed || pm->timer->deadline_ns != deadline)
			hg_timer_arm(pm->timer, deadline);
	} else {
		hg_timer_disarm(pm->timer);
	}
}

static void pm_timer_expired(void *opaque)
{
	pm_update(opaque);
}

static void pm_sleep(Piix4Pm *pm)
{
	unsigned type = (pm->pm1_cnt & PM1_CNT_SLP_TYP) >> PM1_CNT_SLP_TYP_SHIFT;

	if (type == PM_SLP_TYP_S5) {
		hg_machine_request(pm->pci.dev.machine, HG_GUEST_REQUEST_POWEROFF, 0, "ACPI S5");
		return;
	}
	if (!pm->sleep_type_logged) {
		g_message("%s: sleep type %u is not supported (only S5, type %u); ignored",
			  pm->pci.dev.id, type, PM_SLP_TYP_S5);
		pm->sleep_type_logged = true;
	}
}

/* ---- the PM I/O block ---- */

static uint16_t pm_register_read(Piix4Pm *pm, unsigned reg, uint64_t timer)
{
	switch (reg) {
	case PM1_STS:
		return pm->pm1_sts;
	case PM1_EN:
		return pm->pm1_en;
	case PM1_CNT:
		return pm->pm1_cnt | PM1_CNT_SCI_EN;
	case PM_TMR:
		return timer & 0xffff;
	case PM_TMR + 2:
		return (timer >> 16) & 0xff;
	}
	return 0;
}

static uint64_t pm_io_read(void *opaque, uint64_t offset, unsigned size)
{
	Piix4Pm *pm = opaque;
	uint64_t timer, value = 0;

	/* Reading the status is looking at the timer's carry. */
	if (offset < PM1_STS + 2)
		pm_update(pm);
	timer = pm_timer_now(pm) & ((1u << PM_TIMER_BITS) - 1);
	for (unsigned i = 0; i < size; i++) {
		unsigned o = offset + i;
		if (o >= PM_IO_SIZE)
			break;
		value |= (uint64_t)(pm_register_read(pm, o & ~1u, timer) >> 8 * (o & 1) & 0xff)
			 << 8 * i;
	}
	return value;
}

/* One byte lane of a 16-bit register; the byte with SLP_EN also holds
 * SLP_TYP, so byte-wise writes behave as word writes do. */
static void pm_io_write_byte(Piix4Pm *pm, unsigned offset, uint8_t byte)
{
	unsigned shift = 8 * (offset & 1);
	uint16_t bits = (uint16_t)(byte << shift);
	uint16_t lane = (uint16_t)(0xff << shift);

	switch (offset & ~1u) {
	case PM1_STS:
		pm->pm1_sts &= ~(bits & PM1_STS_BITS);
		break;
	case PM1_EN:
		pm->pm1_en = (pm->pm1_en & ~lane) | (bits & PM1_EN_BITS);
		break;
	case PM1_CNT:
		pm->pm1_cnt = (pm->pm1_cnt & ~lane) | (bits & PM1_CNT_STORED);
		if (bits & PM1_CNT_SLP_EN)
			pm_sleep(pm);
		break;
	}
}

static void pm_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	Piix4Pm *pm = opaque;

	/* A carry that happened before a write-1-to-clear is cleared by it. */
	pm_timer_catch_up(pm);
	for (unsigned i = 0; i < size && offset + i < PM_IO_SIZE; i++)
		pm_io_write_byte(pm, offset + i, value >> 8 * i);
	pm_update(pm);
}

static const HgIoOps pm_io_ops = {.read = pm_io_read, .write = pm_io_write};

/* Decode the block where PMBA says while PMIOSE is set.  A base of 0, or
 * one that overlaps another device, is not decoded. */
static void pm_io_update_mapping(Piix4Pm *pm)
{
	HgMachine *m = pm->pci.dev.machine;
	uint16_t base = hg_pci_get_long(&pm->pci, PM_PMBA) & PM_PMBA_BASE_MASK;
	bool enabled = (pm->pci.config[PM_PMREGMISC] & PM_PMREGMISC_PMIOSE) && base;

	if (pm->pm_io_mapped && (!enabled || base != pm->pm_io_base)) {
		hg_address_space_unregister(&m->pio, pm->pm_io_base);
		pm->pm_io_mapped = false;
	}
	if (enabled && !pm->pm_io_mapped) {
		if (hg_address_space_register(&m->pio, base, PM_IO_SIZE, &pm_io_ops, pm,
					      pm->pci.dev.id)) {
			pm->pm_io_mapped = true;
			pm->pm_io_base = base;
		} else {
			g_debug("%s: PM I/O block at 0x%x overlaps; not decoded", pm->pci.dev.id,
				base);
		}
	}
}

static void pm_config_written(HgPciDevice *pd, unsigned offset, unsigned size, uint32_t value)
{
	if ((offset < PM_PMBA + 4 && PM_PMBA < offset + size) ||
	    (offset <= PM_PMREGMISC && PM_PMREGMISC < offset + size))
		pm_io_update_mapping((Piix4Pm *)pd);
}

/* ---- GPE0 block and APM ports ---- */

static uint64_t gpe0_read(void *opaque, uint64_t offset, unsigned size)
{
	Piix4Pm *pm = opaque;
	uint32_t block = pm->gpe0_sts | (uint32_t)pm->gpe0_en << 16;
	uint64_t value = 0;

	for (unsigned i = 0; i < size && offset + i < GPE0_BLOCK_SIZE; i++)
		value |= (uint64_t)(block >> 8 * (offset + i) & 0xff) << 8 * i;
	return value;
}

static void gpe0_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	Piix4Pm *pm = opaque;

	for (unsigned i = 0; i < size && offset + i < GPE0_BLOCK_SIZE; i++) {
		unsigned o = offset + i;
		uint16_t bits = (uint16_t)((value >> 8 * i & 0xff) << 8 * (o & 1));
		uint16_t lane = (uint16_t)(0xff << 8 * (o & 1));
		if (o < 2)
			pm->gpe0_sts &= ~bits;
		else
			pm->gpe0_en = (pm->gpe0_en & ~lane) | bits;
	}
	pm_update(pm);
}

static uint64_t apm_read(void *opaque, uint64_t offset, unsigned size)
{
	Piix4Pm *pm = opaque;
	uint64_t value = 0;

	for (unsigned i = 0; i < size && offset + i < 2; i++)
		value |= (uint64_t)(offset + i ? pm->apm_status : pm->apm_control) << 8 * i;
	return value;
}

static void apm_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	Piix4Pm *pm = opaque;

	for (unsigned i = 0; i < size && offset + i < 2; i++) {
		if (offset + i)
			pm->apm_status = value >> 8 * i;
		else
			pm->apm_control = value >> 8 * i;
	}
}

static const HgIoOps gpe0_ops = {.read = gpe0_read, .write = gpe0_write};
static const HgIoOps apm_ops = {.read = apm_read, .write = apm_write};

void hg_piix4_pm_press_power_button(HgDevice *dev)
{
	Piix4Pm *pm = (Piix4Pm *)dev;

	pm->pm1_sts |= PM1_PWRBTN;
	pm_update(pm);
}

/* ---- reset, save, load ---- */

static void piix4_pm_reset(HgDevice *dev)
{
	Piix4Pm *pm = (Piix4Pm *)dev;

	hg_pci_device_reset(&pm->pci);
	hg_pci_set_word(&pm->pci, HG_PCI_STATUS, PM_STATUS);
	hg_pci_set_long(&pm->pci, PM_PMBA, PM_PMBA_IO_SPACE);
	hg_pci_set_long(&pm->pci, PM_DEVACTB, PM_DEVACTB_APMC_EN);
	pm->pci.config[PM_PMREGMISC] = 0;
	hg_pci_set_long(&pm->pci, PM_SMBBA, PM_PMBA_IO_SPACE);
	pm->pci.config[PM_SMBHSTCFG] = 0;
	pm_io_update_mapping(pm);
	pm->pm1_sts = pm->pm1_en = pm->pm1_cnt = 0;
	pm->gpe0_sts = pm->gpe0_en = 0;
	pm->apm_control = pm->apm_status = 0;
	/* The timer runs on through a reset; only its carry is forgotten. */
	pm->timer_seen = pm_timer_now(pm);
	pm_update(pm);
}

static GVariant *piix4_pm_save(HgDevice *dev)
{
	Piix4Pm *pm = (Piix4Pm *)dev;
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	hg_pci_device_save(&pm->pci, &b);
	g_variant_builder_add(&b, "{sv}", "pm1-sts", g_variant_new_uint16(pm->pm1_sts));
	g_variant_builder_add(&b, "{sv}", "pm1-en", g_variant_new_uint16(pm->pm1_en));
	g_variant_builder_add(&b, "{sv}", "pm1-cnt", g_variant_new_uint16(pm->pm1_cnt));
	g_variant_builder_add(&b, "{sv}", "timer-seen", g_variant_new_uint64(pm->timer_seen));
	g_variant_builder_add(&b, "{sv}", "gpe0-sts", g_variant_new_uint16(pm->gpe0_sts));
	g_variant_builder_add(&b, "{sv}", "gpe0-en", g_variant_new_uint16(pm->gpe0_en));
	g_variant_builder_add(&b, "{sv}", "apm-control", g_variant_new_byte(pm->apm_control));
	g_variant_builder_add(&b, "{sv}", "apm-status", g_variant_new_byte(pm->apm_status));
	return g_variant_builder_end(&b);
}

static bool piix4_pm_load_fail(GError **error, HgDevice *dev, const char *why)
{
	g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD, "%s: %s", dev->id, why);
	return false;
}

static bool piix4_pm_load(HgDevice *dev, GVariantDict *r, GError **error)
{
	Piix4Pm *pm = (Piix4Pm *)dev;
	uint64_t now = pm_timer_now(pm);

	if (!hg_pci_device_load(&pm->pci, r, error) ||
	    !hg_record_u16(r, "pm1-sts", &pm->pm1_sts, error) ||
	    !hg_record_u16(r, "pm1-en", &pm->pm1_en, error) ||
	    !hg_record_u16(r, "pm1-cnt", &pm->pm1_cnt, error) ||
	    !hg_record_u64(r, "timer-seen", &pm->timer_seen, error) ||
	    !hg_record_u16(r, "gpe0-sts", &pm->gpe0_sts, error) ||
	    !hg_record_u16(r, "gpe0-en", &pm->gpe0_en, error) ||
	    !hg_record_u8(r, "apm-control", &pm->apm_control, error) ||
	    !hg_record_u8(r, "apm-status", &pm->apm_status, error)) {
		if (error && *error && !g_str_has_prefix((*error)->message, dev->id))
			g_prefix_error(error, "%s: ", dev->id);
		return false;
	}
	if (pm->pm1_sts & ~PM1_STS_BITS)
		return piix4_pm_load_fail(error, dev, "PM1_STS has reserved bits set");
	if (pm->pm1_en & ~PM1_EN_BITS)
		return piix4_pm_load_fail(error, dev, "PM1_EN has reserved bits set");
	if (pm->pm1_cnt & ~PM1_CNT_STORED)
		return piix4_pm_load_fail(error, dev, "PM1_CNT has bits that are never stored");
	/* The state restores the machine clock first, and the vCPUs were
	 * paused before it was read, so the timer was last looked at no
	 * later than now; a later value would fake a carry. */
	if (pm->timer_seen > now)
		pm->timer_seen = now;
	pm_io_update_mapping(pm);
	pm_update(pm);
	return true;
}

static void piix4_pm_destroy(HgDevice *dev)
{
	Piix4Pm *pm = (Piix4Pm *)dev;
	HgMachine *m = dev->machine;

	if (pm->pm_io_mapped)
		hg_address_space_unregister(&m->pio, pm->pm_io_base);
	hg_address_space_unregister(&m->pio, GPE0_BLOCK_PORT);
	hg_address_space_unregister(&m->pio, APM_CONTROL_PORT);
	hg_timer_free(pm->timer);
	hg_pci_device_finalize(&pm->pci);
	g_free(pm);
}

const HgDeviceClass hg_piix4_pm_class = {
	.name = "piix4-pm",
	.bus = "pci",
	.state_version = 1,
	.reset = piix4_pm_reset,
	.save = piix4_pm_save,
	.load = piix4_pm_load,
	.destroy = piix4_pm_destroy,
};

HgDevice *hg_piix4_pm_create(HgMachine *m, HgPciBus *bus, uint8_t devfn, GError **error)
{
	Piix4Pm *pm = g_new0(Piix4Pm, 1);
	bool gpe0 = false, apm = false;

	hg_pci_device_init(&pm->pci, &hg_piix4_pm_class, m, "piix4-pm", 0x8086, 0x7113, 0x068000,
			   0x03, 1);
	pm->pci.wmask[PM_PMBA] = PM_PMBA_BASE_MASK & 0xff;
	pm->pci.wmask[PM_PMBA + 1] = PM_PMBA_BASE_MASK >> 8;
	for (unsigned i = 0; i < 4; i++)
		pm->pci.wmask[PM_DEVACTB + i] = 0xff;
	pm->pci.wmask[PM_PMREGMISC] = PM_PMREGMISC_PMIOSE;
	pm->pci.wmask[PM_SMBBA] = 0xf0; /* a 16-byte block */
	pm->pci.wmask[PM_SMBBA + 1] = 0xff;
	/* No controller: its host enable (bit 0) stays clear, so drivers
	 * leave it alone; the interrupt select is stored. */
	pm->pci.wmask[PM_SMBHSTCFG] = 0x0e;
	pm->pci.config_written = pm_config_written;
	pm->timer = hg_timer_new(m, pm_timer_expired, pm);
	piix4_pm_reset(&pm->pci.dev);
	gpe0 = hg_address_space_register(&m->pio, GPE0_BLOCK_PORT, GPE0_BLOCK_SIZE, &gpe0_ops, pm,
					 pm->pci.dev.id);
	apm = hg_address_space_register(&m->pio, APM_CONTROL_PORT, 2, &apm_ops, pm, pm->pci.dev.id);
	if (!gpe0 || !apm)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "the GPE0 ports 0x%x or the APM ports 0x%x are taken", GPE0_BLOCK_PORT,
			    APM_CONTROL_PORT);
	if (!gpe0 || !apm || !hg_pci_bus_plug(bus, &pm->pci, devfn, error)) {
		if (gpe0)
			hg_address_space_unregister(&m->pio, GPE0_BLOCK_PORT);
		if (apm)
			hg_address_space_unregister(&m->pio, APM_CONTROL_PORT);
		hg_timer_free(pm->timer);
		hg_pci_device_finalize(&pm->pci);
		g_free(pm->pci.dev.id);
		g_free(pm);
		return NULL;
	}
	return &pm->pci.dev;
}
