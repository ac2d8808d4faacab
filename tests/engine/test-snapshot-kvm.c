/* Live snapshots under KVM, end to end: the snapshot-pattern guest
 * (tests/guests/snapshot-pattern.c) keeps a generation's pattern in RAM and
 * in a sector of its qcow2 virtio-blk disk and counts between generations.
 * The control command snapshot-save (docs/control-protocol.md) is taken
 * during generation 1's counts; the first engine runs on until generation 2
 * has overwritten both places, and is stopped.  The revert is done at rest,
 * as the protocol says: qemu-img (an implementation independent of Hangar's
 * image layer) applies the internal disk snapshot, and a new engine starts
 * with --restore.  The restored guest must print exactly what the first one
 * printed after the snapshot point: the count goes on with no gap and no
 * repeat, and generation 2's check finds generation 1's pattern in memory
 * and on disk, which it can only do if both were rolled back.  The snapshot
 * is also read from outside: generation 1 in its RAM file and in the disk
 * snapshot (qemu-img convert), generation 2 on the disk.  Without the
 * disk rollback the same guest reports "MISMATCH disk" (so the check can
 * fail).  The refusals leave nothing behind: a raw disk cannot be
 * snapshotted, and an existing folder is not overwritten; the guest runs on
 * either way. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/engine/guest-runner.h"
#include "tests/harness/harness.h"

#define GUEST_TIMEOUT_MS 120000 /* a hang guard, not a timing requirement */
#define DEBUG_EXIT_FAIL 3 /* (1 << 1) | 1 */
#define DISK_SNAPSHOT "s1"

/* As tests/guests/snapshot-pattern.c lays its patterns out. */
#define PATTERN_MEMORY_ADDRESS 0x400000 /* also the offset in the RAM file */
#define PATTERN_MEMORY_PAGES 4
#define PATTERN_SECTOR 8
#define COUNTS_PER_GENERATION 50
#define MEMORY_MAGIC 0x534E504Du
#define DISK_MAGIC 0x534E5044u
#define SECTOR_SIZE 512

typedef struct {
	char *dir; /* scratch: the disk, the snapshot, one folder per engine run */
	char *disk;
	char *drive;
	char *kernel;
	char *snapshot; /* the snapshot-save folder */
	unsigned runs;
} SnapshotFixture;

static bool snapshot_fixture_init(SnapshotFixture *f, const char *format)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *qemu_img = g_find_program_in_path("qemu-img");

	memset(f, 0, sizeof(*f));
	if (!guest_require_kvm())
		return false;
	if (!qemu_img) {
		g_test_skip("needs qemu-img (package qemu-utils) to make and roll back the disk");
		return false;
	}
	f->dir = g_dir_make_tmp("hangar-snapshot-kvm-XXXXXX", &error);
	g_assert_no_error(error);
	f->disk = g_build_filename(f->dir, strcmp(format, "raw") == 0 ? "disk.img" : "disk.qcow2",
				   NULL);
	f->drive = g_strdup_printf("file=%s,if=virtio", f->disk);
	f->kernel = guest_path("snapshot-pattern");
	f->snapshot = g_build_filename(f->dir, "snapshot", NULL);
	return true;
}

/* Removes the scratch folder only when the test got here: a failing test
 * aborts before, leaving it to look at. */
static void snapshot_fixture_clear(SnapshotFixture *f)
{
	if (f->dir)
		hg_test_remove_tree(f->dir);
	g_free(f->dir);
	g_free(f->disk);
	g_free(f->drive);
	g_free(f->kernel);
	g_free(f->snapshot);
}

/* Runs a program to its end; returns its exit status, its output in *out. */
static int run_program(const char *const *argv, char **out)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *standard_out = NULL, *standard_error = NULL;
	int wait_status;

	g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &standard_out,
		     &standard_error, &wait_status, &error);
	g_assert_no_error(error);
	if (out)
		*out = g_strconcat(standard_out, standard_error, NULL);
	return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

static void qemu_img_ok(const char *const *argv)
{
	g_autofree char *out = NULL;
	int status = run_program(argv, &out);

	if (status != 0)
		g_error("%s %s exited with %d: %s", argv[0], argv[1], status, out);
}

