/* QEMU firmware configuration device, I/O port flavour with DMA.
 *
 * Specification: QEMU docs/specs/fw_cfg.rst — "Selector (Control) Register",
 * "Data Register", "Register Locations" (x86: 0x510, 0x511, 0x514),
 * "Firmware Configuration Items" (signature, feature bitmap, file directory)
 * and "Guest-side DMA Interface".  Where the text is silent, QEMU's
 * behaviour is what firmware was written against, and this model follows
 * it:
 *  - 0x510-0x511 is one little-endian 2-byte port: a 16-bit write at either
 *    address selects an item, an 8-bit read at either address reads data,
 *    8-bit writes are ignored (writes through the data port were removed in
 *    QEMU 2.4), and accesses of other widths are refused (reads give 0).
 *  - The selector's write-channel bit (14) only matters for those ignored
 *    writes: 0x4000 | key reads the same item as key.
 *  - Selecting resets the offset; a read past the end of an item, or of a
 *    key with no item, gives 0 and leaves the offset where it is.
 *  - 0x514-0x51b is a big-endian 8-byte register.  A 32-bit write at 0x514
 *    sets the high half of the address (and clears the low half), a 32-bit
 *    write at 0x518 ORs in the low half and starts the transfer, a 64-bit
 *    write at 0x514 does both; other writes are ignored.  Reads give the
 *    bytes of "QEMU CFG".  The address is 0 again after every transfer.
 *  - A transfer past the end of an item zero-fills the rest of the guest
 *    buffer (reads) or just stops advancing (skips); every item is
 *    read-only, so a DMA write sets the error bit.
 *
 * Threads: the port handlers run with machine->device_lock held (a vCPU
 * thread, or the harness on the main thread); the hg_fw_cfg_add_* calls run
 * on the main thread while the machine is built, before anything else can
 * call in.  Guest memory is touched only through hg_memory_*; a transfer
 * never allocates: it copies or zero-fills guest RAM in place, so its cost
 * is bounded by the 32-bit length field and by guest RAM itself. */
#include "devices/platform/fw_cfg.h"

#include <stdarg.h>
#include <string.h>

#define FW_CFG_IO_LEN 2
#define FW_CFG_DMA_LEN 8

#define FW_CFG_ENTRY_MASK ((uint16_t) ~(HG_FW_CFG_WRITE_CHANNEL | HG_FW_CFG_ARCH_LOCAL))

/* FW_CFG_ID bits */
#define FW_CFG_VERSION_TRADITIONAL 0x01
#define FW_CFG_VERSION_DMA 0x02

/* FWCfgDmaAccess.control bits */
#define DMA_CTL_ERROR 0x01
#define DMA_CTL_READ 0x02
#define DMA_CTL_SKIP 0x04
#define DMA_CTL_SELECT 0x08
#define DMA_CTL_WRITE 0x10

#define DIRECTORY_ENTRY_SIZE 64 /* be32 size, be16 select, u16, name[56] */

static const uint8_t dma_signature[FW_CFG_DMA_LEN] = {'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G'};

typedef struct {
	uint8_t *data;
	uint32_t len;
} FwCfgItem;

typedef struct {
	char name[HG_FW_CFG_MAX_FILE_PATH];
	FwCfgItem item;
} FwCfgFile;

typedef struct {
	HgDevice dev;

	/* Configuration, fixed once the machine runs. */
	FwCfgItem items[2][HG_FW_CFG_FILE_FIRST]; /* [architecture bit][key]; 0x19 the directory */
	GPtrArray *files; /* FwCfgFile *, sorted by name; selector 0x20 + index */
	uint8_t items_digest[32]; /* SHA-256 of every item, for save/load */
	bool items_digest_valid;

	/* Guest-visible state. */
	uint16_t selector; /* as written, bits 14 and 15 included */
	uint32_t offset; /* into the selected item; never beyond its end */
	uint64_t dma_address; /* the address register, built half by half */

	gint64 last_complaint_us; /* rate limit for guest-error messages */
	bool ports_registered;
} FwCfg;

static FwCfg *fw_cfg_from_dev(HgDevice *dev)
{
	return (FwCfg *)dev;
}

/* A guest's mistake: debug level, at most once a second. */
static void G_GNUC_PRINTF(2, 3) fw_cfg_guest_error(FwCfg *s, const char *fmt, ...)
{
	gint64 now = g_get_monotonic_time();
	g_autofree char *msg = NULL;
	va_list ap;

	if (s->last_complaint_us && now - s->last_complaint_us < G_USEC_PER_SEC)
		return;
	s->last_complaint_us = now;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_debug("%s: %s", s->dev.id, msg);
}

