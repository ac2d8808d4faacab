/* SMBIOS structures.  Specification: DMTF DSP0134 (SMBIOS) 3.0.0: 5.2.2
 * 64-bit entry point, 6.1.2 structure header, 6.1.3 text strings, 7.1 BIOS
 * Information (type 0), 7.2 System Information (1), 7.4 System Enclosure
 * (3), 7.5 Processor Information (4), 7.17 Physical Memory Array (16),
 * 7.18 Memory Device (17), 7.20 Memory Array Mapped Address (19), 7.33
 * System Boot Information (32), 7.45 End-of-Table (127).
 *
 * Each structure is its formatted area (header: type, length, handle)
 * followed by its strings, each NUL-terminated, and one more NUL; a
 * structure without strings ends in two NULs.  Handles: type 0 takes 0 (the
 * firmware's own type 0 takes it otherwise), the rest count up from 0x100. */
#include "devices/acpi/smbios.h"

#include <gio/gio.h>
#include <string.h>

#define SMBIOS_MAJOR 3
#define SMBIOS_MINOR 0
#define ENTRY_POINT_REVISION 1

#define HANDLE_TYPE_0 0x0000
#define HANDLE_FIRST 0x0100
#define HANDLE_NONE 0xffff /* no such structure (cache handles) */
#define HANDLE_NOT_PROVIDED 0xfffe /* no error information */

/* Formatted-area lengths of the 3.0 structures. */
#define TYPE_0_LENGTH 0x18
#define TYPE_1_LENGTH 0x1b
#define TYPE_3_LENGTH 0x16 /* no contained elements, SKU string */
#define TYPE_4_LENGTH 0x30
#define TYPE_16_LENGTH 0x17
#define TYPE_17_LENGTH 0x28
#define TYPE_19_LENGTH 0x1f
#define TYPE_32_LENGTH 0x0b
#define TYPE_127_LENGTH 0x04

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define DIMM_MAX_SIZE (16 * GIB) /* QEMU's split of RAM into type 17s */
#define KIB_FIELD_LIMIT 0xffffffffULL /* 32-bit KiB fields; else extended */
#define KIB_FIELD_EXTENDED 0xffffffffu
#define CAPACITY_EXTENDED 0x80000000u
#define SIZE_MIB_EXTENDED 0x7fff

typedef struct {
	GByteArray *b;
	guint start; /* of the structure being written */
	GPtrArray *strings; /* of that structure */
	uint16_t next_handle;
} Smbios;

static void put_zeros(GByteArray *b, size_t len)
{
	static const uint8_t zero[64];

	while (len) {
		size_t n = MIN(len, sizeof(zero));

		g_byte_array_append(b, zero, (guint)n);
		len -= n;
	}
}

static void set_le(Smbios *s, unsigned field, uint64_t v, unsigned size)
{
	g_assert(s->start + field + size <= s->b->len);
	for (unsigned i = 0; i < size; i++)
		s->b->data[s->start + field + i] = (uint8_t)(v >> (8 * i));
}

static uint16_t structure_begin(Smbios *s, uint8_t type, uint8_t length, uint16_t handle)
{
	s->start = s->b->len;
	put_zeros(s->b, length);
	set_le(s, 0, type, 1);
	set_le(s, 1, length, 1);
	set_le(s, 2, handle, 2);
	g_ptr_array_set_size(s->strings, 0);
	return handle;
}

static uint16_t structure_begin_next(Smbios *s, uint8_t type, uint8_t length)
{
	return structure_begin(s, type, length, s->next_handle++);
}

/* Sets a string field: its number in the string set, 0 for none. */
static void set_string(Smbios *s, unsigned field, const char *str)
{
	if (!str || !*str) {
		set_le(s, field, 0, 1);
		return;
	}
	g_assert(s->strings->len < 255);
	g_ptr_array_add(s->strings, (gpointer)str);
	set_le(s, field, s->strings->len, 1);
}

static void structure_end(Smbios *s)
{
	for (guint i = 0; i < s->strings->len; i++) {
		const char *str = g_ptr_array_index(s->strings, i);

		g_byte_array_append(s->b, (const uint8_t *)str, (guint)strlen(str) + 1);
	}
	if (!s->strings->len)
		put_zeros(s->b, 1);
	put_zeros(s->b, 1);
}

