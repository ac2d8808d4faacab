/* An OVF descriptor (the .ovf XML at the start of an OVA): what the
 * appliance's one virtual machine is and which files its disks come from.
 *
 * DMTF DSP0243 (OVF 1.x, and 2.0's StorageItem and EthernetPortItem), plus
 * what VirtualBox and VMware add: the firmware (vbox:Machine's Firmware,
 * vmw:Config firmware) and their OS type names.  Elements and attributes
 * are matched by namespace, never by prefix.
 *
 * A pure function over bytes: nothing is opened, fetched or written.  The
 * descriptor is untrusted: a DTD (so entities, internal or external) is
 * refused, File names are plain names inside the appliance, and numbers
 * that size the VM are checked.  Errors are HG_VM_ERROR_INVALID (broken or
 * unsafe) or HG_VM_ERROR_UNSUPPORTED (several VMs, chunked files,
 * differencing disks), with a message that names the problem. */
#pragma once

#include <glib.h>
#include <stdbool.h>

/* Descriptors above this are refused before parsing. */
#define HG_OVF_MAX_BYTES (8u << 20)
#define HG_OVF_MAX_CPUS 1024u
#define HG_OVF_MAX_MEMORY_MIB (16ull << 20) /* 16 TiB */

typedef struct {
	char *id; /* the File's ovf:id */
	char *href; /* ovf:href: a plain file name in the OVA */
	gint64 size; /* ovf:size, -1 when absent */
	char *compression; /* ovf:compression ("gzip", "bzip2") or NULL */
} HgOvfFile;

typedef struct {
	char *disk_id; /* DiskSection Disk ovf:diskId */
	HgOvfFile *file; /* the File ovf:fileRef names (owned by HgOvf's files), NULL: empty */
	guint64 capacity_bytes; /* ovf:capacity x ovf:capacityAllocationUnits */
	char *format; /* ovf:format URI (...vmdk.html#streamOptimized), or NULL */
} HgOvfDisk;

typedef struct {
	char *name; /* the VirtualSystem's Name, else its ovf:id */
	guint cpus; /* ResourceType 3's VirtualQuantity; 0 when absent */
	guint64 memory_mib; /* ResourceType 4's VirtualQuantity in MiB, rounded up; 0: absent */
	bool efi; /* vmw:Config firmware=efi, or vbox:Machine's Firmware type EFI* */
	guint nics; /* ResourceType 10 items */
	gint os_cim_id; /* OperatingSystemSection's ovf:id (CIM OS type), -1 when absent */
	char *os_type; /* vmw:osType, else VirtualBox's OSType, or NULL */
	char *os_description; /* OperatingSystemSection's Description, or NULL */
	GPtrArray *files; /* of HgOvfFile*, in References order */
	/* Of HgOvfDisk*: the attached ones by controller (in the order the
	 * controller items appear), then AddressOnParent; then the disks no
	 * drive names, in DiskSection order.  The first is the boot disk. */
	GPtrArray *disks;
} HgOvf;

/* The descriptor in xml[0..length) (any encoding XML allows; no NUL
 * terminator needed).  Items carrying ovf:configuration count only for the
 * DeploymentOptionSection's default configuration. */
HgOvf *hg_ovf_parse(const char *xml, gsize length, GError **error);
void hg_ovf_free(HgOvf *ovf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HgOvf, hg_ovf_free)
