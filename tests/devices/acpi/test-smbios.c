/* SMBIOS 3.0 tables (devices/acpi/smbios.c) against DSP0134 3.0: the
 * entry point as SeaBIOS and OVMF check it, the structure framing (formatted
 * area, string set, double NUL, type 127 last), the contents that describe
 * the machine; and dmidecode (package dmidecode), when installed, reading a
 * dump in its --dump-bin layout.  Also the list of fw_cfg files of
 * devices/acpi/firmware_tables.c. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "devices/acpi/firmware_tables.h"
#include "devices/acpi/smbios.h"
#include "devices/acpi/table_loader.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static const uint8_t test_uuid[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

typedef struct {
	uint8_t type;
	uint8_t length;
	uint16_t handle;
	const uint8_t *data; /* the formatted area */
	GPtrArray *strings; /* const char *, string 1 at index 0 */
} Structure;

typedef struct {
	GBytes *anchor;
	GBytes *tables;
	GArray *structures; /* Structure */
} Smbios;

static uint64_t get_le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint8_t byte_sum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

/* Splits the table into structures, checking the framing (6.1.2, 6.1.3). */
static void parse(Smbios *s)
{
	gsize len;
	const uint8_t *t = g_bytes_get_data(s->tables, &len);
	g_autoptr(GHashTable) handles = g_hash_table_new(NULL, NULL);
	gsize at = 0;

	s->structures = g_array_new(FALSE, TRUE, sizeof(Structure));
	while (at < len) {
		Structure st = {0};

		g_assert_cmpuint(at + 4, <=, len);
		st.type = t[at];
		st.length = t[at + 1];
		st.handle = (uint16_t)get_le(t + at + 2, 2);
		st.data = t + at;
		st.strings = g_ptr_array_new();
		g_assert_cmpuint(st.length, >=, 4);
		g_assert_cmpuint(at + st.length + 2, <=, len);
		g_assert_false(g_hash_table_contains(handles, GUINT_TO_POINTER(st.handle)));
		g_hash_table_add(handles, GUINT_TO_POINTER(st.handle));
		at += st.length;
		if (t[at] == 0) {
			/* No strings: exactly two NULs. */
			g_assert_cmpuint(t[at + 1], ==, 0);
			at += 2;
		} else {
			while (t[at] != 0) {
				const char *str = (const char *)t + at;
				size_t n = strnlen(str, len - at);

				g_assert_cmpuint(at + n + 1, <, len);
				g_ptr_array_add(st.strings, (gpointer)str);
				at += n + 1;
			}
			at++;
		}
		g_array_append_val(s->structures, st);
	}
	g_assert_cmpuint(at, ==, len);
}

static Smbios *build(const HgAcpiMachine *m, const HgSmbiosInfo *info)
{
	Smbios *s = g_new0(Smbios, 1);
	g_autoptr(GError) error = NULL;

	g_assert_true(hg_smbios_build(m, info, &s->anchor, &s->tables, &error));
	g_assert_no_error(error);
	parse(s);
	return s;
}

static Smbios *build_pc(unsigned n_cpus, unsigned n_sockets, uint64_t below, uint64_t above)
{
	HgAcpiMachine m;
	HgSmbiosInfo info;

	hg_acpi_machine_init_pc(&m, n_cpus, below, above);
	hg_smbios_info_init(&info);
	info.n_sockets = n_sockets;
	memcpy(info.uuid, test_uuid, sizeof(test_uuid));
	return build(&m, &info);
}

