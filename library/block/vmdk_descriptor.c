/* The VMDK text descriptor (Virtual Disk Format 5.0, "The Descriptor
 * File"): lines of `key = "value"` settings, comments starting with '#',
 * and extent lines `ACCESS SECTORS TYPE "FILE" [OFFSET]`, in order, which
 * put the disk together.  It is a file of its own (monolithicFlat and the
 * split variants) or embedded in a sparse extent (monolithicSparse,
 * streamOptimized).
 *
 * The parser is strict about shape (binary data or lines of no known form
 * are refused: a file that is not a descriptor must not be half-read as
 * one) and lenient about content it does not need (the DDB settings,
 * unquoted values, CRLF line ends). */
#include "library/block/vmdk.h"

#include <gio/gio.h>
#include <string.h>

/* The createType values this driver reads; the rest are refused with the
 * reason.  "vmfs" is ESX's plain disk: a raw extent of type VMFS. */
static const char *const readable_create_types[] = {
	"monolithicSparse",   "monolithicFlat",	 "twoGbMaxExtentSparse",
	"twoGbMaxExtentFlat", "streamOptimized", "vmfs",
};

static const struct {
	const char *name;
	const char *why;
} refused_create_types[] = {
	{"vmfsSparse", "ESX snapshot (COWD) extents are not supported"},
	{"seSparse", "ESX space-efficient sparse extents are not supported"},
	{"vmfsRaw", "it maps a raw host device"},
	{"vmfsRawDeviceMap", "it maps a raw host device"},
	{"vmfsPassthroughRawDeviceMap", "it maps a raw host device"},
	{"fullDevice", "it maps a raw host device"},
	{"partitionedDevice", "it maps partitions of a host device"},
};

typedef struct {
	const char *where;
	unsigned line;
	VmdkDescriptor *desc;
	bool has_parent;
	char *parent_hint;
} Parser;

