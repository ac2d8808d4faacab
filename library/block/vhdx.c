/* Hyper-V's VHDX images: recognised ("vhdxfile" at the start) so they are
 * not taken for raw disks, and refused for now. */
#include "library/block/block_driver.h"

#include <gio/gio.h>

static bool vhdx_open(HgBlockBackend *blk, int fd, HgBlockChain *chain, GError **error)
{
	(void)fd, (void)chain;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		    "%s: VHDX is not supported yet: convert it to VHD (Hyper-V's Edit Disk) or "
		    "to qcow2 (qemu-img convert -O qcow2) first",
		    blk->path);
	return false;
}

const HgBlockDriver hg_block_vhdx_driver = {
	.format_name = "vhdx",
	.open = vhdx_open,
};
