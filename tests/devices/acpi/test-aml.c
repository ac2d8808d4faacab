/* The AML encoder (devices/acpi/aml.c) against byte sequences worked out
 * from the ACPI 6.x grammar (section 20.2) and resource descriptor layouts
 * (section 6.4); each expected sequence is also what iasl emits for the
 * ASL in the comment. */
#include <glib.h>
#include <string.h>

#include "devices/acpi/aml.h"

/* Encodes one term into a block and compares its bytes. */
static void assert_encodes(HgAml *term, const uint8_t *expected, size_t len)
{
	HgAml *block = hg_aml_block();
	g_autoptr(GByteArray) bytes = NULL;

	hg_aml_append(block, term);
	bytes = hg_aml_steal_bytes(block);
	g_assert_cmpmem(bytes->data, bytes->len, expected, len);
}

#define ASSERT_ENCODES(term, ...)                                                                  \
	do {                                                                                       \
		static const uint8_t expected_[] = {__VA_ARGS__};                                  \
		assert_encodes((term), expected_, sizeof(expected_));                              \
	} while (0)

static void assert_pkg_length(size_t len, const uint8_t *expected, unsigned n)
{
	uint8_t out[4] = {0};

	g_assert_cmpuint(hg_aml_encode_pkg_length(len, out), ==, n);
	g_assert_cmpmem(out, n, expected, n);
}

/* 20.2.4: the length counts the encoding itself; one byte holds up to 63. */
static void test_pkg_length_one_byte(void)
{
	assert_pkg_length(0, (const uint8_t[]){0x01}, 1);
	assert_pkg_length(10, (const uint8_t[]){0x0b}, 1);
	assert_pkg_length(62, (const uint8_t[]){0x3f}, 1);
}

/* Lead byte: bits 7-6 the count of following bytes, bits 3-0 the low
 * nibble; each following byte 8 more bits. */
static void test_pkg_length_two_bytes(void)
{
	assert_pkg_length(63, (const uint8_t[]){0x41, 0x04}, 2); /* 65 = 0x41 */
	assert_pkg_length(100, (const uint8_t[]){0x46, 0x06}, 2); /* 102 = 0x66 */
	assert_pkg_length(4093, (const uint8_t[]){0x4f, 0xff}, 2); /* 4095 */
}

static void test_pkg_length_three_bytes(void)
{
	assert_pkg_length(4094, (const uint8_t[]){0x81, 0x00, 0x01}, 3); /* 0x1001 */
	assert_pkg_length(0xffffc, (const uint8_t[]){0x8f, 0xff, 0xff}, 3); /* 0xfffff */
}

static void test_pkg_length_four_bytes(void)
{
	assert_pkg_length(0x100000, (const uint8_t[]){0xc4, 0x00, 0x00, 0x01}, 4);
	assert_pkg_length(0xffffffb, (const uint8_t[]){0xcf, 0xff, 0xff, 0xff}, 4);
}

static void test_pkg_length_too_long(void)
{
	uint8_t out[4];

	g_assert_cmpuint(hg_aml_encode_pkg_length(0xffffffc, out), ==, 0);
}

/* A 100-byte buffer needs a two-byte PkgLength. */
static void test_pkg_length_used_by_packages(void)
{
	uint8_t data[100] = {0};
	HgAml *block = hg_aml_block();
	g_autoptr(GByteArray) bytes = NULL;

	hg_aml_append(block, hg_aml_buffer(data, sizeof(data)));
	bytes = hg_aml_steal_bytes(block);
	/* BufferOp, PkgLength(2 + 2 + 100 = 104 = 0x68), BytePrefix 100 */
	g_assert_cmpuint(bytes->len, ==, 1 + 2 + 2 + 100);
	g_assert_cmphex(bytes->data[0], ==, 0x11);
	g_assert_cmphex(bytes->data[1], ==, 0x48);
	g_assert_cmphex(bytes->data[2], ==, 0x06);
	g_assert_cmphex(bytes->data[3], ==, 0x0a);
	g_assert_cmphex(bytes->data[4], ==, 100);
}