static void fail(Parser *p, GError **error, const char *format, const char *detail)
{
	g_autofree char *what = g_strdup_printf(format, detail);

	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: descriptor line %u: %s",
		    p->where, p->line, what);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char *strip(char *s)
{
	char *end;

	while (is_blank(*s))
		s++;
	end = s + strlen(s);
	while (end > s && (is_blank(end[-1]) || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* A value without its quotes (a missing closing quote is an error). */
static bool unquote(char *value, char **out)
{
	size_t len = strlen(value);

	if (value[0] != '"') {
		*out = value;
		return true;
	}
	if (len < 2 || value[len - 1] != '"')
		return false;
	value[len - 1] = '\0';
	*out = value + 1;
	return true;
}

/* The next whitespace-separated token of *s, or NULL at the end. */
static char *next_token(char **s)
{
	char *start = *s, *end;

	while (is_blank(*start))
		start++;
	if (*start == '\0')
		return NULL;
	end = start;
	while (*end && !is_blank(*end))
		end++;
	if (*end)
		*end++ = '\0';
	*s = end;
	return start;
}

static bool parse_sectors(const char *text, uint64_t *out)
{
	guint64 value;

	if (!g_ascii_string_to_unsigned(text, 10, 0, VMDK_MAX_SECTORS, &value, NULL))
		return false;
	*out = value;
	return true;
}

/* `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`; the file name may hold spaces. */
static bool parse_extent(Parser *p, char *line, GError **error)
{
	VmdkExtentLine extent = {0};
	char *rest = line, *access, *sectors, *type, *name = NULL, *offset = NULL;

	access = next_token(&rest);
	sectors = next_token(&rest);
	type = next_token(&rest);
	if (!sectors || !type) {
		fail(p, error, "an extent needs an access mode, a size and a type%s", "");
		return false;
	}
	if (strcmp(access, "NOACCESS") == 0) {
		fail(p, error, "a NOACCESS extent cannot be read%s", "");
		return false;
	}
	if (!parse_sectors(sectors, &extent.sectors) || extent.sectors == 0) {
		fail(p, error, "extent size \"%s\" is not a sector count of 1 to 2^38", sectors);
		return false;
	}
	while (is_blank(*rest))
		rest++;
	if (*rest == '"') {
		char *close = strchr(rest + 1, '"');
		if (!close) {
			fail(p, error, "the extent's file name has no closing quote%s", "");
			return false;
		}
		*close = '\0';
		name = rest + 1;
		rest = close + 1;
		offset = next_token(&rest);
		if (next_token(&rest)) {
			fail(p, error, "unexpected text after the extent's offset%s", "");
			return false;
		}
	} else if (*rest) {
		fail(p, error, "the extent's file name must be quoted%s", "");
		return false;
	}

	if (strcmp(type, "FLAT") == 0 || strcmp(type, "VMFS") == 0) {
		extent.kind = VMDK_EXTENT_FLAT;
	} else if (strcmp(type, "SPARSE") == 0) {
		extent.kind = VMDK_EXTENT_SPARSE;
	} else if (strcmp(type, "ZERO") == 0) {
		extent.kind = VMDK_EXTENT_ZERO;
	} else if (strcmp(type, "VMFSSPARSE") == 0 || strcmp(type, "SESPARSE") == 0 ||
		   strcmp(type, "VMFSRDM") == 0 || strcmp(type, "VMFSRAW") == 0) {
		fail(p, error, "%s extents (ESX snapshots or raw device maps) are not supported",
		     type);
		return false;
	} else {
		fail(p, error, "unknown extent type \"%s\"", type);
		return false;
	}
	if (extent.kind != VMDK_EXTENT_ZERO && (!name || !*name)) {
		fail(p, error, "a %s extent needs a file name", type);
		return false;
	}
	if (offset && (extent.kind != VMDK_EXTENT_FLAT ||
		       !g_ascii_string_to_unsigned(offset, 10, 0, VMDK_MAX_SECTORS,
						   (guint64 *)&extent.file_offset, NULL))) {
		fail(p, error, "bad extent offset \"%s\"", offset);
		return false;
	}
	if (p->desc->extents->len >= VMDK_MAX_EXTENTS) {
		char limit[16];
		g_snprintf(limit, sizeof(limit), "%u", VMDK_MAX_EXTENTS);
		fail(p, error, "more than %s extents", limit);
		return false;
	}
	if (extent.kind != VMDK_EXTENT_ZERO)
		extent.file_name = g_strdup(name);
	g_array_append_val(p->desc->extents, extent);
	return true;
}

static bool parse_setting(Parser *p, char *line, GError **error)
{
	char *equals = strchr(line, '='), *key, *value;

	*equals = '\0';
	key = strip(line);
	if (!*key ||
	    strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		    strlen(key)) {
		fail(p, error, "\"%s\" is not a setting's name", key);
		return false;
	}
	if (!unquote(strip(equals + 1), &value)) {
		fail(p, error, "the value of %s has no closing quote", key);
		return false;
	}
	if (g_str_has_prefix(key, "encryption.")) {
		fail(p, error, "the disk is encrypted (%s): decrypt it in VMware first", key);
		return false;
	}
	if (strcmp(key, "version") == 0) {
		guint64 version;
		if (!g_ascii_string_to_unsigned(value, 10, 1, 3, &version, NULL)) {
			fail(p, error, "descriptor version \"%s\" is not supported (1 to 3 are)",
			     value);
			return false;
		}
		p->desc->version = version;
	} else if (strcmp(key, "createType") == 0) {
		g_free(p->desc->create_type);
		p->desc->create_type = g_strdup(value);
	} else if (strcmp(key, "parentCID") == 0) {
		p->has_parent = g_ascii_strcasecmp(value, "ffffffff") != 0;
	} else if (strcmp(key, "parentFileNameHint") == 0) {
		g_free(p->parent_hint);
		p->parent_hint = g_strdup(value);
	}
	return true;
}

static bool parse_line(Parser *p, char *line, GError **error)
{
	size_t first_word;

	for (const char *c = line; *c; c++) {
		if (((unsigned char)*c < 0x20 && *c != '\t' && *c != '\r') || *c == 0x7f) {
			char byte[8];
			g_snprintf(byte, sizeof(byte), "%02x", (unsigned char)*c);
			fail(p, error, "binary data (byte 0x%s): this is not a descriptor", byte);
			return false;
		}
	}
	line = strip(line);
	if (!*line || *line == '#')
		return true;
	first_word = strcspn(line, " \t");
	if ((first_word == 2 && strncmp(line, "RW", 2) == 0) ||
	    (first_word == 6 && strncmp(line, "RDONLY", 6) == 0) ||
	    (first_word == 8 && strncmp(line, "NOACCESS", 8) == 0))
		return parse_extent(p, line, error);
	if (strchr(line, '='))
		return parse_setting(p, line, error);
	fail(p, error, "\"%.40s\" is neither a setting nor an extent", line);
	return false;
}

static bool check_create_type(Parser *p, GError **error)
{
	const char *type = p->desc->create_type;

	if (!type) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: the descriptor has no createType", p->where);
		return false;
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(readable_create_types); i++)
		if (strcmp(type, readable_create_types[i]) == 0)
			return true;
	for (unsigned i = 0; i < G_N_ELEMENTS(refused_create_types); i++) {
		if (strcmp(type, refused_create_types[i].name) == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "%s: VMDK disks of type %s cannot be imported: %s", p->where,
				    type, refused_create_types[i].why);
			return false;
		}
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		    "%s: unknown VMDK createType \"%.64s\"", p->where, type);
	return false;
}

bool hg_vmdk_descriptor_parse(const char *text, size_t len, const char *where, VmdkDescriptor *desc,
			      GError **error)
{
	Parser p = {where, 0, desc, false, NULL};
	g_autofree char *copy = NULL;
	char *line, *next;
	uint64_t total = 0;
	bool ok = true;

	memset(desc, 0, sizeof(*desc));
	desc->version = 1;
	desc->extents = g_array_new(FALSE, TRUE, sizeof(VmdkExtentLine));
	len = strnlen(text, len);
	if (len > VMDK_MAX_DESCRIPTOR_BYTES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: the descriptor is larger than %u bytes", where,
			    VMDK_MAX_DESCRIPTOR_BYTES);
		return false;
	}
	copy = g_strndup(text, len);
	line = copy;
	/* Windows editors may put a UTF-8 byte-order mark first. */
	if (g_str_has_prefix(line, "\xef\xbb\xbf"))
		line += 3;
	for (; ok && line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p.line++;
		ok = parse_line(&p, line, error);
	}
	if (ok && p.has_parent) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: this is a snapshot (delta) disk whose unchanged data is in its "
			    "parent \"%.200s\": import the disk after deleting or consolidating "
			    "its snapshots in VMware",
			    where, p.parent_hint ? p.parent_hint : "(not named)");
		ok = false;
	}
	g_free(p.parent_hint);
	if (ok)
		ok = check_create_type(&p, error);
	if (ok && desc->extents->len == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: the descriptor lists no extents", where);
		ok = false;
	}
	for (unsigned i = 0; ok && i < desc->extents->len; i++) {
		total += g_array_index(desc->extents, VmdkExtentLine, i).sectors;
		if (total > VMDK_MAX_SECTORS) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: the extents add up to more than 128 TiB", where);
			ok = false;
		}
	}
	return ok;
}

