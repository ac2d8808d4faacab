/* library/os: OS detection from installer media, and the osinfo overlay.
 *
 * Builds small ISO images with xorriso carrying the volume ids of real
 * installer media (the labels are all libosinfo looks at; the content is a
 * text file and a 2 KiB El Torito image), identifies them against the
 * system database plus the overlay in HANGAR_OSINFO_DIR (set by meson to
 * the source tree's data/osinfo), and checks the overlay against the osinfo
 * schema with osinfo-db-validate.
 *
 * g_test_init makes warnings fatal: libosinfo's loader warns about an
 * entity referenced but not defined or a file not named after its id, so
 * any such mistake in the overlay fails the first test that loads it. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "library/os/os_detect.h"

/* ISO 9660: the primary volume descriptor is sector 16; its system
 * identifier is bytes 8-39. */
#define PVD_OFFSET (16 * 2048)
#define PVD_SYSTEM_ID_OFFSET (PVD_OFFSET + 8)

static char *work_dir; /* a temporary folder for this run's images */

typedef struct {
	const char *volume_id;
	const char *publisher; /* NULL: none */
	const char *system_id; /* NULL: xorriso's default */
	bool bootable;
} IsoSpec;

static char *osinfo_overlay_dir(void)
{
	const char *dir = g_getenv("HANGAR_OSINFO_DIR");

	g_assert_nonnull(dir);
	return g_strdup(dir);
}

/* xorriso uppercases the system id ("FREEBSD"), as ISO 9660's character set
 * asks; FreeBSD's own images say "FreeBSD" (makefs), which the database
 * matches.  Write it into the descriptor as the real images have it. */
static void patch_system_id(const char *iso, const char *system_id)
{
	char field[32];
	FILE *f = fopen(iso, "r+b");

	g_assert_nonnull(f);
	memset(field, ' ', sizeof(field));
	memcpy(field, system_id, MIN(strlen(system_id), sizeof(field)));
	g_assert_cmpint(fseek(f, PVD_SYSTEM_ID_OFFSET, SEEK_SET), ==, 0);
	g_assert_cmpuint(fwrite(field, 1, sizeof(field), f), ==, sizeof(field));
	g_assert_cmpint(fclose(f), ==, 0);
}

/* An ISO image named name in work_dir, made by xorriso; the test fails
 * (saying which package to install) when xorriso is missing. */
static char *make_iso(const char *name, const IsoSpec *spec)
{
	g_autofree char *xorriso = g_find_program_in_path("xorriso");
	g_autofree char *content = g_build_filename(work_dir, "content", NULL);
	g_autofree char *iso = g_build_filename(work_dir, name, NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *err_text = NULL;
	int status = 0;

	if (!xorriso) {
		g_test_fail_printf("xorriso is missing: install package xorriso");
		return NULL;
	}
	if (!g_file_test(content, G_FILE_TEST_IS_DIR)) {
		g_autofree char *readme = g_build_filename(content, "README.TXT", NULL);
		g_autofree char *boot = g_build_filename(content, "boot.img", NULL);
		char zeros[2048] = {0};

		g_assert_cmpint(g_mkdir_with_parents(content, 0700), ==, 0);
		g_assert_true(g_file_set_contents(readme, "Hangar test media\n", -1, NULL));
		g_assert_true(g_file_set_contents(boot, zeros, sizeof(zeros), NULL));
	}

	g_ptr_array_add(argv, xorriso);
	g_ptr_array_add(argv, "-as");
	g_ptr_array_add(argv, "mkisofs");
	g_ptr_array_add(argv, "-quiet");
	g_ptr_array_add(argv, "-V");
	g_ptr_array_add(argv, (char *)spec->volume_id);
	if (spec->publisher) {
		g_ptr_array_add(argv, "-publisher");
		g_ptr_array_add(argv, (char *)spec->publisher);
	}
	if (spec->bootable) {
		g_ptr_array_add(argv, "-b");
		g_ptr_array_add(argv, "boot.img");
		g_ptr_array_add(argv, "-no-emul-boot");
	}
	g_ptr_array_add(argv, "-o");
	g_ptr_array_add(argv, iso);
	g_ptr_array_add(argv, content);
	g_ptr_array_add(argv, NULL);

	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
				   NULL, NULL, NULL, &err_text, &status, &error));
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, &error))
		g_error("xorriso failed: %s\n%s", error->message, err_text);
	if (spec->system_id)
		patch_system_id(iso, spec->system_id);
	return g_steal_pointer(&iso);
}

