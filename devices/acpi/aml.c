/* ACPI Machine Language encoder.  Specification: ACPI 6.x section 20.2
 * ("AML Grammar Definition": 20.2.2 Name Objects, 20.2.3 Data Objects,
 * 20.2.4 Package Length Encoding, 20.2.5 Term Objects, 20.2.6 Miscellaneous
 * Objects) and section 6.4 (resource descriptors). */
#include "devices/acpi/aml.h"

#include <string.h>

/* Opcodes (20.3 "AML Byte Stream Byte Values"). */
#define ZERO_OP 0x00
#define ONE_OP 0x01
#define NAME_OP 0x08
#define BYTE_PREFIX 0x0a
#define WORD_PREFIX 0x0b
#define DWORD_PREFIX 0x0c
#define STRING_PREFIX 0x0d
#define QWORD_PREFIX 0x0e
#define SCOPE_OP 0x10
#define BUFFER_OP 0x11
#define PACKAGE_OP 0x12
#define METHOD_OP 0x14
#define DUAL_NAME_PREFIX 0x2e
#define MULTI_NAME_PREFIX 0x2f
#define EXT_OP_PREFIX 0x5b
#define ROOT_CHAR '\\'
#define PARENT_PREFIX_CHAR '^'
#define LOCAL0_OP 0x60
#define ARG0_OP 0x68
#define STORE_OP 0x70
#define AND_OP 0x7b
#define OR_OP 0x7d
#define CREATE_DWORD_FIELD_OP 0x8a
#define LNOT_OP 0x92
#define LEQUAL_OP 0x93
#define LLESS_OP 0x95
#define IF_OP 0xa0
#define ELSE_OP 0xa1
#define RETURN_OP 0xa4
#define ONES_OP 0xff

/* Second bytes after EXT_OP_PREFIX. */
#define OP_REGION_OP 0x80
#define FIELD_OP 0x81
#define DEVICE_OP 0x82
#define PROCESSOR_OP 0x83

/* Resource descriptor tags (6.4.2 small, 6.4.3 large). */
#define RES_IRQ_NO_FLAGS 0x22 /* IRQ descriptor, length 2 */
#define RES_IO 0x47 /* I/O port descriptor, length 7 */
#define RES_END_TAG 0x79 /* end tag, length 1 */
#define RES_DWORD_ADDRESS 0x87
#define RES_WORD_ADDRESS 0x88
#define RES_EXTENDED_IRQ 0x89
#define RES_QWORD_ADDRESS 0x8a

/* Address space descriptor fields (6.4.3.5). */
#define ADDRESS_MEMORY 0
#define ADDRESS_IO 1
#define ADDRESS_BUS_NUMBER 2
#define ADDRESS_MIN_FIXED (1 << 2)
#define ADDRESS_MAX_FIXED (1 << 3)
#define IO_ENTIRE_RANGE 3
#define INTERRUPT_CONSUMER (1 << 0)
#define INTERRUPT_EDGE (1 << 1)
#define INTERRUPT_ACTIVE_LOW (1 << 2)
#define INTERRUPT_SHARED (1 << 3)

typedef enum {
	AML_PLAIN, /* the bytes as they are */
	AML_PACKAGE, /* opcode PkgLength bytes */
	AML_EXT_PACKAGE, /* ExtOpPrefix opcode PkgLength bytes */
	AML_BUFFER, /* BufferOp PkgLength BufferSize bytes */
	AML_RESOURCE_TEMPLATE, /* a buffer whose bytes end with an end tag */
	AML_DATA_PACKAGE, /* PackageOp PkgLength NumElements elements */
} AmlKind;

struct HgAml {
	AmlKind kind;
	uint8_t opcode;
	unsigned n_elements; /* of a data package */
	GByteArray *bytes;
};

static HgAml *aml_new(AmlKind kind, uint8_t opcode)
{
	HgAml *aml = g_new0(HgAml, 1);

	aml->kind = kind;
	aml->opcode = opcode;
	aml->bytes = g_byte_array_new();
	return aml;
}

