#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Importing disk images in the app, end to end, as a user sees it.

Runs the real app under Xvfb (run-under-xvfb.sh) with HANGAR_LIBRARY on a
temporary library, drives it through its accessibility tree (AT-SPI) and
checks the library with hangarctl and the disks with `qemu-img compare`.

Files reach the app three ways here: app.import over D-Bus (as a desktop
or a script would), a real drag and drop (xdotool drags a file from a
small GTK window of this script's, --drag-source, onto the library), and
`hangar FILE` is the same "open" the two end in.

  1. a raw image (8 GiB, sparse, 16 MiB of data every 128 MiB: 1 GiB to
     copy, which takes a few seconds) through app.import: "Import as" asks,
     Copy is the default; a row shows the progress ("... of 8.6 GB · ...");
     the VM appears in the library and its disk compares equal to the image;
  2. a qcow2 image dropped on the window: imported the same way, named
     after the file; then an OVA dropped: no question, the VM named and
     sized as its descriptor says, its disk equal to the image, and its row
     stays with a note (its network adapter left out) until closed;
  3. the raw image again, cancelled from its row: the row goes and the
     library has nothing from it (no VM, no hidden staging folder);
  4. the qcow2 image again, given as `hangar FILE`, as an overlay: a second
     VM ("disk 2") whose disk is backed by the image;
  5. a gzip file (of text, not a disk image): its row turns into an error
     that names the file and the reason; Close removes it;
  6. Import… in the main menu: the file chooser (its location typed), the
     qcow2 image used where it is ("disk 3");
  7. an ISO opens the create wizard instead.

Output is TAP.  Environment: HANGAR_APP, HANGARCTL, HANGAR_ENGINE,
GSETTINGS_SCHEMA_DIR, HANGAR_TEST_ISO; optional HANGAR_TEST_SCREENSHOTS=DIR
keeps the screenshots.  Needs qemu-img and qemu-io (qemu-utils), xdotool.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import gi

gi.require_version("Gdk", "3.0")
import uitest  # noqa: E402
from uitest import (  # noqa: E402
    TIMEOUT, tap_ok, bail, tap_plan, wait_for, find_all, find, app_node, press, hangarctl)


# ---- the accessibility tree ----

# ---- the library ----

def listed_vm(name):
    return next((vm for vm in hangarctl("list")["vms"] if vm["name"] == name), None)


def vm_disk(vm):
    return next(d for d in vm["disks"] if d["media"] == "disk")["file"]


def hidden_folders(library):
    vms = os.path.join(library, "vms")
    return [name for name in os.listdir(vms) if name.startswith(".")]


def images_equal(a, b):
    return subprocess.run(["qemu-img", "compare", "-q", a, b]).returncode == 0


# ---- pictures and the mouse ----

def screenshot(path):
    time.sleep(0.5)  # the list of imports slides in
    return uitest.screenshot(path)


def xdotool(*args):
    return subprocess.run(["xdotool", *map(str, args)], capture_output=True, text=True,
                          timeout=30).stdout


def drag_source(uris):
    """--drag-source: a small window that offers uris (text/uri-list) to a
    drag that starts on it, and quits when the drag ends."""
    gi.require_version("Gtk", "3.0")
    from gi.repository import Gtk

    window = Gtk.Window(title="Hangar test drag source")
    window.set_default_size(160, 100)
    window.move(1100, 660)
    box = Gtk.EventBox()
    box.add(Gtk.Label(label="Drag me"))
    box.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
    box.drag_source_add_uri_targets()
    box.connect("drag-data-get", lambda w, context, data, info, t: data.set_uris(uris))
    box.connect("drag-end", lambda *args: Gtk.main_quit())
    window.add(box)
    window.connect("destroy", Gtk.main_quit)
    window.show_all()
    GLib.timeout_add_seconds(TIMEOUT, Gtk.main_quit)
    Gtk.main()


def drop_files(root, paths, work):
    """Drags paths from a --drag-source window onto the app's window with
    the X pointer, as a user drags from the file manager."""
    uris = [GLib.filename_to_uri(path) for path in paths]
    env = dict(os.environ, NO_AT_BRIDGE="1")
    helper = subprocess.Popen([sys.executable, __file__, "--drag-source", *uris], env=env,
                              stdout=open(os.path.join(work, "drag.log"), "a"),
                              stderr=subprocess.STDOUT)
    try:
        found = wait_for(lambda: xdotool("search", "--name", "Hangar test drag source").split(),
                         "the drag source window")
        geometry = wait_for(lambda: xdotool("getwindowgeometry", "--shell", found[0]),
                            "the drag source's geometry")
        g = dict(line.split("=") for line in geometry.split())
        sx, sy = int(g["X"]) + int(g["WIDTH"]) // 2, int(g["Y"]) + int(g["HEIGHT"]) // 2
        frame = wait_for(lambda: find(root, "frame"), "the app's window")
        e = frame.get_extents(Atspi.CoordType.SCREEN)
        tx, ty = e.x + e.width // 2, e.y + e.height // 2
        xdotool("mousemove", sx, sy)
        time.sleep(0.3)
        xdotool("mousedown", 1)
        # Past GTK's drag threshold, then across in steps, as a hand would.
        for i in range(1, 21):
            xdotool("mousemove", sx + (tx - sx) * i // 20, sy + (ty - sy) * i // 20)
            time.sleep(0.05)
        time.sleep(0.5)
        xdotool("mouseup", 1)
        helper.wait(TIMEOUT)
    finally:
        if helper.poll() is None:
            helper.kill()


def open_over_dbus(action, path):
    bus = Gio.bus_get_sync(Gio.BusType.SESSION)
    actions = Gio.DBusActionGroup.get(bus, "org.hangar.Hangar", "/org/hangar/Hangar")
    actions.activate_action(action, GLib.Variant("s", path))
    bus.flush_sync()


# ---- the import rows ----

def progress_text(root, file_name):
    """The status line of the file's import row while it copies."""
    bar = find(root, "progress bar", f"Progress of importing {file_name}")
    if not bar:
        return None
    label = find(bar.get_parent(), "label", contains=" of ")
    return label.get_name().replace("\u00a0", " ") if label else None


def answer_import_as(root, choice="Copy into the library"):
    wait_for(lambda: find(root, "radio button", "Copy into the library"),
             "the Import as question")
    copy = find(root, "radio button", "Copy into the library")
    if not copy.get_state_set().contains(Atspi.StateType.CHECKED):
        bail("Copy is not the default way to import")
    if choice != "Copy into the library":
        radio = find(root, "radio button", choice)
        radio.do_action(0)
        wait_for(lambda: radio.get_state_set().contains(Atspi.StateType.CHECKED),
                 f"{choice!r} to be chosen")
    press(root, "Import")


def make_images(work):
    raw = os.path.join(work, "raw.img")
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", raw, "8G"], check=True)
    writes = []
    for i in range(64):
        writes += ["-c", f"write -q -P {i + 1} {i * 128}M 16M"]
    subprocess.run(["qemu-io", "-f", "raw", *writes, raw], check=True)

    qcow2 = os.path.join(work, "disk.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow2, "1G"], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -q -P 0x5a 0 4M",
                    "-c", "write -q -P 0xa5 700M 4M", qcow2], check=True)

    # Compressed text, not a disk image in any form.
    notes = os.path.join(work, "notes.txt")
    with open(notes, "w") as out:
        out.write("Not a disk image.\n")
    gz = notes + ".gz"
    with open(gz, "wb") as out:
        subprocess.run(["gzip", "-c", notes], stdout=out, check=True)

    # An OVA whose disk is the qcow2 image as a streamOptimized VMDK.
    vmdk = os.path.join(work, "appliance-disk1.vmdk")
    subprocess.run(["qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized",
                    qcow2, vmdk], check=True)
    ova = os.path.join(work, "appliance.ova")
    make_ova = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "library",
                            "import", "make-ova.py")
    subprocess.run([sys.executable, make_ova, ova, "--name", "Build Box", "--cpus", "3",
                    "--memory-mib", "1536", "--disk", vmdk], check=True)
    return raw, qcow2, gz, ova


