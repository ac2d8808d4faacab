/* The ATAPI CD/DVD-ROM drive behind the AHCI controller, through the
 * harness: identification, the packet commands installers and El Torito
 * boot use, sense data, media change and the tray lock through the control
 * socket, and save/restore of the medium. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/devices/storage/ahci-driver.h"
#include "tests/harness/saved_state.h"

#define ISO_SECTORS 40
#define CD 0 /* the drive's port */

typedef struct {
	char *dir;
	char *iso;
	char *iso2;
	char *cd_arg;
} Images;

static Images *images_new(bool with_medium)
{
	Images *im = g_new0(Images, 1);

	im->dir = test_image_dir();
	im->iso = make_image(im->dir, "a.iso", ISO_SECTORS * 2048, 0x31);
	im->iso2 = make_image(im->dir, "b.iso", 2 * ISO_SECTORS * 2048, 0x42);
	im->cd_arg = with_medium ? g_strdup_printf("file=%s,if=sata,media=cdrom", im->iso)
				 : g_strdup("if=sata,media=cdrom");
	return im;
}

static void images_free(Images *im)
{
	hg_test_remove_tree(im->dir);
	g_free(im->dir);
	g_free(im->iso);
	g_free(im->iso2);
	g_free(im->cd_arg);
	g_free(im);
}

static HgTest *start_cd(Images *im, bool control)
{
	const char *with_control[] = {"--drive", im->cd_arg, "--control", "@DIR@/c.sock", NULL};
	const char *plain[] = {"--drive", im->cd_arg, NULL};
	HgTest *t = ahci_start_argv(control ? with_control : plain);

	ahci_port_start(t, CD);
	return t;
}

/* ---- packet commands ---- */

typedef struct {
	uint32_t is;
	uint8_t status, error, ireason;
	uint32_t bytes;
} PacketResult;

static PacketResult packet(HgTest *t, const uint8_t *cdb, size_t cdb_len, uint64_t buffer,
			   uint32_t length, bool dma)
{
	AhciCommand c = {0};
	PacketResult r = {0};
	uint8_t fis[20];

	ahci_fis_packet(&c, cdb, cdb_len, dma);
	if (length)
		ahci_one_buffer(&c, buffer, length);
	r.is = ahci_run(t, CD, 0, &c);
	g_assert_cmphex(r.is & (IS_HBFS | IS_IFS | IS_OFS), ==, 0);
	g_assert_cmphex(r.is & IS_DHRS, ==, IS_DHRS);
	ahci_read_fis(t, CD, 0x40, fis, sizeof(fis));
	g_assert_cmphex(fis[0], ==, 0x34);
	r.status = fis[2];
	r.error = fis[3];
	r.ireason = fis[12];
	r.bytes = ahci_prdbc(t, CD, 0);
	g_assert_cmphex(port_readl(t, CD, PxTFD), ==, (uint32_t)r.error << 8 | r.status);
	if (r.status & 1)
		ahci_recover(t, CD);
	return r;
}

static void assert_good(PacketResult r)
{
	g_assert_cmphex(r.status, ==, 0x50);
	g_assert_cmphex(r.ireason, ==, 0x03);
}

static void request_sense(HgTest *t, uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
	static const uint8_t cdb[12] = {0x03, 0, 0, 0, 18};
	uint8_t sense[18];
	PacketResult r = packet(t, cdb, sizeof(cdb), MEM_DATA, 18, true);

	assert_good(r);
	hg_test_memread(t, MEM_DATA, sense, sizeof(sense));
	g_assert_cmphex(sense[0], ==, 0x70);
	*key = sense[2] & 0x0f;
	*asc = sense[12];
	*ascq = sense[13];
}

/* A command that fails with CHECK CONDITION and the sense that follows. */
static void assert_check_condition(HgTest *t, PacketResult r, uint8_t key, uint8_t asc)
{
	uint8_t k, a, q;

	g_assert_cmphex(r.status, ==, 0x41);
	g_assert_cmphex(r.error >> 4, ==, key);
	g_assert_cmphex(r.is & IS_TFES, ==, IS_TFES);
	request_sense(t, &k, &a, &q);
	g_assert_cmphex(k, ==, key);
	g_assert_cmphex(a, ==, asc);
}

