/* The ACPI tables and their loader script (devices/acpi/acpi_tables.c,
 * table_loader.c, dsdt.c), checked the way firmware and an OS meet them:
 *
 *  - a loader executor of the test's own runs "etc/table-loader" against
 *    the fw_cfg blobs at made-up addresses, with the checks of both
 *    consumers (SeaBIOS romfile_loader.c, OVMF QemuFwCfgAcpi.c): names
 *    NUL-terminated in 56 bytes, blobs allocated once before use, fields
 *    inside their blobs, pointer sizes 1/2/4/8, pointer values inside the
 *    pointee and representable after relocation, checksum bytes 0 before
 *    ADD_CHECKSUM (OVMF stores, SeaBIOS subtracts: they agree only then);
 *  - the tables are then found as an OS finds them: RSDP, XSDT/RSDT, FADT,
 *    FACS, DSDT, MADT, each with a zero checksum;
 *  - iasl (package acpica-tools) disassembles every table and recompiles
 *    the DSDT, acpiexec runs the PCI link methods, and a walker with the
 *    vocabulary of SeaBIOS's DSDT parser reads the DSDT; cases whose tool
 *    is missing are skipped with a message. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "devices/acpi/acpi_tables.h"
#include "devices/acpi/table_loader.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

#define FSEG_START 0xe0000
#define FSEG_END 0x100000
#define HIGH_START 0x7ffe0000 /* where the test "allocates" HIGH blobs */

/* ---- a loader executor, as firmware runs the script ---- */

typedef struct {
	char name[HG_TABLE_LOADER_FILE_NAME_SIZE];
	uint8_t *data;
	size_t size;
	uint64_t address;
	uint8_t zone;
} Blob;

typedef struct {
	HgAcpiMachine machine;
	HgAcpiBlobs files;
	Blob blobs[8];
	unsigned n_blobs;
} Loaded;

