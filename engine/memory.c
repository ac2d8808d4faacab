#include "engine/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void memory_lay_out_regions(HgGuestMemory *mem)
{
	uint64_t low = MIN(mem->size, HG_PCI_HOLE_START);

	mem->low_end = low;
	mem->high_size = mem->size - low;
	mem->n_regions = 0;
	mem->regions[mem->n_regions++] = (HgRamRegion){
		.guest_phys = 0, .size = HG_VGA_WINDOW_START, .file_offset = 0, .host = mem->base};
	mem->regions[mem->n_regions++] = (HgRamRegion){.guest_phys = HG_VGA_WINDOW_END,
						       .size = low - HG_VGA_WINDOW_END,
						       .file_offset = HG_VGA_WINDOW_END,
						       .host = mem->base + HG_VGA_WINDOW_END};
	if (mem->size > low)
		mem->regions[mem->n_regions++] = (HgRamRegion){.guest_phys = HG_HIGH_RAM_START,
							       .size = mem->size - low,
							       .file_offset = low,
							       .host = mem->base + low};
}

static bool memory_check_size(uint64_t size, GError **error)
{
	if (size < (1u << 20) || size % 4096) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "guest RAM must be at least 1 MiB and page aligned");
		return false;
	}
	return true;
}

bool hg_memory_init(HgGuestMemory *mem, uint64_t size, GError **error)
{
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	if (!memory_check_size(size, error))
		return false;
	mem->fd = memfd_create("hangar-ram", MFD_CLOEXEC);
	if (mem->fd < 0 || ftruncate(mem->fd, size) < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot create guest RAM: %s", g_strerror(errno));
		return false;
	}
	/* MAP_NORESERVE: untouched guest pages cost nothing. */
	mem->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mem->fd,
			 0);
	if (mem->base == MAP_FAILED) {
		mem->base = NULL;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot map %" G_GUINT64_FORMAT " bytes of guest RAM: %s", size,
			    g_strerror(errno));
		return false;
	}
	mem->size = size;
	madvise(mem->base, size, MADV_MERGEABLE);
	memory_lay_out_regions(mem);
	return true;
}

bool hg_memory_init_from_file(HgGuestMemory *mem, const char *path, uint64_t size,
			      GError **error)
{
	struct stat st;

	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	if (!memory_check_size(size, error))
		return false;
	mem->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (mem->fd < 0 || fstat(mem->fd, &st) < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot open RAM file %s: %s", path, g_strerror(errno));
		return false;
	}
	if ((uint64_t)st.st_size != size) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "RAM file %s has %" G_GUINT64_FORMAT " bytes, the state record says %"
			    G_GUINT64_FORMAT, path, (uint64_t)st.st_size, size);
		return false;
	}
	/* Private and lazy: restore time does not grow with RAM size, and the
	 * guest's writes never reach the saved file. */
	mem->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, mem->fd,
			 0);
	if (mem->base == MAP_FAILED) {
		mem->base = NULL;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot map RAM file %s: %s", path, g_strerror(errno));
		return false;
	}
	mem->size = size;
	mem->private_mapping = true;
	memory_lay_out_regions(mem);
	return true;
}

void hg_memory_destroy(HgGuestMemory *mem)
{
	if (mem->base)
		munmap(mem->base, mem->size);
	if (mem->fd >= 0)
		close(mem->fd);
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
}

void *hg_memory_ptr(HgGuestMemory *mem, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (unsigned i = 0; i < mem->n_regions; i++) {
		HgRamRegion *r = &mem->regions[i];
		if (gpa >= r->guest_phys && gpa - r->guest_phys < r->size &&
		    len <= r->size - (gpa - r->guest_phys))
			return r->host + (gpa - r->guest_phys);
	}
	return NULL;
}

bool hg_memory_read(HgGuestMemory *mem, uint64_t gpa, void *buf, uint64_t len)
{
	void *p = hg_memory_ptr(mem, gpa, len);
	if (!p)
		return false;
	memcpy(buf, p, len);
	return true;
}

bool hg_memory_write(HgGuestMemory *mem, uint64_t gpa, const void *buf, uint64_t len)
{
	void *p = hg_memory_ptr(mem, gpa, len);
	if (!p)
		return false;
	memcpy(p, buf, len);
	return true;
}

static bool write_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, MIN(len, (uint64_t)1 << 30), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		off += n;
		len -= n;
	}
	return true;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (unsigned i = 0; i < 4096 / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* Pages never touched are holes in a memfd; SEEK_DATA finds the rest.  A
 * privately mapped restore file has no such map, so there each page is
 * checked for zeroes instead. */
bool hg_memory_save(HgGuestMemory *mem, const char *path, GError **error)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = true;

	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot create %s: %s", path, g_strerror(errno));
		return false;
	}
	if (ftruncate(fd, mem->size) < 0)
		ok = false;
	if (ok && !mem->private_mapping) {
		off_t pos = 0;
		while (ok && (uint64_t)pos < mem->size) {
			off_t data = lseek(mem->fd, pos, SEEK_DATA);
			if (data < 0)
				break; /* ENXIO: no data after pos */
			off_t hole = lseek(mem->fd, data, SEEK_HOLE);
			if (hole < 0)
				hole = mem->size;
			ok = write_all(fd, mem->base + data, hole - data, data);
			pos = hole;
		}
	} else if (ok) {
		for (uint64_t off = 0; ok && off < mem->size;) {
			uint64_t run = off;
			while (run < mem->size && !page_is_zero(mem->base + run) &&
			       run - off < (64u << 20))
				run += 4096;
			if (run > off)
				ok = write_all(fd, mem->base + off, run - off, off);
			off = run == off ? off + 4096 : run;
		}
	}
	if (ok && fdatasync(fd) < 0)
		ok = false;
	if (!ok)
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot write guest RAM to %s: %s", path, g_strerror(errno));
	close(fd);
	return ok;
}
