#include "devices/device.h"

#include <string.h>

G_DEFINE_QUARK(hg-device-error-quark, hg_device_error)

void hg_device_init(HgDevice *dev, const HgDeviceClass *klass, HgMachine *machine,
		    const char *id)
{
	dev->klass = klass;
	dev->machine = machine;
	dev->id = g_strdup(id);
}

void hg_device_free(HgDevice *dev)
{
	char *id;

	if (!dev)
		return;
	id = dev->id;
	if (dev->klass->destroy)
		dev->klass->destroy(dev);
	else
		g_free(dev);
	g_free(id);
}

GVariant *hg_device_save(HgDevice *dev)
{
	g_autoptr(GVariant) state = g_variant_ref_sink(dev->klass->save(dev));
	GVariantDict dict;

	g_variant_dict_init(&dict, state);
	g_variant_dict_insert(&dict, "version", "u", dev->klass->state_version);
	g_variant_dict_insert(&dict, "model", "s", dev->klass->name);
	return g_variant_ref_sink(g_variant_dict_end(&dict));
}

bool hg_device_load(HgDevice *dev, GVariant *record, GError **error)
{
	g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT(NULL);
	uint32_t version;
	const char *model = NULL;

	if (!g_variant_is_of_type(record, G_VARIANT_TYPE_VARDICT)) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: state record is not a dictionary", dev->id);
		return false;
	}
	g_variant_dict_init(&dict, record);
	if (!g_variant_dict_lookup(&dict, "model", "&s", &model) ||
	    strcmp(model, dev->klass->name) != 0) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: state record is for model %s, not %s", dev->id,
			    model ? model : "(none)", dev->klass->name);
		return false;
	}
	if (!hg_record_u32(&dict, "version", &version, error))
		return false;
	if (version != dev->klass->state_version) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "%s: state record version %u, this engine reads version %u", dev->id,
			    version, dev->klass->state_version);
		return false;
	}
	if (dev->klass->reset)
		dev->klass->reset(dev);
	return dev->klass->load(dev, &dict, error);
}

GVariant *hg_device_save_nothing(HgDevice *dev)
{
	return g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
}

bool hg_device_load_nothing(HgDevice *dev, GVariantDict *record, GError **error)
{
	return true;
}

static GVariant *record_lookup(GVariantDict *r, const char *key, const GVariantType *type,
			       GError **error)
{
	GVariant *v = g_variant_dict_lookup_value(r, key, NULL);

	if (!v) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "state record lacks \"%s\"", key);
		return NULL;
	}
	if (!g_variant_is_of_type(v, type)) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "state record field \"%s\" has type %s, expected %s", key,
			    g_variant_get_type_string(v), g_variant_type_peek_string(type));
		g_variant_unref(v);
		return NULL;
	}
	return v;
}

#define DEFINE_RECORD_GETTER(suffix, ctype, vtype, getter)                                        \
	bool hg_record_##suffix(GVariantDict *r, const char *key, ctype *out, GError **error)     \
	{                                                                                         \
		GVariant *v = record_lookup(r, key, vtype, error);                                \
		if (!v)                                                                           \
			return false;                                                             \
		*out = getter(v);                                                                 \
		g_variant_unref(v);                                                               \
		return true;                                                                      \
	}

DEFINE_RECORD_GETTER(u8, uint8_t, G_VARIANT_TYPE_BYTE, g_variant_get_byte)
DEFINE_RECORD_GETTER(u16, uint16_t, G_VARIANT_TYPE_UINT16, g_variant_get_uint16)
DEFINE_RECORD_GETTER(u32, uint32_t, G_VARIANT_TYPE_UINT32, g_variant_get_uint32)
DEFINE_RECORD_GETTER(u64, uint64_t, G_VARIANT_TYPE_UINT64, g_variant_get_uint64)
DEFINE_RECORD_GETTER(bool, bool, G_VARIANT_TYPE_BOOLEAN, g_variant_get_boolean)

bool hg_record_bytes_max(GVariantDict *r, const char *key, void *out, size_t max, size_t *len,
			 GError **error)
{
	GVariant *v = record_lookup(r, key, G_VARIANT_TYPE_BYTESTRING, error);
	gsize n;
	const void *data;

	if (!v)
		return false;
	data = g_variant_get_fixed_array(v, &n, 1);
	if (n > max) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "state record field \"%s\" has %zu bytes, at most %zu fit", key,
			    (size_t)n, max);
		g_variant_unref(v);
		return false;
	}
	memcpy(out, data, n);
	*len = n;
	g_variant_unref(v);
	return true;
}

bool hg_record_bytes(GVariantDict *r, const char *key, void *out, size_t len, GError **error)
{
	size_t got;

	if (!hg_record_bytes_max(r, key, out, len, &got, error))
		return false;
	if (got != len) {
		g_set_error(error, HG_DEVICE_ERROR, HG_DEVICE_ERROR_BAD_RECORD,
			    "state record field \"%s\" has %zu bytes, expected %zu", key, got, len);
		return false;
	}
	return true;
}

GVariant *hg_bytes_variant(const void *data, size_t len)
{
	return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, data, len, 1);
}
