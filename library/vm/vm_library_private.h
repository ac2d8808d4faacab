/* What library/vm's files share among themselves (not for the app). */
#pragma once

#include "library/vm/vm_library.h"

/* rm -r that never follows a symbolic link out of the folder. */
bool hg_vm_remove_tree(const char *path, GError **error);
/* HG_VM_ERROR_RUNNING ("... shut it down to <what> it") while the VM's
 * engine runs. */
bool hg_vm_refuse_if_running(const HgVmEntry *entry, const char *what, GError **error);

/* A new hidden folder vms/<prefix>-XXXXXX (".new" for VMs being made). */
char *hg_vm_library_make_hidden(HgVmLibrary *lib, const char *prefix, GError **error);
/* Moves a finished staging folder to vms/<id> (id from name, made unique)
 * and returns the id. */
char *hg_vm_library_publish(HgVmLibrary *lib, const char *staging, const char *name,
			    GError **error);
/* HG_VM_ERROR_EXISTS when another VM (not except_id) has the name. */
bool hg_vm_library_name_is_free(HgVmLibrary *lib, const char *name, const char *except_id,
				GError **error);