static PacketResult test_unit_ready(HgTest *t)
{
	static const uint8_t cdb[12] = {0x00};
	return packet(t, cdb, sizeof(cdb), 0, 0, true);
}

static void read_10(HgTest *t, uint32_t lba, uint16_t count, PacketResult *r, bool dma)
{
	uint8_t cdb[12] = {0x28, 0, lba >> 24, lba >> 16, lba >> 8, lba, 0, count >> 8, count};
	*r = packet(t, cdb, sizeof(cdb), MEM_DATA, count * 2048, dma);
}

static void assert_iso_in_ram(HgTest *t, uint32_t lba, uint32_t sectors, uint8_t seed)
{
	size_t len = sectors * 2048;
	g_autofree uint8_t *got = g_malloc(len);
	g_autofree uint8_t *expect = g_malloc(len);

	hg_test_memread(t, MEM_DATA, got, len);
	for (size_t i = 0; i < len; i++)
		expect[i] = image_byte((uint64_t)lba * 2048 + i, seed);
	g_assert_cmpmem(got, len, expect, len);
}

/* ---- control socket ---- */

typedef struct {
	int fd;
	GString *pending;
} Control;

static Control *control_open(HgTest *t)
{
	g_autofree char *path = g_build_filename(hg_test_dir(t), "c.sock", NULL);
	Control *c = g_new0(Control, 1);

	c->fd = hg_test_connect_unix(path);
	c->pending = g_string_new(NULL);
	g_autofree char *greeting = hg_test_read_line(c->fd, c->pending, 5000);
	g_assert_nonnull(greeting);
	return c;
}

static void control_close(Control *c)
{
	close(c->fd);
	g_string_free(c->pending, TRUE);
	g_free(c);
}

/* Send a request; NULL on success, else the error description. */
static char *control_execute(Control *c, const char *request)
{
	g_autofree char *line = g_strconcat(request, "\n", NULL);
	g_assert_cmpint(write(c->fd, line, strlen(line)), ==, (ssize_t)strlen(line));
	for (;;) {
		g_autofree char *reply = hg_test_read_line(c->fd, c->pending, 10000);
		g_autoptr(JsonParser) p = json_parser_new();
		g_assert_nonnull(reply);
		g_assert_true(json_parser_load_from_data(p, reply, -1, NULL));
		JsonObject *o = json_node_get_object(json_parser_get_root(p));
		if (json_object_has_member(o, "event"))
			continue;
		if (json_object_has_member(o, "return"))
			return NULL;
		JsonObject *e = json_object_get_object_member(o, "error");
		return g_strdup(json_object_get_string_member(e, "desc"));
	}
}

static void control_ok(Control *c, const char *request)
{
	g_autofree char *error = control_execute(c, request);
	if (error)
		g_error("%s -> %s", request, error);
}

static void change_medium(Control *c, const char *path)
{
	g_autofree char *req = g_strdup_printf(
		"{\"execute\":\"blockdev-change-medium\",\"arguments\":{\"id\":\"sata0\","
		"\"filename\":\"%s\"}}",
		path);
	control_ok(c, req);
}

/* The media event GET EVENT STATUS NOTIFICATION reports (and consumes). */
static uint8_t media_event(HgTest *t, uint8_t *media_status)
{
	static const uint8_t cdb[12] = {0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8};
	uint8_t buf[8];
	PacketResult r = packet(t, cdb, sizeof(cdb), MEM_DATA, 8, false);

	assert_good(r);
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	g_assert_cmpuint(buf[0] << 8 | buf[1], ==, 6);
	g_assert_cmphex(buf[2], ==, 4); /* media class */
	if (media_status)
		*media_status = buf[5];
	return buf[4] & 0x0f;
}

/* ---- tests ---- */