static uint64_t get_le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void set_le(uint8_t *p, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t byte_sum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

static GBytes *fw_cfg_file(Loaded *l, const char *name)
{
	if (strcmp(name, HG_ACPI_TABLES_FILE) == 0)
		return l->files.tables;
	if (strcmp(name, HG_ACPI_RSDP_FILE) == 0)
		return l->files.rsdp;
	return NULL;
}

/* A name field: 56 bytes, NUL-terminated inside. */
static const char *entry_name(const uint8_t *at)
{
	g_assert_cmpuint(at[HG_TABLE_LOADER_FILE_NAME_SIZE - 1], ==, 0);
	return (const char *)at;
}

static Blob *find_blob(Loaded *l, const char *name)
{
	for (unsigned i = 0; i < l->n_blobs; i++)
		if (strcmp(l->blobs[i].name, name) == 0)
			return &l->blobs[i];
	g_error("the script names \"%s\" before allocating it", name);
}

static void run_allocate(Loaded *l, const uint8_t *body, uint64_t *fseg, uint64_t *high)
{
	const char *name = entry_name(body);
	uint32_t align = (uint32_t)get_le(body + 56, 4);
	uint8_t zone = body[60];
	GBytes *file = fw_cfg_file(l, name);
	Blob *b;
	uint64_t *next;

	g_assert_nonnull(file);
	for (unsigned i = 0; i < l->n_blobs; i++)
		g_assert_cmpstr(l->blobs[i].name, !=, name);
	g_assert_cmpuint(align, >, 0);
	g_assert_cmpuint(align & (align - 1), ==, 0);
	g_assert_cmpuint(align, <=, 4096); /* OVMF allocates pages */
	g_assert(zone == HG_TABLE_LOADER_ZONE_HIGH || zone == HG_TABLE_LOADER_ZONE_FSEG);
	g_assert_cmpuint(l->n_blobs, <, G_N_ELEMENTS(l->blobs));

	b = &l->blobs[l->n_blobs++];
	g_strlcpy(b->name, name, sizeof(b->name));
	b->data = g_bytes_unref_to_data(g_bytes_ref(file), &b->size);
	b->zone = zone;
	next = zone == HG_TABLE_LOADER_ZONE_FSEG ? fseg : high;
	b->address = (*next + align - 1) & ~(uint64_t)(align - 1);
	*next = b->address + b->size;
	if (zone == HG_TABLE_LOADER_ZONE_FSEG)
		g_assert_cmpuint(*next, <=, FSEG_END);
}

static void run_add_pointer(Loaded *l, const uint8_t *body)
{
	Blob *dest = find_blob(l, entry_name(body));
	Blob *src = find_blob(l, entry_name(body + 56));
	uint32_t offset = (uint32_t)get_le(body + 112, 4);
	uint8_t size = body[116];
	uint64_t value;

	g_assert(size == 1 || size == 2 || size == 4 || size == 8);
	g_assert_cmpuint((uint64_t)offset + size, <=, dest->size);
	value = get_le(dest->data + offset, size);
	g_assert_cmpuint(value, <, src->size); /* OVMF: an offset into the pointee */
	value += src->address;
	if (size < 8)
		g_assert_cmpuint(value >> (8 * size), ==, 0);
	set_le(dest->data + offset, value, size);
}

static void run_add_checksum(Loaded *l, const uint8_t *body)
{
	Blob *b = find_blob(l, entry_name(body));
	uint32_t result = (uint32_t)get_le(body + 56, 4);
	uint32_t start = (uint32_t)get_le(body + 60, 4);
	uint32_t length = (uint32_t)get_le(body + 64, 4);

	g_assert_cmpuint(result, <, b->size);
	g_assert_cmpuint((uint64_t)start + length, <=, b->size);
	g_assert_cmpuint(b->data[result], ==, 0);
	b->data[result] = (uint8_t)(b->data[result] - byte_sum(b->data + start, length));
}

static void run_script(Loaded *l)
{
	gsize size;
	const uint8_t *script = g_bytes_get_data(l->files.loader, &size);
	uint64_t fseg = FSEG_START, high = HIGH_START;

	g_assert_cmpuint(size % HG_TABLE_LOADER_ENTRY_SIZE, ==, 0);
	g_assert_cmpuint(size, >, 0);
	for (gsize at = 0; at < size; at += HG_TABLE_LOADER_ENTRY_SIZE) {
		const uint8_t *e = script + at;

		switch (get_le(e, 4)) {
		case HG_TABLE_LOADER_ALLOCATE:
			run_allocate(l, e + 4, &fseg, &high);
			break;
		case HG_TABLE_LOADER_ADD_POINTER:
			run_add_pointer(l, e + 4);
			break;
		case HG_TABLE_LOADER_ADD_CHECKSUM:
			run_add_checksum(l, e + 4);
			break;
		default:
			g_error("unexpected loader command %u", (unsigned)get_le(e, 4));
		}
	}
}

static Loaded *load_machine(const HgAcpiMachine *m)
{
	Loaded *l = g_new0(Loaded, 1);
	g_autoptr(GError) error = NULL;

	l->machine = *m;
	g_assert_true(hg_acpi_build(m, &l->files, &error));
	g_assert_no_error(error);
	run_script(l);
	return l;
}

static Loaded *load_pc(unsigned n_cpus, uint64_t ram_below, uint64_t ram_above)
{
	HgAcpiMachine m;

	hg_acpi_machine_init_pc(&m, n_cpus, ram_below, ram_above);
	return load_machine(&m);
}

static void loaded_free(Loaded *l)
{
	for (unsigned i = 0; i < l->n_blobs; i++)
		g_free(l->blobs[i].data);
	hg_acpi_blobs_clear(&l->files);
	g_free(l);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Loaded, loaded_free)

/* Guest memory as the loaded blobs make it: [address, address + len). */
static const uint8_t *mem(Loaded *l, uint64_t address, size_t len)
{
	for (unsigned i = 0; i < l->n_blobs; i++) {
		Blob *b = &l->blobs[i];

		if (address >= b->address && address + len <= b->address + b->size)
			return b->data + (address - b->address);
	}
	g_error("0x%" G_GINT64_MODIFIER "x+%zu is not in any loaded blob", (guint64)address, len);
}

static const uint8_t *rsdp(Loaded *l)
{
	return find_blob(l, HG_ACPI_RSDP_FILE)->data;
}

/* A table with a standard header at address, its checksum checked. */
static const uint8_t *table_at(Loaded *l, uint64_t address, const char *signature)
{
	const uint8_t *h = mem(l, address, 36);
	uint32_t length = (uint32_t)get_le(h + 4, 4);

	g_assert_cmpmem(h, 4, signature, 4);
	g_assert_cmpuint(length, >=, 36);
	h = mem(l, address, length);
	g_assert_cmpuint(byte_sum(h, length), ==, 0);
	g_assert_cmpmem(h + 10, 6, HG_ACPI_OEM_ID, 6);
	g_assert_cmpmem(h + 16, 8, HG_ACPI_OEM_TABLE_ID, 8);
	return h;
}

static uint64_t xsdt_address(Loaded *l)
{
	return get_le(rsdp(l) + 24, 8);
}

/* The address of the table with this signature listed in the XSDT. */
static uint64_t find_table(Loaded *l, const char *signature)
{
	const uint8_t *xsdt = table_at(l, xsdt_address(l), "XSDT");
	uint32_t length = (uint32_t)get_le(xsdt + 4, 4);

	for (uint32_t at = 36; at + 8 <= length; at += 8) {
		uint64_t address = get_le(xsdt + at, 8);

		if (memcmp(mem(l, address, 4), signature, 4) == 0)
			return address;
	}
	return 0;
}

static const uint8_t *fadt(Loaded *l)
{
	uint64_t address = find_table(l, "FACP");

	g_assert_cmpuint(address, !=, 0);
	return table_at(l, address, "FACP");
}

static const uint8_t *dsdt(Loaded *l, uint32_t *length)
{
	const uint8_t *d = table_at(l, get_le(fadt(l) + 140, 8), "DSDT");

	*length = (uint32_t)get_le(d + 4, 4);
	return d;
}

/* ---- cases ---- */

static const unsigned cpu_counts[] = {1, 2, 64, 255, 300};

static void test_script_runs_like_firmware(gconstpointer data)
{
	g_autoptr(Loaded) l = load_pc(GPOINTER_TO_UINT(data), 512 * MIB, 0);
	const Blob *r = find_blob(l, HG_ACPI_RSDP_FILE);
	const Blob *t = find_blob(l, HG_ACPI_TABLES_FILE);

	g_assert_cmpuint(l->n_blobs, ==, 2);
	g_assert_cmpuint(r->zone, ==, HG_TABLE_LOADER_ZONE_FSEG);
	g_assert_cmpuint(r->address % 16, ==, 0);
	g_assert_cmpuint(t->zone, ==, HG_TABLE_LOADER_ZONE_HIGH);
}

static void test_rsdp_is_revision_2(void)
{
	g_autoptr(Loaded) l = load_pc(2, 512 * MIB, 0);
	const uint8_t *p = rsdp(l);

	g_assert_cmpuint(find_blob(l, HG_ACPI_RSDP_FILE)->size, ==, 36);
	g_assert_cmpmem(p, 8, "RSD PTR ", 8);
	g_assert_cmpuint(byte_sum(p, 20), ==, 0);
	g_assert_cmpuint(byte_sum(p, 36), ==, 0);
	g_assert_cmpmem(p + 9, 6, HG_ACPI_OEM_ID, 6);
	g_assert_cmpuint(p[15], ==, 2);
	g_assert_cmpuint(get_le(p + 20, 4), ==, 36);
	table_at(l, get_le(p + 16, 4), "RSDT");
	table_at(l, get_le(p + 24, 8), "XSDT");
}

static void assert_lists(Loaded *l, const uint8_t *root, unsigned entry_size)
{
	uint32_t length = (uint32_t)get_le(root + 4, 4);
	GString *found = g_string_new(NULL);

	for (uint32_t at = 36; at + entry_size <= length; at += entry_size) {
		const uint8_t *t = mem(l, get_le(root + at, entry_size), 36);

		g_string_append_len(found, (const char *)t, 4);
		g_string_append_c(found, ' ');
		table_at(l, get_le(root + at, entry_size), (const char *)t);
	}
	g_assert_cmpuint((length - 36) % entry_size, ==, 0);
	g_assert_cmpstr(found->str, ==, "FACP APIC ");
	g_string_free(found, TRUE);
}

/* FACP and APIC, and no HPET (the machine has none). */
static void test_root_tables_list_fadt_and_madt(void)
{
	g_autoptr(Loaded) l = load_pc(4, 512 * MIB, 0);

	assert_lists(l, table_at(l, get_le(rsdp(l) + 16, 4), "RSDT"), 4);
	assert_lists(l, table_at(l, xsdt_address(l), "XSDT"), 8);
	g_assert_cmpuint(find_table(l, "HPET"), ==, 0);
}

static void assert_gas(const uint8_t *gas, uint8_t bit_width, uint8_t access, uint64_t port)
{
	g_assert_cmpuint(gas[0], ==, 1); /* system I/O */
	g_assert_cmpuint(gas[1], ==, bit_width);
	g_assert_cmpuint(gas[2], ==, 0);
	g_assert_cmpuint(gas[3], ==, access);
	g_assert_cmphex(get_le(gas + 4, 8), ==, port);
}

#define FADT_PWR_BUTTON (1u << 4)
#define FADT_SLP_BUTTON (1u << 5)
#define FADT_TMR_VAL_EXT (1u << 8)
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)

