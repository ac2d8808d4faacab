/* The OS an appliance says it holds, as a libosinfo entry (import_os.h).
 *
 * VMware names guests "debian12_64Guest", "windows9_64Guest" (Windows 10),
 * "windows2019srvNext_64Guest" (Server 2022); VirtualBox "Debian12_64",
 * "Windows10_64", "Ubuntu22_LTS_64"; both write a free-text description
 * ("Debian GNU/Linux 12 (64-bit)").  Each becomes candidate short ids,
 * most precise first, and the first the osinfo database knows wins, so
 * nothing here names an OS the database does not have. */
#include "library/import/import_os.h"

#include <string.h>

/* A product word and how its version becomes a short id ("%s" the
 * version's digits, "%s.%s" major and minor). */
typedef struct {
	const char *word; /* lower case, as it starts the normalised name */
	const char *format; /* with the version */
	const char *bare; /* without one (NULL: a version is needed) */
} Family;

static const Family families[] = {
	{"debian", "debian%s", NULL},	    {"ubuntu", "ubuntu%s.%s", NULL},
	{"fedora", "fedora%s", NULL},	    {"rhel", "rhel%s.%s", NULL},
	{"redhat", "rhel%s.%s", NULL},	    {"centos", "centos%s", NULL},
	{"almalinux", "almalinux%s", NULL}, {"rockylinux", "rocky%s", NULL},
	{"rocky", "rocky%s", NULL},	    {"opensuse", "opensuse%s.%s", "opensusetumbleweed"},
	{"freebsd", "freebsd%s.%s", NULL},  {"openbsd", "openbsd%s.%s", NULL},
	{"netbsd", "netbsd%s.%s", NULL},    {"archlinux", NULL, "archlinux"},
	{"arch", NULL, "archlinux"},	    {"alpine", "alpinelinux%s.%s", NULL},
};

/* Windows: the names both products use, to libosinfo's. */
static const struct {
	const char *name;
	const char *short_id;
} windows[] = {
	{"windows2019srvnext", "win2k22"}, /* VMware's name for Server 2022 */
	{"windows2022", "win2k22"},
	{"windows2019", "win2k19"},
	{"windows2016", "win2k16"},
	{"windows11", "win11"},
	{"windows10", "win10"},
	{"windows9", "win10"}, /* VMware's Windows 10 */
	{"windows81", "win8.1"},
	{"windows8", "win8"},
	{"windows7", "win7"},
};

/* Lower case, architecture marks dropped: "Debian_64" -> "debian",
 * "windows9_64Guest" -> "windows9". */
static char *plain_text(const char *text)
{
	g_autoptr(GRegex) marks =
		g_regex_new("_64|64guest|64-bit|x64|guest", G_REGEX_CASELESS, 0, NULL);
	g_autofree char *plain = g_regex_replace_literal(marks, text, -1, 0, "", 0, NULL);

	return g_ascii_strdown(plain ? plain : "", -1);
}

/* Letters and digits only: "windows 10 pro" -> "windows10pro". */
static char *squeeze(const char *text)
{
	GString *out = g_string_new(NULL);

	for (const char *p = text; *p; p++)
		if (g_ascii_isalnum(*p))
			g_string_append_c(out, *p);
	return g_string_free(out, FALSE);
}

static HgOsGuess *lookup(const char *short_id)
{
	HgOsGuess *guess = hg_os_lookup(short_id, NULL);

	g_debug("import: OS candidate %s: %s", short_id, guess ? "known" : "unknown");
	return guess;
}

/* From a family word followed by a version in the original text
 * ("Ubuntu 22.04", "ubuntu22_lts", "FreeBSD 14.1"). */
static HgOsGuess *guess_family(const Family *f, const char *version)
{
	g_autofree char *major = NULL, *minor = NULL;

	if (!version || !g_ascii_isdigit(*version))
		return f->bare ? lookup(f->bare) : NULL;
	if (!f->format)
		return f->bare ? lookup(f->bare) : NULL;
	major = g_strndup(version, strspn(version, "0123456789"));
	{
		const char *rest = version + strlen(major);
		if (*rest == '.' && g_ascii_isdigit(rest[1]))
			minor = g_strndup(rest + 1, strspn(rest + 1, "0123456789"));
	}
	/* Ubuntu's releases are YY.04 and YY.10: an LTS name gives only YY. */
	if (!minor && strcmp(f->word, "ubuntu") == 0)
		minor = g_strdup("04");
	if (!minor)
		minor = g_strdup("0");
	g_autofree char *id = g_strdup_printf(f->format, major, minor);
	HgOsGuess *guess = lookup(id);
	if (!guess && strstr(f->format, "%s.%s")) {
		/* "rhel9": the database may only have "rhel9.0" or "rhel9-unknown". */
		g_autofree char *unknown = g_strdup_printf(
			"%.*s%s-unknown", (int)strcspn(f->format, "%"), f->format, major);
		guess = lookup(unknown);
	}
	return guess;
}

/* The version that follows word in text, skipping non-digits (but not
 * too far: "Debian GNU/Linux 12"). */
static const char *version_after(const char *text, size_t word_end)
{
	const char *p = text + word_end;

	for (unsigned skipped = 0; *p && !g_ascii_isdigit(*p) && skipped < 12; p++, skipped++)
		;
	return g_ascii_isdigit(*p) ? p : NULL;
}

static HgOsGuess *guess_from(const char *text)
{
	g_autofree char *name = NULL;
	g_autofree char *lower = NULL;

	if (!text || !*text)
		return NULL;
	lower = plain_text(text);
	name = squeeze(lower);
	for (unsigned i = 0; i < G_N_ELEMENTS(windows); i++) {
		const char *at = strstr(name, windows[i].name);
		/* "windows9" is VMware's Windows 10, not Windows 95. */
		if (at && !g_ascii_isdigit(at[strlen(windows[i].name)]))
			return lookup(windows[i].short_id);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(families); i++) {
		const char *at = strstr(lower, families[i].word);
		if (!at)
			continue;
		/* "arch" is also in "search": only at the start of a word. */
		if (at != lower && g_ascii_isalpha(at[-1]))
			continue;
		return guess_family(&families[i],
				    version_after(lower, (at - lower) + strlen(families[i].word)));
	}
	return NULL;
}

HgOsGuess *hg_import_guess_os(const char *os_type, const char *description)
{
	HgOsGuess *guess = guess_from(os_type);

	if (!guess)
		guess = guess_from(description);
	return guess;
}
