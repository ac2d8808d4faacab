/* OS detection from installer media with libosinfo (os_detect.h).
 *
 * The database is the system's osinfo-db plus Hangar's overlay
 * (data/osinfo), loaded once per process.  libosinfo's objects are not
 * thread-safe, so db_lock is held around every use of the database and of
 * the objects in it; reading the image itself happens outside the lock. */
#include "library/os/os_detect.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <osinfo/osinfo.h>
#include <string.h>
#include <sys/stat.h>

GQuark hg_os_error_quark(void)
{
	return g_quark_from_static_string("hg-os-error-quark");
}

#define MIB (1024 * 1024)
#define GIB (1024 * 1024 * 1024)

/* The architecture Hangar runs and the one hg_os_lookup suggests for. */
#define HOST_ARCH "x86_64"

/* Guards os_db and every libosinfo object reached from it. */
static GMutex db_lock;
static OsinfoDb *os_db;
static GError *os_db_error; /* why the system database failed to load */

/* HANGAR_OSINFO_DIR, else the source tree's overlay (uninstalled runs),
 * else the installed one.  meson passes both paths (library/meson.build). */
static char *overlay_dir(void)
{
	const char *env = g_getenv("HANGAR_OSINFO_DIR");

	if (env && *env)
		return g_strdup(env);
#ifdef HANGAR_OSINFO_SOURCE_DIR
	if (g_file_test(HANGAR_OSINFO_SOURCE_DIR, G_FILE_TEST_IS_DIR))
		return g_strdup(HANGAR_OSINFO_SOURCE_DIR);
#endif
#ifdef HANGAR_OSINFO_INSTALL_DIR
	return g_strdup(HANGAR_OSINFO_INSTALL_DIR);
#else
	return NULL;
#endif
}

static gpointer load_database(gpointer unused)
{
	g_autoptr(OsinfoLoader) loader = osinfo_loader_new();
	g_autoptr(GError) err = NULL;
	g_autofree char *overlay = overlay_dir();

	osinfo_loader_process_default_path(loader, &err);
	if (err) {
		os_db_error = g_error_new(HG_OS_ERROR, HG_OS_ERROR_DATABASE,
					  "Cannot load the osinfo database: %s", err->message);
		return NULL;
	}
	/* After the system database, so that the overlay's entries can derive
	 * from the system's (Debian 12 from Debian 11) and its .d extensions
	 * merge into existing entries (Windows 11). */
	if (overlay && g_file_test(overlay, G_FILE_TEST_IS_DIR)) {
		osinfo_loader_process_path(loader, overlay, &err);
		/* A broken overlay is a packaging bug: say so, and carry on with
		 * whatever the system database knows. */
		if (err)
			g_warning("Hangar's osinfo overlay %s is broken: %s", overlay,
				  err->message);
	} else {
		g_debug("No osinfo overlay (%s): the system database only",
			overlay ? overlay : "no path configured");
	}
	os_db = g_object_ref(osinfo_loader_get_db(loader));
	return NULL;
}

/* The database, loaded on first use; NULL with an error when the system
 * database failed to load.  Call with db_lock held. */
static OsinfoDb *database(GError **error)
{
	static GOnce once = G_ONCE_INIT;

	g_once(&once, load_database, NULL);
	if (!os_db) {
		g_propagate_error(error, g_error_copy(os_db_error));
		return NULL;
	}
	return os_db;
}

void hg_os_guess_free(HgOsGuess *guess)
{
	if (!guess)
		return;
	g_free(guess->short_id);
	g_free(guess->name);
	g_free(guess->version);
	g_free(guess->vendor);
	g_free(guess->family);
	g_free(guess->distro);
	g_free(guess->volume_id);
	g_free(guess->architecture);
	g_free(guess);
}

HgOsGuess *hg_os_guess_copy(const HgOsGuess *guess)
{
	HgOsGuess *copy = g_memdup2(guess, sizeof(*guess));

	copy->short_id = g_strdup(guess->short_id);
	copy->name = g_strdup(guess->name);
	copy->version = g_strdup(guess->version);
	copy->vendor = g_strdup(guess->vendor);
	copy->family = g_strdup(guess->family);
	copy->distro = g_strdup(guess->distro);
	copy->volume_id = g_strdup(guess->volume_id);
	copy->architecture = g_strdup(guess->architecture);
	return copy;
}