static void test_name_pads_segments(void)
{
	ASSERT_ENCODES(hg_aml_name("ISA"), 'I', 'S', 'A', '_');
	ASSERT_ENCODES(hg_aml_name("_S5"), '_', 'S', '5', '_');
	ASSERT_ENCODES(hg_aml_name("_HID"), '_', 'H', 'I', 'D');
}

static void test_name_paths(void)
{
	ASSERT_ENCODES(hg_aml_name("\\_SB"), '\\', '_', 'S', 'B', '_');
	/* DualNamePrefix */
	ASSERT_ENCODES(hg_aml_name("\\_SB.PCI0"), '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I',
		       '0');
	/* MultiNamePrefix, segment count */
	ASSERT_ENCODES(hg_aml_name("\\_SB.PCI0.ISA.PRQ0"), '\\', 0x2f, 4, '_', 'S', 'B', '_', 'P',
		       'C', 'I', '0', 'I', 'S', 'A', '_', 'P', 'R', 'Q', '0');
	ASSERT_ENCODES(hg_aml_name("^^LNKA"), '^', '^', 'L', 'N', 'K', 'A');
	ASSERT_ENCODES(hg_aml_name("\\"), '\\', 0x00);
}

static void test_integer_shortest_encoding(void)
{
	ASSERT_ENCODES(hg_aml_int(0), 0x00); /* ZeroOp */
	ASSERT_ENCODES(hg_aml_int(1), 0x01); /* OneOp */
	ASSERT_ENCODES(hg_aml_int(2), 0x0a, 0x02);
	ASSERT_ENCODES(hg_aml_int(0xff), 0x0a, 0xff);
	ASSERT_ENCODES(hg_aml_int(0x100), 0x0b, 0x00, 0x01);
	ASSERT_ENCODES(hg_aml_int(0xffff), 0x0b, 0xff, 0xff);
	ASSERT_ENCODES(hg_aml_int(0x10000), 0x0c, 0x00, 0x00, 0x01, 0x00);
	ASSERT_ENCODES(hg_aml_int(0xffffffff), 0x0c, 0xff, 0xff, 0xff, 0xff);
	ASSERT_ENCODES(hg_aml_int(0x100000000ULL), 0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
		       0x00);
	ASSERT_ENCODES(hg_aml_ones(), 0xff);
}

static void test_string_is_nul_terminated(void)
{
	ASSERT_ENCODES(hg_aml_string("ACPI0007"), 0x0d, 'A', 'C', 'P', 'I', '0', '0', '0', '7',
		       0x00);
	ASSERT_ENCODES(hg_aml_string(""), 0x0d, 0x00);
}

/* EisaId ("PNP0A03") == 0x030AD041, always a DWordConst */
static void test_eisaid_is_compressed_dword(void)
{
	ASSERT_ENCODES(hg_aml_eisaid("PNP0A03"), 0x0c, 0x41, 0xd0, 0x0a, 0x03);
	ASSERT_ENCODES(hg_aml_eisaid("PNP0303"), 0x0c, 0x41, 0xd0, 0x03, 0x03);
	ASSERT_ENCODES(hg_aml_eisaid("PNP0000"), 0x0c, 0x41, 0xd0, 0x00, 0x00);
}

/* Buffer (3) {1, 2, 3} */
static void test_buffer(void)
{
	ASSERT_ENCODES(hg_aml_buffer((const uint8_t[]){1, 2, 3}, 3), 0x11, 0x06, 0x0a, 0x03, 1, 2,
		       3);
}

/* Package () {One, Zero, "A"} */
static void test_package_counts_elements(void)
{
	HgAml *package = hg_aml_package();

	hg_aml_append(package, hg_aml_int(1));
	hg_aml_append(package, hg_aml_int(0));
	hg_aml_append(package, hg_aml_string("A"));
	ASSERT_ENCODES(package, 0x12, 0x07, 0x03, 0x01, 0x00, 0x0d, 'A', 0x00);
}

/* Name (_UID, 0x1234) */
static void test_name_declaration(void)
{
	ASSERT_ENCODES(hg_aml_name_decl("_UID", hg_aml_int(0x1234)), 0x08, '_', 'U', 'I', 'D', 0x0b,
		       0x34, 0x12);
}

