#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The VM page's snapshots panel, end to end, as a user sees it.

Runs the real app under Xvfb (run-under-xvfb.sh) with HANGAR_LIBRARY on a
temporary library, drives it through its accessibility tree (AT-SPI) and
checks the library's view with `hangarctl snapshot-list --json`.

The VM boots boot-power-button.iso (SeaBIOS prints, the boot sector waits
for the power button) and has a qcow2 disk made with qemu-img; a second VM
has a raw disk.

  1. the panel opens from the page's Snapshots toggle, empty;
  2. a snapshot of the stopped VM: disks only;
  3. the VM started, two live snapshots, each with its screen as thumbnail;
  4. revert to the first live one: asked, the VM turned off and continuing
     from the snapshot, "You are here" on it;
  5. a snapshot taken now starts a branch: a child of the first live one,
     a sibling of the second;
  6. rename (and describe) one, delete one (asked);
  7. the panel's tree is hangarctl's: names, nesting, order, the current one;
  8. Clone… on a snapshot makes a linked clone (a qcow2 overlay);
  9. the raw-disk VM: Take Snapshot says why it cannot;
 10. and its Convert to qcow2 button fixes that.

Output is TAP.  Environment: HANGAR_APP, HANGARCTL, HANGAR_ENGINE,
GSETTINGS_SCHEMA_DIR, HANGAR_TEST_ISO; optional HANGAR_TEST_SCREENSHOTS=DIR
keeps the screenshots.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import gi

gi.require_version("Atspi", "2.0")
gi.require_version("Gdk", "3.0")
gi.require_version("GdkPixbuf", "2.0")
from gi.repository import Atspi, GdkPixbuf, Gio, GLib  # noqa: E402
from uitest import (  # noqa: E402
    tap_ok, bail, tap_plan, wait_for, children, find_all, find, app_node, sensitive, press,
    hangarctl, vm_state, engine_pid, screenshot)


# ---- the accessibility tree ----

def toggle_on(root, name):
    button = wait_for(lambda: find(root, "toggle button", name), f"the {name} toggle")
    wait_for(lambda: sensitive(button), f"the {name} toggle to be enabled")
    if not button.get_state_set().contains(Atspi.StateType.CHECKED):
        button.do_action(0)
    wait_for(lambda: button.get_state_set().contains(Atspi.StateType.CHECKED),
             f"the {name} toggle to be on")


def set_entry(root, name, text):
    entry = wait_for(lambda: find(root, "text", name), f"the {name} field")
    entry.set_text_contents(text)
    wait_for(lambda: entry.get_text(0, -1) == text, f"the {name} field to read {text!r}")


# ---- the snapshot tree as the panel shows it ----

def snapshot_table(root):
    return wait_for(lambda: find(root, "tree table", "Snapshot tree"), "the snapshot tree")


def cell_texts(cell):
    """The texts of a cell: a text cell's own, or its parts' when its
    column stacks several."""
    parts = children(cell)
    if not parts:
        return [cell.get_name() or ""]
    return [part.get_name() or "" for part in parts]


def panel_rows(root):
    """Each row of the tree: name, details, marker, the thumbnail cell and
    its x (deeper rows are indented), in the order shown."""
    table = snapshot_table(root)
    rows = []
    try:
        n_rows = table.get_n_rows()
        for r in range(n_rows):
            thumbnail = table.get_accessible_at(r, 0)
            texts = cell_texts(table.get_accessible_at(r, 1)) + ["", "", ""]
            extents = thumbnail.get_extents(Atspi.CoordType.SCREEN)
            rows.append({"row": r, "name": texts[0], "details": texts[1],
                         "current": "You are here" in texts[2:],
                         "thumbnail": thumbnail, "x": extents.x})
    except Exception:  # the tree was refilled while we read it
        return None
    return rows


def panel_row(root, name):
    rows = panel_rows(root) or []
    return next((row for row in rows if row["name"] == name), None)


def panel_depths(rows):
    """Each row's depth, from its indentation."""
    levels = sorted({row["x"] for row in rows})
    return [levels.index(row["x"]) for row in rows]


def select_row(root, name):
    row = wait_for(lambda: panel_row(root, name), f"the snapshot {name!r} in the tree")
    table = snapshot_table(root)
    table.add_row_selection(row["row"])
    wait_for(lambda: table.is_row_selected(row["row"]), f"{name!r} to be selected")


# ---- hangarctl's view ----

def snapshot_list(vm_id):
    return hangarctl("snapshot-list", vm_id)


def library_tree(listing):
    """(name, depth, current) in the order a tree shows them: children
    under their parent, oldest first."""
    snapshots = listing["snapshots"]
    out = []

    def add(parent, depth):
        for snap in snapshots:
            if snap["parent"] == parent:
                out.append((snap["name"], depth, snap["current"]))
                add(snap["id"], depth + 1)

    add(None, 0)
    return out