HgOsGuess *hg_os_defaults(void)
{
	HgOsGuess *guess = g_new0(HgOsGuess, 1);

	guess->memory_mib = HG_OS_DEFAULT_MEMORY_MIB;
	guess->cpus = HG_OS_DEFAULT_CPUS;
	guess->disk_gib = HG_OS_DEFAULT_DISK_GIB;
	guess->firmware = HG_FIRMWARE_BIOS;
	guess->disk_bus = HG_DISK_BUS_SATA;
	return guess;
}

/* The entry of list (of OsinfoResources) for arch, else the one for "all";
 * NULL when neither exists.  Takes list's reference. */
static OsinfoResources *resources_for_arch(OsinfoResourcesList *list, const char *arch)
{
	OsinfoResources *all = NULL, *exact = NULL;
	int n = osinfo_list_get_length(OSINFO_LIST(list));

	for (int i = 0; i < n; i++) {
		OsinfoResources *r = OSINFO_RESOURCES(osinfo_list_get_nth(OSINFO_LIST(list), i));
		const char *r_arch = osinfo_resources_get_architecture(r);

		/* The first of each kind: when a newer system database and the
		 * overlay both define a release, the system's comes first. */
		if (!exact && g_strcmp0(r_arch, arch) == 0)
			exact = r;
		else if (!all && g_strcmp0(r_arch, "all") == 0)
			all = r;
	}
	OsinfoResources *chosen = exact ? exact : all;
	if (chosen)
		g_object_ref(chosen);
	g_object_unref(list);
	return chosen;
}

/* The recommended value when the database has one (never below the
 * minimum), else the larger of the default and the minimum.  Unset values
 * are <= 0 in libosinfo. */
static gint64 suggest(gint64 recommended, gint64 minimum, gint64 fallback)
{
	if (recommended > 0)
		return MAX(recommended, minimum);
	return MAX(fallback, minimum);
}

static gint64 resource_ram(OsinfoResources *r)
{
	return r ? osinfo_resources_get_ram(r) : -1;
}

static gint64 resource_cpus(OsinfoResources *r)
{
	return r ? osinfo_resources_get_n_cpus(r) : -1;
}

static gint64 resource_storage(OsinfoResources *r)
{
	return r ? osinfo_resources_get_storage(r) : -1;
}

static bool needs_uefi(OsinfoOs *os, const char *arch)
{
	g_autoptr(OsinfoFirmwareList) list = osinfo_os_get_complete_firmware_list(os, NULL);
	int n = osinfo_list_get_length(OSINFO_LIST(list));

	for (int i = 0; i < n; i++) {
		OsinfoFirmware *fw = OSINFO_FIRMWARE(osinfo_list_get_nth(OSINFO_LIST(list), i));

		if (g_strcmp0(osinfo_firmware_get_architecture(fw), arch) == 0 &&
		    g_strcmp0(osinfo_firmware_get_firmware_type(fw), "bios") == 0 &&
		    !osinfo_firmware_is_supported(fw))
			return true;
	}
	return false;
}

/* Whether the OS (or an OS it derives from) lists a virtio block device:
 * its installer and kernel drive virtio disks without extra drivers. */
static bool has_virtio_block(OsinfoOs *os)
{
	g_autoptr(OsinfoDeviceList) list = osinfo_os_get_all_devices(os, NULL);
	int n = osinfo_list_get_length(OSINFO_LIST(list));

	for (int i = 0; i < n; i++) {
		OsinfoDevice *dev = OSINFO_DEVICE(osinfo_list_get_nth(OSINFO_LIST(list), i));
		const char *vendor = osinfo_device_get_vendor_id(dev);
		const char *product = osinfo_device_get_product_id(dev);

		if (g_strcmp0(osinfo_device_get_bus_type(dev), "pci") == 0 &&
		    g_ascii_strcasecmp(vendor ? vendor : "", "1af4") == 0 &&
		    (g_strcmp0(product, "1001") == 0 || g_strcmp0(product, "1042") == 0))
			return true;
	}
	return false;
}

static unsigned clamp_unsigned(gint64 value, gint64 low, gint64 high)
{
	return (unsigned)CLAMP(value, low, high);
}

