/* A small builder of ACPI Machine Language byte code, enough for Hangar's
 * DSDT.  Encodings: ACPI 6.x section 20 ("ACPI Machine Language (AML)
 * Specification") for the terms, section 6.4 ("Resource Data Types for
 * ACPI") for the resource descriptors.
 *
 * Every builder returns a new HgAml node.  hg_aml_append(parent, child) and
 * every builder that takes HgAml arguments take ownership of them: they
 * encode the child into the parent and free it.  Opened objects (scopes,
 * devices, methods, packages, ...) get their length prefix only when they
 * are appended, so they may be filled in any order first.  A node that is
 * never appended is freed with hg_aml_free(); the table's root is turned
 * into bytes with hg_aml_steal_bytes().
 *
 * Names are ASL-style paths: "\\_SB.PCI0.ISA", "^LNKA", "_HID".  A segment
 * shorter than four characters is padded with '_' as ASL does.  The
 * builders assert on a malformed name or argument: they run on constants of
 * the generator, never on guest or user input. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct HgAml HgAml;

/* Operation region address spaces (ACPI 6.x 19.6.100). */
enum {
	HG_AML_SYSTEM_MEMORY = 0x00,
	HG_AML_SYSTEM_IO = 0x01,
	HG_AML_PCI_CONFIG = 0x02,
};

/* Field access types, lock and update rules (20.2.5.2 FieldFlags). */
enum {
	HG_AML_ANY_ACC = 0,
	HG_AML_BYTE_ACC = 1,
	HG_AML_WORD_ACC = 2,
	HG_AML_DWORD_ACC = 3,
	HG_AML_QWORD_ACC = 4,
	HG_AML_BUFFER_ACC = 5,
};
enum {
	HG_AML_NO_LOCK = 0,
	HG_AML_LOCK = 1,
};
enum {
	HG_AML_PRESERVE = 0,
	HG_AML_WRITE_AS_ONES = 1,
	HG_AML_WRITE_AS_ZEROS = 2,
};

/* Interrupt descriptor options (6.4.3.6 Extended Interrupt Descriptor). */
typedef enum {
	HG_AML_LEVEL,
	HG_AML_EDGE,
} HgAmlTrigger;
typedef enum {
	HG_AML_ACTIVE_HIGH,
	HG_AML_ACTIVE_LOW,
} HgAmlPolarity;

/* Memory range cacheability (6.4.3.5.1 Memory Resource Flag). */
typedef enum {
	HG_AML_NON_CACHEABLE = 0,
	HG_AML_CACHEABLE = 1,
	HG_AML_WRITE_COMBINING = 2,
	HG_AML_PREFETCHABLE = 3,
} HgAmlCacheability;

void hg_aml_free(HgAml *aml);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgAml, hg_aml_free)

/* Encodes child into parent (opened objects get their PkgLength, resource
 * templates their end tag) and frees child. */
void hg_aml_append(HgAml *parent, HgAml *child);
/* The encoded bytes of a plain block (hg_aml_block); frees the node. */
GByteArray *hg_aml_steal_bytes(HgAml *block);

/* A container without an opcode: a table body, or a list of terms. */
HgAml *hg_aml_block(void);
/* Raw bytes, for tests and for encodings this builder lacks. */
HgAml *hg_aml_raw(const uint8_t *bytes, size_t len);

/* Data objects (20.2.3). hg_aml_int picks the shortest encoding: ZeroOp,
 * OneOp, BytePrefix, WordPrefix, DWordPrefix or QWordPrefix. */
HgAml *hg_aml_int(uint64_t value);
HgAml *hg_aml_ones(void);
HgAml *hg_aml_string(const char *ascii);
/* EisaId("PNP0A03"): always a DWordConst, as iasl encodes it. */
HgAml *hg_aml_eisaid(const char *id);
HgAml *hg_aml_buffer(const uint8_t *bytes, size_t len);
/* Package (){...}: append the elements, up to 255. */
HgAml *hg_aml_package(void);

/* Names (20.2.2) and their declarations (20.2.5.1). */
HgAml *hg_aml_name(const char *path);
HgAml *hg_aml_name_decl(const char *path, HgAml *value);
HgAml *hg_aml_scope(const char *path);
HgAml *hg_aml_device(const char *path);
HgAml *hg_aml_method(const char *path, unsigned n_args, bool serialized);
HgAml *hg_aml_processor(const char *path, uint8_t id, uint32_t pblk_address, uint8_t pblk_length);

/* Operation regions and fields (20.2.5.2). */
HgAml *hg_aml_operation_region(const char *path, uint8_t space, HgAml *offset, HgAml *length);
HgAml *hg_aml_field(const char *region, uint8_t access, uint8_t lock, uint8_t update);
/* Append to a field: a named unit of bits, or bits skipped. */
void hg_aml_field_unit(HgAml *field, const char *nameseg, unsigned bits);
void hg_aml_field_skip(HgAml *field, unsigned bits);
HgAml *hg_aml_create_dword_field(HgAml *source, HgAml *byte_index, const char *nameseg);

/* Statements and expressions (20.2.5.3, 20.2.5.4, 20.2.6). A NULL target
 * stores nowhere (NullName). */
HgAml *hg_aml_arg(unsigned n);
HgAml *hg_aml_local(unsigned n);
HgAml *hg_aml_if(HgAml *predicate);
HgAml *hg_aml_else(void);
HgAml *hg_aml_return(HgAml *value);
HgAml *hg_aml_store(HgAml *value, HgAml *target);
HgAml *hg_aml_and(HgAml *a, HgAml *b, HgAml *target);
HgAml *hg_aml_or(HgAml *a, HgAml *b, HgAml *target);
HgAml *hg_aml_lnot(HgAml *a);
HgAml *hg_aml_lequal(HgAml *a, HgAml *b);
HgAml *hg_aml_lless(HgAml *a, HgAml *b);
/* A method call: the path, then each argument appended. */
HgAml *hg_aml_call(const char *path);

/* ResourceTemplate(){...}: a buffer of descriptors closed by an end tag
 * whose checksum byte is 0 ("treated as valid", 6.4.2.9), as iasl does. */
HgAml *hg_aml_resource_template(void);
/* IO (Decode16, min, max, alignment, length) */
HgAml *hg_aml_io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length);
/* IRQNoFlags () {irq}: edge, active high, exclusive ISA interrupt */
HgAml *hg_aml_irq_no_flags(unsigned irq);
/* Interrupt (ResourceConsumer, trigger, polarity, shared) {irqs} */
HgAml *hg_aml_interrupt(HgAmlTrigger trigger, HgAmlPolarity polarity, bool shared,
			const uint32_t *irqs, unsigned n_irqs);
/* The producer windows of a host bridge: MinFixed, MaxFixed, PosDecode,
 * length = max - min + 1, no translation, granularity 0. */
HgAml *hg_aml_word_bus_number(uint16_t min, uint16_t max);
HgAml *hg_aml_word_io(uint16_t min, uint16_t max); /* EntireRange */
HgAml *hg_aml_dword_memory(uint32_t min, uint32_t max, HgAmlCacheability cache, bool writable);
HgAml *hg_aml_qword_memory(uint64_t min, uint64_t max, HgAmlCacheability cache, bool writable);

/* The PkgLength encoding of a package whose contents are len bytes long
 * (the encoding counts itself) into out[4]; returns its size, 1 to 4, or
 * 0 if len is too large.  Exposed for the tests. */
unsigned hg_aml_encode_pkg_length(size_t len, uint8_t out[4]);
