/* OS detection from installer media, and the settings to suggest for it.
 *
 * libosinfo identifies a CD/DVD image by the text in its ISO 9660 primary
 * volume descriptor (volume, system, publisher and application ids) against
 * the osinfo database: the system's (osinfo-db) and Hangar's overlay with
 * releases Debian 12's osinfo-db lacks (data/osinfo/README.md).  The
 * overlay folder is HANGAR_OSINFO_DIR when set, else the source tree's
 * data/osinfo when it exists (uninstalled runs), else
 * <datadir>/hangar/osinfo.  Both are loaded once per process, on first use,
 * by whichever thread gets there first.
 *
 * Everything here is a suggestion for the create wizard: the user can
 * change every value.  Names, vendors and versions come from the database.
 *
 * Thread-safe: the functions may be called from any thread (a worker
 * thread for hg_os_detect_media keeps the UI responsive: it reads 64 KiB
 * of the image); one lock guards the database. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <stdbool.h>

#include "library/vm/vm_config.h"

#define HG_OS_ERROR (hg_os_error_quark())
GQuark hg_os_error_quark(void);

typedef enum {
	HG_OS_ERROR_NOT_FOUND,  /* the image path does not exist */
	HG_OS_ERROR_NOT_MEDIA,  /* a folder, a FIFO, a socket: nothing to read an image from */
	HG_OS_ERROR_IO,         /* the image exists but cannot be read (permissions, I/O) */
	HG_OS_ERROR_UNKNOWN_ID, /* hg_os_lookup: no OS has that short id */
	HG_OS_ERROR_DATABASE,   /* the system osinfo database could not be loaded */
} HgOsErrorCode;

/* Defaults for media no database entry matches. */
#define HG_OS_DEFAULT_MEMORY_MIB 2048u
#define HG_OS_DEFAULT_CPUS 2u
#define HG_OS_DEFAULT_DISK_GIB 20u

typedef struct {
	/* The OS, from the database; all NULL when known is false.  version,
	 * vendor, family and distro may be NULL for sparse entries. */
	bool known;
	char *short_id; /* "debian12": what HgVmConfig.os_id stores */
	char *name;     /* "Debian 12": HgVmConfig.os_name */
	char *version;  /* "12" */
	char *vendor;   /* "Debian Project" */
	char *family;   /* "linux", "winnt", "freebsd", ... */
	char *distro;   /* "debian", "win", ... */

	/* The media, from hg_os_detect_media; NULL/false from hg_os_defaults
	 * and hg_os_lookup.  volume_id is read even when the OS is unknown
	 * (NULL when the file is not an ISO 9660 image or has no label). */
	char *volume_id;
	bool is_iso;   /* an ISO 9660 primary volume descriptor was found */
	bool bootable; /* it has an El Torito boot record */
	bool installer;
	bool live;
	/* The matched media's architecture ("x86_64", "i686", "aarch64"...);
	 * NULL when unknown.  Hangar runs x86_64 guests: the wizard should warn
	 * about anything else. */
	char *architecture;

	/* Suggestions: the OS's recommended resources, else the larger of the
	 * defaults above and its minimum; never below its minimum. */
	unsigned memory_mib;
	unsigned cpus;
	unsigned disk_gib;
	/* UEFI when the database marks BIOS unsupported for the architecture
	 * (the OS needs UEFI), else BIOS. */
	HgFirmware firmware;
	/* virtio when the OS has virtio-block drivers in the box (a virtio
	 * block device, legacy 1af4:1001 or modern 1af4:1042, in its device list
	 * or an ancestor's), else SATA, which every OS since the 2000s drives. */
	HgDiskBus disk_bus;
} HgOsGuess;

void hg_os_guess_free(HgOsGuess *guess);
HgOsGuess *hg_os_guess_copy(const HgOsGuess *guess);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgOsGuess, hg_os_guess_free)

/* For unknown media: HG_OS_DEFAULT_*, BIOS, SATA, known false. */
HgOsGuess *hg_os_defaults(void);

/* Identifies the image at iso_path (a local file or block device).
 *
 * Returns a guess whenever there is a file to read, even a bad one:
 *   - an image whose label matches no entry: known false, the defaults,
 *     volume_id set;
 *   - not an ISO 9660 image (no "CD001" descriptor at sector 16: an empty
 *     file, a disk image, random bytes, an ISO cut short before it): known
 *     false, is_iso false, volume_id NULL, the defaults;
 *   - an ISO whose descriptors libosinfo cannot parse (cut short after the
 *     first one, damaged): known false, is_iso true, the defaults;
 *   - an ISO without a boot record: identified as usual, bootable false.
 * Returns NULL with an error when there is nothing to read:
 *   - missing path: HG_OS_ERROR_NOT_FOUND;
 *   - a folder, FIFO, socket or character device: HG_OS_ERROR_NOT_MEDIA;
 *   - unreadable (permissions, I/O error): HG_OS_ERROR_IO;
 *   - cancelled: G_IO_ERROR_CANCELLED;
 *   - the system database failed to load: HG_OS_ERROR_DATABASE.
 * When a label matches several releases (Windows 10 22H2 and Windows 11
 * share CCCOMA_X64FRE_<lang>_DV9), the newest release wins: its
 * requirements are the stricter ones. */
HgOsGuess *hg_os_detect_media(const char *iso_path, GCancellable *cancellable, GError **error);

/* The same suggestions for an OS the user picks by hand: known true, the
 * x86_64 resources and firmware, media fields empty.  Any of the OS's short
 * ids works ("debian12", "debianbookworm").  HG_OS_ERROR_UNKNOWN_ID when no
 * entry has it. */
HgOsGuess *hg_os_lookup(const char *short_id, GError **error);

typedef struct {
	char *short_id; /* the entry's first short id */
	char *name;
	char *family;
	char *release_date; /* "YYYY-MM-DD", or NULL */
	bool rolling;       /* a rolling release: listed whatever its date */
} HgOsListEntry;

void hg_os_list_entry_free(HgOsListEntry *entry);

/* The OSes for the wizard's manual choice: entries with x86_64 media,
 * released on or after 1 January of since_year (0: any date) or rolling
 * (release status "rolling", whatever the date), not pre-releases, sorted by
 * name ("Debian 9" before "Debian 10").  A GPtrArray of HgOsListEntry *
 * that frees them; NULL only with HG_OS_ERROR_DATABASE. */
GPtrArray *hg_os_list_known(int since_year, GError **error);