void hg_aml_free(HgAml *aml)
{
	if (!aml)
		return;
	g_byte_array_unref(aml->bytes);
	g_free(aml);
}

static void put_byte(GByteArray *b, uint8_t v)
{
	g_byte_array_append(b, &v, 1);
}

static void put_le(GByteArray *b, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		put_byte(b, (uint8_t)(v >> (8 * i)));
}

static void put_bytes(GByteArray *b, const uint8_t *p, size_t len)
{
	g_byte_array_append(b, p, (guint)len);
}

/* The n-byte PkgLength form of value: the lead byte holds the byte count
 * in bits 7-6 and, in the multi-byte forms, the low nibble in bits 3-0
 * (20.2.4). */
static void pkg_length_form(uint32_t value, unsigned n, uint8_t out[4])
{
	if (n == 1) {
		out[0] = (uint8_t)value;
		return;
	}
	out[0] = (uint8_t)(((n - 1) << 6) | (value & 0x0f));
	for (unsigned i = 1; i < n; i++)
		out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
}

/* Largest value of the n-byte form: 6 bits, then 4 more bits + 8 per byte. */
static uint32_t pkg_length_limit(unsigned n)
{
	return n == 1 ? 0x3f : (1u << (4 + 8 * (n - 1))) - 1;
}

unsigned hg_aml_encode_pkg_length(size_t len, uint8_t out[4])
{
	for (unsigned n = 1; n <= 4; n++) {
		if (len + n <= pkg_length_limit(n)) {
			pkg_length_form((uint32_t)(len + n), n, out);
			return n;
		}
	}
	return 0;
}

static void put_pkg_length(GByteArray *b, size_t len)
{
	uint8_t enc[4];
	unsigned n = hg_aml_encode_pkg_length(len, enc);

	g_assert(n > 0);
	put_bytes(b, enc, n);
}

/* A field unit's length is a PkgLength that does not count itself. */
static void put_field_length(GByteArray *b, uint32_t bits)
{
	uint8_t enc[4];

	for (unsigned n = 1; n <= 4; n++) {
		if (bits <= pkg_length_limit(n)) {
			pkg_length_form(bits, n, enc);
			put_bytes(b, enc, n);
			return;
		}
	}
	g_assert_not_reached();
}

static void put_int(GByteArray *b, uint64_t v)
{
	if (v == 0) {
		put_byte(b, ZERO_OP);
	} else if (v == 1) {
		put_byte(b, ONE_OP);
	} else if (v <= 0xff) {
		put_byte(b, BYTE_PREFIX);
		put_le(b, v, 1);
	} else if (v <= 0xffff) {
		put_byte(b, WORD_PREFIX);
		put_le(b, v, 2);
	} else if (v <= 0xffffffff) {
		put_byte(b, DWORD_PREFIX);
		put_le(b, v, 4);
	} else {
		put_byte(b, QWORD_PREFIX);
		put_le(b, v, 8);
	}
}

static bool is_lead_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_lead_name_char(c) || (c >= '0' && c <= '9');
}

static void put_nameseg(GByteArray *b, const char *seg, size_t len)
{
	g_assert(len >= 1 && len <= 4);
	g_assert(is_lead_name_char(seg[0]));
	for (size_t i = 0; i < 4; i++) {
		g_assert(i >= len || is_name_char(seg[i]));
		put_byte(b, i < len ? (uint8_t)seg[i] : '_');
	}
}

/* NameString := <RootChar NamePath> | <PrefixPath NamePath> (20.2.2) */
static void put_namestring(GByteArray *b, const char *path)
{
	g_auto(GStrv) segs = NULL;
	guint n;

	if (*path == ROOT_CHAR) {
		put_byte(b, ROOT_CHAR);
		path++;
	} else {
		while (*path == PARENT_PREFIX_CHAR) {
			put_byte(b, PARENT_PREFIX_CHAR);
			path++;
		}
	}
	if (!*path) {
		put_byte(b, 0x00); /* NullName */
		return;
	}
	segs = g_strsplit(path, ".", -1);
	n = g_strv_length(segs);
	g_assert(n >= 1 && n <= 255);
	if (n == 2) {
		put_byte(b, DUAL_NAME_PREFIX);
	} else if (n > 2) {
		put_byte(b, MULTI_NAME_PREFIX);
		put_byte(b, (uint8_t)n);
	}
	for (guint i = 0; i < n; i++)
		put_nameseg(b, segs[i], strlen(segs[i]));
}

