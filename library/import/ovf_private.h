/* What the OVF reader's files share while reading one descriptor (not for
 * the rest of import): ovf.c reads the Envelope down to the VirtualSystem,
 * ovf_hardware.c its VirtualHardwareSection, ovf_xml.c the XML itself and
 * ovf_numbers.c the numbers in it. */
#pragma once

#include <libxml/tree.h>
#include <stdbool.h>

#include "library/import/ovf.h"

/* The namespaces elements and attributes are matched by. */
#define NS_OVF1 "http://schemas.dmtf.org/ovf/envelope/1"
#define NS_OVF2 "http://schemas.dmtf.org/ovf/envelope/2"
/* VMware's OVF 0.9, before DMTF's: another schema altogether. */
#define NS_OVF09 "http://www.vmware.com/schema/ovf/1/envelope"
#define NS_CIM "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
#define NS_VMW "http://www.vmware.com/schema/ovf"
#define NS_VBOX "http://www.virtualbox.org/ovf/machine"

typedef struct {
	const char *ns; /* the Envelope's namespace: OVF 1.x or 2.x */
	HgOvf *ovf;
	GHashTable *files; /* ovf:id -> HgOvfFile* (borrowed from ovf->files) */
	GHashTable *hrefs; /* the hrefs seen */
	GHashTable *disks; /* ovf:diskId -> HgOvfDisk* (borrowed from ovf->disks) */
	GHashTable *disk_files; /* the Files disks take their data from */
	GHashTable *attachments; /* ovf:diskId -> Attachment* (ovf_hardware.c) */
	char *configuration; /* the default deployment option, or NULL */
	GPtrArray *shown; /* strings quoted in messages, freed with the parser */
} HgOvfParser;

/* ovf_xml.c */

/* Sets error (HG_VM_ERROR, code) to "OVF descriptor: " and the message;
 * false, for the caller to return. */
bool hg_ovf_fail(GError **error, int code, const char *format, ...) G_GNUC_PRINTF(3, 4);
/* value cut short for a message; the copy lives as long as p. */
const char *hg_ovf_shown(HgOvfParser *p, const char *value);

bool hg_ovf_in_namespace(const xmlNode *node, const char *ns);
bool hg_ovf_is_element(const xmlNode *node, const char *ns, const char *name);
/* The first child element ns:name, or NULL. */
const xmlNode *hg_ovf_first_child(const xmlNode *node, const char *ns, const char *name);
char *hg_ovf_element_text(const xmlNode *node);
char *hg_ovf_child_text(const xmlNode *node, const char *ns, const char *name);
char *hg_ovf_attribute(const xmlNode *node, const char *ns, const char *name);

/* An attribute in the Envelope's namespace (ovf:NAME), or NULL. */
static inline char *ovf_attribute(HgOvfParser *p, const xmlNode *node, const char *name)
{
	return hg_ovf_attribute(node, p->ns, name);
}

/* The descriptor as a tree (xmlFreeDoc), or NULL: not XML, or a DOCTYPE. */
xmlDoc *hg_ovf_read_xml(const char *xml, gsize length, GError **error);

/* ovf_numbers.c */

/* A whole number below 2^64, else an error that names what it is. */
bool hg_ovf_parse_number(HgOvfParser *p, const char *text, const char *what, guint64 *value,
			 GError **error);
bool hg_ovf_unit_bytes(const char *units, guint64 default_bytes, guint64 *bytes);

/* ovf_hardware.c */

/* The CPUs, memory, network cards, VMware's firmware and which drive
 * attaches each disk (p->attachments). */
bool hg_ovf_read_hardware(HgOvfParser *p, const xmlNode *hardware, GError **error);
/* p->ovf->disks in the order ovf.h promises, from p->attachments. */
void hg_ovf_order_disks(HgOvfParser *p);
