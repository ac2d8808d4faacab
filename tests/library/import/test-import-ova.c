/* OVA appliances become VMs (library/import/import_ova.c): OVAs assembled
 * here by make-ova.py (an OVF descriptor it writes, a manifest, disks made
 * by qemu-img as streamOptimized VMDKs or raw) import to VMs whose disks
 * compare equal to the sources and whose settings are the descriptor's;
 * broken and hostile ones are refused with an error that names the
 * problem and leave the library as it was. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "library/import/import.h"
#include "library/import/ova_manifest.h"
#include "library/vm/vm_library.h"
#include "tests/library/import/import-test-util.h"

/* make-ova.py OUT ARGS... */
static char *make_ova(const char *name, const char *args)
{
	g_autofree char *script =
		g_test_build_filename(G_TEST_DIST, "library", "import", "make-ova.py", NULL);
	char *ova = work_file(name);

	sh("python3 '%s' '%s' %s", script, ova, args);
	return ova;
}

/* A streamOptimized VMDK of make_raw's image, with more data at offset. */
static char *make_vmdk(const char *name, const char *pattern_at)
{
	g_autofree char *raw_name = g_strconcat(name, ".raw", NULL);
	g_autofree char *raw = make_raw(raw_name);
	g_autofree char *write = g_strdup_printf("write -P 0x5c %s 64k", pattern_at);
	char *vmdk = work_file(name);

	g_free(qemu("qemu-io", "-f", "raw", "-c", write, raw, NULL));
	g_free(qemu("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o",
		    "subformat=streamOptimized", raw, vmdk, NULL));
	return vmdk;
}

static char *disk_path(const HgVmEntry *entry, guint i)
{
	HgVmDisk *disk = g_ptr_array_index(entry->config->disks, i);
	return hg_vm_entry_resolve(entry, disk->path);
}

static void test_appliance_with_two_disks(void)
{
	g_autofree char *system = make_vmdk("system.vmdk", "1M");
	g_autofree char *data = make_vmdk("data.vmdk", "5M");
	g_autofree char *args = g_strdup_printf(
		"--name 'Build server' --cpus 3 --memory-mib 1536 --efi "
		"--os-type debian12_64Guest --disk '%s' --disk '%s' --reverse-disks",
		system, data);
	g_autofree char *ova = make_ova("build-server.ova", args);
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autofree char *d0 = NULL, *d1 = NULL;
	HgImportKind kind;

	g_assert_true(hg_import_identify(ova, &kind, NULL, &error));
	g_assert_cmpint(kind, ==, HG_IMPORT_KIND_ARCHIVE);
	entry = hg_import_disk_image(lib, ova, NULL, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	/* What the descriptor says, not the file's name. */
	g_assert_cmpstr(entry->config->name, ==, "Build server");
	g_assert_cmpuint(entry->config->cpus, ==, 3);
	g_assert_cmpuint(entry->config->memory_mib, ==, 1536);
	g_assert_cmpint(entry->config->firmware, ==, HG_FIRMWARE_UEFI);
	g_assert_cmpstr(entry->config->os_id, ==, "debian12");
	/* The descriptor's order, though the archive had them the other way. */
	g_assert_cmpuint(entry->config->disks->len, ==, 2);
	d0 = disk_path(entry, 0);
	d1 = disk_path(entry, 1);
	g_free(qemu("qemu-img", "compare", system, d0, NULL));
	g_free(qemu("qemu-img", "compare", data, d1, NULL));
	g_free(qemu("qemu-img", "check", d0, NULL));
	g_assert_cmpint(((HgVmDisk *)g_ptr_array_index(entry->config->disks, 0))->boot_index, ==,
			0);
}

static void test_raw_disk_and_empty_disk(void)
{
	g_autofree char *raw = make_raw("plain-disk.img");
	g_autofree char *args = g_strdup_printf(
		"--name plain --os-type otherGuest --os-description 'Something else' "
		"--disk '%s' --empty-disk 1073741824",
		raw);
	g_autofree char *ova = make_ova("plain.ova", args);
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) entry = hg_import_disk_image(lib, ova, NULL, NULL, NULL, NULL, &error);
	g_autofree char *d0 = NULL, *d1 = NULL, *info = NULL;

	g_assert_no_error(error);
	g_assert_cmpint(entry->config->firmware, ==, HG_FIRMWARE_BIOS);
	g_assert_null(entry->config->os_id);
	g_assert_cmpuint(entry->config->disks->len, ==, 2);
	d0 = disk_path(entry, 0);
	d1 = disk_path(entry, 1);
	g_free(qemu("qemu-img", "compare", "-f", "raw", raw, d0, NULL));
	info = qemu("qemu-img", "info", "--output=json", d1, NULL);
	g_assert_nonnull(strstr(info, "\"virtual-size\": 1073741824"));
}