def main():
    work = tempfile.mkdtemp(prefix="hangar-ui-import-")
    runtime = os.path.join(work, "run")
    os.mkdir(runtime, 0o700)
    library = os.path.join(work, "library")
    os.environ.update({
        "HANGAR_LIBRARY": library,
        "XDG_DATA_HOME": os.path.join(work, "data"),
        "XDG_CONFIG_HOME": os.path.join(work, "config"),
        "XDG_CACHE_HOME": os.path.join(work, "cache"),
        "XDG_RUNTIME_DIR": runtime,
        "GSETTINGS_BACKEND": "memory",
        "LC_ALL": "C.UTF-8",
        "LANGUAGE": "",
    })
    os.environ.pop("NO_AT_BRIDGE", None)
    shots = os.environ.get("HANGAR_TEST_SCREENSHOTS") or work
    os.makedirs(shots, exist_ok=True)
    raw, qcow2, gz, ova = make_images(work)

    app = subprocess.Popen([os.environ["HANGAR_APP"]],
                           stdout=open(os.path.join(work, "app.log"), "w"),
                           stderr=subprocess.STDOUT)
    root = None
    try:
        Atspi.init()
        root = wait_for(lambda: app_node(app.pid), "the app on the accessibility bus")
        wait_for(lambda: find(root, "label", "No virtual machines yet"), "the empty library")

        # 1. A raw image through app.import, copied.
        open_over_dbus("import", raw)
        wait_for(lambda: find(root, "label", contains="This raw disk image"),
                 "the Import as question for a raw image")
        screenshot(os.path.join(shots, "import-as.png"))
        answer_import_as(root)
        text = wait_for(lambda: progress_text(root, "raw.img"), "the import's progress row")
        if " of 8.6 GB" not in text:
            bail(f"the progress row says {text!r}")
        wait_for(lambda: "left" in (progress_text(root, "raw.img") or "left"),
                 "the row to tell the speed and the time left")
        screenshot(os.path.join(shots, "import-progress.png"))
        seen = progress_text(root, "raw.img")
        vm = wait_for(lambda: listed_vm("raw"), "the VM in the library")
        wait_for(lambda: find(root, "label", "raw"), "the VM in the app's library")
        wait_for(lambda: not find(root, "progress bar", "Progress of importing raw.img"),
                 "the row to go")
        if not images_equal(raw, vm_disk(vm)):
            bail("the imported disk differs from the image")
        tap_ok(f"a raw image imported through app.import: the row said {seen!r}; "
               "the VM's disk equals the image")

        # 2. A qcow2 image dropped on the window.
        drop_files(root, [qcow2], work)
        wait_for(lambda: find(root, "label", contains="This qcow2 disk image"),
                 "the Import as question for the dropped qcow2 image")
        answer_import_as(root)
        vm = wait_for(lambda: listed_vm("disk"), "the dropped image's VM in the library")
        wait_for(lambda: find(root, "label", "disk"), "the VM in the app's library")
        if not images_equal(qcow2, vm_disk(vm)):
            bail("the dropped image's disk differs from it")
        screenshot(os.path.join(shots, "import-dropped.png"))
        tap_ok("a qcow2 image dragged onto the window and dropped is imported")

        # 2b. An OVA dropped: no question (appliances are copied), the VM
        # named and sized as its descriptor says.
        drop_files(root, [ova], work)
        vm = wait_for(lambda: listed_vm("Build Box"), "the appliance's VM in the library")
        wait_for(lambda: find(root, "label", "Build Box"), "the appliance in the app's library")
        if (vm["cpus"], vm["memory-mib"]) != (3, 1536):
            bail(f"the appliance's VM has {vm['cpus']} CPUs and {vm['memory-mib']} MiB")
        if not images_equal(qcow2, vm_disk(vm)):
            bail("the appliance's disk differs from the image it was made from")
        # Its network adapter could not come along: the row stays and says so.
        note = wait_for(lambda: find(root, "label", contains="network adapter"),
                        "the note about the appliance's network adapter").get_name()
        screenshot(os.path.join(shots, "import-ova.png"))
        press(root, "Close the notes about appliance.ova")
        wait_for(lambda: not find(root, "label", contains="network adapter"),
                 "the noted row to close")
        tap_ok("an OVA dropped on the window becomes the VM its descriptor describes; "
               f"its row notes {note!r}")

        # 3. Cancelled: nothing is left.
        before = sorted(v["id"] for v in hangarctl("list")["vms"])
        open_over_dbus("import", raw)
        answer_import_as(root)
        # At once: a cancel that comes after the copy (while the library
        # publishes the VM) no longer undoes it.
        press(root, "Cancel import of raw.img")
        wait_for(lambda: not find(root, "progress bar", "Progress of importing raw.img"),
                 "the cancelled row to go")
        after = sorted(v["id"] for v in hangarctl("list")["vms"])
        if after != before or hidden_folders(library):
            bail(f"the cancelled import left {after} and {hidden_folders(library)}")
        tap_ok("a cancelled import leaves no VM and no staging folder")

        # 4. The qcow2 image again, under an overlay: named "disk 2".  As
        # `hangar FILE` (the file manager's Open With): this second instance
        # hands the file to the running one and exits.
        subprocess.run([os.environ["HANGAR_APP"], qcow2], timeout=TIMEOUT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        answer_import_as(root, "Keep the file unchanged")
        vm = wait_for(lambda: listed_vm("disk 2"), "the overlay VM in the library")
        info = subprocess.run(["qemu-img", "info", "--output=json", vm_disk(vm)],
                              capture_output=True, text=True, check=True).stdout
        if json.loads(info).get("full-backing-filename") != qcow2:
            bail(f"the overlay's backing file is not the image: {info}")
        tap_ok("the same image again, as an overlay: a second VM backed by the image")

        # 5. A gzip file: an error row.
        open_over_dbus("import", gz)
        title = wait_for(lambda: find(root, "label", "“notes.txt.gz” cannot be imported"),
                         "the error row")
        reason = wait_for(lambda: next((n.get_name() for n in find_all(title.get_parent(),
                                                                       "label")
                                        if n.get_name() and n.get_name() != title.get_name()),
                                       None), "the reason")
        screenshot(os.path.join(shots, "import-error.png"))
        if listed_vm("notes"):
            bail("the gzip file became a VM")
        press(root, "Close the error about notes.txt.gz")
        wait_for(lambda: not find(root, "label", "“notes.txt.gz” cannot be imported"),
                 "the error row to close")
        tap_ok(f"a gzip file gives an error row: {reason!r}")

        # 6. File → Import… (the main menu): the file chooser, the image
        # used where it is.
        wait_for(lambda: find(root, "toggle button", "Main menu"), "the main menu").do_action(0)
        press(root, "Import…")
        chooser = wait_for(lambda: find(root, "file chooser", "Import Disk Images"),
                           "the file chooser")
        screenshot(os.path.join(shots, "import-chooser.png"))
        # The location entry (Ctrl+L), typed into through AT-SPI: xdotool's
        # typing races the entry's completion.
        window = wait_for(lambda: xdotool("search", "--name", "Import Disk Images").split(),
                          "the file chooser's X window")
        xdotool("windowfocus", "--sync", window[0])
        xdotool("key", "ctrl+l")
        wait_for(lambda: find(chooser, "text"), "the chooser's location entry") \
            .set_text_contents(qcow2)
        press(chooser, "Import")
        answer_import_as(root, "Use the file where it is")
        vm = wait_for(lambda: listed_vm("disk 3"), "the VM using the image in place")
        if vm_disk(vm) != qcow2:
            bail(f"the VM's disk is {vm_disk(vm)}, not the image where it is")
        wait_for(lambda: not find(root, "progress bar", contains="Progress of importing"),
                 "the list of imports to close")
        tap_ok("Import… in the main menu: a file chosen, used where it is")

        # 7. An ISO goes to the create wizard.
        open_over_dbus("import", os.environ["HANGAR_TEST_ISO"])
        wait_for(lambda: find(root, "frame", "New Virtual Machine") or
                 find(root, "dialog", "New Virtual Machine"), "the create wizard")
        if find(root, "progress bar", contains="Progress of importing"):
            bail("the ISO got an import row")
        screenshot(os.path.join(shots, "import-iso.png"))
        tap_ok("an ISO opens the create wizard, not an import")
    except SystemExit:
        screenshot(os.path.join(shots, "failure.png"))
        if root is not None:
            labels = [n.get_name() for n in find_all(root, "label") if n.get_name()]
            print("# labels shown: " + " | ".join(labels)[:2000].replace("\n", " "), flush=True)
        log = open(os.path.join(work, "app.log")).read()
        print("# app log:\n# " + log.replace("\n", "\n# "), flush=True)
        raise
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
        if not os.environ.get("HANGAR_TEST_SCREENSHOTS"):
            shutil.rmtree(work, ignore_errors=True)
    tap_plan()


if __name__ == "__main__":
    gi.require_version("Atspi", "2.0")
    from gi.repository import Atspi, Gdk, Gio, GLib  # noqa: E402
    if sys.argv[1:2] == ["--drag-source"]:
        drag_source(sys.argv[2:])
    else:
        main()