void hg_aml_append(HgAml *parent, HgAml *child)
{
	GByteArray *out = parent->bytes;
	GByteArray *body = child->bytes;
	g_autoptr(GByteArray) content = NULL;

	switch (child->kind) {
	case AML_PLAIN:
		put_bytes(out, body->data, body->len);
		break;
	case AML_PACKAGE:
		put_byte(out, child->opcode);
		put_pkg_length(out, body->len);
		put_bytes(out, body->data, body->len);
		break;
	case AML_EXT_PACKAGE:
		put_byte(out, EXT_OP_PREFIX);
		put_byte(out, child->opcode);
		put_pkg_length(out, body->len);
		put_bytes(out, body->data, body->len);
		break;
	case AML_RESOURCE_TEMPLATE:
		put_byte(body, RES_END_TAG);
		put_byte(body, 0); /* checksum: 0 means "valid" */
		/* fall through */
	case AML_BUFFER:
		content = g_byte_array_new();
		put_int(content, body->len);
		put_bytes(content, body->data, body->len);
		put_byte(out, BUFFER_OP);
		put_pkg_length(out, content->len);
		put_bytes(out, content->data, content->len);
		break;
	case AML_DATA_PACKAGE:
		put_byte(out, PACKAGE_OP);
		put_pkg_length(out, body->len + 1);
		put_byte(out, (uint8_t)child->n_elements);
		put_bytes(out, body->data, body->len);
		break;
	}
	if (parent->kind == AML_DATA_PACKAGE) {
		g_assert(parent->n_elements < 255);
		parent->n_elements++;
	}
	hg_aml_free(child);
}

GByteArray *hg_aml_steal_bytes(HgAml *block)
{
	GByteArray *bytes;

	g_assert(block->kind == AML_PLAIN);
	bytes = block->bytes;
	g_free(block);
	return bytes;
}

HgAml *hg_aml_block(void)
{
	return aml_new(AML_PLAIN, 0);
}

HgAml *hg_aml_raw(const uint8_t *bytes, size_t len)
{
	HgAml *aml = aml_new(AML_PLAIN, 0);

	put_bytes(aml->bytes, bytes, len);
	return aml;
}

HgAml *hg_aml_int(uint64_t value)
{
	HgAml *aml = aml_new(AML_PLAIN, 0);

	put_int(aml->bytes, value);
	return aml;
}

HgAml *hg_aml_ones(void)
{
	HgAml *aml = aml_new(AML_PLAIN, 0);

	put_byte(aml->bytes, ONES_OP);
	return aml;
}

HgAml *hg_aml_string(const char *ascii)
{
	HgAml *aml = aml_new(AML_PLAIN, 0);

	put_byte(aml->bytes, STRING_PREFIX);
	for (const char *p = ascii; *p; p++) {
		g_assert((unsigned char)*p < 0x80);
		put_byte(aml->bytes, (uint8_t)*p);
	}
	put_byte(aml->bytes, 0);
	return aml;
}

static uint8_t hex_digit(char c)
{
	g_assert(g_ascii_isxdigit(c));
	return (uint8_t)g_ascii_xdigit_value(c);
}

/* Three letters of 5 bits ('A' = 1) and four hex digits, stored so that the
 * bytes read in memory order form the compressed EISA ID. */
