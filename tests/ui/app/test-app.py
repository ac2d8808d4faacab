#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The hangar app, end to end, as a user sees it.

Runs the real app under Xvfb (tests/ui/app/run-under-xvfb.sh gives it a
D-Bus session and an X server) and drives it through its accessibility tree
(AT-SPI): the same buttons and labels a user, or a screen reader, sees.
The engine's own view is checked with hangarctl.

  1. `hangar ISO` opens the create wizard with the test's ISO; Create makes
     the VM and starts it in the embedded viewer;
  2. the viewer shows what the engine's screendump shows (SeaBIOS' text);
  3. Pause, Resume and Shut Down (the guest powers off on the ACPI power
     button) from the VM page, each seen by the engine and in the UI;
  4. an engine killed from outside shows as crashed, with the reason;
  5. quitting with the VM running offers to keep it running; the engine
     outlives the app, and the next start reattaches to it;
  6. the VM is deleted from the library's menu.

Output is TAP.  Environment: HANGAR_APP, HANGARCTL, HANGAR_ENGINE,
GSETTINGS_SCHEMA_DIR, HANGAR_TEST_ISO (boot-power-button.iso); optional
HANGAR_TEST_SCREENSHOTS=DIR keeps the screenshots.
"""
import os
import shutil
import signal
import subprocess
import tempfile

import gi

gi.require_version("Atspi", "2.0")
gi.require_version("Gdk", "3.0")
gi.require_version("GdkPixbuf", "2.0")
from gi.repository import Atspi, GdkPixbuf  # noqa: E402
from uitest import (  # noqa: E402
    TIMEOUT, tap_ok, bail, tap_plan, wait_for, find_all, find, app_node, press, hangarctl,
    vm_state, engine_pid, screenshot)


# ---- the accessibility tree ----

# ---- the engine's side, through hangarctl ----

# ---- pictures ----

def small_grey(pixbuf, width=64, height=40):
    """The picture scaled down to a small grid of grey levels."""
    scaled = pixbuf.scale_simple(width, height, GdkPixbuf.InterpType.BILINEAR)
    data = scaled.get_pixels()
    stride, channels = scaled.get_rowstride(), scaled.get_n_channels()
    return [sum(data[y * stride + x * channels + c] for c in range(3)) / 3
            for y in range(height) for x in range(width)]


def guest_area(viewer_pixbuf, guest_width, guest_height):
    """The part of the viewer the guest's screen fills: scaled to fit and
    centred, keeping its aspect ratio."""
    width, height = viewer_pixbuf.get_width(), viewer_pixbuf.get_height()
    scale = min(width / guest_width, height / guest_height)
    w, h = max(1, int(guest_width * scale)), max(1, int(guest_height * scale))
    x, y = (width - w) // 2, (height - h) // 2
    return viewer_pixbuf.new_subpixbuf(x, y, w, h)


def mean_difference(a, b):
    return sum(abs(p - q) for p, q in zip(a, b)) / len(a)


def main():
    work = tempfile.mkdtemp(prefix="hangar-ui-")
    runtime = os.path.join(work, "run")
    os.mkdir(runtime, 0o700)
    os.environ.update({
        "XDG_DATA_HOME": os.path.join(work, "data"),
        "XDG_CONFIG_HOME": os.path.join(work, "config"),
        "XDG_CACHE_HOME": os.path.join(work, "cache"),
        "XDG_RUNTIME_DIR": runtime,
        "GSETTINGS_BACKEND": "memory",
        # Widgets are found by their English names.
        "LC_ALL": "C.UTF-8",
        "LANGUAGE": "",
        "NO_AT_BRIDGE": "0",
    })
    os.environ.pop("NO_AT_BRIDGE")
    shots = os.environ.get("HANGAR_TEST_SCREENSHOTS") or work
    iso = os.environ["HANGAR_TEST_ISO"]
    app = subprocess.Popen([os.environ["HANGAR_APP"], iso],
                           stdout=open(os.path.join(work, "app.log"), "w"),
                           stderr=subprocess.STDOUT)
    vm_id = None
    root = None
    try:
        Atspi.init()
        root = wait_for(lambda: app_node(app.pid), "the app on the accessibility bus")
        tap_ok("the app starts and shows its window")

        # 1. The wizard, opened on the ISO; its defaults are fine.
        wait_for(lambda: find(root, "dialog") or find(root, "frame", "New Virtual Machine"),
                 "the create wizard")
        press(root, "Next")
        press(root, "Create")
        library = os.path.join(os.environ["XDG_DATA_HOME"], "hangar", "vms")
        # (hidden .new-* folders are VMs still being made)
        vm_id = wait_for(lambda: next((name for name in os.listdir(library)
                                       if not name.startswith(".")), None)
                         if os.path.isdir(library) else None, "the new VM's folder")
        wait_for(lambda: vm_state(vm_id) == "running", "the VM to run")
        tap_ok("the wizard creates the VM from the ISO and starts it")

        # 2. The viewer shows the guest's screen.
        viewer = wait_for(lambda: find(root, name="Guest screen"), "the viewer")
        dump = os.path.join(work, "engine.png")

        def viewer_matches():
            hangarctl("screenshot", vm_id, dump)
            engine = GdkPixbuf.Pixbuf.new_from_file(dump)
            extents = viewer.get_extents(Atspi.CoordType.SCREEN)
            shot = screenshot(os.path.join(shots, "vm-page.png"))
            if extents.width < 64 or extents.height < 40:
                return False
            shown = shot.new_subpixbuf(extents.x, extents.y, extents.width, extents.height)
            area = guest_area(shown, engine.get_width(), engine.get_height())
            engine_grey, shown_grey = small_grey(engine), small_grey(area)
            # The same picture, not a black one: SeaBIOS has printed.
            lit = sum(1 for p in engine_grey if p > 40)
            return lit > 10 and mean_difference(engine_grey, shown_grey) < 12

        wait_for(viewer_matches, "the viewer to show the engine's screen")
        tap_ok("the embedded viewer shows what the engine's screendump shows")

        # 3. Pause, resume, shut down.
        press(root, "Pause", role="toggle button")
        wait_for(lambda: vm_state(vm_id) == "paused", "the engine to pause")
        wait_for(lambda: find(root, "label", "Paused"), "the Paused label")
        tap_ok("Pause pauses the engine and the page says so")
        press(root, "Pause", role="toggle button")
        wait_for(lambda: vm_state(vm_id) == "running", "the engine to resume")
        tap_ok("pressing Pause again resumes")
        press(root, "Shut Down")
        wait_for(lambda: vm_state(vm_id) == "stopped", "the guest to power off")
        wait_for(lambda: find(root, "push button", "Start"), "the Start button")
        tap_ok("Shut Down presses the power button and the guest powers off")

        # 4. An engine killed from outside.
        press(root, "Start")
        wait_for(lambda: vm_state(vm_id) == "running", "the VM to run again")
        os.kill(engine_pid(vm_id), signal.SIGKILL)
        wait_for(lambda: vm_state(vm_id) != "running", "the engine to go")
        wait_for(lambda: find(root, "label", contains="signal 9"),
                 "the crash reason on the VM page")
        tap_ok("an engine killed from outside shows as crashed with its reason")

        # 5. Quit, keeping the VM running; the next start reattaches.
        press(root, "Start")
        wait_for(lambda: vm_state(vm_id) == "running", "the VM to run again")
        menu = wait_for(lambda: find(root, "toggle button", "Main menu") or
                        find(root, "push button", "Main menu"), "the main menu button")
        menu.do_action(0)
        wait_for(lambda: find(root, "menu item", "Quit") or find(root, "push button", "Quit"),
                 "the Quit item").do_action(0)
        press(root, "Keep Running")
        try:
            app.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            bail("the app did not quit after Keep Running")
        if vm_state(vm_id) != "running":
            bail("the VM stopped with the app")
        tap_ok("quitting asks, and Keep Running leaves the VM running without the app")
        app = subprocess.Popen([os.environ["HANGAR_APP"]],
                               stdout=open(os.path.join(work, "app.log"), "a"),
                               stderr=subprocess.STDOUT)
        root = wait_for(lambda: app_node(app.pid), "the app, started again, on the accessibility bus")
        wait_for(lambda: find(root, "label", "Running"), "the VM shown as running")
        hangarctl("stop", "--force", vm_id)
        wait_for(lambda: find(root, "label", "Stopped"), "the VM shown as stopped")
        tap_ok("the app started again reattaches to the running VM and follows it")

        # 6. Delete from the library.
        menu = wait_for(lambda: find(root, "toggle button", "Actions") or
                        find(root, "push button", "Actions"), "the VM's menu button")
        menu.do_action(0)
        item = wait_for(lambda: find(root, "menu item", "Delete…") or
                        find(root, "push button", "Delete…"), "the Delete item")
        item.do_action(0)
        press(root, "Delete Files")
        wait_for(lambda: not os.path.exists(os.path.join(library, vm_id)),
                 "the VM's folder to go")
        wait_for(lambda: find(root, "label", "No virtual machines yet"), "the empty library")
        tap_ok("Delete removes the VM's folder and the library shows it gone")
    except SystemExit:
        screenshot(os.path.join(shots, "failure.png"))
        if root is not None:
            labels = [n.get_name() for n in find_all(root, "label") if n.get_name()]
            print("# labels shown: " + " | ".join(labels)[:2000].replace("\n", " "), flush=True)
        log = open(os.path.join(work, "app.log")).read()
        print("# app log:\n# " + log.replace("\n", "\n# "), flush=True)
        raise
    finally:
        if vm_id:
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
