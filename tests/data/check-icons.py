#!/usr/bin/env python3
# Checks that each icon is well-formed SVG with the canvas its folder expects
# (scalable: 128x128, symbolic: 16x16) and, where gdk-pixbuf-thumbnailer is
# installed (libgdk-pixbuf2.0-bin), that GdkPixbuf's SVG loader renders it, as
# GTK will.
# Usage: check-icons.py ICON...
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}svg"
CANVAS = {"scalable": "0 0 128 128", "symbolic": "0 0 16 16"}


def render(thumbnailer, path):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "icon.png")
        run = subprocess.run([thumbnailer, "-s", "64", path, out],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        rendered = os.path.exists(out) and os.path.getsize(out) > 0
        if run.returncode != 0 or not rendered:
            return run.stdout.strip() or f"exit status {run.returncode}, no image"
    return None


def main():
    thumbnailer = shutil.which("gdk-pixbuf-thumbnailer")
    if thumbnailer is None:
        print("# gdk-pixbuf-thumbnailer is missing: checking the XML only")
    problems = []
    for path in sys.argv[1:]:
        name = os.path.basename(path)
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            problems.append(f"{path}: not well-formed XML: {e}")
            continue
        if root.tag != SVG:
            problems.append(f"{path}: the root element is {root.tag}, not <svg>")
            continue
        kind = os.path.basename(os.path.dirname(os.path.dirname(path)))
        want = CANVAS.get(kind)
        if want and " ".join(root.get("viewBox", "").split()) != want:
            problems.append(f"{path}: viewBox is {root.get('viewBox')!r}, {kind} icons use {want!r}")
        if kind == "symbolic" and not name.endswith("-symbolic.svg"):
            problems.append(f"{path}: a symbolic icon's name ends with -symbolic.svg")
        if thumbnailer is not None:
            error = render(thumbnailer, path)
            if error:
                problems.append(f"{path}: GdkPixbuf does not render it: {error}")
            else:
                print(f"ok {name}: renders")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