HgAml *hg_aml_eisaid(const char *id)
{
	HgAml *aml = aml_new(AML_PLAIN, 0);
	uint8_t c[3];

	g_assert(strlen(id) == 7);
	for (int i = 0; i < 3; i++) {
		g_assert(id[i] >= 'A' && id[i] <= 'Z');
		c[i] = (uint8_t)(id[i] - 'A' + 1);
	}
	put_byte(aml->bytes, DWORD_PREFIX);
	put_byte(aml->bytes, (uint8_t)((c[0] << 2) | (c[1] >> 3)));
	put_byte(aml->bytes, (uint8_t)(((c[1] & 7) << 5) | c[2]));
	put_byte(aml->bytes, (uint8_t)((hex_digit(id[3]) << 4) | hex_digit(id[4])));
	put_byte(aml->bytes, (uint8_t)((hex_digit(id[5]) << 4) | hex_digit(id[6])));
	return aml;
}

HgAml *hg_aml_buffer(const uint8_t *bytes, size_t len)
{
	HgAml *aml = aml_new(AML_BUFFER, BUFFER_OP);

	put_bytes(aml->bytes, bytes, len);
	return aml;
}

HgAml *hg_aml_package(void)
{
	return aml_new(AML_DATA_PACKAGE, PACKAGE_OP);
}

HgAml *hg_aml_name(const char *path)
{
	HgAml *aml = aml_new(AML_PLAIN, 0);

	put_namestring(aml->bytes, path);
	return aml;
}

HgAml *hg_aml_name_decl(const char *path, HgAml *value)
{
	HgAml *aml = aml_new(AML_PLAIN, 0);

	put_byte(aml->bytes, NAME_OP);
	put_namestring(aml->bytes, path);
	hg_aml_append(aml, value);
	return aml;
}

HgAml *hg_aml_scope(const char *path)
{
	HgAml *aml = aml_new(AML_PACKAGE, SCOPE_OP);

	put_namestring(aml->bytes, path);
	return aml;
}

HgAml *hg_aml_device(const char *path)
{
	HgAml *aml = aml_new(AML_EXT_PACKAGE, DEVICE_OP);

	put_namestring(aml->bytes, path);
	return aml;
}

/* MethodFlags: ArgCount in bits 0-2, SerializeFlag in bit 3, SyncLevel 0. */
HgAml *hg_aml_method(const char *path, unsigned n_args, bool serialized)
{
	HgAml *aml = aml_new(AML_PACKAGE, METHOD_OP);

	g_assert(n_args <= 7);
	put_namestring(aml->bytes, path);
	put_byte(aml->bytes, (uint8_t)(n_args | (serialized ? 1 << 3 : 0)));
	return aml;
}

HgAml *hg_aml_processor(const char *path, uint8_t id, uint32_t pblk_address, uint8_t pblk_length)
{
	HgAml *aml = aml_new(AML_EXT_PACKAGE, PROCESSOR_OP);

	put_namestring(aml->bytes, path);
	put_byte(aml->bytes, id);
	put_le(aml->bytes, pblk_address, 4);
	put_byte(aml->bytes, pblk_length);
	return aml;
}

HgAml *hg_aml_operation_region(const char *path, uint8_t space, HgAml *offset, HgAml *length)
{
	HgAml *aml = aml_new(AML_PLAIN, 0);

	put_byte(aml->bytes, EXT_OP_PREFIX);
	put_byte(aml->bytes, OP_REGION_OP);
	put_namestring(aml->bytes, path);
	put_byte(aml->bytes, space);
	hg_aml_append(aml, offset);
	hg_aml_append(aml, length);
	return aml;
}

/* FieldFlags: AccessType in bits 0-3, LockRule in bit 4, UpdateRule in
 * bits 5-6. */
HgAml *hg_aml_field(const char *region, uint8_t access, uint8_t lock, uint8_t update)
{
	HgAml *aml = aml_new(AML_EXT_PACKAGE, FIELD_OP);

	g_assert(access <= HG_AML_BUFFER_ACC && lock <= 1 && update <= 2);
	put_namestring(aml->bytes, region);
	put_byte(aml->bytes, (uint8_t)(access | (lock << 4) | (update << 5)));
	return aml;
}