static void smbios_free(Smbios *s)
{
	for (guint i = 0; s->structures && i < s->structures->len; i++)
		g_ptr_array_unref(g_array_index(s->structures, Structure, i).strings);
	if (s->structures)
		g_array_unref(s->structures);
	g_bytes_unref(s->anchor);
	g_bytes_unref(s->tables);
	g_free(s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Smbios, smbios_free)

static unsigned count_type(Smbios *s, uint8_t type)
{
	unsigned n = 0;

	for (guint i = 0; i < s->structures->len; i++)
		n += g_array_index(s->structures, Structure, i).type == type;
	return n;
}

static const Structure *nth_of_type(Smbios *s, uint8_t type, unsigned nth)
{
	for (guint i = 0; i < s->structures->len; i++) {
		const Structure *st = &g_array_index(s->structures, Structure, i);

		if (st->type == type && nth-- == 0)
			return st;
	}
	g_error("no structure %u of type %u", nth, type);
}

/* The string a field of the formatted area refers to, NULL for none. */
static const char *string_at(const Structure *st, unsigned field)
{
	unsigned n = st->data[field];

	if (n == 0)
		return NULL;
	g_assert_cmpuint(n, <=, st->strings->len);
	return g_ptr_array_index(st->strings, n - 1);
}

static void test_anchor_is_a_3_0_entry_point(void)
{
	g_autoptr(Smbios) s = build_pc(2, 1, 512 * MIB, 0);
	gsize len, tables_len;
	const uint8_t *ep = g_bytes_get_data(s->anchor, &len);

	g_bytes_get_data(s->tables, &tables_len);
	g_assert_cmpuint(len, ==, 24);
	g_assert_cmpmem(ep, 5, "_SM3_", 5);
	g_assert_cmpuint(byte_sum(ep, 24), ==, 0);
	g_assert_cmpuint(ep[6], ==, 0x18);
	g_assert_cmpuint(ep[7], ==, 3);
	g_assert_cmpuint(ep[8], ==, 0);
	g_assert_cmpuint(ep[10], ==, 1); /* entry point revision */
	g_assert_cmpuint(get_le(ep + 12, 4), ==, tables_len); /* what SeaBIOS and OVMF check */
	g_assert_cmpuint(get_le(ep + 16, 8), ==, 0); /* filled in by firmware */
}

static void test_structures_end_with_type_127(void)
{
	g_autoptr(Smbios) s = build_pc(4, 2, 2 * GIB, 2 * GIB);
	const Structure *last = &g_array_index(s->structures, Structure, s->structures->len - 1);

	g_assert_cmpuint(last->type, ==, 127);
	g_assert_cmpuint(last->length, ==, 4);
	g_assert_cmpuint(count_type(s, 127), ==, 1);
	g_assert_cmpuint(count_type(s, 1), ==, 1);
	g_assert_cmpuint(count_type(s, 3), ==, 1);
	g_assert_cmpuint(count_type(s, 16), ==, 1);
	g_assert_cmpuint(count_type(s, 32), ==, 1);
	g_assert_cmpuint(count_type(s, 0), ==, 0);
}

/* Formatted-area lengths of the SMBIOS 3.0 versions of each type. */
static void test_structures_have_3_0_lengths(void)
{
	g_autoptr(Smbios) s = build_pc(4, 2, 2 * GIB, 2 * GIB);
	static const uint8_t lengths[][2] = {{1, 0x1b},	 {3, 0x16},  {4, 0x30},	 {16, 0x17},
					     {17, 0x28}, {19, 0x1f}, {32, 0x0b}, {127, 0x04}};

	for (guint i = 0; i < s->structures->len; i++) {
		const Structure *st = &g_array_index(s->structures, Structure, i);
		bool known = false;

		for (unsigned j = 0; j < G_N_ELEMENTS(lengths); j++) {
			if (lengths[j][0] == st->type) {
				g_assert_cmpuint(st->length, ==, lengths[j][1]);
				known = true;
			}
		}
		g_assert_true(known);
	}
}

/* DSP0134 7.2.1: the first three UUID fields are little-endian. */
static void test_system_information_carries_the_uuid(void)
{
	g_autoptr(Smbios) s = build_pc(2, 1, 512 * MIB, 0);
	const Structure *t1 = nth_of_type(s, 1, 0);
	static const uint8_t smbios_order[16] = {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
						 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

	g_assert_cmpstr(string_at(t1, 0x04), ==, "Hangar");
	g_assert_cmpstr(string_at(t1, 0x05), ==, "Hangar Virtual Machine");
	g_assert_cmpstr(string_at(t1, 0x06), ==, HANGAR_VERSION);
	g_assert_null(string_at(t1, 0x07)); /* no serial number */
	g_assert_cmpmem(t1->data + 0x08, 16, smbios_order, 16);
	g_assert_cmpuint(t1->data[0x18], ==, 0x06); /* power switch */
}

static void test_enclosure_is_other(void)
{
	g_autoptr(Smbios) s = build_pc(2, 1, 512 * MIB, 0);
	const Structure *t3 = nth_of_type(s, 3, 0);

	g_assert_cmpstr(string_at(t3, 0x04), ==, "Hangar");
	g_assert_cmpuint(t3->data[0x05], ==, 0x01);
}

static void test_processor_per_socket(void)
{
	g_autoptr(Smbios) s = build_pc(8, 2, 512 * MIB, 0);

	g_assert_cmpuint(count_type(s, 4), ==, 2);
	for (unsigned i = 0; i < 2; i++) {
		const Structure *t4 = nth_of_type(s, 4, i);
		g_autofree char *designation = g_strdup_printf("CPU %u", i);

		g_assert_cmpstr(string_at(t4, 0x04), ==, designation);
		g_assert_cmpuint(t4->data[0x05], ==, 3); /* central processor */
		g_assert_cmphex(t4->data[0x18], ==, 0x41); /* populated, enabled */
		g_assert_cmpuint(t4->data[0x23], ==, 4); /* core count */
		g_assert_cmpuint(t4->data[0x24], ==, 4); /* cores enabled */
		g_assert_cmpuint(t4->data[0x25], ==, 4); /* threads */
		g_assert_cmpuint(get_le(t4->data + 0x2a, 2), ==, 4);
		g_assert_cmphex(get_le(t4->data + 0x1a, 2), ==, 0xffff); /* no cache info */
	}
}

/* 256 cores or more: 0xff in the byte fields, the count in the 3.0 ones. */
static void test_processor_counts_above_255(void)
{
	g_autoptr(Smbios) s = build_pc(300, 1, 512 * MIB, 0);
	const Structure *t4 = nth_of_type(s, 4, 0);

	g_assert_cmpuint(t4->data[0x23], ==, 0xff);
	g_assert_cmpuint(get_le(t4->data + 0x2a, 2), ==, 300);
	g_assert_cmpuint(get_le(t4->data + 0x2c, 2), ==, 300);
	g_assert_cmpuint(get_le(t4->data + 0x2e, 2), ==, 300);
}

static uint64_t memory_device_size(const Structure *t17)
{
	uint64_t size = get_le(t17->data + 0x0c, 2);

	if (size == 0x7fff)
		return get_le(t17->data + 0x1c, 4) * MIB;
	g_assert_cmpuint(size & 0x8000, ==, 0); /* MiB granularity */
	return size * MIB;
}

static void assert_memory(uint64_t below, uint64_t above, unsigned n_dimms)
{
	g_autoptr(Smbios) s = build_pc(1, 1, below, above);
	const Structure *t16 = nth_of_type(s, 16, 0);
	uint64_t total = 0;
	const Structure *low;

	g_assert_cmpuint(count_type(s, 17), ==, n_dimms);
	g_assert_cmpuint(get_le(t16->data + 0x0d, 2), ==, n_dimms);
	g_assert_cmpuint(get_le(t16->data + 0x07, 4), ==, (below + above) / 1024);
	for (unsigned i = 0; i < n_dimms; i++) {
		const Structure *t17 = nth_of_type(s, 17, i);

		g_assert_cmphex(get_le(t17->data + 0x04, 2), ==, t16->handle);
		g_assert_cmpuint(memory_device_size(t17), <=, 16 * GIB);
		total += memory_device_size(t17);
	}
	g_assert_cmpuint(total, ==, below + above);

	g_assert_cmpuint(count_type(s, 19), ==, above ? 2 : 1);
	low = nth_of_type(s, 19, 0);
	g_assert_cmpuint(get_le(low->data + 0x04, 4), ==, 0);
	g_assert_cmpuint(get_le(low->data + 0x08, 4), ==, below / 1024 - 1);
	g_assert_cmphex(get_le(low->data + 0x0c, 2), ==, t16->handle);
	if (above) {
		const Structure *high = nth_of_type(s, 19, 1);

		g_assert_cmpuint(get_le(high->data + 0x04, 4), ==, 4 * GIB / 1024);
		g_assert_cmpuint(get_le(high->data + 0x08, 4), ==, (4 * GIB + above) / 1024 - 1);
	}
}

static void test_memory_devices_add_up_to_the_ram(void)
{
	assert_memory(512 * MIB, 0, 1);
	assert_memory(3 * GIB, 13 * GIB, 1);
	assert_memory(3 * GIB, 30 * GIB, 3);
}

/* Above 4 TiB the KiB fields overflow: extended byte addresses. */
static void test_mapped_address_extended_above_4_tib(void)
{
	g_autoptr(Smbios) s = build_pc(1, 1, 3 * GIB, 5ULL << 40);
	const Structure *high = nth_of_type(s, 19, 1);
	const Structure *t16 = nth_of_type(s, 16, 0);

	g_assert_cmphex(get_le(high->data + 0x04, 4), ==, 0xffffffff);
	g_assert_cmphex(get_le(high->data + 0x08, 4), ==, 0xffffffff);
	g_assert_cmphex(get_le(high->data + 0x0f, 8), ==, 4 * GIB);
	g_assert_cmphex(get_le(high->data + 0x17, 8), ==, 4 * GIB + (5ULL << 40) - 1);
	/* 5 TiB + 3 GiB is more than 2 TiB: extended capacity in bytes. */
	g_assert_cmphex(get_le(t16->data + 0x07, 4), ==, 0x80000000);
	g_assert_cmphex(get_le(t16->data + 0x0f, 8), ==, (5ULL << 40) + 3 * GIB);
}

static void test_bios_information_only_when_asked(void)
{
	HgAcpiMachine m;
	HgSmbiosInfo info;
	g_autoptr(Smbios) s = NULL;
	const Structure *t0;

	hg_acpi_machine_init_pc(&m, 1, 512 * MIB, 0);
	hg_smbios_info_init(&info);
	info.bios_vendor = "Hangar";
	info.bios_version = "1.0";
	info.bios_date = "11/25/2026";
	s = build(&m, &info);
	t0 = &g_array_index(s->structures, Structure, 0);
	g_assert_cmpuint(t0->type, ==, 0);
	g_assert_cmpuint(t0->handle, ==, 0);
	g_assert_cmpuint(t0->length, ==, 0x18);
	g_assert_cmpstr(string_at(t0, 0x04), ==, "Hangar");
	g_assert_cmpstr(string_at(t0, 0x05), ==, "1.0");
	g_assert_cmpstr(string_at(t0, 0x08), ==, "11/25/2026");
	g_assert_cmpuint(count_type(s, 0), ==, 1);
}

static bool have_program(const char *name)
{
	g_autofree char *path = g_find_program_in_path(name);

	return path != NULL;
}

/* dmidecode --dump-bin layout: the entry point at 0 with its table address
 * set to 32, the table at 32. */
static void test_dmidecode_reads_the_tables(void)
{
	g_autoptr(Smbios) s = NULL;
	g_autoptr(GByteArray) dump = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = NULL;
	g_autofree char *path = NULL;
	g_autofree char *out = NULL;
	g_autofree char *err = NULL;
	const char *argv[] = {"dmidecode", "--from-dump", NULL, NULL};
	const char *const expected[] = {"SMBIOS 3.0.0 present.",
					"Manufacturer: Hangar",
					"Product Name: Hangar Virtual Machine",
					"UUID: 00112233-4455-6677-8899-aabbccddeeff",
					"Socket Designation: CPU 1",
					"Core Count: 2",
					"Size: 16 GB",
					"Size: 2 GB",
					"Ending Address: 0x000BFFFFFFF",
					"Starting Address: 0x00100000000",
					"End Of Table"};
	gsize len;
	const uint8_t *p;
	uint8_t ep[24];
	int status;

	if (!have_program("dmidecode")) {
		g_test_skip("dmidecode is not installed (package dmidecode)");
		return;
	}
	s = build_pc(4, 2, 3 * GIB, 15 * GIB);
	p = g_bytes_get_data(s->anchor, &len);
	memcpy(ep, p, sizeof(ep));
	ep[16] = 32;
	ep[5] = 0;
	ep[5] = (uint8_t)-byte_sum(ep, sizeof(ep));
	g_byte_array_append(dump, ep, sizeof(ep));
	g_byte_array_set_size(dump, 32);
	memset(dump->data + 24, 0, 8);
	p = g_bytes_get_data(s->tables, &len);
	g_byte_array_append(dump, p, (guint)len);

	dir = g_dir_make_tmp("hangar-smbios-XXXXXX", NULL);
	path = g_build_filename(dir, "dmi.bin", NULL);
	g_assert_true(g_file_set_contents(path, (const char *)dump->data, dump->len, &error));
	argv[2] = path;
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
				   &err, &status, &error));
	g_assert_no_error(error);
	g_unlink(path);
	g_rmdir(dir);
	if (!g_spawn_check_wait_status(status, NULL) || *err)
		g_error("dmidecode failed:\n%s%s", out, err);
	for (unsigned i = 0; i < G_N_ELEMENTS(expected); i++)
		if (!strstr(out, expected[i]))
			g_error("\"%s\" is missing from dmidecode's output:\n%s", expected[i], out);
	g_assert_null(strstr(out, "Invalid"));
	g_assert_null(strstr(out, "Wrong"));
	g_assert_null(strstr(out, "<OUT OF SPEC>"));
	g_assert_null(strstr(out, "Bad"));
}