/* The OS's identity and the settings to suggest for arch.  db_lock held. */
static void guess_from_os(HgOsGuess *guess, OsinfoOs *os, const char *arch)
{
	OsinfoProduct *product = OSINFO_PRODUCT(os);

	guess->known = true;
	guess->short_id = g_strdup(osinfo_product_get_short_id(product));
	guess->name = g_strdup(osinfo_product_get_name(product));
	guess->version = g_strdup(osinfo_product_get_version(product));
	guess->vendor = g_strdup(osinfo_product_get_vendor(product));
	guess->family = g_strdup(osinfo_os_get_family(os));
	guess->distro = g_strdup(osinfo_os_get_distro(os));

	g_autoptr(OsinfoResources) minimum =
		resources_for_arch(osinfo_os_get_minimum_resources(os), arch);
	g_autoptr(OsinfoResources) recommended =
		resources_for_arch(osinfo_os_get_recommended_resources(os), arch);

	gint64 ram = suggest(resource_ram(recommended), resource_ram(minimum),
			     (gint64)HG_OS_DEFAULT_MEMORY_MIB * MIB);
	gint64 cpus =
		suggest(resource_cpus(recommended), resource_cpus(minimum), HG_OS_DEFAULT_CPUS);
	gint64 storage = suggest(resource_storage(recommended), resource_storage(minimum),
				 (gint64)HG_OS_DEFAULT_DISK_GIB * GIB);

	guess->memory_mib =
		clamp_unsigned((ram + MIB - 1) / MIB, HG_VM_MEMORY_MIN_MIB, HG_VM_MEMORY_MAX_MIB);
	guess->cpus = clamp_unsigned(cpus, 1, HG_VM_CPUS_MAX);
	guess->disk_gib = clamp_unsigned((storage + GIB - 1) / GIB, 1, G_MAXUINT);
	guess->firmware = needs_uefi(os, arch) ? HG_FIRMWARE_UEFI : HG_FIRMWARE_BIOS;
	guess->disk_bus = has_virtio_block(os) ? HG_DISK_BUS_VIRTIO : HG_DISK_BUS_SATA;
}

/* Of the database media matching the image, the one whose OS was released
 * last (undated entries count as oldest); the first on a tie. */
static OsinfoMedia *newest_match(OsinfoMediaList *matches)
{
	OsinfoMedia *best = NULL;
	const char *best_date = NULL;
	int n = osinfo_list_get_length(OSINFO_LIST(matches));

	for (int i = 0; i < n; i++) {
		OsinfoMedia *m = OSINFO_MEDIA(osinfo_list_get_nth(OSINFO_LIST(matches), i));
		OsinfoOs *os = osinfo_media_get_os(m);
		const char *date;

		if (!os)
			continue;
		/* ISO 8601 dates compare as strings. */
		date = osinfo_product_get_release_date_string(OSINFO_PRODUCT(os));
		if (!best || g_strcmp0(date, best_date) > 0) {
			best = m;
			best_date = date;
		}
		g_object_unref(os);
	}
	return best;
}

/* ISO 9660 puts its first volume descriptor at sector 16: a type byte,
 * then "CD001".  libosinfo reads whatever bytes are there, so random data
 * can get far into it; look for the signature first. */
static bool has_iso9660_signature(const char *path, GCancellable *cancellable, GError **error)
{
	g_autoptr(GFile) file = g_file_new_for_path(path);
	g_autoptr(GFileInputStream) in = g_file_read(file, cancellable, error);
	char magic[6];
	gsize got = 0;

	if (!in)
		return false;
	if (!g_seekable_seek(G_SEEKABLE(in), 16 * 2048, G_SEEK_SET, cancellable, error) ||
	    !g_input_stream_read_all(G_INPUT_STREAM(in), magic, sizeof(magic), &got, cancellable,
				     error))
		return false;
	return got == sizeof(magic) && memcmp(magic + 1, "CD001", 5) == 0;
}