void hg_vmdk_descriptor_clear(VmdkDescriptor *desc)
{
	if (desc->extents) {
		for (unsigned i = 0; i < desc->extents->len; i++)
			g_free(g_array_index(desc->extents, VmdkExtentLine, i).file_name);
		g_array_unref(desc->extents);
	}
	g_free(desc->create_type);
	memset(desc, 0, sizeof(*desc));
}

/* "# Disk DescriptorFile" first, as VMware and QEMU write it; or text whose
 * first line that is not a comment sets the version and which names a
 * createType. */
bool hg_vmdk_descriptor_probe(const uint8_t *head, size_t len)
{
	static const char header[] = "# Disk DescriptorFile";
	const char *text = (const char *)head;
	const char *end, *line;

	/* Windows editors may put a UTF-8 byte-order mark first. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	if (len >= sizeof(header) - 1 && memcmp(text, header, sizeof(header) - 1) == 0)
		return true;
	end = text + strnlen(text, len);
	line = text;
	while (line < end) {
		const char *eol = memchr(line, '\n', end - line);
		const char *c = line;
		if (!eol)
			eol = end;
		while (c < eol && (is_blank(*c) || *c == '\r'))
			c++;
		if (c < eol && *c != '#') {
			if (eol - c < 8 || strncmp(c, "version", 7) != 0)
				return false;
			c += 7;
			while (c < eol && is_blank(*c))
				c++;
			return c < eol && *c == '=' && g_strstr_len(text, end - text, "createType");
		}
		line = eol + 1;
	}
	return false;
}