static void test_signature_and_identify_packet_device(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	AhciCommand c = {0};
	uint16_t id[256];
	char model[41];
	uint8_t sum = 0;

	g_assert_cmphex(port_readl(t, CD, PxSIG), ==, 0xeb140101);
	ahci_fis_ata(&c, 0xa1, 0, 0);
	ahci_one_buffer(&c, MEM_DATA, 512);
	g_assert_cmphex(ahci_run(t, CD, 0, &c) & (IS_PSS | IS_ERRORS), ==, IS_PSS);
	g_assert_cmpuint(ahci_prdbc(t, CD, 0), ==, 512);
	hg_test_memread(t, MEM_DATA, id, sizeof(id));
	g_assert_cmphex(id[0] >> 14, ==, 2); /* ATAPI */
	g_assert_cmphex((id[0] >> 8) & 0x1f, ==, 5); /* CD-ROM */
	g_assert_cmphex(id[0] & 0x80, ==, 0x80); /* removable */
	g_assert_cmphex(id[0] & 3, ==, 0); /* 12-byte packets */
	g_assert_true(id[49] & (1 << 8)); /* DMA */
	for (int i = 0; i < 20; i++) {
		model[2 * i] = id[27 + i] >> 8;
		model[2 * i + 1] = id[27 + i] & 0xff;
	}
	model[40] = 0;
	g_assert_cmpstr(g_strchomp(model), ==, "HANGAR DVD-ROM");
	for (int i = 0; i < 256; i++)
		sum += (id[i] & 0xff) + (id[i] >> 8);
	g_assert_cmpuint(sum, ==, 0);
	hg_test_quit(t);
	images_free(im);
}

static void test_identify_device_is_aborted_with_the_signature(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	AhciCommand c = {0};
	uint8_t fis[20];

	ahci_fis_ata(&c, 0xec, 0, 0);
	ahci_one_buffer(&c, MEM_DATA, 512);
	g_assert_cmphex(ahci_run(t, CD, 0, &c) & IS_TFES, ==, IS_TFES);
	ahci_read_fis(t, CD, 0x40, fis, sizeof(fis));
	g_assert_cmphex(fis[3] & 0x04, ==, 0x04);
	g_assert_cmphex(fis[5], ==, 0x14);
	g_assert_cmphex(fis[6], ==, 0xeb);
	hg_test_quit(t);
	images_free(im);
}

static void test_inquiry(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	static const uint8_t cdb[12] = {0x12, 0, 0, 0, 36};
	uint8_t buf[36];

	/* PIO, as OVMF and Linux send short transfers. */
	PacketResult r = packet(t, cdb, sizeof(cdb), MEM_DATA, 36, false);
	assert_good(r);
	g_assert_cmpuint(r.bytes, ==, 36);
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	g_assert_cmphex(buf[0], ==, 0x05);
	g_assert_cmphex(buf[1], ==, 0x80);
	g_assert_cmpmem(buf + 8, 6, "HANGAR", 6);
	/* An allocation length shorter than the data cuts it. */
	static const uint8_t short_cdb[12] = {0x12, 0, 0, 0, 5};
	r = packet(t, short_cdb, sizeof(short_cdb), MEM_DATA, 36, true);
	assert_good(r);
	g_assert_cmpuint(r.bytes, ==, 5);
	hg_test_quit(t);
	images_free(im);
}

static void test_test_unit_ready(void)
{
	Images *with = images_new(true), *without = images_new(false);
	HgTest *t = start_cd(with, false);
	HgTest *e = start_cd(without, false);

	assert_good(test_unit_ready(t));
	assert_check_condition(e, test_unit_ready(e), 0x02, 0x3a);
	hg_test_quit(t);
	hg_test_quit(e);
	images_free(with);
	images_free(without);
}

static void test_read_capacity(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	static const uint8_t cdb[12] = {0x25};
	uint8_t buf[8];

	assert_good(packet(t, cdb, sizeof(cdb), MEM_DATA, 8, true));
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	g_assert_cmpuint((uint32_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3], ==,
			 ISO_SECTORS - 1);
	g_assert_cmpuint((uint32_t)buf[4] << 24 | buf[5] << 16 | buf[6] << 8 | buf[7], ==, 2048);
	hg_test_quit(t);
	images_free(im);
}

static void test_read_10_and_12(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	PacketResult r;

	read_10(t, 17, 1, &r, true); /* where El Torito's boot record volume lives */
	assert_good(r);
	g_assert_cmpuint(r.bytes, ==, 2048);
	assert_iso_in_ram(t, 17, 1, 0x31);
	read_10(t, 3, 5, &r, false);
	assert_good(r);
	assert_iso_in_ram(t, 3, 5, 0x31);
	uint8_t cdb12[12] = {0xa8, 0, 0, 0, 0, 30, 0, 0, 0, 10};
	r = packet(t, cdb12, sizeof(cdb12), MEM_DATA, 10 * 2048, true);
	assert_good(r);
	assert_iso_in_ram(t, 30, 10, 0x31);
	/* READ CD, user data only. */
	uint8_t read_cd[12] = {0xbe, 0, 0, 0, 0, 2, 0, 0, 2, 0x10};
	r = packet(t, read_cd, sizeof(read_cd), MEM_DATA, 2 * 2048, true);
	assert_good(r);
	assert_iso_in_ram(t, 2, 2, 0x31);
	hg_test_quit(t);
	images_free(im);
}

