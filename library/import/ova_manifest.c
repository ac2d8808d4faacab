/* An OVA's manifest (ova_manifest.h). */
#include "library/import/ova_manifest.h"

#include <string.h>

#include "library/vm/vm_config.h"

struct HgOvaManifest {
	GHashTable *digests; /* file name -> Digest */
};

typedef struct {
	GChecksumType type;
	char *hex;
} Digest;

static void digest_free(Digest *d)
{
	g_free(d->hex);
	g_free(d);
}

void hg_ova_manifest_free(HgOvaManifest *manifest)
{
	if (!manifest)
		return;
	g_hash_table_unref(manifest->digests);
	g_free(manifest);
}

static bool algorithm(const char *name, gsize length, GChecksumType *type, gsize *hex_length)
{
	static const struct {
		const char *name;
		GChecksumType type;
		gsize hex_length;
	} known[] = {{"SHA1", G_CHECKSUM_SHA1, 40},
		     {"SHA256", G_CHECKSUM_SHA256, 64},
		     {"SHA512", G_CHECKSUM_SHA512, 128}};

	for (unsigned i = 0; i < G_N_ELEMENTS(known); i++)
		if (strlen(known[i].name) == length &&
		    g_ascii_strncasecmp(name, known[i].name, length) == 0) {
			*type = known[i].type;
			*hex_length = known[i].hex_length;
			return true;
		}
	return false;
}

/* "ALG(name)= hex", spaces before "(" and around "=" allowed. */
static Digest *parse_line(const char *line, char **name)
{
	const char *open = strchr(line, '('), *close = strrchr(line, ')');
	const char *hex;
	GChecksumType type;
	gsize hex_length;

	gsize alg_length = open ? (gsize)(open - line) : 0;

	while (alg_length && line[alg_length - 1] == ' ')
		alg_length--;
	if (!open || !close || close < open || !algorithm(line, alg_length, &type, &hex_length))
		return NULL;
	hex = close + 1;
	while (*hex == ' ')
		hex++;
	if (*hex++ != '=')
		return NULL;
	while (*hex == ' ')
		hex++;
	if (strlen(hex) != hex_length || strspn(hex, "0123456789abcdefABCDEF") != hex_length ||
	    close == open + 1)
		return NULL;
	*name = g_strndup(open + 1, close - open - 1);
	Digest *d = g_new0(Digest, 1);
	d->type = type;
	d->hex = g_ascii_strdown(hex, -1);
	return d;
}

HgOvaManifest *hg_ova_manifest_parse(const char *text, gsize length, GError **error)
{
	g_autoptr(HgOvaManifest) manifest = g_new0(HgOvaManifest, 1);
	g_autofree char *copy = NULL;
	g_auto(GStrv) lines = NULL;

	manifest->digests =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)digest_free);
	if (length > HG_OVA_MANIFEST_MAX_BYTES || memchr(text, '\0', length)) {
		g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
			    "the manifest is not a text of digests (too large, or binary)");
		return NULL;
	}
	copy = g_strndup(text, length);
	lines = g_strsplit(copy, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		char *line = g_strstrip(lines[i]);
		char *name = NULL;
		Digest *d;

		if (!*line)
			continue;
		d = parse_line(line, &name);
		if (!d) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
				    "the manifest's line %u is not \"SHA256(file)= digest\"",
				    i + 1);
			return NULL;
		}
		if (g_hash_table_contains(manifest->digests, name)) {
			g_set_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID,
				    "the manifest lists \"%.40s\" twice", name);
			g_free(name);
			digest_free(d);
			return NULL;
		}
		g_hash_table_insert(manifest->digests, name, d);
	}
	return g_steal_pointer(&manifest);
}

bool hg_ova_manifest_lookup(const HgOvaManifest *manifest, const char *name, GChecksumType *type,
			    const char **hex)
{
	const Digest *d = g_hash_table_lookup(manifest->digests, name);

	if (!d)
		return false;
	*type = d->type;
	*hex = d->hex;
	return true;
}

bool hg_ova_manifest_matches(const HgOvaManifest *manifest, const char *name, const char *hex)
{
	GChecksumType type;
	const char *want;

	return !hg_ova_manifest_lookup(manifest, name, &type, &want) ||
	       g_ascii_strcasecmp(want, hex) == 0;
}