void hg_aml_field_unit(HgAml *field, const char *nameseg, unsigned bits)
{
	size_t len = strlen(nameseg);

	g_assert(field->kind == AML_EXT_PACKAGE && field->opcode == FIELD_OP);
	g_assert(bits > 0 && !strchr(nameseg, '.'));
	put_nameseg(field->bytes, nameseg, len);
	put_field_length(field->bytes, bits);
}

void hg_aml_field_skip(HgAml *field, unsigned bits)
{
	g_assert(field->kind == AML_EXT_PACKAGE && field->opcode == FIELD_OP);
	put_byte(field->bytes, 0x00); /* ReservedField */
	put_field_length(field->bytes, bits);
}

HgAml *hg_aml_create_dword_field(HgAml *source, HgAml *byte_index, const char *nameseg)
{
	HgAml *aml = aml_new(AML_PLAIN, 0);

	put_byte(aml->bytes, CREATE_DWORD_FIELD_OP);
	hg_aml_append(aml, source);
	hg_aml_append(aml, byte_index);
	put_namestring(aml->bytes, nameseg);
	return aml;
}

static HgAml *aml_opcode(uint8_t op)
{
	HgAml *aml = aml_new(AML_PLAIN, 0);

	put_byte(aml->bytes, op);
	return aml;
}

HgAml *hg_aml_arg(unsigned n)
{
	g_assert(n <= 6);
	return aml_opcode((uint8_t)(ARG0_OP + n));
}

HgAml *hg_aml_local(unsigned n)
{
	g_assert(n <= 7);
	return aml_opcode((uint8_t)(LOCAL0_OP + n));
}

HgAml *hg_aml_if(HgAml *predicate)
{
	HgAml *aml = aml_new(AML_PACKAGE, IF_OP);

	hg_aml_append(aml, predicate);
	return aml;
}

HgAml *hg_aml_else(void)
{
	return aml_new(AML_PACKAGE, ELSE_OP);
}

HgAml *hg_aml_return(HgAml *value)
{
	HgAml *aml = aml_opcode(RETURN_OP);

	hg_aml_append(aml, value);
	return aml;
}

static HgAml *aml_target(HgAml *aml, HgAml *target)
{
	if (target)
		hg_aml_append(aml, target);
	else
		put_byte(aml->bytes, 0x00); /* NullName: no target */
	return aml;
}

HgAml *hg_aml_store(HgAml *value, HgAml *target)
{
	HgAml *aml = aml_opcode(STORE_OP);

	g_assert(target);
	hg_aml_append(aml, value);
	return aml_target(aml, target);
}

static HgAml *aml_binary(uint8_t op, HgAml *a, HgAml *b, HgAml *target)
{
	HgAml *aml = aml_opcode(op);

	hg_aml_append(aml, a);
	hg_aml_append(aml, b);
	return aml_target(aml, target);
}

HgAml *hg_aml_and(HgAml *a, HgAml *b, HgAml *target)
{
	return aml_binary(AND_OP, a, b, target);
}

HgAml *hg_aml_or(HgAml *a, HgAml *b, HgAml *target)
{
	return aml_binary(OR_OP, a, b, target);
}

HgAml *hg_aml_lnot(HgAml *a)
{
	HgAml *aml = aml_opcode(LNOT_OP);

	hg_aml_append(aml, a);
	return aml;
}

static HgAml *aml_compare(uint8_t op, HgAml *a, HgAml *b)
{
	HgAml *aml = aml_opcode(op);

	hg_aml_append(aml, a);
	hg_aml_append(aml, b);
	return aml;
}

HgAml *hg_aml_lequal(HgAml *a, HgAml *b)
{
	return aml_compare(LEQUAL_OP, a, b);
}

HgAml *hg_aml_lless(HgAml *a, HgAml *b)
{
	return aml_compare(LLESS_OP, a, b);
}

HgAml *hg_aml_call(const char *path)
{
	return hg_aml_name(path);
}

HgAml *hg_aml_resource_template(void)
{
	return aml_new(AML_RESOURCE_TEMPLATE, BUFFER_OP);
}

