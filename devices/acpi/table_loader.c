/* Builder of the BIOS linker/loader script (see table_loader.h for the
 * format).  Each command is checked the way the stricter of the two
 * firmware consumers checks it (OVMF's QemuFwCfgAcpi.c): a name that fits
 * with its NUL, a known blob, a field inside the blob, a pointer size of
 * 1, 2, 4 or 8, an alignment OVMF can honour. */
#include "devices/acpi/table_loader.h"

#include <gio/gio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

typedef struct {
	char name[HG_TABLE_LOADER_FILE_NAME_SIZE];
	size_t size;
} LoaderBlob;

struct HgTableLoader {
	GByteArray *script;
	GArray *blobs; /* LoaderBlob, in allocation order */
	GError *error; /* the first failure, reported by finish */
};

HgTableLoader *hg_table_loader_new(void)
{
	HgTableLoader *loader = g_new0(HgTableLoader, 1);

	loader->script = g_byte_array_new();
	loader->blobs = g_array_new(FALSE, TRUE, sizeof(LoaderBlob));
	return loader;
}

void hg_table_loader_free(HgTableLoader *loader)
{
	if (!loader)
		return;
	g_byte_array_unref(loader->script);
	g_array_unref(loader->blobs);
	g_clear_error(&loader->error);
	g_free(loader);
}

G_GNUC_PRINTF(2, 3)
static void loader_fail(HgTableLoader *loader, const char *format, ...)
{
	va_list ap;
	g_autofree char *message = NULL;

	if (loader->error)
		return;
	va_start(ap, format);
	message = g_strdup_vprintf(format, ap);
	va_end(ap);
	loader->error =
		g_error_new(G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "table loader: %s", message);
}

static bool name_fits(HgTableLoader *loader, const char *file)
{
	if (!file || !*file || strlen(file) >= HG_TABLE_LOADER_FILE_NAME_SIZE) {
		loader_fail(loader, "bad file name \"%s\"", file ? file : "(null)");
		return false;
	}
	return true;
}

static const LoaderBlob *find_blob(HgTableLoader *loader, const char *file)
{
	for (guint i = 0; i < loader->blobs->len; i++) {
		const LoaderBlob *b = &g_array_index(loader->blobs, LoaderBlob, i);

		if (strcmp(b->name, file) == 0)
			return b;
	}
	loader_fail(loader, "\"%s\" is used before it is allocated", file);
	return NULL;
}

static bool range_inside(HgTableLoader *loader, const LoaderBlob *b, uint64_t offset,
			 uint64_t length, const char *what)
{
	if (length == 0 || offset + length > b->size) {
		loader_fail(loader,
			    "%s [0x%" G_GINT64_MODIFIER "x, +0x%" G_GINT64_MODIFIER
			    "x) lies outside \"%s\" (0x%zx bytes)",
			    what, (guint64)offset, (guint64)length, b->name, b->size);
		return false;
	}
	return true;
}

static bool pointer_size_valid(HgTableLoader *loader, uint8_t size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		loader_fail(loader, "pointer size %u is not 1, 2, 4 or 8", size);
		return false;
	}
	return true;
}

/* A zeroed 128-byte command with its number; the body starts at 4. */
static uint8_t *entry_new(HgTableLoader *loader, uint32_t command)
{
	guint at = loader->script->len;
	uint8_t *e;

	g_byte_array_set_size(loader->script, at + HG_TABLE_LOADER_ENTRY_SIZE);
	e = loader->script->data + at;
	memset(e, 0, HG_TABLE_LOADER_ENTRY_SIZE);
	command = GUINT32_TO_LE(command);
	memcpy(e, &command, 4);
	return e;
}

static void put_name(uint8_t *at, const char *file)
{
	memcpy(at, file, strlen(file)); /* the rest is already NUL */
}

static void put_le32(uint8_t *at, uint32_t v)
{
	v = GUINT32_TO_LE(v);
	memcpy(at, &v, 4);
}