static void test_fadt_describes_piix4_pm(void)
{
	g_autoptr(Loaded) l = load_pc(2, 512 * MIB, 0);
	const uint8_t *f = fadt(l);
	uint32_t flags = (uint32_t)get_le(f + 112, 4);
	const uint8_t *facs;

	g_assert_cmpuint(get_le(f + 4, 4), ==, 276);
	g_assert_cmpuint(f[8], ==, 6); /* revision */
	g_assert_cmpuint(get_le(f + 46, 2), ==, 9); /* SCI_INT */
	g_assert_cmpuint(get_le(f + 48, 4), ==, 0); /* SMI_CMD */
	g_assert_cmpuint(f[52], ==, 0); /* ACPI_ENABLE */
	g_assert_cmpuint(f[53], ==, 0); /* ACPI_DISABLE */
	g_assert_cmphex(get_le(f + 56, 4), ==, 0xb000); /* PM1a_EVT_BLK */
	g_assert_cmphex(get_le(f + 64, 4), ==, 0xb004); /* PM1a_CNT_BLK */
	g_assert_cmphex(get_le(f + 76, 4), ==, 0xb008); /* PM_TMR_BLK */
	g_assert_cmphex(get_le(f + 80, 4), ==, 0xafe0); /* GPE0_BLK */
	g_assert_cmpuint(get_le(f + 60, 4) | get_le(f + 68, 4) | get_le(f + 72, 4), ==, 0);
	g_assert_cmpuint(get_le(f + 84, 4), ==, 0); /* GPE1_BLK */
	g_assert_cmpuint(f[88], ==, 4); /* PM1_EVT_LEN */
	g_assert_cmpuint(f[89], ==, 2); /* PM1_CNT_LEN */
	g_assert_cmpuint(f[91], ==, 4); /* PM_TMR_LEN */
	g_assert_cmpuint(f[92], ==, 4); /* GPE0_BLK_LEN */
	g_assert_cmpuint(get_le(f + 96, 2), >, 100); /* no C2 */
	g_assert_cmpuint(get_le(f + 98, 2), >, 1000); /* no C3 */
	g_assert_cmphex(f[108], ==, 0x32); /* CENTURY */
	g_assert_cmphex(get_le(f + 109, 2), ==, 0x3); /* legacy devices, 8042 */
	g_assert_cmpuint(flags & FADT_PWR_BUTTON, ==, 0); /* fixed-feature button */
	g_assert_cmpuint(flags & FADT_SLP_BUTTON, !=, 0);
	g_assert_cmpuint(flags & FADT_TMR_VAL_EXT, ==, 0); /* 24-bit timer */
	g_assert_cmpuint(flags & FADT_RESET_REG_SUP, !=, 0);
	g_assert_cmpuint(flags & FADT_HW_REDUCED_ACPI, ==, 0);
	assert_gas(f + 116, 8, 1, 0xcf9); /* RESET_REG */
	g_assert_cmphex(f[128], ==, 0x06); /* RESET_VALUE */
	assert_gas(f + 148, 32, 2, 0xb000); /* X_PM1a_EVT_BLK */
	assert_gas(f + 172, 16, 2, 0xb004); /* X_PM1a_CNT_BLK */
	assert_gas(f + 208, 32, 3, 0xb008); /* X_PM_TMR_BLK */
	assert_gas(f + 220, 32, 1, 0xafe0); /* X_GPE0_BLK */

	/* FACS: 32-bit pointer only (X_FIRMWARE_CTRL must be 0 then). */
	g_assert_cmpuint(get_le(f + 132, 8), ==, 0);
	facs = mem(l, get_le(f + 36, 4), 64);
	g_assert_cmpmem(facs, 4, "FACS", 4);
	g_assert_cmpuint(get_le(facs + 4, 4), ==, 64);
	g_assert_cmpuint(get_le(f + 36, 4) % 64, ==, 0);
	g_assert_cmpuint(facs[32], ==, 2); /* version */

	/* DSDT: both pointers, the same table. */
	g_assert_cmphex(get_le(f + 40, 4), ==, get_le(f + 140, 8));
	table_at(l, get_le(f + 40, 4), "DSDT");
}

/* SeaBIOS moves PMBA to 0x600: the FADT follows the machine's base. */
static void test_fadt_follows_the_pm_base(void)
{
	HgAcpiMachine m;
	g_autoptr(Loaded) l = NULL;
	const uint8_t *f;

	hg_acpi_machine_init_pc(&m, 1, 512 * MIB, 0);
	m.pm_io_base = HG_ACPI_PM_IO_BASE_SEABIOS;
	l = load_machine(&m);
	f = fadt(l);
	g_assert_cmphex(get_le(f + 56, 4), ==, 0x600);
	g_assert_cmphex(get_le(f + 64, 4), ==, 0x604);
	g_assert_cmphex(get_le(f + 76, 4), ==, 0x608);
	g_assert_cmphex(get_le(f + 80, 4), ==, 0xafe0); /* GPE0 stays */
	assert_gas(f + 148, 32, 2, 0x600);
	assert_gas(f + 172, 16, 2, 0x604);
	assert_gas(f + 208, 32, 3, 0x608);
}