static void assert_refused(const HgAcpiMachine *m, const HgSmbiosInfo *info)
{
	g_autoptr(GError) error = NULL;
	GBytes *anchor = (GBytes *)1, *tables = (GBytes *)1;

	g_assert_false(hg_smbios_build(m, info, &anchor, &tables, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_null(anchor);
	g_assert_null(tables);
}

static void test_build_refuses_broken_input(void)
{
	HgAcpiMachine m;
	HgSmbiosInfo info;

	hg_smbios_info_init(&info);
	hg_acpi_machine_init_pc(&m, 0, 512 * MIB, 0);
	assert_refused(&m, &info);
	hg_acpi_machine_init_pc(&m, 2, 512 * MIB + 4096, 0);
	assert_refused(&m, &info);
	hg_acpi_machine_init_pc(&m, 2, 3 * GIB, 1ULL << 50);
	assert_refused(&m, &info);
	hg_acpi_machine_init_pc(&m, 3, 512 * MIB, 0);
	info.n_sockets = 2;
	assert_refused(&m, &info);
}

static void test_firmware_files_are_the_five_qemu_names(void)
{
	HgAcpiMachine m;
	HgSmbiosInfo info;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) files = NULL;
	const char *const names[] = {HG_ACPI_RSDP_FILE, HG_ACPI_TABLES_FILE, HG_TABLE_LOADER_FILE,
				     HG_SMBIOS_ANCHOR_FILE, HG_SMBIOS_TABLES_FILE};

	hg_acpi_machine_init_pc(&m, 2, 512 * MIB, 0);
	hg_smbios_info_init(&info);
	files = hg_firmware_tables_build(&m, &info, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(files->len, ==, G_N_ELEMENTS(names));
	for (unsigned i = 0; i < files->len; i++) {
		HgFirmwareFile *f = g_ptr_array_index(files, i);

		g_assert_cmpstr(f->name, ==, names[i]);
		g_assert_cmpuint(strlen(f->name), <, 56);
		g_assert_cmpuint(g_bytes_get_size(f->data), >, 0);
	}
	g_assert_cmpuint(g_bytes_get_size(((HgFirmwareFile *)files->pdata[0])->data), ==, 36);
	g_assert_cmpuint(g_bytes_get_size(((HgFirmwareFile *)files->pdata[3])->data), ==, 24);

	g_clear_pointer(&files, g_ptr_array_unref);
	m.n_cpus = 0;
	files = hg_firmware_tables_build(&m, &info, &error);
	g_assert_null(files);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/smbios/anchor/is-a-3.0-entry-point", test_anchor_is_a_3_0_entry_point);
	g_test_add_func("/smbios/structures/end-with-type-127", test_structures_end_with_type_127);
	g_test_add_func("/smbios/structures/have-3.0-lengths", test_structures_have_3_0_lengths);
	g_test_add_func("/smbios/type1/carries-the-uuid-in-smbios-order",
			test_system_information_carries_the_uuid);
	g_test_add_func("/smbios/type3/is-other", test_enclosure_is_other);
	g_test_add_func("/smbios/type4/one-per-socket", test_processor_per_socket);
	g_test_add_func("/smbios/type4/counts-above-255-use-the-3.0-fields",
			test_processor_counts_above_255);
	g_test_add_func("/smbios/type17/devices-add-up-to-the-ram",
			test_memory_devices_add_up_to_the_ram);
	g_test_add_func("/smbios/type19/extended-above-4-tib",
			test_mapped_address_extended_above_4_tib);
	g_test_add_func("/smbios/type0/only-when-asked", test_bios_information_only_when_asked);
	g_test_add_func("/smbios/dmidecode/reads-the-tables", test_dmidecode_reads_the_tables);
	g_test_add_func("/smbios/build/refuses-broken-input", test_build_refuses_broken_input);
	g_test_add_func("/smbios/firmware-files/are-the-five-qemu-names",
			test_firmware_files_are_the_five_qemu_names);
	return g_test_run();
}