static void create_disk(SnapshotFixture *f, const char *format)
{
	const char *argv[] = {"qemu-img", "create", "-q", "-f", format, f->disk, "16M", NULL};
	qemu_img_ok(argv);
}

/* Whether `qemu-img snapshot -l` lists an internal snapshot with that tag
 * (second column of its table). */
static bool disk_has_snapshot(SnapshotFixture *f, const char *tag)
{
	const char *argv[] = {"qemu-img", "snapshot", "-l", f->disk, NULL};
	g_autofree char *out = NULL;
	bool found = false;

	g_assert_cmpint(run_program(argv, &out), ==, 0);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++) {
		char id[64], line_tag[256];
		if (sscanf(*l, "%63s %255s", id, line_tag) == 2 && strcmp(line_tag, tag) == 0)
			found = true;
	}
	return found;
}

static void apply_disk_snapshot(SnapshotFixture *f, const char *tag)
{
	const char *argv[] = {"qemu-img", "snapshot", "-a", tag, f->disk, NULL};
	qemu_img_ok(argv);
}

static void assert_disk_checks_clean(SnapshotFixture *f)
{
	const char *argv[] = {"qemu-img", "check", f->disk, NULL};
	g_autofree char *out = NULL;
	int status = run_program(argv, &out);

	if (status != 0 || !strstr(out, "No errors were found"))
		g_error("qemu-img check %s: exit %d: %s", f->disk, status, out);
}

/* Asks the engine to quit, which it must do with status 0. */
static void quit_engine(GuestRun *r)
{
	g_free(guest_run_control(r, "{\"execute\":\"quit\"}"));
	g_assert_cmpint(guest_run_wait_exit(r, GUEST_TIMEOUT_MS), ==, 0);
	guest_run_free(r);
}

static uint64_t pattern_word(uint32_t magic, unsigned generation, unsigned i)
{
	return (uint64_t)magic << 32 | (uint64_t)(generation & 0xFFFF) << 16 | (i & 0xFFFF);
}

static void assert_pattern(const char *what, const char *bytes, size_t len, uint32_t magic,
			   unsigned generation)
{
	for (unsigned i = 0; i < len / 8; i++) {
		uint64_t word;
		memcpy(&word, bytes + 8 * i, 8);
		if (GUINT64_FROM_LE(word) != pattern_word(magic, generation, i))
			g_error("%s: word %u is 0x%" G_GINT64_MODIFIER "x, not generation %u's "
				"0x%" G_GINT64_MODIFIER "x",
				what, i, GUINT64_FROM_LE(word), generation,
				pattern_word(magic, generation, i));
	}
}

/* The guest's sector, read by qemu-img from the disk as it is or from one
 * of its internal snapshots. */
static void assert_disk_holds(SnapshotFixture *f, const char *tag, unsigned generation)
{
	g_autofree char *raw = g_build_filename(f->dir, "disk-copy.raw", NULL);
	g_autoptr(GStrvBuilder) args = g_strv_builder_new();
	g_autofree char *image = NULL;
	g_autofree char *what = NULL;
	g_autofree char *option = NULL;
	gsize len;

	g_strv_builder_add_many(args, "qemu-img", "convert", "-O", "raw", NULL);
	if (tag) {
		option = g_strdup_printf("snapshot.name=%s", tag);
		g_strv_builder_add_many(args, "-l", option, NULL);
		what = g_strdup_printf("sector %u of disk snapshot %s", PATTERN_SECTOR, tag);
	} else {
		what = g_strdup_printf("sector %u of the disk", PATTERN_SECTOR);
	}
	g_strv_builder_add_many(args, f->disk, raw, NULL);
	g_auto(GStrv) argv = g_strv_builder_end(args);
	qemu_img_ok((const char *const *)argv);
	g_assert_true(g_file_get_contents(raw, &image, &len, NULL));
	g_assert_cmpuint(len, >=, (PATTERN_SECTOR + 1) * SECTOR_SIZE);
	assert_pattern(what, image + PATTERN_SECTOR * SECTOR_SIZE, SECTOR_SIZE, DISK_MAGIC,
		       generation);
	g_unlink(raw);
}