def by_name(listing, name):
    return next((s for s in listing["snapshots"] if s["name"] == name), None)


# ---- pictures ----

def grey_grid(pixbuf, width=24, height=16):
    scaled = pixbuf.scale_simple(width, height, GdkPixbuf.InterpType.BILINEAR)
    data = scaled.get_pixels()
    stride, channels = scaled.get_rowstride(), scaled.get_n_channels()
    return [sum(data[y * stride + x * channels + c] for c in range(3)) / 3
            for y in range(height) for x in range(width)]


def dark_box(pixbuf, limit=48):
    """The bounding box of the dark pixels (a SeaBIOS screen is black on a
    light tree view), and how many there are."""
    data = pixbuf.get_pixels()
    stride, channels = pixbuf.get_rowstride(), pixbuf.get_n_channels()
    xs, ys = [], []
    for y in range(pixbuf.get_height()):
        for x in range(pixbuf.get_width()):
            p = y * stride + x * channels
            if (data[p] + data[p + 1] + data[p + 2]) / 3 < limit:
                xs.append(x)
                ys.append(y)
    if not xs:
        return None, 0
    return (min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1), len(xs)


def thumbnail_shows(root, name, screen_png, shot_path):
    """The row's thumbnail is the snapshot's screen.png, scaled."""
    row = panel_row(root, name)
    if not row:
        return False
    e = row["thumbnail"].get_extents(Atspi.CoordType.SCREEN)
    if e.width < 48 or e.height < 24:
        return False
    shot = screenshot(shot_path)
    cell = shot.new_subpixbuf(e.x, e.y, e.width, e.height)
    box, count = dark_box(cell)
    if not box or box[2] < 64 or count < 1500:
        return False
    shown = cell.new_subpixbuf(*box)
    screen = GdkPixbuf.Pixbuf.new_from_file(screen_png)
    a, b = grey_grid(shown), grey_grid(screen)
    return sum(abs(p - q) for p, q in zip(a, b)) / len(a) < 24


def has_no_thumbnail(root, name, shot_path):
    row = panel_row(root, name)
    if not row:
        return False
    e = row["thumbnail"].get_extents(Atspi.CoordType.SCREEN)
    cell = screenshot(shot_path).new_subpixbuf(e.x, e.y, e.width, e.height)
    return dark_box(cell)[1] < 1500


def open_vm(vm_id):
    """app.open-vm over D-Bus, as the desktop would."""
    bus = Gio.bus_get_sync(Gio.BusType.SESSION)
    actions = Gio.DBusActionGroup.get(bus, "org.hangar.Hangar", "/org/hangar/Hangar")
    actions.activate_action("open-vm", GLib.Variant("s", vm_id))
    bus.flush_sync()


def take_snapshot(root, name, description=""):
    press(root, "Take Snapshot…")
    default = wait_for(lambda: find(root, "text", "Name"), "the snapshot's Name field")
    if not (default.get_text(0, -1) or "").startswith("Snapshot "):
        bail(f"the default name is {default.get_text(0, -1)!r}, not 'Snapshot N'")
    set_entry(root, "Name", name)
    if description:
        view = wait_for(lambda: find(root, "text", "Description"), "the Description field")
        view.set_text_contents(description)
    press(root, "Take")
    wait_for(lambda: not find(root, "push button", "Take"), "the dialog to close")
    wait_for(lambda: panel_row(root, name), f"{name!r} in the tree")
    wait_for(lambda: not find(root, "label", contains="Taking snapshot"),
             "the panel to finish")