static void test_fadt_flags_cluster_mode_above_8_cpus(void)
{
	g_autoptr(Loaded) few = load_pc(8, 512 * MIB, 0);
	g_autoptr(Loaded) many = load_pc(9, 512 * MIB, 0);

	g_assert_cmpuint(get_le(fadt(few) + 112, 4) & (1u << 18), ==, 0);
	g_assert_cmpuint(get_le(fadt(many) + 112, 4) & (1u << 18), !=, 0);
}

typedef struct {
	unsigned lapic, x2apic, ioapic, nmi, x2apic_nmi;
	unsigned next_id;
	uint16_t iso_flags[16];
	uint32_t iso_gsi[16];
	bool iso[16];
} MadtSummary;

static void read_madt(Loaded *l, MadtSummary *s)
{
	const uint8_t *madt = table_at(l, find_table(l, "APIC"), "APIC");
	uint32_t length = (uint32_t)get_le(madt + 4, 4);

	memset(s, 0, sizeof(*s));
	g_assert_cmpuint(madt[8], ==, 4); /* revision */
	g_assert_cmphex(get_le(madt + 36, 4), ==, 0xfee00000);
	g_assert_cmpuint(get_le(madt + 40, 4), ==, 1); /* PCAT_COMPAT */
	for (uint32_t at = 44; at < length;) {
		const uint8_t *e = madt + at;

		g_assert_cmpuint(at + 2, <=, length);
		g_assert_cmpuint(e[1], >=, 2);
		g_assert_cmpuint(at + e[1], <=, length);
		switch (e[0]) {
		case 0: /* processor local APIC */
			g_assert_cmpuint(e[1], ==, 8);
			g_assert_cmpuint(e[3], ==, s->next_id); /* APIC ID */
			g_assert_cmpuint(e[2], ==, s->next_id); /* UID */
			g_assert_cmpuint(get_le(e + 4, 4), ==, 1); /* enabled */
			g_assert_cmpuint(e[3], <, 255);
			s->next_id++;
			s->lapic++;
			break;
		case 9: /* processor local x2APIC */
			g_assert_cmpuint(e[1], ==, 16);
			g_assert_cmpuint(get_le(e + 4, 4), ==, s->next_id);
			g_assert_cmpuint(get_le(e + 8, 4), ==, 1);
			g_assert_cmpuint(get_le(e + 12, 4), ==, s->next_id);
			g_assert_cmpuint(s->next_id, >=, 255);
			s->next_id++;
			s->x2apic++;
			break;
		case 1: /* I/O APIC */
			g_assert_cmpuint(e[1], ==, 12);
			g_assert_cmpuint(e[2], ==, l->machine.ioapic_id);
			g_assert_cmphex(get_le(e + 4, 4), ==, 0xfec00000);
			g_assert_cmpuint(get_le(e + 8, 4), ==, 0);
			s->ioapic++;
			break;
		case 2: /* interrupt source override */
			g_assert_cmpuint(e[1], ==, 10);
			g_assert_cmpuint(e[2], ==, 0); /* ISA */
			g_assert_cmpuint(e[3], <, 16);
			g_assert_false(s->iso[e[3]]);
			s->iso[e[3]] = true;
			s->iso_gsi[e[3]] = (uint32_t)get_le(e + 4, 4);
			s->iso_flags[e[3]] = (uint16_t)get_le(e + 8, 2);
			break;
		case 4: /* local APIC NMI */
			g_assert_cmpuint(e[1], ==, 6);
			g_assert_cmphex(e[2], ==, 0xff); /* all processors */
			g_assert_cmpuint(e[5], ==, 1); /* LINT1 */
			s->nmi++;
			break;
		case 10: /* local x2APIC NMI */
			g_assert_cmpuint(e[1], ==, 12);
			g_assert_cmphex(get_le(e + 4, 4), ==, 0xffffffff);
			g_assert_cmpuint(e[8], ==, 1);
			s->x2apic_nmi++;
			break;
		default:
			g_error("unexpected MADT entry type %u", e[0]);
		}
		at += e[1];
	}
}

static void test_madt_lists_every_cpu(gconstpointer data)
{
	unsigned n = GPOINTER_TO_UINT(data);
	g_autoptr(Loaded) l = load_pc(n, 512 * MIB, 0);
	MadtSummary s;

	read_madt(l, &s);
	g_assert_cmpuint(s.next_id, ==, n);
	g_assert_cmpuint(s.lapic, ==, MIN(n, 255u));
	g_assert_cmpuint(s.x2apic, ==, n > 255 ? n - 255 : 0);
	g_assert_cmpuint(s.ioapic, ==, 1);
	g_assert_cmpuint(s.nmi, ==, 1);
	g_assert_cmpuint(s.x2apic_nmi, ==, n > 255 ? 1 : 0);
}

#define ISO_LEVEL_HIGH 0x000d

static void test_madt_interrupt_overrides(void)
{
	g_autoptr(Loaded) l = load_pc(2, 512 * MIB, 0);
	MadtSummary s;
	const unsigned level[] = {5, 9, 10, 11};

	read_madt(l, &s);
	g_assert_true(s.iso[0]);
	g_assert_cmpuint(s.iso_gsi[0], ==, 2);
	g_assert_cmphex(s.iso_flags[0], ==, 0);
	for (unsigned i = 0; i < G_N_ELEMENTS(level); i++) {
		g_assert_true(s.iso[level[i]]);
		g_assert_cmpuint(s.iso_gsi[level[i]], ==, level[i]);
		g_assert_cmphex(s.iso_flags[level[i]], ==, ISO_LEVEL_HIGH);
	}
	g_assert_false(s.iso[1]);
	g_assert_false(s.iso[4]);
	g_assert_false(s.iso[8]);
}

static bool contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t len)
{
	for (size_t i = 0; i + len <= hay_len; i++)
		if (memcmp(hay + i, needle, len) == 0)
			return true;
	return false;
}