/* The guest's memory region in the snapshot's RAM file. */
static void assert_snapshot_ram_holds(SnapshotFixture *f, unsigned generation)
{
	g_autofree char *path = g_build_filename(f->snapshot, "ram", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GMappedFile) ram = g_mapped_file_new(path, FALSE, &error);
	size_t len = PATTERN_MEMORY_PAGES * 4096;

	g_assert_no_error(error);
	g_assert_cmpuint(g_mapped_file_get_length(ram), >=, PATTERN_MEMORY_ADDRESS + len);
	assert_pattern("the snapshot's RAM at 0x400000",
		       g_mapped_file_get_contents(ram) + PATTERN_MEMORY_ADDRESS, len, MEMORY_MAGIC,
		       generation);
}

/* The engine on the guest and the disk, in a folder of its own; with
 * --restore when restore is set. */
static GuestRun *start_engine(SnapshotFixture *f, const char *restore)
{
	g_autofree char *name = g_strdup_printf("run%u", ++f->runs);
	g_autofree char *run_dir = g_build_filename(f->dir, name, NULL);
	g_autoptr(GStrvBuilder) args = g_strv_builder_new();

	g_strv_builder_add_many(args, "--kernel", f->kernel, "--debug-exit", "--memory", "64",
				"--drive", f->drive, NULL);
	if (restore)
		g_strv_builder_add_many(args, "--restore", restore, NULL);
	g_auto(GStrv) argv = g_strv_builder_end(args);
	g_assert_cmpint(g_mkdir(run_dir, 0700), ==, 0);
	return guest_run_startv(run_dir, (const char *const *)argv);
}

static void wait_output(GuestRun *r, const char *needle)
{
	if (!guest_run_wait_output(r, needle, GUEST_TIMEOUT_MS))
		g_error("%s: \"%s\" did not come (engine %s); serial:\n%s", r->dir, needle,
			r->exited ? "exited" : "still running", r->serial->str);
}

/* The numbers of every complete "count N" line in text, in order. */
static GArray *parse_counts(const char *text)
{
	GArray *counts = g_array_new(FALSE, FALSE, sizeof(unsigned));
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (char **l = lines; *l && *(l + 1); l++) {
		unsigned n;
		char tail;
		if (sscanf(*l, "count %u%c", &n, &tail) == 1)
			g_array_append_val(counts, n);
	}
	return counts;
}

static unsigned last_count(const char *text)
{
	g_autoptr(GArray) counts = parse_counts(text);

	return counts->len ? g_array_index(counts, unsigned, counts->len - 1) : 0;
}

/* Waits until the guest has printed `more` count lines past its latest. */
static void wait_more_counts(GuestRun *r, unsigned more)
{
	g_autofree char *want = g_strdup_printf("count %u\n", last_count(r->serial->str) + more);
	wait_output(r, want);
}

/* Generation 1 is on disk and in memory, and the guest is counting. */
static void wait_generation_1_counting(GuestRun *r)
{
	wait_output(r, "gen 1 written\n");
	wait_output(r, "count 3\n");
}

static JsonObject *parse_reply(const char *reply, JsonNode **root)
{
	g_autoptr(GError) error = NULL;

	*root = json_from_string(reply, &error);
	g_assert_no_error(error);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(*root));
	return json_node_get_object(*root);
}

static char *snapshot_save(GuestRun *r, const char *path, const char *disk_snapshot)
{
	g_autofree char *request =
		g_strdup_printf("{\"execute\":\"snapshot-save\",\"arguments\":{\"path\":\"%s\","
				"\"disk-snapshot\":\"%s\"}}",
				path, disk_snapshot);
	return guest_run_control(r, request);
}

/* A successful snapshot-save: its report, and the folder's two files. */
static void assert_snapshot_taken(SnapshotFixture *f, const char *reply)
{
	g_autoptr(JsonNode) root = NULL;
	JsonObject *o = parse_reply(reply, &root);
	g_autofree char *state = g_build_filename(f->snapshot, "state", NULL);
	g_autofree char *ram = g_build_filename(f->snapshot, "ram", NULL);

	if (!json_object_has_member(o, "return"))
		g_error("snapshot-save failed: %s", reply);
	JsonObject *ret = json_object_get_object_member(o, "return");
	g_assert_nonnull(ret);
	g_assert_true(json_object_has_member(ret, "pause-us"));
	g_assert_cmpint(json_object_get_int_member(ret, "pause-us"), >, 0);
	g_assert_cmpint(json_object_get_int_member(ret, "disks"), ==, 1);
	g_test_message("snapshot-save: the guest stood still %" G_GINT64_FORMAT " us",
		       json_object_get_int_member(ret, "pause-us"));
	g_assert_true(g_file_test(state, G_FILE_TEST_IS_REGULAR));
	g_assert_true(g_file_test(ram, G_FILE_TEST_IS_REGULAR));
}