static void test_read_beyond_medium(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	PacketResult r;

	read_10(t, ISO_SECTORS - 1, 2, &r, true);
	assert_check_condition(t, r, 0x05, 0x21);
	hg_test_quit(t);
	images_free(im);
}

static void test_read_toc(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	uint8_t buf[20];

	/* Format 0, LBA: track 1 at 0, lead-out after the medium. */
	uint8_t toc[12] = {0x43, 0, 0, 0, 0, 0, 0, 0, 20};
	assert_good(packet(t, toc, sizeof(toc), MEM_DATA, 20, true));
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	g_assert_cmpuint(buf[0] << 8 | buf[1], ==, 18);
	g_assert_cmpuint(buf[2], ==, 1);
	g_assert_cmpuint(buf[3], ==, 1);
	g_assert_cmphex(buf[5], ==, 0x14);
	g_assert_cmpuint(buf[6], ==, 1);
	g_assert_cmpuint(buf[8] << 24 | buf[9] << 16 | buf[10] << 8 | buf[11], ==, 0);
	g_assert_cmpuint(buf[14], ==, 0xaa);
	g_assert_cmpuint(buf[16] << 24 | buf[17] << 16 | buf[18] << 8 | buf[19], ==, ISO_SECTORS);
	/* MSF: 00:02:00 for track 1; lead-out at 40 + 150 frames = 00:02:40. */
	toc[1] = 0x02;
	assert_good(packet(t, toc, sizeof(toc), MEM_DATA, 20, true));
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	g_assert_cmpuint(buf[9], ==, 0);
	g_assert_cmpuint(buf[10], ==, 2);
	g_assert_cmpuint(buf[11], ==, 0);
	g_assert_cmpuint(buf[17], ==, 0);
	g_assert_cmpuint(buf[18], ==, 2);
	g_assert_cmpuint(buf[19], ==, 40);
	/* Format 1: one session, starting at track 1. */
	uint8_t session[12] = {0x43, 0, 1, 0, 0, 0, 0, 0, 12};
	assert_good(packet(t, session, sizeof(session), MEM_DATA, 12, true));
	hg_test_memread(t, MEM_DATA, buf, 12);
	g_assert_cmpuint(buf[0] << 8 | buf[1], ==, 10);
	g_assert_cmpuint(buf[6], ==, 1);
	/* A track that does not exist. */
	toc[1] = 0;
	toc[6] = 5;
	assert_check_condition(t, packet(t, toc, sizeof(toc), MEM_DATA, 20, true), 0x05, 0x24);
	hg_test_quit(t);
	images_free(im);
}

static void test_get_configuration(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	uint8_t cdb[12] = {0x46, 0x02, 0, 0, 0, 0, 0, 0, 64}; /* one feature: profile list */
	uint8_t buf[64];

	assert_good(packet(t, cdb, sizeof(cdb), MEM_DATA, 64, false));
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	g_assert_cmpuint(buf[6] << 8 | buf[7], ==, 0x0008); /* CD-ROM */
	g_assert_cmpuint(buf[8] << 8 | buf[9], ==, 0x0000);
	g_assert_cmpuint(buf[11], ==, 8); /* two profiles */
	g_assert_cmpuint(buf[16] << 8 | buf[17], ==, 0x0008);
	g_assert_cmphex(buf[18] & 1, ==, 1); /* current */
	/* All features: core, morphing and removable medium are there. */
	cdb[1] = 0;
	assert_good(packet(t, cdb, sizeof(cdb), MEM_DATA, 64, false));
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	uint32_t len = (uint32_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3];
	g_assert_cmpuint(len, >, 40);
	bool seen[4] = {false};
	for (uint32_t off = 8; off + 4 <= MIN(len + 4, 64u); off += 4 + buf[off + 3])
		if ((buf[off] << 8 | buf[off + 1]) < 4)
			seen[buf[off + 1]] = true;
	g_assert_true(seen[0] && seen[1] && seen[2] && seen[3]);
	hg_test_quit(t);
	images_free(im);
}