void hg_table_loader_allocate(HgTableLoader *loader, const char *file, size_t blob_size,
			      uint32_t alignment, uint8_t zone)
{
	LoaderBlob blob = {0};
	uint8_t *e;

	if (!name_fits(loader, file))
		return;
	for (guint i = 0; i < loader->blobs->len; i++) {
		if (strcmp(g_array_index(loader->blobs, LoaderBlob, i).name, file) == 0) {
			loader_fail(loader, "\"%s\" is allocated twice", file);
			return;
		}
	}
	if (blob_size == 0 || blob_size > G_MAXUINT32) {
		loader_fail(loader, "\"%s\" has an unusable size (0x%zx bytes)", file, blob_size);
		return;
	}
	if (alignment == 0 || (alignment & (alignment - 1)) || alignment > 4096) {
		loader_fail(loader, "alignment %u of \"%s\" is not a power of two up to 4096",
			    alignment, file);
		return;
	}
	if (zone != HG_TABLE_LOADER_ZONE_HIGH && zone != HG_TABLE_LOADER_ZONE_FSEG) {
		loader_fail(loader, "zone %u of \"%s\" is unknown", zone, file);
		return;
	}
	g_strlcpy(blob.name, file, sizeof(blob.name));
	blob.size = blob_size;
	g_array_append_val(loader->blobs, blob);

	e = entry_new(loader, HG_TABLE_LOADER_ALLOCATE);
	put_name(e + 4, file);
	put_le32(e + 4 + 56, alignment);
	e[4 + 60] = zone;
}

void hg_table_loader_add_pointer(HgTableLoader *loader, const char *dest_file, uint32_t dest_offset,
				 uint8_t size, const char *src_file)
{
	const LoaderBlob *dest, *src;
	uint8_t *e;

	if (!name_fits(loader, dest_file) || !name_fits(loader, src_file) ||
	    !pointer_size_valid(loader, size))
		return;
	dest = find_blob(loader, dest_file);
	src = find_blob(loader, src_file);
	if (!dest || !src || !range_inside(loader, dest, dest_offset, size, "pointer"))
		return;

	e = entry_new(loader, HG_TABLE_LOADER_ADD_POINTER);
	put_name(e + 4, dest_file);
	put_name(e + 4 + 56, src_file);
	put_le32(e + 4 + 112, dest_offset);
	e[4 + 116] = size;
}

void hg_table_loader_add_checksum(HgTableLoader *loader, const char *file, uint32_t result_offset,
				  uint32_t start, uint32_t length)
{
	const LoaderBlob *blob;
	uint8_t *e;

	if (!name_fits(loader, file))
		return;
	blob = find_blob(loader, file);
	if (!blob || !range_inside(loader, blob, result_offset, 1, "checksum byte") ||
	    !range_inside(loader, blob, start, length, "checksummed range"))
		return;

	e = entry_new(loader, HG_TABLE_LOADER_ADD_CHECKSUM);
	put_name(e + 4, file);
	put_le32(e + 4 + 56, result_offset);
	put_le32(e + 4 + 60, start);
	put_le32(e + 4 + 64, length);
}

void hg_table_loader_write_pointer(HgTableLoader *loader, const char *dest_file,
				   uint32_t dest_offset, uint8_t size, const char *src_file,
				   uint32_t src_offset)
{
	const LoaderBlob *src;
	uint8_t *e;

	/* dest is a writable fw_cfg file of the device, not a loaded blob. */
	if (!name_fits(loader, dest_file) || !name_fits(loader, src_file) ||
	    !pointer_size_valid(loader, size))
		return;
	src = find_blob(loader, src_file);
	if (!src || !range_inside(loader, src, src_offset, 1, "pointee"))
		return;

	e = entry_new(loader, HG_TABLE_LOADER_WRITE_POINTER);
	put_name(e + 4, dest_file);
	put_name(e + 4 + 56, src_file);
	put_le32(e + 4 + 112, dest_offset);
	put_le32(e + 4 + 116, src_offset);
	e[4 + 120] = size;
}

GBytes *hg_table_loader_finish(HgTableLoader *loader, GError **error)
{
	if (loader->error) {
		g_propagate_error(error, g_steal_pointer(&loader->error));
		return NULL;
	}
	return g_bytes_new(loader->script->data, loader->script->len);
}