/* ---- Items ---- */

/* The item a selector reads, or NULL when the key has none. */
static const FwCfgItem *fw_cfg_item(FwCfg *s, uint16_t selector)
{
	unsigned arch = !!(selector & HG_FW_CFG_ARCH_LOCAL);
	unsigned key = selector & FW_CFG_ENTRY_MASK;

	if (key < HG_FW_CFG_FILE_FIRST)
		return s->items[arch][key].data ? &s->items[arch][key] : NULL;
	key -= HG_FW_CFG_FILE_FIRST;
	if (arch || key >= s->files->len)
		return NULL;
	return &((FwCfgFile *)g_ptr_array_index(s->files, key))->item;
}

static void fw_cfg_item_set(FwCfgItem *item, const void *data, size_t len)
{
	g_free(item->data);
	/* Non-NULL even when empty, so that an empty item still exists. */
	item->data = g_malloc(len ? len : 1);
	if (len)
		memcpy(item->data, data, len);
	item->len = (uint32_t)len;
}

static void fw_cfg_file_free(gpointer p)
{
	FwCfgFile *f = p;

	g_free(f->item.data);
	g_free(f);
}

static void fw_cfg_rebuild_directory(FwCfg *s)
{
	size_t len = 4 + (size_t)s->files->len * DIRECTORY_ENTRY_SIZE;
	g_autofree uint8_t *dir = g_malloc0(len);
	uint32_t count = GUINT32_TO_BE(s->files->len);

	memcpy(dir, &count, 4);
	for (guint i = 0; i < s->files->len; i++) {
		FwCfgFile *f = g_ptr_array_index(s->files, i);
		uint8_t *entry = dir + 4 + (size_t)i * DIRECTORY_ENTRY_SIZE;
		uint32_t size = GUINT32_TO_BE(f->item.len);
		uint16_t select = GUINT16_TO_BE(HG_FW_CFG_FILE_FIRST + i);

		memcpy(entry, &size, 4);
		memcpy(entry + 4, &select, 2);
		memcpy(entry + 8, f->name, HG_FW_CFG_MAX_FILE_PATH);
	}
	fw_cfg_item_set(&s->items[0][HG_FW_CFG_FILE_DIR], dir, len);
}

static void digest_add_item(GChecksum *sum, uint16_t key, const char *name, const FwCfgItem *item)
{
	uint8_t header[6];
	uint16_t key_le = GUINT16_TO_LE(key);
	uint32_t len_le = GUINT32_TO_LE(item->len);

	memcpy(header, &key_le, 2);
	memcpy(header + 2, &len_le, 4);
	g_checksum_update(sum, header, sizeof(header));
	if (name)
		g_checksum_update(sum, (const guchar *)name, HG_FW_CFG_MAX_FILE_PATH);
	g_checksum_update(sum, item->data, item->len);
}

/* What the guest can read, condensed: every numbered item and every file
 * (name, size, contents).  Cached; any change to the items drops it. */
static const uint8_t *fw_cfg_items_digest(FwCfg *s)
{
	g_autoptr(GChecksum) sum = NULL;
	gsize len = sizeof(s->items_digest);

	if (s->items_digest_valid)
		return s->items_digest;
	sum = g_checksum_new(G_CHECKSUM_SHA256);
	for (unsigned arch = 0; arch < 2; arch++)
		for (unsigned key = 0; key < HG_FW_CFG_FILE_FIRST; key++)
			if (s->items[arch][key].data)
				digest_add_item(sum, (arch ? HG_FW_CFG_ARCH_LOCAL : 0) | key, NULL,
						&s->items[arch][key]);
	for (guint i = 0; i < s->files->len; i++) {
		FwCfgFile *f = g_ptr_array_index(s->files, i);
		digest_add_item(sum, HG_FW_CFG_FILE_FIRST + i, f->name, &f->item);
	}
	g_checksum_get_digest(sum, s->items_digest, &len);
	s->items_digest_valid = true;
	return s->items_digest;
}

void hg_fw_cfg_add_bytes(HgDevice *dev, uint16_t key, const void *data, size_t len)
{
	FwCfg *s = fw_cfg_from_dev(dev);
	unsigned arch = !!(key & HG_FW_CFG_ARCH_LOCAL);
	unsigned index = key & FW_CFG_ENTRY_MASK;

	/* Keys from 0x20 are files (hg_fw_cfg_add_file); the directory is
	 * built here; the write-channel bit is not part of a key. */
	g_return_if_fail(!(key & HG_FW_CFG_WRITE_CHANNEL));
	g_return_if_fail(index < HG_FW_CFG_FILE_FIRST);
	g_return_if_fail(arch || index != HG_FW_CFG_FILE_DIR);
	g_return_if_fail(len < UINT32_MAX);
	g_return_if_fail(data || !len);
	fw_cfg_item_set(&s->items[arch][index], data, len);
	s->items_digest_valid = false;
}

