/* The OS an appliance (OVF) says it holds, as a libosinfo entry: from the
 * product's OS type name (VMware's "debian12_64Guest", VirtualBox's
 * "Windows10_64"), else from its description ("Debian GNU/Linux 12").
 * NULL when neither names an OS the osinfo database knows. */
#pragma once

#include "library/os/os_detect.h"

HgOsGuess *hg_import_guess_os(const char *os_type, const char *description);