/* The 32-bit window starts at the end of low RAM; the 64-bit one above
 * high RAM. */
static void test_dsdt_windows_follow_ram(void)
{
	g_autoptr(Loaded) l = load_pc(2, 3 * GIB, 2 * GIB);
	uint32_t len;
	const uint8_t *d = dsdt(l, &len);
	/* DWordMemory: producer, fixed, non-cacheable RW, 0xc0000000-0xfebfffff */
	const uint8_t window32[] = {0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0,    0,    0,
				    0,	  0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xbf, 0xfe};
	/* QWordMemory min: 6 GiB, 1 GiB aligned */
	const uint8_t window64[] = {0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03, 0,    0,    0,	  0,   0, 0,
				    0,	  0,	0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00};

	g_assert_true(contains(d, len, window32, sizeof(window32)));
	g_assert_true(contains(d, len, window64, sizeof(window64)));
	g_assert_cmphex(l->machine.pci_mmio64_start, ==, 6 * GIB);
	g_assert_cmphex(l->machine.pci_mmio64_start + l->machine.pci_mmio64_size, ==, 64 * GIB);
}

/* ---- SeaBIOS's view of the DSDT (src/fw/dsdt_parser.c) ---- */

typedef struct {
	const uint8_t *aml;
	size_t len;
	int depth;
	GPtrArray *devices; /* "name=hid-bytes" of each Device */
	char *device; /* the device being read */
	GString *hid; /* its _HID's DataRefObject bytes, hex */
} SeabiosWalk;

static size_t walk_pkg_length(const uint8_t *p, size_t *pkg)
{
	unsigned n = (p[0] >> 6) + 1;

	*pkg = n == 1 ? p[0] & 0x3f : p[0] & 0x0f;
	for (unsigned i = 1; i < n; i++)
		*pkg |= (size_t)p[i] << (4 + 8 * (i - 1));
	return n;
}

static size_t walk_name(const uint8_t *p, GString *out)
{
	size_t at = 0;
	unsigned n = 1;

	while (p[at] == '\\' || p[at] == '^')
		g_string_append_c(out, (char)p[at++]);
	if (p[at] == 0x00)
		return at + 1;
	if (p[at] == 0x2e) {
		n = 2;
		at++;
	} else if (p[at] == 0x2f) {
		n = p[at + 1];
		at += 2;
	}
	for (unsigned i = 0; i < n; i++, at += 4) {
		g_assert_true((p[at] >= 'A' && p[at] <= 'Z') || p[at] == '_');
		if (i)
			g_string_append_c(out, '.');
		g_string_append_len(out, (const char *)p + at, 4);
	}
	return at;
}

/* Only ZeroOp, OneOp and Byte/Word/DWord prefixes: SeaBIOS's
 * parse_termarg_int refuses QWords and Ones. */
static size_t walk_int(const uint8_t *p)
{
	switch (p[0]) {
	case 0x00:
	case 0x01:
		return 1;
	case 0x0a:
		return 2;
	case 0x0b:
		return 3;
	case 0x0c:
		return 5;
	}
	g_error("SeaBIOS cannot read integer opcode 0x%02x", p[0]);
}

static void walk_termlist(SeabiosWalk *w, size_t at, size_t end);

static size_t walk_term(SeabiosWalk *w, size_t at)
{
	const uint8_t *p = w->aml + at;
	g_autoptr(GString) name = g_string_new(NULL);
	size_t n, pkg;

	g_assert_cmpint(w->depth, <, 16);
	switch (p[0]) {
	case 0x00:
	case 0x01:
	case 0x0a:
	case 0x0b:
	case 0x0c:
		return walk_int(p);
	case 0x0d:
		return strlen((const char *)p + 1) + 2;
	case 0x08: /* Name */
		n = 1 + walk_name(p + 1, name);
		if (w->device && strcmp(name->str, "_HID") == 0)
			for (size_t i = 0; i < 5; i++)
				g_string_append_printf(w->hid, "%02x", p[n + i]);
		w->depth++;
		n += walk_term(w, at + n);
		w->depth--;
		return n;
	case 0x10: /* Scope */
		n = 1 + walk_pkg_length(p + 1, &pkg);
		n += walk_name(p + n, name);
		w->depth++;
		walk_termlist(w, at + n, at + 1 + pkg);
		w->depth--;
		return 1 + pkg;
	case 0x11: /* Buffer */
	case 0x12: /* Package */
	case 0x13: /* VarPackage */
	case 0x14: /* Method: skipped whole */
		walk_pkg_length(p + 1, &pkg);
		return 1 + pkg;
	case 0x5b:
		switch (p[1]) {
		case 0x01: /* Mutex */
			return 2 + walk_name(p + 2, name) + 1;
		case 0x80: /* OperationRegion */
			n = 2 + walk_name(p + 2, name) + 1;
			n += walk_int(p + n);
			n += walk_int(p + n);
			return n;
		case 0x81: /* Field */
		case 0x83: /* Processor */
		case 0x84: /* PowerResource */
		case 0x85: /* ThermalZone */
			walk_pkg_length(p + 2, &pkg);
			return 2 + pkg;
		case 0x82: { /* Device */
			char *outer = w->device;
			GString *outer_hid = w->hid;

			n = 2 + walk_pkg_length(p + 2, &pkg);
			n += walk_name(p + n, name);
			w->device = name->str;
			w->hid = g_string_new(NULL);
			w->depth++;
			walk_termlist(w, at + n, at + 2 + pkg);
			w->depth--;
			g_ptr_array_add(w->devices,
					g_strdup_printf("%s=%s", name->str, w->hid->str));
			g_string_free(w->hid, TRUE);
			w->device = outer;
			w->hid = outer_hid;
			return 2 + pkg;
		}
		}
		break;
	}
	g_error("SeaBIOS's DSDT parser would stop at opcode 0x%02x (offset %zu)", p[0], at);
}

/* Like SeaBIOS's parse_termlist, reads one term before it looks at the
 * end: an empty scope or device makes it read past its end. */