/* ovftool --compress: each disk file gzip-compressed in the OVA (the
 * manifest digests the compressed bytes); bzip2 as the spec allows. */
static void test_compressed_files(void)
{
	static const char *const packers[] = {"gzip", "bzip2"};

	for (unsigned i = 0; i < G_N_ELEMENTS(packers); i++) {
		g_autofree char *file = g_strdup_printf("squeezed-%s.vmdk", packers[i]);
		g_autofree char *ova_name = g_strdup_printf("squeezed-%s.ova", packers[i]);
		g_autofree char *vm_name = g_strdup_printf("squeezed-%s", packers[i]);
		g_autofree char *vmdk = make_vmdk(file, "6M");
		g_autofree char *raw = make_raw("squeezed-raw.img");
		g_autofree char *args =
			g_strdup_printf("--name %s --disk '%s' --disk '%s' --compression %s",
					vm_name, vmdk, raw, packers[i]);
		g_autofree char *ova = make_ova(ova_name, args);
		g_autoptr(GError) error = NULL;
		g_autoptr(HgVmEntry) entry =
			hg_import_disk_image(lib, ova, NULL, NULL, NULL, NULL, &error);
		g_autofree char *d0 = NULL, *d1 = NULL;

		g_assert_no_error(error);
		d0 = disk_path(entry, 0);
		d1 = disk_path(entry, 1);
		g_free(qemu("qemu-img", "compare", vmdk, d0, NULL));
		g_free(qemu("qemu-img", "compare", "-f", "raw", raw, d1, NULL));
	}
}

/* A manifest after the disks cannot be checked against: the import goes
 * on (a bad digest there is not seen). */