static void test_mode_sense_capabilities(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	uint8_t cdb[12] = {0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64};
	static const uint8_t lock[12] = {0x1e, 0, 0, 0, 1};
	uint8_t buf[30];

	assert_good(packet(t, cdb, sizeof(cdb), MEM_DATA, 64, false));
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	g_assert_cmpuint(buf[0] << 8 | buf[1], ==, 28);
	g_assert_cmphex(buf[8], ==, 0x2a);
	g_assert_cmphex(buf[9], ==, 0x14);
	g_assert_cmphex(buf[14] & 0x0b, ==, 0x09); /* lock, eject; not locked */
	assert_good(packet(t, lock, sizeof(lock), 0, 0, true));
	assert_good(packet(t, cdb, sizeof(cdb), MEM_DATA, 64, false));
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	g_assert_cmphex(buf[14] & 0x02, ==, 0x02); /* locked now */
	/* Page 01h, and a page that does not exist. */
	cdb[2] = 0x01;
	assert_good(packet(t, cdb, sizeof(cdb), MEM_DATA, 64, false));
	hg_test_memread(t, MEM_DATA, buf, 12);
	g_assert_cmphex(buf[8], ==, 0x01);
	cdb[2] = 0x05;
	assert_check_condition(t, packet(t, cdb, sizeof(cdb), MEM_DATA, 64, false), 0x05, 0x24);
	hg_test_quit(t);
	images_free(im);
}

static void test_invalid_opcode_then_request_sense(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	static const uint8_t cdb[12] = {0xff};
	uint8_t key, asc, ascq;

	assert_check_condition(t, packet(t, cdb, sizeof(cdb), 0, 0, true), 0x05, 0x20);
	/* Sense is reported once. */
	request_sense(t, &key, &asc, &ascq);
	g_assert_cmphex(key, ==, 0);
	g_assert_cmphex(asc, ==, 0);
	hg_test_quit(t);
	images_free(im);
}

static void test_change_medium_reports_unit_attention_and_new_media(void)
{
	Images *im = images_new(false);
	HgTest *t = start_cd(im, true);
	Control *c = control_open(t);
	uint8_t status;
	uint8_t key, asc, ascq;

	assert_check_condition(t, test_unit_ready(t), 0x02, 0x3a);
	change_medium(c, im->iso2);
	/* GET EVENT STATUS NOTIFICATION is not held up by the unit attention. */
	g_assert_cmpuint(media_event(t, &status), ==, 2); /* new media */
	g_assert_cmphex(status & 0x02, ==, 0x02);
	g_assert_cmpuint(media_event(t, NULL), ==, 0); /* reported once */
	/* The next TEST UNIT READY: medium may have changed, then ready. */
	PacketResult r = test_unit_ready(t);
	g_assert_cmphex(r.error >> 4, ==, 0x06);
	request_sense(t, &key, &asc, &ascq);
	g_assert_cmphex(key, ==, 0x06);
	g_assert_cmphex(asc, ==, 0x28);
	assert_good(test_unit_ready(t));
	PacketResult rd;
	read_10(t, 70, 2, &rd, true);
	assert_good(rd);
	assert_iso_in_ram(t, 70, 2, 0x42);
	/* Errors for what is not a CD drive, or not there. */
	g_autofree char *error = control_execute(
		c, "{\"execute\":\"blockdev-change-medium\",\"arguments\":{\"id\":\"sata3\","
		   "\"filename\":\"/nonexistent\"}}");
	g_assert_nonnull(error);
	g_free(g_steal_pointer(&error));
	error = control_execute(c, "{\"execute\":\"blockdev-change-medium\",\"arguments\":{"
				   "\"id\":\"sata0\",\"filename\":\"/nonexistent.iso\"}}");
	g_assert_nonnull(strstr(error, "nonexistent"));
	assert_good(test_unit_ready(t)); /* the old medium stays */
	control_close(c);
	hg_test_quit(t);
	images_free(im);
}