static void walk_termlist(SeabiosWalk *w, size_t at, size_t end)
{
	do {
		at += walk_term(w, at);
		g_assert_cmpuint(at, <=, end);
	} while (at < end);
}

static bool has_device(GPtrArray *devices, const char *entry)
{
	for (guint i = 0; i < devices->len; i++)
		if (strcmp(g_ptr_array_index(devices, i), entry) == 0)
			return true;
	return false;
}

static void test_dsdt_parses_with_seabios_vocabulary(gconstpointer data)
{
	g_autoptr(Loaded) l = load_pc(GPOINTER_TO_UINT(data), 2 * GIB, 0);
	uint32_t len;
	const uint8_t *d = dsdt(l, &len);
	g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func(g_free);
	SeabiosWalk w = {.aml = d, .len = len, .devices = devices};

	walk_termlist(&w, 36, len);
	/* acpi_dsdt_find_eisaid() compares the 5 bytes after "Name (_HID": a
	 * DWordPrefix and the compressed ID. */
	g_assert_true(has_device(devices, "KBD_=0c41d00303")); /* PNP0303 */
	g_assert_true(has_device(devices, "MOU_=0c41d00f13"));
	g_assert_true(has_device(devices, "RTC_=0c41d00b00"));
	g_assert_true(has_device(devices, "COM1=0c41d00501"));
	g_assert_true(has_device(devices, "PCI0=0c41d00a03"));
	g_assert_true(has_device(devices, "LNKA=0c41d00c0f"));
}

/* ---- external oracles ---- */

static bool have_program(const char *name)
{
	g_autofree char *path = g_find_program_in_path(name);

	return path != NULL;
}

static char *write_temp(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(path, data, (gssize)len, &error));
	g_assert_no_error(error);
	return path;
}

/* Runs argv in dir; returns stdout and stderr together. */
static char *run_tool(const char *dir, const char *const *argv, int *status)
{
	g_autoptr(GError) error = NULL;
	char *out = NULL, *err = NULL;
	char *both;

	g_assert_true(g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
				   &err, status, &error));
	g_assert_no_error(error);
	both = g_strconcat(out, err, NULL);
	g_free(out);
	g_free(err);
	return both;
}

static void assert_tool_succeeded(const char *const *argv, const char *output, int status)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *command = g_strjoinv(" ", (char **)argv);

	if (!g_spawn_check_wait_status(status, &error))
		g_error("%s failed (%s):\n%s", command, error->message, output);
}

static char *read_temp(const char *dir, const char *name)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;
	char *text = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, &error));
	g_assert_no_error(error);
	return text;
}

static void remove_dir(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);

		g_unlink(path);
	}
	g_rmdir(dir);
}

/* iasl -d writes NAME.dsl beside NAME.aml and exits 0 on success. */
static char *disassemble(const char *dir, const char *name, const uint8_t *data, size_t len)
{
	g_autofree char *aml = g_strdup_printf("%s.aml", name);
	g_autofree char *dsl = g_strdup_printf("%s.dsl", name);
	g_autofree char *path = write_temp(dir, aml, data, len);
	const char *argv[] = {"iasl", "-d", aml, NULL};
	g_autofree char *output = NULL;
	int status;

	output = run_tool(dir, argv, &status);
	assert_tool_succeeded(argv, output, status);
	g_assert_null(strstr(output, "Error"));
	return read_temp(dir, dsl);
}

static void test_iasl_disassembles_every_table(gconstpointer data)
{
	g_autoptr(Loaded) l = NULL;
	g_autofree char *dir = NULL;
	g_autofree char *text = NULL;
	g_autofree char *output = NULL;
	const char *compile[] = {"iasl", "-p", "recompiled", "dsdt.dsl", NULL};
	const char *const tables[] = {"FACP", "APIC", "RSDT", "XSDT"};
	const char *const names[] = {"PNP0A03", "_PRT",	   "LNKA",    "LNKD",	   "LNKS",
				     "PNP0C0F", "PNP0303", "PNP0F13", "PNP0B00",   "PNP0501",
				     "_S5_",	"\\_GPE",  "P40C",    "PCI_Config"};
	uint32_t len;
	const uint8_t *d;
	const uint8_t *f;
	int status;

	if (!have_program("iasl")) {
		g_test_skip("iasl is not installed (package acpica-tools)");
		return;
	}
	l = load_pc(GPOINTER_TO_UINT(data), 2 * GIB, 2 * GIB);
	dir = g_dir_make_tmp("hangar-acpi-XXXXXX", NULL);
	g_assert_nonnull(dir);

	d = dsdt(l, &len);
	text = disassemble(dir, "dsdt", d, len);
	for (unsigned i = 0; i < G_N_ELEMENTS(names); i++)
		if (!strstr(text, names[i]))
			g_error("\"%s\" is missing from the disassembled DSDT:\n%s", names[i],
				text);
	/* ... and it compiles back. */
	output = run_tool(dir, compile, &status);
	assert_tool_succeeded(compile, output, status);
	g_assert_nonnull(strstr(output, "0 Errors"));

	for (unsigned i = 0; i < G_N_ELEMENTS(tables); i++) {
		uint64_t address = strcmp(tables[i], "RSDT") == 0   ? get_le(rsdp(l) + 16, 4)
				   : strcmp(tables[i], "XSDT") == 0 ? xsdt_address(l)
								    : find_table(l, tables[i]);
		const uint8_t *t = table_at(l, address, tables[i]);
		g_autofree char *dsl = NULL;

		dsl = disassemble(dir, tables[i], t, get_le(t + 4, 4));
		g_assert_null(strstr(dsl, "**** Unknown"));
		g_assert_null(strstr(dsl, "Invalid"));
	}
	f = fadt(l);
	g_free(text);
	text = disassemble(dir, "facs", mem(l, get_le(f + 36, 4), 64), 64);
	g_assert_nonnull(strstr(text, "FACS"));
	/* iasl -d does not take a lone RSDP: test_rsdp_is_revision_2 reads it. */
	remove_dir(dir);
}

/* acpiexec runs the link methods over a simulated PCI configuration space
 * that starts as zeros (PIRQA routed to IRQ 0, enabled). */