/* Method (_STA, 0, NotSerialized) { Return (0x0F) } */
static void test_method(void)
{
	HgAml *method = hg_aml_method("_STA", 0, false);

	hg_aml_append(method, hg_aml_return(hg_aml_int(0x0f)));
	ASSERT_ENCODES(method, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);
}

/* Method (IQCR, 1, Serialized) {} : ArgCount 1, SerializeFlag bit 3 */
static void test_method_flags(void)
{
	ASSERT_ENCODES(hg_aml_method("IQCR", 1, true), 0x14, 0x06, 'I', 'Q', 'C', 'R', 0x09);
	ASSERT_ENCODES(hg_aml_method("_SRS", 7, false), 0x14, 0x06, '_', 'S', 'R', 'S', 0x07);
}

/* If (Arg0) { Return (One) } Else { Return (Zero) } */
static void test_if_else(void)
{
	HgAml *block = hg_aml_block();
	HgAml *if_ = hg_aml_if(hg_aml_arg(0));
	HgAml *else_ = hg_aml_else();

	hg_aml_append(if_, hg_aml_return(hg_aml_int(1)));
	hg_aml_append(else_, hg_aml_return(hg_aml_int(0)));
	hg_aml_append(block, if_);
	hg_aml_append(block, else_);
	ASSERT_ENCODES(block, 0xa0, 0x04, 0x68, 0xa4, 0x01, 0xa1, 0x03, 0xa4, 0x00);
}

/* Store (And (Arg0, 0x0F), Local1); Or (Local0, 0x80, Local0);
 * LNot (LEqual (Arg1, Local7)); LLess (Arg6, One) */
static void test_expressions(void)
{
	ASSERT_ENCODES(
		hg_aml_store(hg_aml_and(hg_aml_arg(0), hg_aml_int(0x0f), NULL), hg_aml_local(1)),
		0x70, 0x7b, 0x68, 0x0a, 0x0f, 0x00, 0x61);
	ASSERT_ENCODES(hg_aml_or(hg_aml_local(0), hg_aml_int(0x80), hg_aml_local(0)), 0x7d, 0x60,
		       0x0a, 0x80, 0x60);
	ASSERT_ENCODES(hg_aml_lnot(hg_aml_lequal(hg_aml_arg(1), hg_aml_local(7))), 0x92, 0x93, 0x69,
		       0x67);
	ASSERT_ENCODES(hg_aml_lless(hg_aml_arg(6), hg_aml_int(1)), 0x95, 0x6e, 0x01);
}

/* IQST (Arg0) */
static void test_method_call(void)
{
	HgAml *call = hg_aml_call("IQST");

	hg_aml_append(call, hg_aml_arg(0));
	ASSERT_ENCODES(call, 'I', 'Q', 'S', 'T', 0x68);
}

/* CreateDWordField (Arg0, 0x05, PRRI) */
static void test_create_dword_field(void)
{
	ASSERT_ENCODES(hg_aml_create_dword_field(hg_aml_arg(0), hg_aml_int(5), "PRRI"), 0x8a, 0x68,
		       0x0a, 0x05, 'P', 'R', 'R', 'I');
}

/* OperationRegion (P40C, PCI_Config, 0x60, 0x04) */
static void test_operation_region(void)
{
	ASSERT_ENCODES(
		hg_aml_operation_region("P40C", HG_AML_PCI_CONFIG, hg_aml_int(0x60), hg_aml_int(4)),
		0x5b, 0x80, 'P', '4', '0', 'C', 0x02, 0x0a, 0x60, 0x0a, 0x04);
}

/* Field (P40C, ByteAcc, NoLock, Preserve) { PRQ0, 8, , 8, PRQ1, 8 } */
static void test_field_list(void)
{
	HgAml *field = hg_aml_field("P40C", HG_AML_BYTE_ACC, HG_AML_NO_LOCK, HG_AML_PRESERVE);

	hg_aml_field_unit(field, "PRQ0", 8);
	hg_aml_field_skip(field, 8);
	hg_aml_field_unit(field, "PRQ1", 8);
	ASSERT_ENCODES(field, 0x5b, 0x81, 0x12, 'P', '4', '0', 'C', 0x01, 'P', 'R', 'Q', '0', 0x08,
		       0x00, 0x08, 'P', 'R', 'Q', '1', 0x08);
}