void hg_fw_cfg_add_u16(HgDevice *dev, uint16_t key, uint16_t v)
{
	uint16_t le = GUINT16_TO_LE(v);

	hg_fw_cfg_add_bytes(dev, key, &le, sizeof(le));
}

void hg_fw_cfg_add_u32(HgDevice *dev, uint16_t key, uint32_t v)
{
	uint32_t le = GUINT32_TO_LE(v);

	hg_fw_cfg_add_bytes(dev, key, &le, sizeof(le));
}

void hg_fw_cfg_add_u64(HgDevice *dev, uint16_t key, uint64_t v)
{
	uint64_t le = GUINT64_TO_LE(v);

	hg_fw_cfg_add_bytes(dev, key, &le, sizeof(le));
}

bool hg_fw_cfg_add_file(HgDevice *dev, const char *name, const void *data, size_t len,
			GError **error)
{
	FwCfg *s = fw_cfg_from_dev(dev);
	size_t name_len = strlen(name);
	guint index;
	FwCfgFile *f;

	if (name_len == 0 || name_len >= HG_FW_CFG_MAX_FILE_PATH) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "fw-cfg: file name \"%s\" has %zu bytes; it needs 1 to %d", name,
			    name_len, HG_FW_CFG_MAX_FILE_PATH - 1);
		return false;
	}
	if (len >= UINT32_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "fw-cfg: file \"%s\" is too large (%zu bytes)", name, len);
		return false;
	}
	if (s->files->len >= HG_FW_CFG_MAX_FILES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "fw-cfg: no room for file \"%s\" (at most %d files)", name,
			    HG_FW_CFG_MAX_FILES);
		return false;
	}
	/* Sorted insertion, as QEMU does for machines without a legacy file
	 * order: the files after the new one move up one selector. */
	for (index = s->files->len; index > 0; index--) {
		FwCfgFile *prev = g_ptr_array_index(s->files, index - 1);
		int cmp = strcmp(name, prev->name);

		if (cmp == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
				    "fw-cfg: duplicate file name \"%s\"", name);
			return false;
		}
		if (cmp > 0)
			break;
	}
	f = g_new0(FwCfgFile, 1);
	memcpy(f->name, name, name_len + 1);
	fw_cfg_item_set(&f->item, data, len);
	g_ptr_array_insert(s->files, index, f);
	fw_cfg_rebuild_directory(s);
	s->items_digest_valid = false;
	return true;
}

void hg_fw_cfg_set_machine_info(HgDevice *dev, uint64_t ram_size, uint16_t n_cpus,
				uint16_t max_cpus)
{
	hg_fw_cfg_add_u64(dev, HG_FW_CFG_RAM_SIZE, ram_size);
	hg_fw_cfg_add_u16(dev, HG_FW_CFG_NB_CPUS, n_cpus);
	hg_fw_cfg_add_u16(dev, HG_FW_CFG_MAX_CPUS, max_cpus);
}

/* ---- Selector and data port ---- */

static void fw_cfg_select(FwCfg *s, uint16_t selector)
{
	s->selector = selector;
	s->offset = 0;
}

static uint8_t fw_cfg_data_read(FwCfg *s)
{
	const FwCfgItem *item = fw_cfg_item(s, s->selector);

	if (!item || s->offset >= item->len)
		return 0;
	return item->data[s->offset++];
}

static uint64_t fw_cfg_io_read(void *opaque, uint64_t offset, unsigned size)
{
	if (size != 1)
		return 0; /* QEMU refuses wider reads of the combined port */
	return fw_cfg_data_read(opaque);
}

static void fw_cfg_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	/* 8-bit writes are data-port writes: ignored, whatever bit 14 says. */
	if (size == 2)
		fw_cfg_select(opaque, (uint16_t)value);
}

/* ---- DMA ---- */

static void fw_cfg_dma_complete(FwCfg *s, uint64_t descriptor, uint32_t control)
{
	uint32_t be = GUINT32_TO_BE(control);

	/* Fails quietly when even the control word is outside RAM: there is
	 * nowhere to report to. */
	hg_memory_write(&s->dev.machine->memory, descriptor, &be, sizeof(be));
}