def main():
    work = tempfile.mkdtemp(prefix="hangar-ui-snapshots-")
    runtime = os.path.join(work, "run")
    os.mkdir(runtime, 0o700)
    os.environ.update({
        "HANGAR_LIBRARY": os.path.join(work, "library"),
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
    iso = os.environ["HANGAR_TEST_ISO"]

    disk = os.path.join(work, "disk.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "64M"], check=True)
    vm_id = hangarctl("create", "Snapshot Test", "--memory", "64", "--disk", disk,
                      "--iso", iso)["id"]
    raw = os.path.join(work, "disk.img")
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", raw, "16M"], check=True)
    raw_id = hangarctl("create", "Raw Disk", "--memory", "64", "--disk", raw)["id"]

    app = subprocess.Popen([os.environ["HANGAR_APP"]],
                           stdout=open(os.path.join(work, "app.log"), "w"),
                           stderr=subprocess.STDOUT)
    root = None
    try:
        Atspi.init()
        root = wait_for(lambda: app_node(app.pid), "the app on the accessibility bus")
        wait_for(lambda: find(root, "label", "Snapshot Test"), "the VM in the library")
        open_vm(vm_id)
        wait_for(lambda: find(root, "label", "“Snapshot Test” is not running"), "the VM page")

        # 1. The panel, empty.
        toggle_on(root, "Snapshots")
        wait_for(lambda: find(root, "label", "No snapshots yet"), "the empty panel")
        screenshot(os.path.join(shots, "snapshots-empty.png"))
        tap_ok("the Snapshots toggle opens the panel, which says there are none yet")

        # 2. Stopped: disks only.
        take_snapshot(root, "Fresh disk", "Nothing installed")
        row = panel_row(root, "Fresh disk")
        if "Disks only" not in row["details"] or not row["current"]:
            bail(f"the stopped VM's snapshot shows {row}")
        wait_for(lambda: has_no_thumbnail(root, "Fresh disk",
                                          os.path.join(shots, "snapshots-disks-only.png")),
                 "a disk icon rather than a screen for the disks-only snapshot")
        listing = snapshot_list(vm_id)
        fresh = by_name(listing, "Fresh disk")
        if not fresh or fresh["live"] or fresh["description"] != "Nothing installed":
            bail(f"hangarctl lists {listing}")
        tap_ok("a snapshot of the stopped VM is taken from the panel, marked disks only")

        # 3. Running: live snapshots with their screens.
        press(root, "Start")
        wait_for(lambda: vm_state(vm_id) == "running", "the VM to run")
        time.sleep(3)  # SeaBIOS prints, the boot sector waits
        take_snapshot(root, "First live")
        take_snapshot(root, "Second live")
        listing = snapshot_list(vm_id)
        for name in ("First live", "Second live"):
            snap = by_name(listing, name)
            if not snap or not snap["live"] or not snap["screen"]:
                bail(f"{name!r} is not a live snapshot with a screen: {listing}")
            wait_for(lambda: thumbnail_shows(root, name, snap["screen"],
                                             os.path.join(shots, "snapshots-live.png")),
                     f"the thumbnail of {name!r} to show its screen")
            if "Live" not in panel_row(root, name)["details"]:
                bail(f"{name!r} is not marked live")
        if not panel_row(root, "Second live")["current"]:
            bail("'You are here' is not on the newest snapshot")
        if vm_state(vm_id) != "running":
            bail("the VM stopped while its snapshots were taken")
        tap_ok("live snapshots of the running VM show their screens as thumbnails")

        # 4. Revert to the first live one.
        engine_before = engine_pid(vm_id, required=False)
        select_row(root, "First live")
        press(root, "Revert…")
        wait_for(lambda: find(root, "label", "Revert to “First live”?"), "the question")
        wait_for(lambda: find(root, "label", contains="will be turned off first"),
                 "the warning that the running VM is turned off")
        screenshot(os.path.join(shots, "snapshots-revert-question.png"))
        press(root, "Revert")
        wait_for(lambda: panel_row(root, "First live") and
                 panel_row(root, "First live")["current"], "'You are here' on 'First live'")
        wait_for(lambda: vm_state(vm_id) == "running", "the VM to run again")
        engine_after = engine_pid(vm_id, required=False)
        if not engine_before or not engine_after or engine_before == engine_after:
            bail("the engine was not restarted by the revert")
        wait_for(lambda: find(root, name="Guest screen"), "the screen on the VM page")
        if snapshot_list(vm_id)["current"] != by_name(listing, "First live")["id"]:
            bail("hangarctl's current snapshot is not 'First live'")
        tap_ok("Revert asks, turns the VM off, continues it from the snapshot, marks it")

        # 5. A branch.
        take_snapshot(root, "Branch")
        listing = snapshot_list(vm_id)
        first = by_name(listing, "First live")
        if by_name(listing, "Branch")["parent"] != first["id"] or \
                by_name(listing, "Second live")["parent"] != first["id"]:
            bail(f"'Branch' and 'Second live' are not both children of 'First live': {listing}")
        rows = wait_for(lambda: panel_rows(root), "the tree")
        depths = dict(zip([r["name"] for r in rows], panel_depths(rows)))
        if not depths["Branch"] == depths["Second live"] == depths["First live"] + 1:
            bail(f"the tree does not show the branch: {depths}")
        screenshot(os.path.join(shots, "snapshots-branch.png"))
        tap_ok("a snapshot after the revert starts a branch beside the second one")

        # 6. Rename (and describe); delete.
        select_row(root, "Branch")
        press(root, "Rename…")
        wait_for(lambda: find(root, "text", "Name") and
                 find(root, "text", "Name").get_text(0, -1) == "Branch",
                 "the Rename dialog with the present name")
        set_entry(root, "Name", "Other way")
        wait_for(lambda: find(root, "text", "Description"),
                 "the Description field").set_text_contents("Taken after the revert")
        press(root, "Rename")
        wait_for(lambda: panel_row(root, "Other way"), "the new name in the tree")
        renamed = wait_for(lambda: by_name(snapshot_list(vm_id), "Other way"),
                           "hangarctl to see it")
        if renamed["description"] != "Taken after the revert":
            bail(f"the description was not kept: {renamed}")
        tap_ok("Rename changes the name and the description, and the library keeps them")

        select_row(root, "Second live")
        press(root, "Delete…")
        wait_for(lambda: find(root, "label", "Delete “Second live”?"), "the question")
        press(root, "Delete")
        wait_for(lambda: not panel_row(root, "Second live") and panel_rows(root),
                 "'Second live' to leave the tree")
        if by_name(snapshot_list(vm_id), "Second live"):
            bail("hangarctl still lists 'Second live'")
        tap_ok("Delete asks, and the snapshot goes from the tree and the library")

        # 7. The same tree in the panel and in the library.
        def views_match():
            rows = panel_rows(root)
            if not rows:
                return False
            shown = [(r["name"], d, r["current"]) for r, d in zip(rows, panel_depths(rows))]
            return shown == library_tree(snapshot_list(vm_id)) and shown
        shown = wait_for(views_match, "the panel to show hangarctl's tree")
        screenshot(os.path.join(shots, "snapshots-final.png"))
        tap_ok(f"the panel shows hangarctl's tree: {shown}")

        # 8. A linked clone of a snapshot, from the panel.
        select_row(root, "First live")
        press(root, "Clone…")
        name = wait_for(lambda: find(root, "text", "Name"), "the clone's Name field")
        if name.get_text(0, -1) != "Snapshot Test Clone":
            bail(f"the suggested clone name is {name.get_text(0, -1)!r}")
        screenshot(os.path.join(shots, "snapshots-clone.png"))
        press(root, "Clone")
        clone = wait_for(lambda: next((v for v in hangarctl("list")["vms"]
                                       if v["name"] == "Snapshot Test Clone"), None),
                         "the clone in the library")
        wait_for(lambda: not find(root, "push button", "Clone"), "the dialog to close")
        disk = next(d for d in hangarctl("info", clone["id"])["disks"] if d["media"] == "disk")
        info = subprocess.run(["qemu-img", "info", "--output=json", disk["file"]],
                              capture_output=True, text=True, check=True).stdout
        if "backing-filename" not in json.loads(info):
            bail(f"the linked clone's disk has no backing file: {info}")
        tap_ok("Clone… makes a linked clone of the selected snapshot")

        # 9. A raw disk.
        open_vm(raw_id)
        wait_for(lambda: find(root, "label", "“Raw Disk” is not running"), "the raw VM's page")
        toggle_on(root, "Snapshots")
        wait_for(lambda: find(root, "label", "No snapshots yet"), "its empty panel")
        press(root, "Take Snapshot…")
        press(root, "Take")
        wait_for(lambda: find(root, "label", contains="raw image; snapshots need qcow2"),
                 "the raw-disk explanation")
        time.sleep(0.5)  # the info bar slides in
        screenshot(os.path.join(shots, "snapshots-raw.png"))
        tap_ok("on a raw disk, the panel says snapshots need qcow2")

        # 10. One click converts it, and then it can take a snapshot.
        press(root, "Convert to qcow2")
        wait_for(lambda: hangarctl("info", raw_id)["disks"][0]["path"].endswith(".qcow2"),
                 "vm.json to name the qcow2 copy")
        wait_for(lambda: sensitive(find(root, name="Take Snapshot…", role="push button")),
                 "the panel to be idle again")
        if not os.path.exists(raw):
            bail("the image used in place was removed by the conversion")
        take_snapshot(root, "After conversion")
        if not by_name(snapshot_list(raw_id), "After conversion"):
            bail("hangarctl does not list the snapshot taken after the conversion")
        tap_ok("Convert to qcow2 makes the raw-disk VM able to take snapshots")
    except SystemExit:
        screenshot(os.path.join(shots, "failure.png"))
        if root is not None:
            labels = [n.get_name() for n in find_all(root, "label") if n.get_name()]
            print("# labels shown: " + " | ".join(labels)[:2000].replace("\n", " "), flush=True)
        log = open(os.path.join(work, "app.log")).read()
        print("# app log:\n# " + log.replace("\n", "\n# "), flush=True)
        raise
    finally:
        hangarctl("stop", "--force", vm_id, check=False)
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
        if not os.environ.get("HANGAR_TEST_SCREENSHOTS"):
            shutil.rmtree(work, ignore_errors=True)
    tap_plan()


if __name__ == "__main__":
    main()
