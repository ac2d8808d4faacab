/* The shape every device model has (STYLE.md): a class table that names the
 * device and its reset/save/load, closing each device's file, plus a state
 * struct that starts with HgDevice.  Port and MMIO handlers are registered
 * on the machine's address spaces when the device is created.
 *
 * Save/load: a device's whole state is one GVariant dictionary (a{sv}) with
 * a "version" entry.  Load checks every field's type and refuses records it
 * does not understand; missing optional fields keep their reset values. */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/machine.h"

typedef struct HgDeviceClass {
	const char *name; /* model name, e.g. "uart16550" */
	const char *bus; /* "isa", "pci", "system" */
	uint32_t state_version; /* bumped when the record changes meaning */
	void (*reset)(HgDevice *dev);
	/* Returns a floating a{sv}; "version" is added by the caller. */
	GVariant *(*save)(HgDevice *dev);
	bool (*load)(HgDevice *dev, GVariantDict *record, GError **error);
	void (*destroy)(HgDevice *dev);
} HgDeviceClass;

struct HgDevice {
	const HgDeviceClass *klass;
	HgMachine *machine;
	char *id; /* unique in the machine, e.g. "com1" */
};

void hg_device_init(HgDevice *dev, const HgDeviceClass *klass, HgMachine *machine,
		    const char *id);
void hg_device_free(HgDevice *dev);

/* Device record with "version" set: a new reference. */
GVariant *hg_device_save(HgDevice *dev);
bool hg_device_load(HgDevice *dev, GVariant *record, GError **error);

/* For devices with no state of their own (a port that only acts). */
GVariant *hg_device_save_nothing(HgDevice *dev);
bool hg_device_load_nothing(HgDevice *dev, GVariantDict *record, GError **error);

/* Typed lookups for load functions; each fails with a clear error when the
 * key is missing or of another type. */
bool hg_record_u8(GVariantDict *r, const char *key, uint8_t *out, GError **error);
bool hg_record_u16(GVariantDict *r, const char *key, uint16_t *out, GError **error);
bool hg_record_u32(GVariantDict *r, const char *key, uint32_t *out, GError **error);
bool hg_record_u64(GVariantDict *r, const char *key, uint64_t *out, GError **error);
bool hg_record_bool(GVariantDict *r, const char *key, bool *out, GError **error);
/* A byte array of exactly len bytes. */
bool hg_record_bytes(GVariantDict *r, const char *key, void *out, size_t len, GError **error);
/* A byte array of at most max bytes; *len gets its length. */
bool hg_record_bytes_max(GVariantDict *r, const char *key, void *out, size_t max, size_t *len,
			 GError **error);
/* Builds a{sv} entries: g_variant_builder_add(b, "{sv}", key, hg_bytes_variant(p, n)). */
GVariant *hg_bytes_variant(const void *data, size_t len);

#define HG_DEVICE_ERROR (hg_device_error_quark())
GQuark hg_device_error_quark(void);
enum { HG_DEVICE_ERROR_BAD_RECORD };