static HgOsGuess *detect(const IsoSpec *spec)
{
	g_autofree char *iso = make_iso("media.iso", spec);
	g_autoptr(GError) error = NULL;
	HgOsGuess *guess;

	if (!iso)
		return NULL;
	guess = hg_os_detect_media(iso, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(guess);
	g_assert_true(guess->is_iso);
	g_assert_cmpint(guess->bootable, ==, spec->bootable);
	g_assert_cmpstr(guess->volume_id, ==, spec->volume_id);
	return guess;
}

typedef struct {
	const char *short_id;
	unsigned memory_mib, cpus, disk_gib;
	HgFirmware firmware;
	HgDiskBus disk_bus;
	bool live;
} Expected;

static void assert_known(const HgOsGuess *guess, const Expected *want)
{
	g_assert_true(guess->known);
	g_assert_cmpstr(guess->short_id, ==, want->short_id);
	g_assert_nonnull(guess->name);
	g_assert_nonnull(guess->vendor);
	g_assert_cmpuint(guess->memory_mib, ==, want->memory_mib);
	g_assert_cmpuint(guess->cpus, ==, want->cpus);
	g_assert_cmpuint(guess->disk_gib, ==, want->disk_gib);
	g_assert_cmpint(guess->firmware, ==, want->firmware);
	g_assert_cmpint(guess->disk_bus, ==, want->disk_bus);
}

static void assert_known_media(const HgOsGuess *guess, const Expected *want)
{
	assert_known(guess, want);
	g_assert_cmpstr(guess->architecture, ==, "x86_64");
	g_assert_true(guess->installer);
	g_assert_cmpint(guess->live, ==, want->live);
}

static void assert_defaults(const HgOsGuess *guess)
{
	g_assert_false(guess->known);
	g_assert_null(guess->short_id);
	g_assert_null(guess->name);
	g_assert_null(guess->architecture);
	g_assert_false(guess->installer);
	g_assert_cmpuint(guess->memory_mib, ==, HG_OS_DEFAULT_MEMORY_MIB);
	g_assert_cmpuint(guess->cpus, ==, HG_OS_DEFAULT_CPUS);
	g_assert_cmpuint(guess->disk_gib, ==, HG_OS_DEFAULT_DISK_GIB);
	g_assert_cmpint(guess->firmware, ==, HG_FIRMWARE_BIOS);
	g_assert_cmpint(guess->disk_bus, ==, HG_DISK_BUS_SATA);
}

/* One identification case: the label, and what the overlay or the stock
 * database says about the release. */
typedef struct {
	const char *path;
	IsoSpec iso;
	Expected want;
} DetectCase;

static const DetectCase detect_cases[] = {
	/* Overlay: Debian 12 (2 GiB, 2 CPUs, 20 GiB; virtio from Debian 9
	 * through derives-from). */
	{"/os/detect/debian-12-netinst-is-debian12",
	 {"Debian 12.8.0 amd64 n", NULL, NULL, true},
	 {"debian12", 2048, 2, 20, HG_FIRMWARE_BIOS, HG_DISK_BUS_VIRTIO, false}},
	{"/os/detect/debian-12-dvd-is-debian12",
	 {"Debian 12.10.0 amd64 1", NULL, NULL, true},
	 {"debian12", 2048, 2, 20, HG_FIRMWARE_BIOS, HG_DISK_BUS_VIRTIO, false}},
	/* Overlay: Ubuntu 24.04 (4 GiB, 2 CPUs, 25 GiB). */
	{"/os/detect/ubuntu-24.04-desktop-is-ubuntu24.04",
	 {"Ubuntu 24.04 LTS amd64", NULL, NULL, true},
	 {"ubuntu24.04", 4096, 2, 25, HG_FIRMWARE_BIOS, HG_DISK_BUS_VIRTIO, true}},
	{"/os/detect/ubuntu-24.04.1-desktop-is-ubuntu24.04",
	 {"Ubuntu 24.04.1 LTS amd64", NULL, NULL, true},
	 {"ubuntu24.04", 4096, 2, 25, HG_FIRMWARE_BIOS, HG_DISK_BUS_VIRTIO, true}},
	{"/os/detect/ubuntu-24.04-server-is-ubuntu24.04",
	 {"Ubuntu-Server 24.04.2 LTS amd64", NULL, NULL, true},
	 {"ubuntu24.04", 4096, 2, 25, HG_FIRMWARE_BIOS, HG_DISK_BUS_VIRTIO, false}},
	/* Overlay: FreeBSD 14.x (2 GiB, 2 CPUs, 20 GiB; virtio from 10.0). */
	{"/os/detect/freebsd-14.0-disc1-is-freebsd14.0",
	 {"14_0_RELEASE_AMD64_CD", NULL, "FreeBSD", true},
	 {"freebsd14.0", 2048, 2, 20, HG_FIRMWARE_BIOS, HG_DISK_BUS_VIRTIO, false}},
	{"/os/detect/freebsd-14.1-dvd1-is-freebsd14.1",
	 {"14_1_RELEASE_AMD64_DVD", NULL, "FreeBSD", true},
	 {"freebsd14.1", 2048, 2, 20, HG_FIRMWARE_BIOS, HG_DISK_BUS_VIRTIO, false}},
	/* Stock entry + overlay extension: Windows 11 (8 GiB, 4 CPUs, 80 GiB,
	 * UEFI only, no virtio drivers in the box).  The label is shared with
	 * Windows 10 22H2: the newer release wins. */
	{"/os/detect/windows-11-is-win11-with-uefi",
	 {"CCCOMA_X64FRE_EN-US_DV9", "MICROSOFT CORPORATION", NULL, true},
	 {"win11", 8192, 4, 80, HG_FIRMWARE_UEFI, HG_DISK_BUS_SATA, false}},
	/* Stock database only: Debian 11 (recommended 1 GiB, no CPU count:
	 * the default 2; 20 GiB). */
	{"/os/detect/debian-11-netinst-is-debian11-from-stock-db",
	 {"Debian 11.11.0 amd64 n", NULL, NULL, true},
	 {"debian11", 1024, 2, 20, HG_FIRMWARE_BIOS, HG_DISK_BUS_VIRTIO, false}},
	/* Stock database only: a Windows 10 Enterprise label that Windows 11's
	 * entry does not match: BIOS and SATA; memory, CPUs and disk (0 here)
	 * are the stock entry's, compared with hg_os_lookup("win10"). */
	{"/os/detect/windows-10-enterprise-is-win10-with-bios",
	 {"CENA_X64FREV_EN-US_DV9", "MICROSOFT CORPORATION", NULL, true},
	 {"win10", 0, 0, 0, HG_FIRMWARE_BIOS, HG_DISK_BUS_SATA, false}},
};

static void test_detect_case(gconstpointer data)
{
	const DetectCase *c = data;
	g_autoptr(HgOsGuess) guess = detect(&c->iso);

	if (!guess)
		return;
	if (c->want.memory_mib == 0) {
		/* Only identity, firmware and bus are asserted: the numbers are the
		 * stock database's, checked against hg_os_lookup below. */
		g_autoptr(HgOsGuess) by_id = hg_os_lookup(c->want.short_id, NULL);
		Expected want = c->want;

		g_assert_nonnull(by_id);
		want.memory_mib = by_id->memory_mib;
		want.cpus = by_id->cpus;
		want.disk_gib = by_id->disk_gib;
		assert_known_media(guess, &want);
		return;
	}
	assert_known_media(guess, &c->want);
}

static void test_detect_unknown_label_gives_defaults(void)
{
	IsoSpec spec = {"HOLIDAY_PHOTOS_2024", NULL, NULL, true};
	g_autoptr(HgOsGuess) guess = detect(&spec);

	if (!guess)
		return;
	assert_defaults(guess);
}

static void test_detect_non_bootable_image_is_still_identified(void)
{
	IsoSpec spec = {"Debian 12.8.0 amd64 2", NULL, NULL, false};
	g_autoptr(HgOsGuess) guess = detect(&spec);

	if (!guess)
		return;
	g_assert_true(guess->known);
	g_assert_cmpstr(guess->short_id, ==, "debian12");
	g_assert_false(guess->bootable);
}

static void test_detect_freebsd_label_needs_freebsd_system_id(void)
{
	/* Both the volume id and the system id must match, as in the stock
	 * FreeBSD entries. */
	IsoSpec spec = {"14_0_RELEASE_AMD64_CD", NULL, NULL, true};
	g_autoptr(HgOsGuess) guess = detect(&spec);

	if (!guess)
		return;
	assert_defaults(guess);
}

/* A file that is not an ISO: unknown OS, defaults, is_iso false. */
static void assert_not_iso(const char *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(HgOsGuess) guess = hg_os_detect_media(path, NULL, &error);

	g_assert_no_error(error);
	g_assert_nonnull(guess);
	assert_defaults(guess);
	g_assert_false(guess->is_iso);
	g_assert_null(guess->volume_id);
}

static void test_broken_empty_file_gives_defaults(void)
{
	g_autofree char *path = g_build_filename(work_dir, "empty.iso", NULL);

	g_assert_true(g_file_set_contents(path, "", 0, NULL));
	assert_not_iso(path);
}

static void test_broken_not_an_iso_gives_defaults(void)
{
	g_autofree char *path = g_build_filename(work_dir, "noise.iso", NULL);
	g_autofree char *noise = g_malloc(256 * 1024);
	GRand *rand = g_rand_new_with_seed(5);

	for (size_t i = 0; i < 256 * 1024; i++)
		noise[i] = (char)g_rand_int(rand);
	g_rand_free(rand);
	g_assert_true(g_file_set_contents(path, noise, 256 * 1024, NULL));
	assert_not_iso(path);
}

static void test_broken_iso_cut_before_its_descriptor_gives_defaults(void)
{
	IsoSpec spec = {"Debian 12.8.0 amd64 n", NULL, NULL, true};
	g_autofree char *iso = make_iso("cut-early.iso", &spec);

	if (!iso)
		return;
	/* Just before the primary volume descriptor. */
	g_assert_cmpint(truncate(iso, PVD_OFFSET), ==, 0);
	assert_not_iso(iso);
}

static void test_broken_iso_cut_inside_its_descriptor_gives_defaults(void)
{
	IsoSpec spec = {"Debian 12.8.0 amd64 n", NULL, NULL, true};
	g_autofree char *iso = make_iso("cut-middle.iso", &spec);
	g_autoptr(GError) error = NULL;

	if (!iso)
		return;
	/* The signature is there, the labels are not. */
	g_assert_cmpint(truncate(iso, PVD_OFFSET + 20), ==, 0);
	g_autoptr(HgOsGuess) guess = hg_os_detect_media(iso, NULL, &error);
	g_assert_no_error(error);
	assert_defaults(guess);
	g_assert_true(guess->is_iso);
	g_assert_null(guess->volume_id);
}

static void test_broken_iso_cut_after_its_descriptor_does_not_crash(void)
{
	IsoSpec spec = {"Debian 12.8.0 amd64 n", NULL, NULL, true};
	g_autofree char *iso = make_iso("cut-late.iso", &spec);
	g_autoptr(GError) error = NULL;

	if (!iso)
		return;
	/* The primary descriptor is whole; what follows it (the boot record,
	 * the terminator, the directories) is gone. */
	g_assert_cmpint(truncate(iso, PVD_OFFSET + 2048), ==, 0);
	g_autoptr(HgOsGuess) guess = hg_os_detect_media(iso, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(guess);
	/* Whichever way libosinfo reads it, the answer is consistent: the
	 * label identified, or the defaults. */
	if (guess->known)
		g_assert_cmpstr(guess->short_id, ==, "debian12");
	else
		assert_defaults(guess);
}

static void assert_detect_error(const char *path, HgOsErrorCode code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(HgOsGuess) guess = hg_os_detect_media(path, NULL, &error);

	g_assert_null(guess);
	g_assert_error(error, HG_OS_ERROR, (int)code);
	g_assert_nonnull(strstr(error->message, path));
}

static void test_broken_folder_is_an_error(void)
{
	assert_detect_error(work_dir, HG_OS_ERROR_NOT_MEDIA);
}

static void test_broken_missing_file_is_an_error(void)
{
	g_autofree char *path = g_build_filename(work_dir, "no-such.iso", NULL);

	assert_detect_error(path, HG_OS_ERROR_NOT_FOUND);
}

static void test_broken_fifo_is_an_error_not_a_hang(void)
{
	g_autofree char *path = g_build_filename(work_dir, "fifo.iso", NULL);

	g_assert_cmpint(mkfifo(path, 0600), ==, 0);
	assert_detect_error(path, HG_OS_ERROR_NOT_MEDIA);
}

static void test_detect_cancelled(void)
{
	IsoSpec spec = {"Debian 12.8.0 amd64 n", NULL, NULL, true};
	g_autofree char *iso = make_iso("cancel.iso", &spec);
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GError) error = NULL;

	if (!iso)
		return;
	g_cancellable_cancel(cancellable);
	g_autoptr(HgOsGuess) guess = hg_os_detect_media(iso, cancellable, &error);
	g_assert_null(guess);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void test_defaults(void)
{
	g_autoptr(HgOsGuess) guess = hg_os_defaults();
	g_autoptr(HgOsGuess) copy = hg_os_guess_copy(guess);

	assert_defaults(guess);
	assert_defaults(copy);
	g_assert_false(guess->is_iso);
	g_assert_null(guess->volume_id);
}

static void test_lookup_overlay_release(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(HgOsGuess) guess = hg_os_lookup("ubuntu24.04", &error);
	static const Expected want = {
		"ubuntu24.04", 4096, 2, 25, HG_FIRMWARE_BIOS, HG_DISK_BUS_VIRTIO, false,
	};

	g_assert_no_error(error);
	assert_known(guess, &want);
	g_assert_cmpstr(guess->name, ==, "Ubuntu 24.04 LTS");
	g_assert_cmpstr(guess->version, ==, "24.04");
	g_assert_cmpstr(guess->family, ==, "linux");
	g_assert_cmpstr(guess->distro, ==, "ubuntu");
	g_assert_null(guess->volume_id);
	g_assert_false(guess->is_iso);
}

static void test_lookup_by_codename_alias(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(HgOsGuess) guess = hg_os_lookup("debianbookworm", &error);

	g_assert_no_error(error);
	g_assert_cmpstr(guess->short_id, ==, "debian12");
	g_assert_cmpstr(guess->name, ==, "Debian 12");
	g_assert_cmpstr(guess->vendor, ==, "Debian Project");
}

static void test_lookup_windows_11_needs_uefi(void)
{
	g_autoptr(HgOsGuess) guess = hg_os_lookup("win11", NULL);

	g_assert_nonnull(guess);
	g_assert_cmpint(guess->firmware, ==, HG_FIRMWARE_UEFI);
	g_assert_cmpint(guess->disk_bus, ==, HG_DISK_BUS_SATA);
	g_assert_cmpuint(guess->memory_mib, ==, 8192);
	g_assert_cmpstr(guess->family, ==, "winnt");
}

static void test_lookup_unknown_id_is_an_error(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(HgOsGuess) guess = hg_os_lookup("no-such-os-1.0", &error);

	g_assert_null(guess);
	g_assert_error(error, HG_OS_ERROR, HG_OS_ERROR_UNKNOWN_ID);
}

static gboolean list_has(GPtrArray *list, const char *short_id)
{
	for (guint i = 0; i < list->len; i++) {
		HgOsListEntry *e = list->pdata[i];

		if (g_strcmp0(e->short_id, short_id) == 0)
			return TRUE;
	}
	return FALSE;
}

static void test_list_recent_includes_overlay_sorted(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) list = hg_os_list_known(2020, &error);

	g_assert_no_error(error);
	g_assert_nonnull(list);
	g_assert_true(list_has(list, "debian12"));
	g_assert_true(list_has(list, "debian11"));
	g_assert_true(list_has(list, "ubuntu24.04"));
	g_assert_true(list_has(list, "freebsd14.0"));
	g_assert_true(list_has(list, "freebsd14.1"));
	g_assert_true(list_has(list, "win11"));
	/* Released before 2020. */
	g_assert_false(list_has(list, "debian10"));
	g_assert_false(list_has(list, "win7"));

	for (guint i = 0; i < list->len; i++) {
		HgOsListEntry *e = list->pdata[i];

		g_assert_nonnull(e->short_id);
		g_assert_nonnull(e->name);
		if (!e->rolling) {
			g_assert_nonnull(e->release_date);
			g_assert_cmpstr(e->release_date, >=, "2020-01-01");
		}
		if (i > 0) {
			HgOsListEntry *prev = list->pdata[i - 1];
			g_autofree char *a = g_utf8_collate_key_for_filename(prev->name, -1);
			g_autofree char *b = g_utf8_collate_key_for_filename(e->name, -1);

			g_assert_cmpint(strcmp(a, b), <=, 0);
		}
	}
}

static gpointer lookup_in_thread(gpointer data)
{
	HgOsGuess *guess = hg_os_lookup("debian12", NULL);
	bool ok = guess && guess->memory_mib == 2048;

	hg_os_guess_free(guess);
	return GINT_TO_POINTER(ok);
}

/* In a fresh process, so that the database is not loaded yet: threads
 * racing to the first use all get it. */
static void test_first_use_from_many_threads(void)
{
	if (g_test_subprocess()) {
		GThread *threads[6];

		for (unsigned i = 0; i < G_N_ELEMENTS(threads); i++)
			threads[i] = g_thread_new("lookup", lookup_in_thread, NULL);
		for (unsigned i = 0; i < G_N_ELEMENTS(threads); i++)
			g_assert_true(GPOINTER_TO_INT(g_thread_join(threads[i])));
		return;
	}
	g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
}

/* Runs osinfo-db-validate --dir dir; false with the test failed (naming the
 * package) when the validator is missing. */
static bool run_validator(const char *dir, int *exit_status, char **output)
{
	g_autofree char *validator = g_find_program_in_path("osinfo-db-validate");
	g_autoptr(GError) error = NULL;
	g_autofree char *out = NULL, *err = NULL;
	int status = 0;

	if (!validator) {
		g_test_fail_printf("osinfo-db-validate is missing: install package "
				   "osinfo-db-tools (tools/quickstart.sh test does)");
		return false;
	}
	const char *argv[] = {validator, "--dir", dir, NULL};
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
				   &err, &status, &error));
	g_assert_no_error(error);
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	*output = g_strconcat(out, err, NULL);
	return true;
}