/* A refused snapshot-save: the error's description, which must name why. */
static void assert_snapshot_refused(const char *reply, const char *why)
{
	g_autoptr(JsonNode) root = NULL;
	JsonObject *o = parse_reply(reply, &root);

	if (!json_object_has_member(o, "error"))
		g_error("snapshot-save was not refused: %s", reply);
	JsonObject *error = json_object_get_object_member(o, "error");
	const char *desc = json_object_get_string_member(error, "desc");
	g_test_message("refused: %s", desc);
	if (!strstr(desc, why))
		g_error("the refusal \"%s\" does not say \"%s\"", desc, why);
}

/* Runs the first engine: generation 1, the snapshot, then on until
 * generation 2 has overwritten memory and disk.  Returns its output. */
static char *run_until_generation_2(SnapshotFixture *f)
{
	GuestRun *r = start_engine(f, NULL);
	g_autofree char *reply = NULL;
	char *output;

	wait_generation_1_counting(r);
	reply = snapshot_save(r, f->snapshot, DISK_SNAPSHOT);
	assert_snapshot_taken(f, reply);
	wait_output(r, "gen 2 written\n");
	g_assert_null(strstr(r->serial->str, "MISMATCH"));
	output = g_strdup(r->serial->str);
	quit_engine(r);
	return output;
}

static void test_round_trip_reverts_memory_and_disk(void)
{
	SnapshotFixture f;

	if (!snapshot_fixture_init(&f, "qcow2"))
		return;
	create_disk(&f, "qcow2");
	g_autofree char *first = run_until_generation_2(&f);
	/* What the snapshot holds, seen from outside: generation 1 in its RAM
	 * file and its disk snapshot, while the disk itself is at 2. */
	g_assert_true(disk_has_snapshot(&f, DISK_SNAPSHOT));
	assert_snapshot_ram_holds(&f, 1);
	assert_disk_holds(&f, DISK_SNAPSHOT, 1);
	assert_disk_holds(&f, NULL, 2);

	apply_disk_snapshot(&f, DISK_SNAPSHOT);
	GuestRun *r = start_engine(&f, f.snapshot);
	wait_output(r, "gen 2 written\n");
	/* Up to there: the first run's output may end there too. */
	const char *end = strstr(r->serial->str, "gen 2 written\n") + strlen("gen 2 written\n");
	g_autofree char *second = g_strndup(r->serial->str, end - r->serial->str);

	/* Not a boot: the banner and generation 1 are not printed again. */
	g_assert_null(strstr(second, "snapshot-pattern:"));
	g_assert_null(strstr(second, "gen 1 written"));
	if (strstr(second, "MISMATCH") || !strstr(second, "gen 2: memory and disk hold gen 1\n"))
		g_error("the restored guest did not find generation 1 in memory and on disk:\n%s",
			second);

	/* The restored run printed what the first one printed after the
	 * snapshot point: where it starts in the first run's output is the
	 * snapshot point, which lies in generation 1's counts. */
	const char *point = strstr(first, second);
	if (!point)
		g_error("the restored run's output is not the first run's continuation.\n"
			"first run:\n%s\nrestored run:\n%s",
			first, second);
	g_assert_true(point > strstr(first, "gen 1 written\n"));
	g_assert_true(point < strstr(first, "gen 2: "));
	g_autofree char *until_snapshot = g_strndup(first, point - first);
	g_autofree char *joined = g_strconcat(until_snapshot, second, NULL);
	g_autoptr(GArray) all = parse_counts(joined);
	g_assert_cmpuint(all->len, ==, COUNTS_PER_GENERATION);
	for (guint i = 0; i < all->len; i++)
		g_assert_cmpuint(g_array_index(all, unsigned, i), ==, i + 1);
	g_test_message("snapshot point after count %u; gen 2 again after count %u",
		       last_count(until_snapshot), last_count(second));

	quit_engine(r);
	g_assert_true(disk_has_snapshot(&f, DISK_SNAPSHOT));
	assert_disk_holds(&f, NULL, 2);
	assert_disk_checks_clean(&f);
	snapshot_fixture_clear(&f);
}