/* Something to read an image from, or the error the header promises. */
static bool check_media_path(const char *iso_path, GError **error)
{
	GStatBuf st;

	if (g_stat(iso_path, &st) != 0) {
		int saved = errno;

		g_set_error(error, HG_OS_ERROR,
			    saved == ENOENT || saved == ENOTDIR ? HG_OS_ERROR_NOT_FOUND
								: HG_OS_ERROR_IO,
			    "Cannot open %s: %s", iso_path, g_strerror(saved));
		return false;
	}
	if (S_ISDIR(st.st_mode)) {
		g_set_error(error, HG_OS_ERROR, HG_OS_ERROR_NOT_MEDIA,
			    "%s is a folder, not a disc image", iso_path);
		return false;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		g_set_error(error, HG_OS_ERROR, HG_OS_ERROR_NOT_MEDIA,
			    "%s is not a disc image file or a disc drive", iso_path);
		return false;
	}
	/* Fail here, not halfway through libosinfo's reads, when it cannot be
	 * opened at all. */
	int fd = g_open(iso_path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		int saved = errno;

		g_set_error(error, HG_OS_ERROR, HG_OS_ERROR_IO, "Cannot read %s: %s", iso_path,
			    g_strerror(saved));
		return false;
	}
	g_close(fd, NULL);
	return true;
}

HgOsGuess *hg_os_detect_media(const char *iso_path, GCancellable *cancellable, GError **error)
{
	g_autoptr(GError) err = NULL;

	g_return_val_if_fail(iso_path != NULL, NULL);

	if (!check_media_path(iso_path, error))
		return NULL;

	g_autoptr(HgOsGuess) guess = hg_os_defaults();
	if (!has_iso9660_signature(iso_path, cancellable, &err)) {
		if (!err) {
			/* An empty file, a disk image, an ISO cut short: unknown
			 * media, the defaults. */
			g_debug("%s is not an ISO 9660 image: unknown OS", iso_path);
			return g_steal_pointer(&guess);
		}
		if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_propagate_error(error, g_steal_pointer(&err));
		else
			g_set_error(error, HG_OS_ERROR, HG_OS_ERROR_IO, "Cannot read %s: %s",
				    iso_path, err->message);
		return NULL;
	}
	guess->is_iso = true;

	/* A URI, so that no path is ever taken for one ("a:b.iso"). */
	g_autoptr(GFile) file = g_file_new_for_path(iso_path);
	g_autofree char *uri = g_file_get_uri(file);
	/* No flags: read the labels of non-bootable images too (a DVD 2 is
	 * still Debian); bootable tells the wizard. */
	g_autoptr(OsinfoMedia) media =
		osinfo_media_create_from_location_with_flags(uri, cancellable, 0, &err);

	if (!media) {
		if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_propagate_error(error, g_steal_pointer(&err));
			return NULL;
		}
		if (err->domain != OSINFO_MEDIA_ERROR) {
			g_set_error(error, HG_OS_ERROR, HG_OS_ERROR_IO, "Cannot read %s: %s",
				    iso_path, err->message);
			return NULL;
		}
		/* An ISO whose descriptors libosinfo cannot make sense of:
		 * unknown media, the defaults. */
		g_debug("%s: unreadable ISO 9660 descriptors (%s): unknown OS", iso_path,
			err->message);
		return g_steal_pointer(&guess);
	}

	guess->bootable = osinfo_media_is_bootable(media);
	const char *volume_id = osinfo_media_get_volume_id(media);
	if (volume_id && *volume_id) {
		guess->volume_id = g_strdup(volume_id);
		g_strchomp(guess->volume_id);
	}

	g_mutex_lock(&db_lock);
	OsinfoDb *db = database(error);
	if (!db) {
		g_mutex_unlock(&db_lock);
		return NULL;
	}
	g_autoptr(OsinfoMediaList) matches = osinfo_db_identify_medialist(db, media);
	OsinfoMedia *match = newest_match(matches);
	if (match) {
		g_autoptr(OsinfoOs) os = osinfo_media_get_os(match);
		const char *arch = osinfo_media_get_architecture(match);

		guess_from_os(guess, os, arch ? arch : HOST_ARCH);
		guess->architecture = g_strdup(arch);
		guess->installer = osinfo_media_get_installer(match);
		guess->live = osinfo_media_get_live(match);
	}
	g_mutex_unlock(&db_lock);
	return g_steal_pointer(&guess);
}

/* The entry with short_id among its short ids, or NULL.  db_lock held. */
static OsinfoOs *find_by_short_id(OsinfoDb *db, const char *short_id)
{
	g_autoptr(OsinfoOsList) list = osinfo_db_get_os_list(db);
	int n = osinfo_list_get_length(OSINFO_LIST(list));

	for (int i = 0; i < n; i++) {
		OsinfoOs *os = OSINFO_OS(osinfo_list_get_nth(OSINFO_LIST(list), i));
		GList *ids = osinfo_product_get_short_id_list(OSINFO_PRODUCT(os));
		bool found = g_list_find_custom(ids, short_id, (GCompareFunc)g_strcmp0) != NULL;

		g_list_free(ids);
		if (found)
			return g_object_ref(os);
	}
	return NULL;
}

