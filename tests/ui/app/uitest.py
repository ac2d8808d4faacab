# SPDX-License-Identifier: GPL-2.0-or-later
"""What the app's UI tests share: TAP output, waiting, the accessibility
tree (AT-SPI), hangarctl, the engine's process and screenshots.

The tests (test-app.py, test-snapshots.py, test-import.py) run as scripts
from this folder, so `import uitest` finds this file beside them."""
import json
import os
import subprocess
import time

import gi

gi.require_version("Atspi", "2.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Atspi, Gdk  # noqa: E402

TIMEOUT = 60  # seconds for anything the UI or the engine must do

_step = 0


# ---- TAP ----

def tap_ok(name):
    global _step
    _step += 1
    print(f"ok {_step} - {name}", flush=True)


def bail(message):
    print(f"not ok {_step + 1} - {message}", flush=True)
    print(f"1..{_step + 1}", flush=True)
    raise SystemExit(1)


def tap_plan():
    """The plan line, once every step passed."""
    print(f"1..{_step}", flush=True)


def wait_for(predicate, what, timeout=TIMEOUT, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    bail(f"timed out after {timeout} s waiting for {what}")


# ---- the accessibility tree ----

def children(node):
    try:
        return [node.get_child_at_index(i) for i in range(node.get_child_count())]
    except Exception:  # the widget went away while we walked
        return []


def showing(node):
    try:
        return node.get_state_set().contains(Atspi.StateType.SHOWING)
    except Exception:
        return False


def walk(node):
    for child in children(node):
        if child is None:
            continue
        yield child
        yield from walk(child)


def find_all(root, role=None, name=None, contains=None):
    found = []
    for node in walk(root):
        try:
            if role and node.get_role_name() != role:
                continue
            node_name = node.get_name() or ""
            if name is not None and node_name != name:
                continue
            if contains is not None and contains not in node_name:
                continue
            if not showing(node):
                continue
        except Exception:
            continue
        found.append(node)
    return found


def find(root, role=None, name=None, contains=None):
    nodes = find_all(root, role, name, contains)
    return nodes[0] if nodes else None


def app_node(pid):
    desktop = Atspi.get_desktop(0)
    for node in children(desktop):
        try:
            if node is not None and node.get_process_id() == pid:
                return node
        except Exception:
            continue
    return None


def sensitive(node):
    return node.get_state_set().contains(Atspi.StateType.SENSITIVE)


def press(root, name, role="push button"):
    button = wait_for(lambda: find(root, role, name), f"the {name} button")
    wait_for(lambda: sensitive(button), f"the {name} button to be enabled")
    button.do_action(0)
    return button


# ---- hangarctl and the engine ----

def hangarctl(*args, check=True):
    result = subprocess.run([os.environ["HANGARCTL"], "--json", *args],
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        bail(f"hangarctl {' '.join(args)} failed ({result.returncode}): "
             f"{result.stdout} {result.stderr}")
    return json.loads(result.stdout.splitlines()[-1]) if result.stdout.strip() else {}


def vm_state(vm_id):
    info = hangarctl("info", vm_id, check=False)
    return info.get("state")


def engine_pid(vm_id, required=True):
    """The pid of this test's engine for the VM, or None (when not required)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        line = b" ".join(argv)
        # This test's engine: its runtime folder is in the command line.
        if argv[0].endswith(b"hangar-engine") and os.environ["XDG_RUNTIME_DIR"].encode() in line \
                and vm_id.encode() in line:
            return int(pid)
    if required:
        bail(f"no engine process for {vm_id}")
    return None


# ---- pictures ----

def screenshot(path):
    root = Gdk.get_default_root_window()
    pixbuf = Gdk.pixbuf_get_from_window(root, 0, 0, root.get_width(), root.get_height())
    pixbuf.savev(path, "png", [], [])
    return pixbuf
