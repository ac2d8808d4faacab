/* An OVA's manifest (the .mf file after its descriptor): one line per file,
 * "SHA256(name)= hex" (SHA1 and SHA512 too, as VirtualBox and ovftool
 * write), which import checks each file against as it streams it. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#define HG_OVA_MANIFEST_MAX_BYTES (1u << 20)

typedef struct HgOvaManifest HgOvaManifest;

/* NULL with HG_VM_ERROR_INVALID naming the line that is not a digest. */
HgOvaManifest *hg_ova_manifest_parse(const char *text, gsize length, GError **error);
void hg_ova_manifest_free(HgOvaManifest *manifest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgOvaManifest, hg_ova_manifest_free)

/* The digest the manifest gives name (hex, lower case), or false. */
bool hg_ova_manifest_lookup(const HgOvaManifest *manifest, const char *name, GChecksumType *type,
			    const char **hex);
/* Does hex (any case) equal the manifest's digest for name?  True when the
 * manifest does not list name. */
bool hg_ova_manifest_matches(const HgOvaManifest *manifest, const char *name, const char *hex);
