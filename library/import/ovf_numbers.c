/* The OVF reader's numbers (ovf_private.h): whole numbers as a descriptor
 * writes them, and the units of bytes that scale capacities and memory. */
#include "library/import/ovf_private.h"

#include "library/vm/vm_config.h"

bool hg_ovf_parse_number(HgOvfParser *p, const char *text, const char *what, guint64 *value,
			 GError **error)
{
	g_autofree char *trimmed = g_strstrip(g_strdup(text));
	g_autoptr(GError) why = NULL;

	if (g_ascii_string_to_unsigned(trimmed, 10, 0, G_MAXUINT64, value, &why))
		return true;
	if (g_error_matches(why, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS))
		return hg_ovf_fail(error, HG_VM_ERROR_INVALID, "%s %s is absurd (not below 2^64)",
				   what, hg_ovf_shown(p, text));
	return hg_ovf_fail(error, HG_VM_ERROR_INVALID, "%s \"%s\" is not a whole number", what,
			   hg_ovf_shown(p, text));
}

static bool read_digits(const char **s, guint64 *value)
{
	const char *start = *s;

	*value = 0;
	for (; g_ascii_isdigit(**s); (*s)++)
		if (!g_uint64_checked_mul(value, *value, 10) ||
		    !g_uint64_checked_add(value, *value, (guint64)(**s - '0')))
			return false;
	return *s != start;
}

static const char *skip_spaces(const char *s)
{
	while (g_ascii_isspace(*s))
		s++;
	return s;
}

/* The bytes in one unit: DSP0004's programmatic units ("byte",
 * "byte * 2^30", "byte*1024"), or the names older VirtualBox and other
 * tools write ("MegaBytes", "MB", ...), binary multiples as they mean
 * them.  NULL or empty: default_bytes.  False when not understood, zero or
 * above 2^64. */
bool hg_ovf_unit_bytes(const char *units, guint64 default_bytes, guint64 *bytes)
{
	static const struct {
		const char *name;
		unsigned shift;
	} names[] = {
		{"KB", 10},	   {"KiB", 10},	      {"KiloBytes", 10}, {"MB", 20},
		{"MiB", 20},	   {"MegaBytes", 20}, {"GB", 30},	 {"GiB", 30},
		{"GigaBytes", 30}, {"TB", 40},	      {"TiB", 40},	 {"TeraBytes", 40},
	};
	g_autofree char *text = g_strstrip(g_strdup(units ? units : ""));
	const char *s = text;
	guint64 total = 1;

	if (!*s) {
		*bytes = default_bytes;
		return true;
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
		if (g_ascii_strcasecmp(s, names[i].name) == 0) {
			*bytes = G_GUINT64_CONSTANT(1) << names[i].shift;
			return true;
		}
	}
	if (g_ascii_strncasecmp(s, "byte", 4) != 0)
		return false;
	s += 4;
	if (*s == 's' || *s == 'S')
		s++;
	while (*(s = skip_spaces(s))) {
		guint64 base, exponent = 1;

		if (*s != '*')
			return false;
		s = skip_spaces(s + 1);
		if (!read_digits(&s, &base))
			return false;
		s = skip_spaces(s);
		if (*s == '^') {
			s = skip_spaces(s + 1);
			if (!read_digits(&s, &exponent) || exponent > 64)
				return false;
		}
		for (guint64 i = 0; i < exponent; i++)
			if (!g_uint64_checked_mul(&total, total, base))
				return false;
	}
	*bytes = total;
	return total != 0;
}