static void test_locked_tray_refuses_eject(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, true);
	Control *c = control_open(t);
	static const uint8_t prevent[12] = {0x1e, 0, 0, 0, 1};
	static const uint8_t allow[12] = {0x1e, 0, 0, 0, 0};
	static const uint8_t eject[12] = {0x1b, 0, 0, 0, 0x02};

	assert_good(packet(t, prevent, sizeof(prevent), 0, 0, true));
	g_autofree char *error =
		control_execute(c, "{\"execute\":\"eject\",\"arguments\":{\"id\":\"sata0\"}}");
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error, "locked"));
	/* The guest is asked to let go, and its own eject is refused too. */
	g_assert_cmpuint(media_event(t, NULL), ==, 1);
	assert_check_condition(t, packet(t, eject, sizeof(eject), 0, 0, true), 0x05, 0x53);
	g_free(g_steal_pointer(&error));
	error = control_execute(c, "{\"execute\":\"blockdev-change-medium\",\"arguments\":{"
				   "\"id\":\"sata0\",\"filename\":\"x\"}}");
	g_assert_nonnull(error);
	assert_good(test_unit_ready(t));
	/* Forced, it goes. */
	control_ok(c, "{\"execute\":\"eject\",\"arguments\":{\"id\":\"sata0\",\"force\":true}}");
	assert_check_condition(t, test_unit_ready(t), 0x02, 0x3a);
	/* Unlocked, a plain eject works. */
	assert_good(packet(t, allow, sizeof(allow), 0, 0, true));
	change_medium(c, im->iso);
	control_ok(c, "{\"execute\":\"eject\",\"arguments\":{\"id\":\"sata0\"}}");
	uint8_t status;
	g_assert_cmpuint(media_event(t, &status), ==, 3); /* media removal */
	g_assert_cmphex(status, ==, 0x01); /* tray open, no medium */
	control_close(c);
	hg_test_quit(t);
	images_free(im);
}

static void test_eject_and_insert_through_the_control_socket(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, true);
	Control *c = control_open(t);
	PacketResult r;
	uint8_t key, asc, ascq;

	assert_good(test_unit_ready(t));
	control_ok(c, "{\"execute\":\"eject\",\"arguments\":{\"id\":\"sata0\"}}");
	r = test_unit_ready(t);
	g_assert_cmphex(r.error >> 4, ==, 0x02);
	request_sense(t, &key, &asc, &ascq);
	g_assert_cmphex(asc, ==, 0x3a);
	g_assert_cmphex(ascq, ==, 0x02); /* tray open */
	change_medium(c, im->iso);
	r = test_unit_ready(t);
	g_assert_cmphex(r.error >> 4, ==, 0x06);
	assert_good(test_unit_ready(t));
	read_10(t, 1, 1, &r, true);
	assert_good(r);
	assert_iso_in_ram(t, 1, 1, 0x31);
	control_close(c);
	hg_test_quit(t);
	images_free(im);
}

static void test_start_stop_unit_moves_the_tray(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	static const uint8_t open[12] = {0x1b, 0, 0, 0, 0x02};
	static const uint8_t close[12] = {0x1b, 0, 0, 0, 0x03};
	static const uint8_t mech[12] = {0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8};
	uint8_t buf[8];

	assert_good(packet(t, open, sizeof(open), 0, 0, true));
	assert_good(packet(t, mech, sizeof(mech), MEM_DATA, 8, false));
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	g_assert_cmphex(buf[1] & 0x10, ==, 0x10); /* door open */
	assert_check_condition(t, test_unit_ready(t), 0x02, 0x3a);
	assert_good(packet(t, close, sizeof(close), 0, 0, true));
	/* The medium was in the tray all along: it is back. */
	PacketResult r = test_unit_ready(t);
	g_assert_cmphex(r.error >> 4, ==, 0x06);
	assert_good(test_unit_ready(t));
	hg_test_quit(t);
	images_free(im);
}

static void test_read_disc_information(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, false);
	static const uint8_t cdb[12] = {0x51, 0, 0, 0, 0, 0, 0, 0, 34};
	uint8_t buf[34];

	assert_good(packet(t, cdb, sizeof(cdb), MEM_DATA, 34, false));
	hg_test_memread(t, MEM_DATA, buf, sizeof(buf));
	g_assert_cmpuint(buf[0] << 8 | buf[1], ==, 32);
	g_assert_cmphex(buf[2] & 0x03, ==, 0x02); /* complete disc */
	hg_test_quit(t);
	images_free(im);
}