/* Characteristics: bit 3 "not supported" as QEMU says; extension byte 1
 * bit 0 ACPI; byte 2 bit 2 targeted content distribution, bit 4 "the
 * system is a virtual machine". */
static void add_bios_information(Smbios *s, const HgSmbiosInfo *info)
{
	structure_begin(s, 0, TYPE_0_LENGTH, HANDLE_TYPE_0);
	set_string(s, 0x04, info->bios_vendor);
	set_string(s, 0x05, info->bios_version);
	set_le(s, 0x06, 0xe800, 2); /* starting address segment */
	set_string(s, 0x08, info->bios_date);
	set_le(s, 0x09, 0, 1); /* ROM size: 64 KiB */
	set_le(s, 0x0a, 1u << 3, 8);
	set_le(s, 0x12, 0x01, 1);
	set_le(s, 0x13, (1u << 2) | (1u << 4), 1);
	set_le(s, 0x14, 0, 1); /* system BIOS major, minor release */
	set_le(s, 0x15, 0, 1);
	set_le(s, 0x16, 0xff, 1); /* no embedded controller */
	set_le(s, 0x17, 0xff, 1);
	structure_end(s);
}

/* The UUID's first three fields are little-endian since SMBIOS 2.6. */
static void add_system_information(Smbios *s, const HgSmbiosInfo *info)
{
	static const unsigned swap[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

	structure_begin_next(s, 1, TYPE_1_LENGTH);
	set_string(s, 0x04, info->manufacturer);
	set_string(s, 0x05, info->product);
	set_string(s, 0x06, info->version);
	set_string(s, 0x07, info->serial);
	for (unsigned i = 0; i < 16; i++)
		set_le(s, 0x08 + i, info->uuid[swap[i]], 1);
	set_le(s, 0x18, 0x06, 1); /* wake-up type: power switch */
	set_string(s, 0x19, NULL); /* SKU */
	set_string(s, 0x1a, info->family);
	structure_end(s);
}

static void add_system_enclosure(Smbios *s, const HgSmbiosInfo *info)
{
	structure_begin_next(s, 3, TYPE_3_LENGTH);
	set_string(s, 0x04, info->manufacturer);
	set_le(s, 0x05, 0x01, 1); /* type: Other, no lock */
	set_string(s, 0x06, info->version);
	set_string(s, 0x07, info->serial);
	set_string(s, 0x08, NULL); /* asset tag */
	set_le(s, 0x09, 0x03, 1); /* boot-up state: safe */
	set_le(s, 0x0a, 0x03, 1); /* power supply state: safe */
	set_le(s, 0x0b, 0x03, 1); /* thermal state: safe */
	set_le(s, 0x0c, 0x02, 1); /* security status: unknown */
	set_le(s, 0x0d, 0, 4); /* OEM-defined */
	set_le(s, 0x11, 0, 1); /* height: unspecified */
	set_le(s, 0x12, 0, 1); /* power cords: unspecified */
	set_le(s, 0x13, 0, 1); /* contained element count */
	set_le(s, 0x14, 0, 1); /* contained element record length */
	set_string(s, 0x15, NULL); /* SKU */
	structure_end(s);
}

/* Counts above 255 go in the 3.0 "2" fields, with 0xff in the old ones. */
static void set_count(Smbios *s, unsigned field, unsigned field2, unsigned count)
{
	set_le(s, field, count > 255 ? 0xff : count, 1);
	set_le(s, field2, count, 2);
}

static void add_processor(Smbios *s, const HgSmbiosInfo *info, unsigned socket, unsigned cores)
{
	g_autofree char *designation = g_strdup_printf("CPU %u", socket);
	uint16_t characteristics = 1u << 2; /* 64-bit capable */

	if (cores > 1)
		characteristics |= 1u << 3; /* multi-core */
	structure_begin_next(s, 4, TYPE_4_LENGTH);
	set_string(s, 0x04, designation);
	set_le(s, 0x05, 0x03, 1); /* central processor */
	set_le(s, 0x06, 0x01, 1); /* family: other */
	set_string(s, 0x07, info->cpu_manufacturer);
	set_le(s, 0x08, info->cpuid_signature, 4); /* processor ID */
	set_le(s, 0x0c, info->cpuid_features, 4);
	set_string(s, 0x10, NULL); /* version */
	set_le(s, 0x11, 0, 1); /* voltage: not given */
	set_le(s, 0x12, 0, 2); /* external clock: unknown */
	set_le(s, 0x14, info->cpu_speed_mhz, 2); /* maximum speed */
	set_le(s, 0x16, info->cpu_speed_mhz, 2); /* current speed */
	set_le(s, 0x18, 0x41, 1); /* socket populated, CPU enabled */
	set_le(s, 0x19, 0x01, 1); /* upgrade: other */
	set_le(s, 0x1a, HANDLE_NONE, 2); /* L1, L2, L3 cache */
	set_le(s, 0x1c, HANDLE_NONE, 2);
	set_le(s, 0x1e, HANDLE_NONE, 2);
	set_string(s, 0x20, NULL); /* serial number */
	set_string(s, 0x21, NULL); /* asset tag */
	set_string(s, 0x22, NULL); /* part number */
	set_count(s, 0x23, 0x2a, cores); /* core count */
	set_count(s, 0x24, 0x2c, cores); /* cores enabled */
	set_count(s, 0x25, 0x2e, cores); /* threads: one per core */
	set_le(s, 0x26, characteristics, 2);
	set_le(s, 0x28, 0x01, 2); /* family 2: other */
	structure_end(s);
}

static uint16_t add_memory_array(Smbios *s, uint64_t ram, unsigned n_devices)
{
	uint16_t handle = structure_begin_next(s, 16, TYPE_16_LENGTH);
	uint64_t kib = ram / 1024;

	set_le(s, 0x04, 0x03, 1); /* location: system board */
	set_le(s, 0x05, 0x03, 1); /* use: system memory */
	set_le(s, 0x06, 0x03, 1); /* error correction: none */
	if (kib < CAPACITY_EXTENDED) {
		set_le(s, 0x07, kib, 4);
	} else {
		set_le(s, 0x07, CAPACITY_EXTENDED, 4);
		set_le(s, 0x0f, ram, 8); /* extended maximum capacity, bytes */
	}
	set_le(s, 0x0b, HANDLE_NOT_PROVIDED, 2);
	set_le(s, 0x0d, n_devices, 2);
	structure_end(s);
	return handle;
}

static void add_memory_device(Smbios *s, const HgSmbiosInfo *info, uint16_t array, unsigned index,
			      uint64_t size)
{
	g_autofree char *locator = g_strdup_printf("DIMM %u", index);
	uint64_t mib = size / MIB;

	structure_begin_next(s, 17, TYPE_17_LENGTH);
	set_le(s, 0x04, array, 2);
	set_le(s, 0x06, HANDLE_NOT_PROVIDED, 2);
	set_le(s, 0x08, 0xffff, 2); /* total width: unknown */
	set_le(s, 0x0a, 0xffff, 2); /* data width: unknown */
	if (mib < SIZE_MIB_EXTENDED) {
		set_le(s, 0x0c, mib, 2);
	} else {
		set_le(s, 0x0c, SIZE_MIB_EXTENDED, 2);
		set_le(s, 0x1c, mib, 4); /* extended size, MiB */
	}
	set_le(s, 0x0e, 0x09, 1); /* form factor: DIMM */
	set_le(s, 0x0f, 0, 1); /* not in a set */
	set_string(s, 0x10, locator);
	set_string(s, 0x11, NULL); /* bank locator */
	set_le(s, 0x12, 0x07, 1); /* type: RAM */
	set_le(s, 0x13, 1u << 1, 2); /* type detail: other */
	set_le(s, 0x15, 0, 2); /* speed: unknown */
	set_string(s, 0x17, info->manufacturer);
	set_string(s, 0x18, NULL); /* serial number */
	set_string(s, 0x19, NULL); /* asset tag */
	set_string(s, 0x1a, NULL); /* part number */
	structure_end(s);
}

/* [start, start + size) of RAM; addresses in KiB with an inclusive end,
 * or 64-bit byte addresses when they do not fit. */
static void add_mapped_address(Smbios *s, uint16_t array, uint64_t start, uint64_t size)
{
	uint64_t end = start + size - 1;

	structure_begin_next(s, 19, TYPE_19_LENGTH);
	if (end / 1024 < KIB_FIELD_LIMIT) {
		set_le(s, 0x04, start / 1024, 4);
		set_le(s, 0x08, end / 1024, 4);
	} else {
		set_le(s, 0x04, KIB_FIELD_EXTENDED, 4);
		set_le(s, 0x08, KIB_FIELD_EXTENDED, 4);
		set_le(s, 0x0f, start, 8);
		set_le(s, 0x17, end, 8);
	}
	set_le(s, 0x0c, array, 2);
	set_le(s, 0x0e, 1, 1); /* partition width: one device per row */
	structure_end(s);
}

void hg_smbios_info_init(HgSmbiosInfo *info)
{
	memset(info, 0, sizeof(*info));
	info->manufacturer = "Hangar";
	info->product = "Hangar Virtual Machine";
#ifdef HANGAR_VERSION
	info->version = HANGAR_VERSION;
#endif
	info->family = "Virtual Machine";
	info->n_sockets = 1;
}

static bool smbios_fail(GError **error, const char *message)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "SMBIOS tables: %s", message);
	return false;
}