HgAml *hg_aml_io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length)
{
	HgAml *aml = aml_opcode(RES_IO);

	put_byte(aml->bytes, 0x01); /* Decode16 */
	put_le(aml->bytes, min, 2);
	put_le(aml->bytes, max, 2);
	put_byte(aml->bytes, alignment);
	put_byte(aml->bytes, length);
	return aml;
}

HgAml *hg_aml_irq_no_flags(unsigned irq)
{
	HgAml *aml = aml_opcode(RES_IRQ_NO_FLAGS);

	g_assert(irq < 16);
	put_le(aml->bytes, 1u << irq, 2);
	return aml;
}

HgAml *hg_aml_interrupt(HgAmlTrigger trigger, HgAmlPolarity polarity, bool shared,
			const uint32_t *irqs, unsigned n_irqs)
{
	HgAml *aml = aml_opcode(RES_EXTENDED_IRQ);
	uint8_t flags = INTERRUPT_CONSUMER;

	g_assert(n_irqs >= 1 && n_irqs <= 255);
	if (trigger == HG_AML_EDGE)
		flags |= INTERRUPT_EDGE;
	if (polarity == HG_AML_ACTIVE_LOW)
		flags |= INTERRUPT_ACTIVE_LOW;
	if (shared)
		flags |= INTERRUPT_SHARED;
	put_le(aml->bytes, 2 + 4 * n_irqs, 2);
	put_byte(aml->bytes, flags);
	put_byte(aml->bytes, (uint8_t)n_irqs);
	for (unsigned i = 0; i < n_irqs; i++)
		put_le(aml->bytes, irqs[i], 4);
	return aml;
}

/* Address space descriptors: tag, length, resource type, general flags,
 * type-specific flags, then granularity, minimum, maximum, translation
 * offset and length, each of the descriptor's width (6.4.3.5.1-3). */
static HgAml *aml_address_space(uint8_t tag, unsigned width, uint8_t type, uint8_t type_flags,
				uint64_t min, uint64_t max)
{
	HgAml *aml = aml_opcode(tag);

	g_assert(min <= max);
	put_le(aml->bytes, 3 + 5 * width, 2);
	put_byte(aml->bytes, type);
	put_byte(aml->bytes, ADDRESS_MIN_FIXED | ADDRESS_MAX_FIXED); /* producer, PosDecode */
	put_byte(aml->bytes, type_flags);
	put_le(aml->bytes, 0, width); /* granularity */
	put_le(aml->bytes, min, width);
	put_le(aml->bytes, max, width);
	put_le(aml->bytes, 0, width); /* translation offset */
	put_le(aml->bytes, max - min + 1, width);
	return aml;
}

HgAml *hg_aml_word_bus_number(uint16_t min, uint16_t max)
{
	return aml_address_space(RES_WORD_ADDRESS, 2, ADDRESS_BUS_NUMBER, 0, min, max);
}

HgAml *hg_aml_word_io(uint16_t min, uint16_t max)
{
	return aml_address_space(RES_WORD_ADDRESS, 2, ADDRESS_IO, IO_ENTIRE_RANGE, min, max);
}

/* Memory flags: bit 0 read/write, bits 1-2 cacheability (6.4.3.5.1). */
static uint8_t memory_flags(HgAmlCacheability cache, bool writable)
{
	return (uint8_t)((cache << 1) | (writable ? 1 : 0));
}

HgAml *hg_aml_dword_memory(uint32_t min, uint32_t max, HgAmlCacheability cache, bool writable)
{
	return aml_address_space(RES_DWORD_ADDRESS, 4, ADDRESS_MEMORY,
				 memory_flags(cache, writable), min, max);
}

HgAml *hg_aml_qword_memory(uint64_t min, uint64_t max, HgAmlCacheability cache, bool writable)
{
	g_assert(max - min + 1 != 0);
	return aml_address_space(RES_QWORD_ADDRESS, 8, ADDRESS_MEMORY,
				 memory_flags(cache, writable), min, max);
}