static void test_manifest_last(void)
{
	g_autofree char *raw = make_raw("late-manifest.img");
	g_autofree char *args = g_strdup_printf(
		"--name late-manifest --disk '%s' --manifest-last --bad-digest late-manifest.img",
		raw);
	g_autofree char *ova = make_ova("late-manifest.ova", args);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	HgImportOptions options = {.mode = HG_IMPORT_COPY, .notes = notes};
	g_autoptr(HgVmEntry) entry =
		hg_import_disk_image(lib, ova, &options, NULL, NULL, NULL, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(entry->config->disks->len, ==, 1);
	/* Said, with the network adapter it had to leave out. */
	g_assert_cmpuint(notes->len, ==, 2);
	g_assert_nonnull(strstr(g_ptr_array_index(notes, 0), "manifest comes after"));
	g_assert_nonnull(strstr(g_ptr_array_index(notes, 1), "1 network adapter;"));
}

/* The name the library already has: refused before any disk is written. */
static void test_name_taken(void)
{
	g_autofree char *raw = make_raw("taken-disk.img");
	g_autofree char *args = g_strdup_printf("--name twin --disk '%s'", raw);
	g_autofree char *ova = make_ova("twin.ova", args);
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) first = hg_import_disk_image(lib, ova, NULL, NULL, NULL, NULL, &error);
	HgImportOptions renamed = {"twin 2", HG_IMPORT_COPY};

	g_assert_no_error(error);
	assert_refused(ova, HG_VM_ERROR_EXISTS, "twin");
	/* Another name given: fine. */
	g_autoptr(HgVmEntry) second =
		hg_import_disk_image(lib, ova, &renamed, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(second->config->name, ==, "twin 2");
}

static void test_broken_and_hostile_appliances(void)
{
	g_autofree char *raw = make_raw("victim-disk.img");
	g_autofree char *vmdk = make_vmdk("victim.vmdk", "2M");
	g_autofree char *args = NULL;

	args = g_strdup_printf("--name lost --disk '%s' --missing gone.vmdk", vmdk);
	g_autofree char *missing = make_ova("missing.ova", args);
	assert_refused(missing, HG_VM_ERROR_INVALID, "\"gone.vmdk\", which is not in the archive");
	g_free(args);

	args = g_strdup_printf("--name altered --disk '%s' --wrong-size", vmdk);
	g_autofree char *altered = make_ova("altered.ova", args);
	assert_refused(altered, HG_VM_ERROR_INVALID, "the OVF says");
	g_free(args);

	args = g_strdup_printf("--name late --disk '%s' --ovf-last", raw);
	g_autofree char *late = make_ova("late.ova", args);
	assert_refused(late, HG_VM_ERROR_INVALID, "not the archive's first file");
	g_free(args);

	args = g_strdup_printf("--name many --disk '%s' --collection", vmdk);
	g_autofree char *collection = make_ova("collection.ova", args);
	assert_refused(collection, HG_VM_ERROR_UNSUPPORTED, "VirtualSystemCollection");
	g_free(args);

	args = g_strdup_printf("--name evil --disk '%s' --evil-entry ../../escape.vmdk", vmdk);
	g_autofree char *evil = make_ova("evil.ova", args);
	assert_refused(evil, HG_VM_ERROR_INVALID, "..");
	g_free(args);

	args = g_strdup_printf("--name packed --disk '%s' --claim-compression gzip", vmdk);
	g_autofree char *packed = make_ova("packed.ova", args);
	assert_refused(packed, HG_VM_ERROR_INVALID, "not compressed, though the OVF says it is");
	g_free(args);

	/* A descriptor that says 1 MiB for a disk whose stream says 8 MiB: a
	 * small appliance must not expand beyond what it declared. */
	args = g_strdup_printf("--name bomb --disk '%s:1048576'", vmdk);
	g_autofree char *bomb = make_ova("bomb.ova", args);
	assert_refused(bomb, HG_VM_ERROR_INVALID, "above the limit");
	g_free(args);

	/* Damaged or altered after the manifest was made: a disk, the
	 * descriptor. */
	args = g_strdup_printf("--name tampered --disk '%s' --bad-digest victim.vmdk", vmdk);
	g_autofree char *tampered = make_ova("tampered.ova", args);
	assert_refused(tampered, HG_VM_ERROR_INVALID, "does not match the manifest");
	g_free(args);
	args = g_strdup_printf("--name edited --disk '%s' --bad-digest edited.ovf", vmdk);
	g_autofree char *edited = make_ova("edited.ova", args);
	assert_refused(edited, HG_VM_ERROR_INVALID, "\"edited.ovf\": its content does not match");
	g_free(args);

	/* Cut in the middle of the disk. */
	args = g_strdup_printf("--name cut --disk '%s'", vmdk);
	g_autofree char *whole = make_ova("whole.ova", args);
	g_autofree char *cut = work_file("cut.ova");
	sh("head -c $(( $(stat -c %%s '%s') - 20000 )) '%s' > '%s'", whole, whole, cut);
	assert_refused(cut, HG_VM_ERROR_INVALID, "truncated");

	/* Only a descriptor. */
	g_autofree char *ovf_only = work_file("only.ova");
	g_autofree char *ovf = work_file("only.ovf");
	g_assert_true(g_file_set_contents(ovf, "<Envelope/>", -1, NULL));
	sh("tar -C '%s' -cf '%s' only.ovf", work, ovf_only);
	assert_refused(ovf_only, HG_VM_ERROR_INVALID, "OVF");
}

/* An OVF package: the descriptor with its disks beside it, not archived. */
static void test_ovf_folder(void)
{
	g_autofree char *folder = work_file("package");
	g_autofree char *raw = NULL, *vmdk = NULL, *args = NULL, *ovf = NULL, *d0 = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(HgVmEntry) entry = NULL;
	g_autofree char *format = NULL;
	HgImportKind kind;

	g_mkdir(folder, 0700);
	vmdk = make_vmdk("package/web-disk1.vmdk", "3M");
	args = g_strdup_printf("--name web --cpus 1 --memory-mib 512 --os-type windows9_64Guest "
			       "--disk '%s' --empty-disk 4194304 --folder",
			       vmdk);
	ovf = make_ova("package/web.ovf", args);
	g_assert_true(hg_import_identify(ovf, &kind, &format, &error));
	g_assert_cmpint(kind, ==, HG_IMPORT_KIND_OVF);
	entry = hg_import_disk_image(lib, ovf, NULL, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(entry->config->name, ==, "web");
	g_assert_cmpuint(entry->config->memory_mib, ==, 512);
	g_assert_cmpstr(entry->config->os_id, ==, "win10");
	g_assert_cmpuint(entry->config->disks->len, ==, 2);
	d0 = disk_path(entry, 0);
	g_free(qemu("qemu-img", "compare", vmdk, d0, NULL));

	/* Its disk gzip-compressed beside it (ovftool --compress). */
	g_autofree char *packed_args =
		g_strdup_printf("--name web-packed --disk '%s' --compression gzip --folder", vmdk);
	g_autofree char *packed = make_ova("package/web-packed.ovf", packed_args);
	g_autoptr(HgVmEntry) unpacked =
		hg_import_disk_image(lib, packed, NULL, NULL, NULL, NULL, &error);
	g_assert_no_error(error);
	g_autofree char *unpacked_disk = disk_path(unpacked, 0);
	g_free(qemu("qemu-img", "compare", vmdk, unpacked_disk, NULL));

	/* Its manifest says otherwise: of a disk, of the descriptor. */
	g_autofree char *tampered_args = g_strdup_printf(
		"--name web-tampered --disk '%s' --folder --bad-digest web-disk1.vmdk", vmdk);
	g_autofree char *tampered = make_ova("package/web-tampered.ovf", tampered_args);
	assert_refused(tampered, HG_VM_ERROR_INVALID, "does not match the manifest");
	g_autofree char *edited_args = g_strdup_printf(
		"--name web-edited --disk '%s' --folder --bad-digest web-edited.ovf", vmdk);
	g_autofree char *edited = make_ova("package/web-edited.ovf", edited_args);
	assert_refused(edited, HG_VM_ERROR_INVALID, "web-edited.ovf: its content does not match");

	/* Its disk gone: named, and nothing left. */
	g_autofree char *lost_args = g_strdup_printf(
		"--name lost-web --disk '%s' --missing web-disk2.vmdk --folder", vmdk);
	g_autofree char *lost = make_ova("package/lost.ovf", lost_args);
	assert_refused(lost, HG_VM_ERROR_INVALID, "\"web-disk2.vmdk\", which is not in its folder");
}

static void test_manifest_parser(void)
{
	static const char good[] =
		"SHA1(a.ovf)= 0123456789abcdef0123456789abcdef01234567\n"
		"SHA256 (b-disk1.vmdk) = "
		"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
		"\n"
		"SHA512(c (copy).img)="
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"000000000000000000000000000000000000000000000000\n";
	static const char *const broken[] = {
		"not a digest\n",
		"MD5(a.ovf)= 0123456789abcdef0123456789abcdef\n",
		"SHA1(a.ovf)= 0123\n",
		"SHA1(a.ovf)= 0123456789abcdef0123456789abcdef0123456z\n",
		"SHA1()= 0123456789abcdef0123456789abcdef01234567\n",
		"SHA1(a.ovf) 0123456789abcdef0123456789abcdef01234567\n",
		"SHA1(a.ovf)= 0123456789abcdef0123456789abcdef01234567\n"
		"SHA1(a.ovf)= 0123456789abcdef0123456789abcdef01234567\n",
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(HgOvaManifest) m = hg_ova_manifest_parse(good, sizeof(good) - 1, &error);
	GChecksumType type;
	const char *hex;

	g_assert_no_error(error);
	g_assert_true(hg_ova_manifest_lookup(m, "b-disk1.vmdk", &type, &hex));
	g_assert_cmpint(type, ==, G_CHECKSUM_SHA256);
	g_assert_cmpstr(hex, ==,
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	g_assert_true(hg_ova_manifest_lookup(m, "c (copy).img", &type, &hex));
	g_assert_cmpint(type, ==, G_CHECKSUM_SHA512);
	g_assert_true(
		hg_ova_manifest_matches(m, "a.ovf", "0123456789ABCDEF0123456789abcdef01234567"));
	g_assert_false(
		hg_ova_manifest_matches(m, "a.ovf", "1123456789abcdef0123456789abcdef01234567"));
	g_assert_true(hg_ova_manifest_matches(m, "unlisted.vmdk", "00"));
	for (unsigned i = 0; i < G_N_ELEMENTS(broken); i++) {
		g_autoptr(GError) e = NULL;
		g_assert_null(hg_ova_manifest_parse(broken[i], strlen(broken[i]), &e));
		g_assert_error(e, HG_VM_ERROR, HG_VM_ERROR_INVALID);
		g_test_message("%s", e->message);
	}
	g_autoptr(GError) nul = NULL;
	g_assert_null(hg_ova_manifest_parse("SHA1(a)\0= x", 12, &nul));
	g_assert_error(nul, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_autofree char *huge = g_malloc0(HG_OVA_MANIFEST_MAX_BYTES + 1);
	memset(huge, '\n', HG_OVA_MANIFEST_MAX_BYTES + 1);
	g_autoptr(GError) big = NULL;
	g_assert_null(hg_ova_manifest_parse(huge, HG_OVA_MANIFEST_MAX_BYTES + 1, &big));
	g_assert_error(big, HG_VM_ERROR, HG_VM_ERROR_INVALID);
}

int main(int argc, char **argv)
{
	int status;

	g_test_init(&argc, &argv, NULL);
	import_test_init("hangar-import-ova");
	g_test_add_func("/import-ova/appliance-with-two-disks", test_appliance_with_two_disks);
	g_test_add_func("/import-ova/raw-disk-and-empty-disk", test_raw_disk_and_empty_disk);
	g_test_add_func("/import-ova/manifest-parser", test_manifest_parser);
	g_test_add_func("/import-ova/name-taken", test_name_taken);
	g_test_add_func("/import-ova/manifest-last", test_manifest_last);
	g_test_add_func("/import-ova/compressed-files", test_compressed_files);
	g_test_add_func("/import-ova/ovf-folder", test_ovf_folder);
	g_test_add_func("/import-ova/broken-and-hostile", test_broken_and_hostile_appliances);
	status = g_test_run();
	import_test_finish();
	return status;
}