static void test_overlay_passes_osinfo_db_validate(void)
{
	g_autofree char *dir = osinfo_overlay_dir();
	g_autofree char *output = NULL;
	int status;

	if (!run_validator(dir, &status, &output))
		return;
	if (status != 0)
		g_test_message("%s", output);
	g_assert_cmpint(status, ==, 0);
}

static void test_validator_rejects_a_broken_entry(void)
{
	/* The check above would pass vacuously if the validator accepted
	 * anything: an entry without vendor, name or short id must fail. */
	g_autofree char *dir = g_build_filename(work_dir, "broken-db", NULL);
	g_autofree char *os_dir = g_build_filename(dir, "os", "example.org", NULL);
	g_autofree char *file = g_build_filename(os_dir, "example-1.xml", NULL);
	g_autofree char *output = NULL;
	int status;

	g_assert_cmpint(g_mkdir_with_parents(os_dir, 0700), ==, 0);
	g_assert_true(g_file_set_contents(file,
					  "<libosinfo version=\"0.0.1\">"
					  "<os id=\"http://example.org/example/1\">"
					  "<version>1</version></os></libosinfo>",
					  -1, NULL));
	if (!run_validator(dir, &status, &output))
		return;
	g_assert_cmpint(status, !=, 0);
}

static void test_overlay_has_the_requested_releases(void)
{
	g_autofree char *dir = osinfo_overlay_dir();
	static const char *const files[] = {
		"os/debian.org/debian-12.xml",
		"os/ubuntu.com/ubuntu-24.04.xml",
		"os/freebsd.org/freebsd-14.0.xml",
		"os/freebsd.org/freebsd-14.1.xml",
		"os/microsoft.com/win-11.d/hangar-recommended.xml",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *path = g_build_filename(dir, files[i], NULL);

		if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
			g_test_fail_printf("missing overlay file %s", path);
	}
}