static void test_restore_without_disk_revert_shows_mismatch(void)
{
	SnapshotFixture f;

	if (!snapshot_fixture_init(&f, "qcow2"))
		return;
	create_disk(&f, "qcow2");
	g_free(run_until_generation_2(&f));

	/* RAM goes back to generation 1, the disk stays at generation 2. */
	GuestRun *r = start_engine(&f, f.snapshot);
	int status = guest_run_wait_exit(r, GUEST_TIMEOUT_MS);
	if (status != DEBUG_EXIT_FAIL ||
	    !strstr(r->serial->str, "MISMATCH disk: holds gen 2, expected gen 1\n"))
		g_error("expected the guest to find generation 2 on disk and fail; exit %d:\n%s",
			status, r->serial->str);
	g_assert_null(strstr(r->serial->str, "MISMATCH memory"));
	g_assert_null(strstr(r->serial->str, "gen 1 written"));
	g_assert_nonnull(strstr(r->serial->str, "FAIL: snapshot-pattern"));
	guest_run_free(r);
	assert_disk_checks_clean(&f);
	snapshot_fixture_clear(&f);
}

static void test_raw_disk_is_refused(void)
{
	SnapshotFixture f;

	if (!snapshot_fixture_init(&f, "raw"))
		return;
	create_disk(&f, "raw");
	GuestRun *r = start_engine(&f, NULL);
	wait_generation_1_counting(r);

	g_autofree char *reply = snapshot_save(r, f.snapshot, DISK_SNAPSHOT);
	assert_snapshot_refused(reply, "qcow2");
	g_assert_false(g_file_test(f.snapshot, G_FILE_TEST_EXISTS));
	wait_more_counts(r, 3);
	g_autofree char *status = guest_run_control(r, "{\"execute\":\"query-status\"}");
	g_assert_nonnull(strstr(status, "\"running\""));
	g_assert_null(strstr(r->serial->str, "MISMATCH"));
	quit_engine(r);
	snapshot_fixture_clear(&f);
}

static void test_existing_path_is_refused(void)
{
	SnapshotFixture f;
	g_autofree char *kept = NULL;
	g_autoptr(GError) error = NULL;

	if (!snapshot_fixture_init(&f, "qcow2"))
		return;
	create_disk(&f, "qcow2");
	g_autofree char *marker = g_build_filename(f.snapshot, "kept", NULL);
	g_assert_cmpint(g_mkdir(f.snapshot, 0700), ==, 0);
	g_assert_true(g_file_set_contents(marker, "mine", -1, NULL));
	GuestRun *r = start_engine(&f, NULL);
	wait_generation_1_counting(r);

	g_autofree char *reply = snapshot_save(r, f.snapshot, DISK_SNAPSHOT);
	assert_snapshot_refused(reply, "exists");
	g_autoptr(GDir) dir = g_dir_open(f.snapshot, 0, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(g_dir_read_name(dir), ==, "kept");
	g_assert_null(g_dir_read_name(dir));
	g_assert_true(g_file_get_contents(marker, &kept, NULL, NULL));
	g_assert_cmpstr(kept, ==, "mine");
	wait_more_counts(r, 3);
	quit_engine(r);
	/* No disk snapshot was left behind either. */
	g_assert_false(disk_has_snapshot(&f, DISK_SNAPSHOT));
	assert_disk_checks_clean(&f);
	snapshot_fixture_clear(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/snapshot-kvm/round-trip-reverts-memory-and-disk",
			test_round_trip_reverts_memory_and_disk);
	g_test_add_func("/snapshot-kvm/restore-without-disk-revert-shows-mismatch",
			test_restore_without_disk_revert_shows_mismatch);
	g_test_add_func("/snapshot-kvm/raw-disk-is-refused", test_raw_disk_is_refused);
	g_test_add_func("/snapshot-kvm/existing-path-is-refused", test_existing_path_is_refused);
	return g_test_run();
}