/* A field unit's length does not count itself: 64 bits take two bytes. */
static void test_field_unit_long(void)
{
	HgAml *field = hg_aml_field("REG", HG_AML_DWORD_ACC, HG_AML_LOCK, HG_AML_WRITE_AS_ZEROS);

	hg_aml_field_unit(field, "BIG", 64);
	ASSERT_ENCODES(field, 0x5b, 0x81, 0x0c, 'R', 'E', 'G', '_', 0x53, 'B', 'I', 'G', '_', 0x40,
		       0x04);
}

/* Scope (\_SB) { Device (PCI0) { Name (_UID, Zero) } } */
static void test_scope_and_device(void)
{
	HgAml *scope = hg_aml_scope("\\_SB");
	HgAml *device = hg_aml_device("PCI0");

	hg_aml_append(device, hg_aml_name_decl("_UID", hg_aml_int(0)));
	hg_aml_append(scope, device);
	ASSERT_ENCODES(scope, 0x10, 0x13, '\\', '_', 'S', 'B', '_', 0x5b, 0x82, 0x0b, 'P', 'C', 'I',
		       '0', 0x08, '_', 'U', 'I', 'D', 0x00);
}

/* Processor (C000, 0x00, 0x00000000, 0x00) {} */
static void test_processor(void)
{
	ASSERT_ENCODES(hg_aml_processor("C000", 0, 0, 0), 0x5b, 0x83, 0x0b, 'C', '0', '0', '0',
		       0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
}

/* ResourceTemplate () { IRQNoFlags () {1} }: descriptors, then the end tag
 * 0x79 with checksum 0 (6.4.2.9: a zero checksum means "valid"). */
static void test_resource_template_end_tag(void)
{
	HgAml *rt = hg_aml_resource_template();

	hg_aml_append(rt, hg_aml_irq_no_flags(1));
	ASSERT_ENCODES(rt, 0x11, 0x08, 0x0a, 0x05, 0x22, 0x02, 0x00, 0x79, 0x00);
}

/* IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08) */
static void test_io_descriptor(void)
{
	ASSERT_ENCODES(hg_aml_io(0x3f8, 0x3f8, 1, 8), 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01,
		       0x08);
}

/* IRQNoFlags () {12}: the mask, bit 12 */
static void test_irq_descriptor(void)
{
	ASSERT_ENCODES(hg_aml_irq_no_flags(12), 0x22, 0x00, 0x10);
}

/* Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {5, 10, 11};
 * Interrupt (ResourceConsumer, Edge, ActiveLow, Exclusive) {9} */
static void test_interrupt_descriptor(void)
{
	const uint32_t irqs[] = {5, 10, 11};
	const uint32_t sci = 9;

	ASSERT_ENCODES(hg_aml_interrupt(HG_AML_LEVEL, HG_AML_ACTIVE_HIGH, true, irqs, 3), 0x89,
		       0x0e, 0x00, 0x09, 0x03, 0x05, 0, 0, 0, 0x0a, 0, 0, 0, 0x0b, 0, 0, 0);
	ASSERT_ENCODES(hg_aml_interrupt(HG_AML_EDGE, HG_AML_ACTIVE_LOW, false, &sci, 1), 0x89, 0x06,
		       0x00, 0x07, 0x01, 0x09, 0, 0, 0);
}

/* WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
 *                0x0000, 0x0000, 0x00FF, 0x0000, 0x0100) */
static void test_word_bus_number(void)
{
	ASSERT_ENCODES(hg_aml_word_bus_number(0, 0xff), 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00,
		       0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01);
}

/* WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
 *         0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300) */
static void test_word_io(void)
{
	ASSERT_ENCODES(hg_aml_word_io(0x0d00, 0xffff), 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00,
		       0x00, 0x00, 0x0d, 0xff, 0xff, 0x00, 0x00, 0x00, 0xf3);
}

/* DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
 *              ReadWrite, 0, 0x000A0000, 0x000BFFFF, 0, 0x00020000) */
static void test_dword_memory(void)
{
	ASSERT_ENCODES(hg_aml_dword_memory(0xa0000, 0xbffff, HG_AML_CACHEABLE, true), 0x87, 0x17,
		       0x00, 0x00, 0x0c, 0x03, 0, 0, 0, 0, 0x00, 0x00, 0x0a, 0x00, 0xff, 0xff, 0x0b,
		       0x00, 0, 0, 0, 0, 0x00, 0x00, 0x02, 0x00);
	/* NonCacheable, ReadOnly */
	ASSERT_ENCODES(hg_aml_dword_memory(0xc0000000, 0xfebfffff, HG_AML_NON_CACHEABLE, false),
		       0x87, 0x17, 0x00, 0x00, 0x0c, 0x00, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xc0, 0xff,
		       0xff, 0xbf, 0xfe, 0, 0, 0, 0, 0x00, 0x00, 0xc0, 0x3e);
}

/* QWordMemory (..., Prefetchable, ReadWrite, 0, 0x100000000,
 *              0x8FFFFFFFF, 0, 0x800000000) */
static void test_qword_memory(void)
{
	ASSERT_ENCODES(
		hg_aml_qword_memory(0x100000000ULL, 0x8ffffffffULL, HG_AML_PREFETCHABLE, true),
		0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x08, 0x00, 0x00, 0x00, 0, 0, 0, 0,
		0, 0, 0, 0, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/aml/pkg-length/one-byte-up-to-63", test_pkg_length_one_byte);
	g_test_add_func("/aml/pkg-length/two-bytes-up-to-4095", test_pkg_length_two_bytes);
	g_test_add_func("/aml/pkg-length/three-bytes-up-to-1m", test_pkg_length_three_bytes);
	g_test_add_func("/aml/pkg-length/four-bytes-up-to-256m", test_pkg_length_four_bytes);
	g_test_add_func("/aml/pkg-length/refuses-256m-and-more", test_pkg_length_too_long);
	g_test_add_func("/aml/pkg-length/grows-with-the-package", test_pkg_length_used_by_packages);
	g_test_add_func("/aml/name/pads-short-segments-with-underscores", test_name_pads_segments);
	g_test_add_func("/aml/name/encodes-root-parent-dual-and-multi-paths", test_name_paths);
	g_test_add_func("/aml/integer/takes-the-shortest-encoding", test_integer_shortest_encoding);
	g_test_add_func("/aml/string/is-nul-terminated", test_string_is_nul_terminated);
	g_test_add_func("/aml/eisaid/is-a-compressed-dword", test_eisaid_is_compressed_dword);
	g_test_add_func("/aml/buffer/carries-its-size", test_buffer);
	g_test_add_func("/aml/package/counts-its-elements", test_package_counts_elements);
	g_test_add_func("/aml/name/declares-an-object", test_name_declaration);
	g_test_add_func("/aml/method/wraps-its-body", test_method);
	g_test_add_func("/aml/method/encodes-argument-count-and-serialization", test_method_flags);
	g_test_add_func("/aml/if-else/are-two-packages", test_if_else);
	g_test_add_func("/aml/expressions/take-operands-and-targets", test_expressions);
	g_test_add_func("/aml/call/is-the-name-then-the-arguments", test_method_call);
	g_test_add_func("/aml/create-dword-field/names-a-buffer-slice", test_create_dword_field);
	g_test_add_func("/aml/operation-region/has-space-offset-length", test_operation_region);
	g_test_add_func("/aml/field/lists-units-and-skips", test_field_list);
	g_test_add_func("/aml/field/unit-length-excludes-itself", test_field_unit_long);
	g_test_add_func("/aml/scope/nests-a-device", test_scope_and_device);
	g_test_add_func("/aml/processor/has-id-and-pblk", test_processor);
	g_test_add_func("/aml/resource/template-ends-with-zero-checksum-tag",
			test_resource_template_end_tag);
	g_test_add_func("/aml/resource/io", test_io_descriptor);
	g_test_add_func("/aml/resource/irq-no-flags", test_irq_descriptor);
	g_test_add_func("/aml/resource/extended-interrupt", test_interrupt_descriptor);
	g_test_add_func("/aml/resource/word-bus-number", test_word_bus_number);
	g_test_add_func("/aml/resource/word-io", test_word_io);
	g_test_add_func("/aml/resource/dword-memory", test_dword_memory);
	g_test_add_func("/aml/resource/qword-memory", test_qword_memory);
	return g_test_run();
}