static void test_medium_and_sense_survive_save_and_restore(void)
{
	Images *im = images_new(true);
	HgTest *t = start_cd(im, true);
	Control *c = control_open(t);
	g_autofree char *dir = g_build_filename(im->dir, "saved", NULL);
	static const uint8_t prevent[12] = {0x1e, 0, 0, 0, 1};
	static const uint8_t bad[12] = {0xff};
	uint8_t key, asc, ascq;

	/* A medium changed at run time, a lock, and sense data waiting. */
	change_medium(c, im->iso2);
	control_close(c);
	PacketResult r = test_unit_ready(t);
	g_assert_cmphex(r.error >> 4, ==, 0x06);
	assert_good(packet(t, prevent, sizeof(prevent), 0, 0, true));
	AhciCommand cmd = {0};
	ahci_fis_packet(&cmd, bad, sizeof(bad), true);
	ahci_run(t, CD, 0, &cmd);
	ahci_recover(t, CD);
	hg_test_save(t, dir);
	hg_test_quit(t);

	/* Restored with the original command line: the changed medium is back. */
	const char *args[] = {"--drive",   im->cd_arg, "--control", "@DIR@/c.sock",
			      "--restore", dir,	       NULL};
	HgTest *rt = hg_test_startv(args);
	request_sense(rt, &key, &asc, &ascq);
	g_assert_cmphex(key, ==, 0x05);
	g_assert_cmphex(asc, ==, 0x20);
	PacketResult rd;
	read_10(rt, 60, 1, &rd, true);
	assert_good(rd);
	assert_iso_in_ram(rt, 60, 1, 0x42);
	c = control_open(rt);
	g_autofree char *error =
		control_execute(c, "{\"execute\":\"eject\",\"arguments\":{\"id\":\"sata0\"}}");
	g_assert_nonnull(error); /* still locked */
	control_close(c);
	hg_test_quit(rt);

	/* Without the medium file, the restore is refused, saying so. */
	g_assert_cmpint(g_unlink(im->iso2), ==, 0);
	const char *extra[] = {"--drive", im->cd_arg, NULL};
	hg_test_expect_restore_refused(dir, extra, NULL, "b.iso");
	images_free(im);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/atapi/identify/signature-and-identify-packet-device",
			test_signature_and_identify_packet_device);
	g_test_add_func("/atapi/identify/identify-device-is-aborted-with-the-signature",
			test_identify_device_is_aborted_with_the_signature);
	g_test_add_func("/atapi/inquiry/reports-a-removable-cd-dvd-device", test_inquiry);
	g_test_add_func("/atapi/ready/test-unit-ready-with-and-without-medium",
			test_test_unit_ready);
	g_test_add_func("/atapi/read/capacity-of-an-iso", test_read_capacity);
	g_test_add_func("/atapi/read/read-10-12-and-cd-return-the-image", test_read_10_and_12);
	g_test_add_func("/atapi/read/beyond-the-medium-is-lba-out-of-range",
			test_read_beyond_medium);
	g_test_add_func("/atapi/toc/formats-0-and-1-in-lba-and-msf", test_read_toc);
	g_test_add_func("/atapi/config/current-profile-is-cd-rom", test_get_configuration);
	g_test_add_func("/atapi/mode-sense/capabilities-page-shows-the-lock",
			test_mode_sense_capabilities);
	g_test_add_func("/atapi/sense/invalid-opcode-then-request-sense",
			test_invalid_opcode_then_request_sense);
	g_test_add_func("/atapi/media/change-reports-unit-attention-and-new-media",
			test_change_medium_reports_unit_attention_and_new_media);
	g_test_add_func("/atapi/media/locked-tray-refuses-eject-until-forced",
			test_locked_tray_refuses_eject);
	g_test_add_func("/atapi/media/eject-and-insert-through-the-control-socket",
			test_eject_and_insert_through_the_control_socket);
	g_test_add_func("/atapi/media/start-stop-unit-moves-the-tray",
			test_start_stop_unit_moves_the_tray);
	g_test_add_func("/atapi/read/disc-information-says-complete", test_read_disc_information);
	g_test_add_func("/atapi/state/medium-lock-and-sense-survive-save-and-restore",
			test_medium_and_sense_survive_save_and_restore);
	return g_test_run();
}