static uint8_t byte_sum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

bool hg_smbios_build(const HgAcpiMachine *m, const HgSmbiosInfo *info, GBytes **anchor,
		     GBytes **tables, GError **error)
{
	g_autoptr(GByteArray) b = g_byte_array_new();
	g_autoptr(GPtrArray) strings = g_ptr_array_new();
	Smbios s = {.b = b, .strings = strings, .next_handle = HANDLE_FIRST};
	unsigned sockets = info->n_sockets ? info->n_sockets : 1;
	uint64_t ram, left;
	unsigned n_dimms;
	uint16_t array;
	uint8_t ep[HG_SMBIOS_ANCHOR_LENGTH] = {0};
	uint32_t max_size;

	*anchor = *tables = NULL;
	if (!hg_acpi_machine_check(m, error))
		return false;
	if (m->n_cpus % sockets)
		return smbios_fail(error, "the CPUs do not divide evenly into the sockets");
	if (m->ram_below_4g % MIB || m->ram_above_4g % MIB)
		return smbios_fail(error, "RAM sizes must be whole MiB");

	if (info->bios_vendor && *info->bios_vendor)
		add_bios_information(&s, info);
	add_system_information(&s, info);
	add_system_enclosure(&s, info);
	for (unsigned i = 0; i < sockets; i++)
		add_processor(&s, info, i, m->n_cpus / sockets);

	ram = m->ram_below_4g + m->ram_above_4g;
	n_dimms = (unsigned)((ram + DIMM_MAX_SIZE - 1) / DIMM_MAX_SIZE);
	array = add_memory_array(&s, ram, n_dimms);
	left = ram;
	for (unsigned i = 0; i < n_dimms; i++) {
		uint64_t size = MIN(left, DIMM_MAX_SIZE);

		add_memory_device(&s, info, array, i, size);
		left -= size;
	}
	add_mapped_address(&s, array, 0, m->ram_below_4g);
	if (m->ram_above_4g)
		add_mapped_address(&s, array, 4 * GIB, m->ram_above_4g);

	structure_begin_next(&s, 32, TYPE_32_LENGTH); /* status 0: no errors */
	structure_end(&s);
	structure_begin_next(&s, 127, TYPE_127_LENGTH);
	structure_end(&s);

	max_size = b->len;
	memcpy(ep, "_SM3_", 5);
	ep[6] = HG_SMBIOS_ANCHOR_LENGTH;
	ep[7] = SMBIOS_MAJOR;
	ep[8] = SMBIOS_MINOR;
	ep[9] = 0; /* docrev */
	ep[10] = ENTRY_POINT_REVISION;
	for (unsigned i = 0; i < 4; i++)
		ep[12 + i] = (uint8_t)(max_size >> (8 * i));
	/* Table address (16-23): the firmware fills it in. */
	ep[5] = (uint8_t)-byte_sum(ep, sizeof(ep));

	*anchor = g_bytes_new(ep, sizeof(ep));
	*tables = g_bytes_new(b->data, b->len);
	return true;
}