HgOsGuess *hg_os_lookup(const char *short_id, GError **error)
{
	g_return_val_if_fail(short_id != NULL, NULL);

	g_mutex_lock(&db_lock);
	OsinfoDb *db = database(error);
	if (!db) {
		g_mutex_unlock(&db_lock);
		return NULL;
	}
	g_autoptr(OsinfoOs) os = find_by_short_id(db, short_id);
	HgOsGuess *guess = NULL;
	if (os) {
		guess = hg_os_defaults();
		guess_from_os(guess, os, HOST_ARCH);
	} else {
		g_set_error(error, HG_OS_ERROR, HG_OS_ERROR_UNKNOWN_ID,
			    "No operating system has the id “%s”", short_id);
	}
	g_mutex_unlock(&db_lock);
	return guess;
}

void hg_os_list_entry_free(HgOsListEntry *entry)
{
	if (!entry)
		return;
	g_free(entry->short_id);
	g_free(entry->name);
	g_free(entry->family);
	g_free(entry->release_date);
	g_free(entry);
}

static bool has_media_for(OsinfoOs *os, const char *arch)
{
	g_autoptr(OsinfoMediaList) list = osinfo_os_get_media_list(os);
	int n = osinfo_list_get_length(OSINFO_LIST(list));

	for (int i = 0; i < n; i++) {
		OsinfoMedia *m = OSINFO_MEDIA(osinfo_list_get_nth(OSINFO_LIST(list), i));

		if (g_strcmp0(osinfo_media_get_architecture(m), arch) == 0)
			return true;
	}
	return false;
}

static int compare_entries_by_name(gconstpointer a, gconstpointer b)
{
	const HgOsListEntry *x = *(HgOsListEntry *const *)a;
	const HgOsListEntry *y = *(HgOsListEntry *const *)b;
	/* The filename collation orders digits by value: 9 before 10. */
	g_autofree char *kx = g_utf8_collate_key_for_filename(x->name, -1);
	g_autofree char *ky = g_utf8_collate_key_for_filename(y->name, -1);
	int order = strcmp(kx, ky);

	return order ? order : g_strcmp0(x->short_id, y->short_id);
}

GPtrArray *hg_os_list_known(int since_year, GError **error)
{
	g_autofree char *since = g_strdup_printf("%04d-01-01", CLAMP(since_year, 0, 9999));
	GPtrArray *result = g_ptr_array_new_with_free_func((GDestroyNotify)hg_os_list_entry_free);

	g_mutex_lock(&db_lock);
	OsinfoDb *db = database(error);
	if (!db) {
		g_mutex_unlock(&db_lock);
		g_ptr_array_unref(result);
		return NULL;
	}
	g_autoptr(OsinfoOsList) list = osinfo_db_get_os_list(db);
	int n = osinfo_list_get_length(OSINFO_LIST(list));
	for (int i = 0; i < n; i++) {
		OsinfoOs *os = OSINFO_OS(osinfo_list_get_nth(OSINFO_LIST(list), i));
		OsinfoProduct *product = OSINFO_PRODUCT(os);
		int status = osinfo_os_get_release_status(os);
		const char *date = osinfo_product_get_release_date_string(product);
		const char *short_id = osinfo_product_get_short_id(product);
		const char *name = osinfo_product_get_name(product);

		if (!short_id || !name || !has_media_for(os, HOST_ARCH))
			continue;
		if (status == OSINFO_RELEASE_STATUS_ROLLING) {
			/* Always current. */
		} else if (status != OSINFO_RELEASE_STATUS_RELEASED || !date ||
			   strcmp(date, since) < 0) {
			continue;
		}

		HgOsListEntry *entry = g_new0(HgOsListEntry, 1);
		entry->short_id = g_strdup(short_id);
		entry->name = g_strdup(name);
		entry->family = g_strdup(osinfo_os_get_family(os));
		entry->release_date = g_strdup(date);
		entry->rolling = status == OSINFO_RELEASE_STATUS_ROLLING;
		g_ptr_array_add(result, entry);
	}
	g_mutex_unlock(&db_lock);

	g_ptr_array_sort(result, compare_entries_by_name);
	return result;
}
