/* A VM's configuration at rest: what vm.json in its folder says.
 *
 * vm.json is a JSON object (json-glib), written atomically (temporary file,
 * fsync, rename) so that a crash leaves the old or the new file, never half
 * of one.  Members this version does not know are kept and written back, so
 * a newer Hangar's settings survive an older one.  docs/vm-config.md lists
 * the members.
 *
 * Shared by the app, hangarctl and the tests; nothing here knows KVM. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

#define HG_VM_ERROR (hg_vm_error_quark())
GQuark hg_vm_error_quark(void);

typedef enum {
	HG_VM_ERROR_PARSE, /* vm.json is not valid JSON or not an object */
	HG_VM_ERROR_INVALID, /* a member has a wrong type or an out-of-range value */
	HG_VM_ERROR_NOT_FOUND, /* no such VM, file or folder */
	HG_VM_ERROR_EXISTS, /* the name or folder is taken */
	HG_VM_ERROR_AMBIGUOUS, /* a name matches more than one VM */
	HG_VM_ERROR_RUNNING, /* refused while the VM's engine runs */
	HG_VM_ERROR_NOT_RUNNING,
	HG_VM_ERROR_BROKEN, /* the VM folder cannot be loaded: see the message */
	HG_VM_ERROR_ENGINE, /* the engine could not start, or exited */
	HG_VM_ERROR_IO, /* a file operation failed (disk full, permissions) */
	HG_VM_ERROR_UNSUPPORTED, /* not possible with this VM as it is (e.g. a raw disk) */
	HG_VM_ERROR_IN_USE, /* other VMs depend on it (linked clones) */
} HgVmErrorCode;

typedef enum { HG_FIRMWARE_BIOS, HG_FIRMWARE_UEFI } HgFirmware;
typedef enum { HG_DISPLAY_SPICE, HG_DISPLAY_VNC } HgDisplayProtocol;
typedef enum { HG_DISK_BUS_VIRTIO, HG_DISK_BUS_SATA } HgDiskBus;
typedef enum { HG_DISK_MEDIA_DISK, HG_DISK_MEDIA_CDROM } HgDiskMedia;

/* Limits the engine accepts (engine/main.c). */
#define HG_VM_MEMORY_MIN_MIB 16u
#define HG_VM_MEMORY_MAX_MIB (1024u * 1024u)
#define HG_VM_CPUS_MAX 64u

typedef struct {
	/* Relative to the VM's folder, or absolute (an image used in place).
	 * NULL for a CD-ROM drive with no medium. */
	char *path;
	/* How the engine opens the file ("raw", "qcow2"; a read-only disk may
	 * also name an import format of the image layer, block.h), so that
	 * its content never decides: a raw disk whose guest wrote a qcow2
	 * header stays raw.  Always "raw" for a CD-ROM drive.  NULL: not
	 * recorded, in a vm.json written before Hangar recorded formats;
	 * hg_vm_entry_record_disk_formats (vm_library.h) reads it from the
	 * image once, at the next start, and saves it. */
	char *format;
	HgDiskBus bus;
	HgDiskMedia media;
	bool read_only; /* always true for a CD-ROM */
	int boot_index; /* firmware boot order, lowest first; -1: not bootable */
	JsonObject *unknown; /* members of this disk's object this version does not know */
} HgVmDisk;

typedef struct {
	char *name; /* what the user sees; unique in the library */
	char *uuid; /* the machine's UUID (SMBIOS), fixed at creation */
	char *os_id; /* libosinfo short id ("debian12"), or NULL: unknown */
	char *os_name; /* "Debian 12", or NULL */
	unsigned memory_mib;
	unsigned cpus;
	HgFirmware firmware;
	HgDisplayProtocol display;
	bool boot_menu;
	GPtrArray *disks; /* of HgVmDisk *, in bus order */
	/* Direct kernel boot instead of firmware (the built-in demo VM);
	 * paths relative to the VM folder or absolute; NULL when unused. */
	char *kernel, *initrd, *append;
	gint64 created; /* unix seconds */
	JsonObject *unknown; /* members this version does not know; may be NULL */
} HgVmConfig;

/* Defaults for a new VM: 1024 MiB, 1 vCPU, BIOS, SPICE, no disks, a fresh
 * UUID, created now. */
HgVmConfig *hg_vm_config_new(const char *name);
HgVmConfig *hg_vm_config_copy(const HgVmConfig *config);
void hg_vm_config_free(HgVmConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgVmConfig, hg_vm_config_free)

/* Appends a disk (path copied; NULL for an empty CD-ROM drive) and returns
 * it for further settings.  boot_index starts at -1; format is "raw" for a
 * CD-ROM and NULL for a disk, whose creator sets it (hg_vm_disk_set_format). */
HgVmDisk *hg_vm_config_add_disk(HgVmConfig *config, const char *path, HgDiskBus bus,
				HgDiskMedia media);
void hg_vm_config_remove_disk(HgVmConfig *config, unsigned index);
/* Replaces disk->format with a copy of format (may be NULL). */
void hg_vm_disk_set_format(HgVmDisk *disk, const char *format);
/* Disks of config without a recorded format take the one from records for
 * the same image (same path and media): an image keeps its format, so a
 * snapshot's copy of an older vm.json gets the formats recorded since. */
void hg_vm_config_fill_formats(HgVmConfig *config, const HgVmConfig *from);

/* Checks ranges and consistency (memory, cpus, name not empty and without
 * control characters, at most 6 SATA and 12 virtio drives, a CD-ROM only on
 * SATA, no duplicate boot index, a format the image layer knows: "raw" for
 * a CD-ROM, "raw" or "qcow2" for a writable disk).  The loaders call it
 * too. */
bool hg_vm_config_validate(const HgVmConfig *config, GError **error);

/* Parse or write the JSON form.  Broken input is an HG_VM_ERROR_PARSE or
 * _INVALID error naming the member; never a crash. */
HgVmConfig *hg_vm_config_from_json(const char *text, gssize length, GError **error);
char *hg_vm_config_to_json(const HgVmConfig *config);

HgVmConfig *hg_vm_config_load(const char *path, GError **error);
/* Atomic and durable: the file is either the old or the new one. */
bool hg_vm_config_save(const HgVmConfig *config, const char *path, GError **error);

const char *hg_firmware_to_string(HgFirmware firmware); /* "bios", "uefi" */
const char *hg_display_protocol_to_string(HgDisplayProtocol p); /* "spice", "vnc" */
const char *hg_disk_bus_to_string(HgDiskBus bus); /* "virtio", "sata" */
const char *hg_disk_media_to_string(HgDiskMedia media); /* "disk", "cdrom" */
bool hg_firmware_from_string(const char *s, HgFirmware *out);
bool hg_display_protocol_from_string(const char *s, HgDisplayProtocol *out);
bool hg_disk_bus_from_string(const char *s, HgDiskBus *out);
bool hg_disk_media_from_string(const char *s, HgDiskMedia *out);