static bool fw_cfg_dma_zero(HgGuestMemory *mem, uint64_t address, uint64_t len)
{
	void *p = hg_memory_ptr(mem, address, len);

	if (!p)
		return false;
	memset(p, 0, len);
	return true;
}

static void fw_cfg_dma_transfer(FwCfg *s)
{
	HgGuestMemory *mem = &s->dev.machine->memory;
	uint64_t descriptor = s->dma_address;
	struct {
		uint32_t control;
		uint32_t length;
		uint64_t address;
	} access; /* FWCfgDmaAccess, big-endian */
	uint32_t control, length, status = 0;
	uint64_t address;
	const FwCfgItem *item;
	bool read, write;

	s->dma_address = 0;
	if (!hg_memory_read(mem, descriptor, &access, sizeof(access))) {
		fw_cfg_guest_error(s, "DMA descriptor at 0x%" G_GINT64_MODIFIER "x is outside RAM",
				   descriptor);
		fw_cfg_dma_complete(s, descriptor, DMA_CTL_ERROR);
		return;
	}
	control = GUINT32_FROM_BE(access.control);
	length = GUINT32_FROM_BE(access.length);
	address = GUINT64_FROM_BE(access.address);

	if (control & DMA_CTL_SELECT)
		fw_cfg_select(s, control >> 16);
	/* One operation, in QEMU's order of precedence; none means no data. */
	read = control & DMA_CTL_READ;
	write = !read && (control & DMA_CTL_WRITE);
	if (!read && !write && !(control & DMA_CTL_SKIP))
		length = 0;

	item = fw_cfg_item(s, s->selector);
	while (length > 0 && !(status & DMA_CTL_ERROR)) {
		uint32_t chunk;

		if (!item || s->offset >= item->len) {
			/* Past the end: reads get zeros, skips go nowhere. */
			chunk = length;
			if (read && !fw_cfg_dma_zero(mem, address, chunk))
				status |= DMA_CTL_ERROR;
		} else {
			chunk = MIN(length, item->len - s->offset);
			if (read && !hg_memory_write(mem, address, item->data + s->offset, chunk))
				status |= DMA_CTL_ERROR;
			s->offset += chunk;
		}
		/* Every item is read-only to the guest. */
		if (write)
			status |= DMA_CTL_ERROR;
		address += chunk;
		length -= chunk;
	}
	if (status & DMA_CTL_ERROR)
		fw_cfg_guest_error(s, "DMA %s of selector 0x%x failed (outside RAM, or a write)",
				   write ? "write" : "read", s->selector);
	fw_cfg_dma_complete(s, descriptor, status);
}

static uint64_t fw_cfg_dma_read(void *opaque, uint64_t offset, unsigned size)
{
	uint64_t v = 0;

	/* Byte i of the access is byte offset + i of the big-endian
	 * signature, so that the guest reads "QEMU CFG" in memory order. */
	for (unsigned i = 0; i < size; i++)
		if (offset + i < FW_CFG_DMA_LEN)
			v |= (uint64_t)dma_signature[offset + i] << (8 * i);
	return v;
}

static void fw_cfg_dma_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	FwCfg *s = opaque;

	/* The register is big-endian: the guest's little-endian port value
	 * holds its bytes in reverse. */
	if (size == 4 && offset == 0) {
		s->dma_address = (uint64_t)GUINT32_SWAP_LE_BE((uint32_t)value) << 32;
	} else if (size == 4 && offset == 4) {
		s->dma_address |= GUINT32_SWAP_LE_BE((uint32_t)value);
		fw_cfg_dma_transfer(s);
	} else if (size == 8 && offset == 0) {
		s->dma_address = GUINT64_SWAP_LE_BE(value);
		fw_cfg_dma_transfer(s);
	}
}

static const HgIoOps fw_cfg_io_ops = {.read = fw_cfg_io_read, .write = fw_cfg_io_write};
static const HgIoOps fw_cfg_dma_ops = {.read = fw_cfg_dma_read, .write = fw_cfg_dma_write};

/* ---- Device ---- */

static void fw_cfg_reset(HgDevice *dev)
{
	FwCfg *s = fw_cfg_from_dev(dev);

	fw_cfg_select(s, HG_FW_CFG_SIGNATURE);
	s->dma_address = 0;
}

/* The record holds the guest-visible registers and a digest of the items.
 * The items themselves are configuration, rebuilt from the command line at
 * restore; the digest lets load refuse a record taken with other items.  A
 * file set or contents that differ would hand the guest wrong data
 * silently: it may be in the middle of reading an item (selector and
 * offset), and firmware keeps what it read from the directory (sizes,
 * selectors) and reads files later by selector.  So the digest covers
 * contents too, not only names and sizes: a file=PATH that changed on disk
 * between save and restore is refused as well. */