static void test_acpiexec_runs_the_link_methods(void)
{
	g_autoptr(Loaded) l = NULL;
	g_autofree char *dir = NULL;
	g_autofree char *path = NULL;
	g_autofree char *output = NULL;
	const char *argv[] = {"acpiexec", "-b",
			      "execute \\_SB.LNKB._SRS (89 06 00 09 01 0A 00 00 00 79 00);"
			      "evaluate \\_SB.LNKB._CRS;"
			      "evaluate \\_SB.LNKB._STA;"
			      "execute \\_SB.LNKB._DIS;"
			      "evaluate \\_SB.LNKB._STA;"
			      "evaluate \\_SB.LNKS._CRS;"
			      "evaluate \\_S5_",
			      "dsdt.aml", NULL};
	uint32_t len;
	const uint8_t *d;
	const char *crs, *sta, *sta2, *sci;
	int status;

	if (!have_program("acpiexec")) {
		g_test_skip("acpiexec is not installed (package acpica-tools)");
		return;
	}
	l = load_pc(2, 2 * GIB, 0);
	dir = g_dir_make_tmp("hangar-acpi-XXXXXX", NULL);
	d = dsdt(l, &len);
	path = write_temp(dir, "dsdt.aml", d, len);
	output = run_tool(dir, argv, &status);
	assert_tool_succeeded(argv, output, status);
	if (strstr(output, "ACPI Error") || strstr(output, "AE_"))
		g_error("acpiexec reported an error:\n%s", output);
	/* _SRS put IRQ 10 in PIRQB; _CRS reads it back, enabled. */
	crs = strstr(output, "89 06 00 09 01 0A 00 00 00 79 00");
	sta = strstr(output, "[Integer] = 000000000000000B");
	sta2 = strstr(output, "[Integer] = 0000000000000009");
	sci = strstr(output, "89 06 00 09 01 09 00 00 00 79 00");
	if (!crs || !sta || !sta2 || !sci || !(crs < sta && sta < sta2 && sta2 < sci))
		g_error("unexpected acpiexec results:\n%s", output);
	g_assert_nonnull(strstr(output, "[Package] Contains 4 Elements"));
	remove_dir(dir);
}

/* ---- broken input ---- */

