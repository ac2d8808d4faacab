/* The OVF reader's XML (ovf_private.h): the descriptor read safely into a
 * libxml2 tree, helpers that find elements and attributes in it by
 * namespace, and the messages that quote what it holds. */
#include "library/import/ovf_private.h"

#include <libxml/parser.h>
#include <stdarg.h>
#include <string.h>

#include "library/vm/vm_config.h"

/* No entity substitution (XML_PARSE_NOENT), no DTD loading, no network, no
 * lifted limits (XML_PARSE_HUGE); errors come back through the context,
 * not stderr. */
#define PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* A value quoted in a message is cut to this many characters. */
#define SHOWN_CHARS 40

/* ---- messages ---- */

bool hg_ovf_fail(GError **error, int code, const char *format, ...)
{
	g_autofree char *message = NULL;
	va_list ap;

	va_start(ap, format);
	message = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error(error, HG_VM_ERROR, code, "OVF descriptor: %s", message);
	return false;
}

/* A value from the descriptor as a message quotes it: short. */
const char *hg_ovf_shown(HgOvfParser *p, const char *value)
{
	char *copy;

	if (g_utf8_strlen(value, -1) <= SHOWN_CHARS) {
		copy = g_strdup(value);
	} else {
		g_autofree char *head = g_utf8_substring(value, 0, SHOWN_CHARS - 1);
		copy = g_strconcat(head, "...", NULL);
	}
	g_ptr_array_add(p->shown, copy);
	return copy;
}

/* ---- the tree ---- */

bool hg_ovf_in_namespace(const xmlNode *node, const char *ns)
{
	return node->type == XML_ELEMENT_NODE && node->ns && node->ns->href &&
	       strcmp((const char *)node->ns->href, ns) == 0;
}

bool hg_ovf_is_element(const xmlNode *node, const char *ns, const char *name)
{
	return hg_ovf_in_namespace(node, ns) && strcmp((const char *)node->name, name) == 0;
}

const xmlNode *hg_ovf_first_child(const xmlNode *node, const char *ns, const char *name)
{
	for (const xmlNode *child = node->children; child; child = child->next)
		if (hg_ovf_is_element(child, ns, name))
			return child;
	return NULL;
}

/* The text directly in node, stripped of surrounding white space.  Only
 * text and CDATA children count: an entity reference is never followed
 * (there can be none, as a DTD is refused before anything is declared). */
char *hg_ovf_element_text(const xmlNode *node)
{
	GString *text = g_string_new(NULL);

	for (const xmlNode *child = node->children; child; child = child->next)
		if ((child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) &&
		    child->content)
			g_string_append(text, (const char *)child->content);
	return g_strstrip(g_string_free(text, FALSE));
}

/* A child's text, or NULL when there is no such child or its text is
 * empty. */
char *hg_ovf_child_text(const xmlNode *node, const char *ns, const char *name)
{
	const xmlNode *child = hg_ovf_first_child(node, ns, name);
	char *text = child ? hg_ovf_element_text(child) : NULL;

	if (text && !*text)
		g_clear_pointer(&text, g_free);
	return text;
}

/* An attribute in namespace ns (NULL: no namespace), or NULL. */
char *hg_ovf_attribute(const xmlNode *node, const char *ns, const char *name)
{
	xmlChar *value = ns ? xmlGetNsProp(node, BAD_CAST name, BAD_CAST ns)
			    : xmlGetNoNsProp(node, BAD_CAST name);
	char *copy;

	if (!value)
		return NULL;
	copy = g_strdup((const char *)value);
	xmlFree(value);
	return copy;
}

/* ---- reading the document ---- */

/* The SAX callback for <!DOCTYPE ...>, called before its internal subset
 * is read: the parse stops there, so no entity is ever declared (billion
 * laughs) and none names a file (external entities).  OVF has no DTD. */
static void refuse_doctype(void *context, const xmlChar *name, const xmlChar *external_id,
			   const xmlChar *system_id)
{
	xmlParserCtxt *ctxt = context;

	*(bool *)ctxt->_private = true;
	xmlStopParser(ctxt);
}

static void ignore_error(void *context, const char *format, ...)
{
}

xmlDoc *hg_ovf_read_xml(const char *xml, gsize length, GError **error)
{
	xmlGenericErrorFunc old_handler;
	void *old_context;
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	bool doctype = false;

	xmlInitParser();
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		hg_ovf_fail(error, HG_VM_ERROR_INVALID, "out of memory for the XML parser");
		return NULL;
	}
	ctxt->_private = &doctype;
	ctxt->sax->internalSubset = refuse_doctype;
	/* What libxml2 reports outside the context (input that does not
	 * convert from its declared encoding, for one) goes to its generic
	 * handler, stderr, whatever the options say: silenced for this read,
	 * then put back (the handler is per thread). */
	old_handler = xmlGenericError;
	old_context = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, ignore_error);
	doc = xmlCtxtReadMemory(ctxt, xml, (int)length, NULL, NULL, PARSE_OPTIONS);
	xmlSetGenericErrorFunc(old_context, old_handler);
	if (doctype || (doc && (doc->intSubset || doc->extSubset))) {
		hg_ovf_fail(
			error, HG_VM_ERROR_INVALID,
			"it has a DOCTYPE, refused: OVF uses no DTD, and a DTD declares entities "
			"that can expand without end or read files");
		g_clear_pointer(&doc, xmlFreeDoc);
	} else if (!doc || !xmlDocGetRootElement(doc)) {
		const xmlError *last = xmlCtxtGetLastError(ctxt);
		g_autofree char *why = g_strdup(last && last->message ? last->message : "empty");

		hg_ovf_fail(error, HG_VM_ERROR_INVALID, "not XML (line %d: %s)",
			    last ? last->line : 0, g_strstrip(why));
		g_clear_pointer(&doc, xmlFreeDoc);
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}