static GVariant *fw_cfg_save(HgDevice *dev)
{
	FwCfg *s = fw_cfg_from_dev(dev);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "selector", g_variant_new_uint16(s->selector));
	g_variant_builder_add(&b, "{sv}", "offset", g_variant_new_uint32(s->offset));
	g_variant_builder_add(&b, "{sv}", "dma-address", g_variant_new_uint64(s->dma_address));
	g_variant_builder_add(&b, "{sv}", "items-sha256",
			      hg_bytes_variant(fw_cfg_items_digest(s), sizeof(s->items_digest)));
	g_variant_builder_add(&b, "{sv}", "file-count", g_variant_new_uint32(s->files->len));
	return g_variant_builder_end(&b);
}

static bool fw_cfg_load(HgDevice *dev, GVariantDict *record, GError **error)
{
	FwCfg *s = fw_cfg_from_dev(dev);
	uint8_t digest[sizeof(s->items_digest)];
	uint16_t selector;
	uint32_t offset, file_count;
	uint64_t dma_address;
	const FwCfgItem *item;

	if (!hg_record_bytes(record, "items-sha256", digest, sizeof(digest), error) ||
	    !hg_record_u32(record, "file-count", &file_count, error) ||
	    !hg_record_u16(record, "selector", &selector, error) ||
	    !hg_record_u32(record, "offset", &offset, error) ||
	    !hg_record_u64(record, "dma-address", &dma_address, error))
		return false;
	if (memcmp(digest, fw_cfg_items_digest(s), sizeof(digest)) != 0) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: the fw_cfg items differ from those at save time (%u files then, "
			    "%u now); restore with the same --fw-cfg options and unchanged files",
			    dev->id, file_count, s->files->len);
		return false;
	}
	item = fw_cfg_item(s, selector);
	if (offset > (item ? item->len : 0)) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: offset %u is beyond the end of item 0x%x", dev->id, offset,
			    selector);
		return false;
	}
	s->selector = selector;
	s->offset = offset;
	s->dma_address = dma_address;
	return true;
}

static void fw_cfg_destroy(HgDevice *dev)
{
	FwCfg *s = fw_cfg_from_dev(dev);
	HgMachine *m = dev->machine;

	if (s->ports_registered) {
		hg_address_space_unregister(&m->pio, HG_FW_CFG_IO_BASE);
		hg_address_space_unregister(&m->pio, HG_FW_CFG_DMA_BASE);
	}
	for (unsigned arch = 0; arch < 2; arch++)
		for (unsigned key = 0; key < HG_FW_CFG_FILE_FIRST; key++)
			g_free(s->items[arch][key].data);
	g_ptr_array_unref(s->files);
	g_free(s);
}

const HgDeviceClass hg_fw_cfg_class = {
	.name = "fw-cfg",
	.bus = "isa",
	.state_version = 1,
	.reset = fw_cfg_reset,
	.save = fw_cfg_save,
	.load = fw_cfg_load,
	.destroy = fw_cfg_destroy,
};

HgDevice *hg_fw_cfg_create(HgMachine *m, const char *id)
{
	FwCfg *s = g_new0(FwCfg, 1);

	hg_device_init(&s->dev, &hg_fw_cfg_class, m, id);
	s->files = g_ptr_array_new_with_free_func(fw_cfg_file_free);
	hg_fw_cfg_add_bytes(&s->dev, HG_FW_CFG_SIGNATURE, "QEMU", 4);
	hg_fw_cfg_add_u32(&s->dev, HG_FW_CFG_ID, FW_CFG_VERSION_TRADITIONAL | FW_CFG_VERSION_DMA);
	fw_cfg_rebuild_directory(s);
	fw_cfg_reset(&s->dev);
	/* Fixed PC ports: an overlap is a bug in the machine's construction. */
	if (hg_address_space_register(&m->pio, HG_FW_CFG_IO_BASE, FW_CFG_IO_LEN, &fw_cfg_io_ops,
				      s, id)) {
		if (hg_address_space_register(&m->pio, HG_FW_CFG_DMA_BASE, FW_CFG_DMA_LEN,
					      &fw_cfg_dma_ops, s, id))
			s->ports_registered = true;
		else
			hg_address_space_unregister(&m->pio, HG_FW_CFG_IO_BASE);
	}
	if (!s->ports_registered)
		g_critical("%s: fw_cfg ports 0x510-0x511/0x514-0x51b are taken", id);
	hg_machine_add_device(m, &s->dev);
	return &s->dev;
}