static void assert_refused(const HgAcpiMachine *m)
{
	g_autoptr(GError) error = NULL;
	HgAcpiBlobs blobs;

	g_assert_false(hg_acpi_build(m, &blobs, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_null(blobs.tables);
	g_assert_null(blobs.loader);
}

static void test_build_refuses_broken_machines(void)
{
	HgAcpiMachine m;

	hg_acpi_machine_init_pc(&m, 0, 512 * MIB, 0);
	assert_refused(&m);
	hg_acpi_machine_init_pc(&m, HG_ACPI_MAX_CPUS + 1, 512 * MIB, 0);
	assert_refused(&m);
	hg_acpi_machine_init_pc(&m, 1, 0, 0);
	assert_refused(&m);
	hg_acpi_machine_init_pc(&m, 1, 5 * GIB, 0);
	assert_refused(&m);
	hg_acpi_machine_init_pc(&m, 1, 3 * GIB, 1ULL << 50);
	assert_refused(&m);
	hg_acpi_machine_init_pc(&m, 1, 3 * GIB, UINT64_MAX);
	assert_refused(&m);
	hg_acpi_machine_init_pc(&m, 1, 3 * GIB, 0);
	m.pci_mmio32_start = 2 * GIB; /* below the end of RAM */
	assert_refused(&m);
	hg_acpi_machine_init_pc(&m, 1, 3 * GIB, 4 * GIB);
	m.pci_mmio64_start = 6 * GIB; /* inside high RAM */
	assert_refused(&m);
	hg_acpi_machine_init_pc(&m, 1, 3 * GIB, 0);
	m.pci_mmio64_size = UINT64_MAX; /* wraps */
	assert_refused(&m);
	hg_acpi_machine_init_pc(&m, 1, 512 * MIB, 0);
	m.pm_io_base = 0xb010; /* PMBA has no bits 5:0 */
	assert_refused(&m);
	m.pm_io_base = 0x200; /* legacy ports */
	assert_refused(&m);
	m.pm_io_base = 0x0cc0; /* reaches 0xcf8 */
	assert_refused(&m);
	m.pm_io_base = 0xafc0; /* reaches GPE0 */
	assert_refused(&m);
}

static void test_build_accepts_the_largest_machine(void)
{
	g_autoptr(Loaded) l = load_pc(HG_ACPI_MAX_CPUS, 3 * GIB, HG_ACPI_MAX_RAM - 3 * GIB);
	MadtSummary s;

	read_madt(l, &s);
	g_assert_cmpuint(s.next_id, ==, HG_ACPI_MAX_CPUS);
}

/* ---- the loader builder's own checks ---- */

static void assert_loader_error(HgTableLoader *loader)
{
	g_autoptr(GError) error = NULL;

	g_assert_null(hg_table_loader_finish(loader, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	hg_table_loader_free(loader);
}

static HgTableLoader *loader_with_blob(void)
{
	HgTableLoader *loader = hg_table_loader_new();

	hg_table_loader_allocate(loader, "etc/a", 64, 16, HG_TABLE_LOADER_ZONE_HIGH);
	return loader;
}

static void test_loader_refuses_bad_commands(void)
{
	HgTableLoader *loader;
	char long_name[HG_TABLE_LOADER_FILE_NAME_SIZE + 1];

	/* 56 characters: with the NUL, one byte too many */
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	loader = hg_table_loader_new();
	hg_table_loader_allocate(loader, long_name, 64, 16, HG_TABLE_LOADER_ZONE_HIGH);
	assert_loader_error(loader);

	loader = loader_with_blob();
	hg_table_loader_allocate(loader, "etc/a", 64, 16, HG_TABLE_LOADER_ZONE_HIGH);
	assert_loader_error(loader);

	loader = hg_table_loader_new();
	hg_table_loader_allocate(loader, "etc/b", 64, 24, HG_TABLE_LOADER_ZONE_HIGH);
	assert_loader_error(loader);

	loader = hg_table_loader_new();
	hg_table_loader_allocate(loader, "etc/b", 64, 8192, HG_TABLE_LOADER_ZONE_HIGH);
	assert_loader_error(loader);

	loader = hg_table_loader_new();
	hg_table_loader_allocate(loader, "etc/b", 64, 16, 3);
	assert_loader_error(loader);

	loader = loader_with_blob();
	hg_table_loader_add_pointer(loader, "etc/a", 0, 4, "etc/unknown");
	assert_loader_error(loader);

	loader = loader_with_blob();
	hg_table_loader_add_pointer(loader, "etc/a", 61, 4, "etc/a");
	assert_loader_error(loader);

	loader = loader_with_blob();
	hg_table_loader_add_pointer(loader, "etc/a", 0, 3, "etc/a");
	assert_loader_error(loader);

	loader = loader_with_blob();
	hg_table_loader_add_checksum(loader, "etc/a", 64, 0, 64);
	assert_loader_error(loader);

	loader = loader_with_blob();
	hg_table_loader_add_checksum(loader, "etc/a", 0, 32, 33);
	assert_loader_error(loader);
}

/* The 128-byte command layouts (QEMU hw/acpi/bios-linker-loader.c). */
static void test_loader_encodes_commands(void)
{
	g_autoptr(HgTableLoader) loader = loader_with_blob();
	g_autoptr(GBytes) script = NULL;
	g_autoptr(GError) error = NULL;
	const uint8_t *e;
	gsize size;

	hg_table_loader_add_pointer(loader, "etc/a", 8, 4, "etc/a");
	hg_table_loader_add_checksum(loader, "etc/a", 9, 0, 36);
	hg_table_loader_write_pointer(loader, "etc/w", 4, 8, "etc/a", 16);
	script = hg_table_loader_finish(loader, &error);
	g_assert_no_error(error);
	e = g_bytes_get_data(script, &size);
	g_assert_cmpuint(size, ==, 4 * 128);

	g_assert_cmpuint(get_le(e, 4), ==, 1); /* ALLOCATE */
	g_assert_cmpstr((const char *)e + 4, ==, "etc/a");
	g_assert_cmpuint(get_le(e + 60, 4), ==, 16);
	g_assert_cmpuint(e[64], ==, 1);

	e += 128;
	g_assert_cmpuint(get_le(e, 4), ==, 2); /* ADD_POINTER */
	g_assert_cmpstr((const char *)e + 4, ==, "etc/a");
	g_assert_cmpstr((const char *)e + 60, ==, "etc/a");
	g_assert_cmpuint(get_le(e + 116, 4), ==, 8);
	g_assert_cmpuint(e[120], ==, 4);

	e += 128;
	g_assert_cmpuint(get_le(e, 4), ==, 3); /* ADD_CHECKSUM */
	g_assert_cmpuint(get_le(e + 60, 4), ==, 9);
	g_assert_cmpuint(get_le(e + 64, 4), ==, 0);
	g_assert_cmpuint(get_le(e + 68, 4), ==, 36);

	e += 128;
	g_assert_cmpuint(get_le(e, 4), ==, 4); /* WRITE_POINTER */
	g_assert_cmpstr((const char *)e + 4, ==, "etc/w");
	g_assert_cmpstr((const char *)e + 60, ==, "etc/a");
	g_assert_cmpuint(get_le(e + 116, 4), ==, 4);
	g_assert_cmpuint(get_le(e + 120, 4), ==, 16);
	g_assert_cmpuint(e[124], ==, 8);
	for (unsigned i = 125; i < 128; i++)
		g_assert_cmpuint(e[i], ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (unsigned i = 0; i < G_N_ELEMENTS(cpu_counts); i++) {
		unsigned n = cpu_counts[i];
		g_autofree char *script =
			g_strdup_printf("/acpi/loader/runs-like-firmware/%u-cpus", n);
		g_autofree char *madt = g_strdup_printf("/acpi/madt/lists-every-cpu/%u-cpus", n);
		g_autofree char *seabios =
			g_strdup_printf("/acpi/dsdt/parses-with-seabios-vocabulary/%u-cpus", n);
		g_autofree char *iasl =
			g_strdup_printf("/acpi/iasl/disassembles-every-table/%u-cpus", n);

		g_test_add_data_func(script, GUINT_TO_POINTER(n), test_script_runs_like_firmware);
		g_test_add_data_func(madt, GUINT_TO_POINTER(n), test_madt_lists_every_cpu);
		g_test_add_data_func(seabios, GUINT_TO_POINTER(n),
				     test_dsdt_parses_with_seabios_vocabulary);
		if (n == 2 || n == 300)
			g_test_add_data_func(iasl, GUINT_TO_POINTER(n),
					     test_iasl_disassembles_every_table);
	}
	g_test_add_func("/acpi/rsdp/is-revision-2-with-rsdt-and-xsdt", test_rsdp_is_revision_2);
	g_test_add_func("/acpi/root-tables/list-fadt-and-madt-and-no-hpet",
			test_root_tables_list_fadt_and_madt);
	g_test_add_func("/acpi/fadt/describes-piix4-pm", test_fadt_describes_piix4_pm);
	g_test_add_func("/acpi/fadt/follows-the-pm-base", test_fadt_follows_the_pm_base);
	g_test_add_func("/acpi/fadt/forces-cluster-mode-above-8-cpus",
			test_fadt_flags_cluster_mode_above_8_cpus);
	g_test_add_func("/acpi/madt/overrides-irq0-and-level-pci-irqs",
			test_madt_interrupt_overrides);
	g_test_add_func("/acpi/dsdt/windows-follow-ram", test_dsdt_windows_follow_ram);
	g_test_add_func("/acpi/acpiexec/runs-the-link-methods",
			test_acpiexec_runs_the_link_methods);
	g_test_add_func("/acpi/build/refuses-broken-machines", test_build_refuses_broken_machines);
	g_test_add_func("/acpi/build/accepts-the-largest-machine",
			test_build_accepts_the_largest_machine);
	g_test_add_func("/acpi/loader/refuses-bad-commands", test_loader_refuses_bad_commands);
	g_test_add_func("/acpi/loader/encodes-commands", test_loader_encodes_commands);
	return g_test_run();
}