static void remove_tree(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	const char *name;

	if (dir) {
		while ((name = g_dir_read_name(dir))) {
			g_autofree char *child = g_build_filename(path, name, NULL);

			if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				remove_tree(child);
			else
				g_unlink(child);
		}
		g_dir_close(dir);
	}
	g_rmdir(path);
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int status;

	g_test_init(&argc, &argv, NULL);
	work_dir = g_dir_make_tmp("hangar-test-os-XXXXXX", &error);
	g_assert_no_error(error);

	g_test_add_func("/os/overlay/has-the-requested-releases",
			test_overlay_has_the_requested_releases);
	g_test_add_func("/os/overlay/passes-osinfo-db-validate",
			test_overlay_passes_osinfo_db_validate);
	g_test_add_func("/os/overlay/validator-rejects-a-broken-entry",
			test_validator_rejects_a_broken_entry);
	for (size_t i = 0; i < G_N_ELEMENTS(detect_cases); i++)
		g_test_add_data_func(detect_cases[i].path, &detect_cases[i], test_detect_case);
	g_test_add_func("/os/detect/unknown-label-gives-defaults",
			test_detect_unknown_label_gives_defaults);
	g_test_add_func("/os/detect/non-bootable-image-is-still-identified",
			test_detect_non_bootable_image_is_still_identified);
	g_test_add_func("/os/detect/freebsd-label-needs-freebsd-system-id",
			test_detect_freebsd_label_needs_freebsd_system_id);
	g_test_add_func("/os/detect/cancelled-is-an-error", test_detect_cancelled);
	g_test_add_func("/os/detect/broken/empty-file-gives-defaults",
			test_broken_empty_file_gives_defaults);
	g_test_add_func("/os/detect/broken/not-an-iso-gives-defaults",
			test_broken_not_an_iso_gives_defaults);
	g_test_add_func("/os/detect/broken/iso-cut-before-its-descriptor-gives-defaults",
			test_broken_iso_cut_before_its_descriptor_gives_defaults);
	g_test_add_func("/os/detect/broken/iso-cut-inside-its-descriptor-gives-defaults",
			test_broken_iso_cut_inside_its_descriptor_gives_defaults);
	g_test_add_func("/os/detect/broken/iso-cut-after-its-descriptor-does-not-crash",
			test_broken_iso_cut_after_its_descriptor_does_not_crash);
	g_test_add_func("/os/detect/broken/folder-is-an-error", test_broken_folder_is_an_error);
	g_test_add_func("/os/detect/broken/missing-file-is-an-error",
			test_broken_missing_file_is_an_error);
	g_test_add_func("/os/detect/broken/fifo-is-an-error-not-a-hang",
			test_broken_fifo_is_an_error_not_a_hang);
	g_test_add_func("/os/defaults/are-2-gib-2-cpus-20-gib-bios-sata", test_defaults);
	g_test_add_func("/os/lookup/overlay-release", test_lookup_overlay_release);
	g_test_add_func("/os/lookup/by-codename-alias", test_lookup_by_codename_alias);
	g_test_add_func("/os/lookup/windows-11-needs-uefi", test_lookup_windows_11_needs_uefi);
	g_test_add_func("/os/lookup/unknown-id-is-an-error", test_lookup_unknown_id_is_an_error);
	g_test_add_func("/os/list/recent-includes-overlay-sorted-by-name",
			test_list_recent_includes_overlay_sorted);
	g_test_add_func("/os/database/first-use-from-many-threads",
			test_first_use_from_many_threads);

	status = g_test_run();
	remove_tree(work_dir);
	g_free(work_dir);
	return status;
}
