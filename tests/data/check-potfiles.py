#!/usr/bin/env python3
# Checks po/POTFILES.in against the source tree:
#  - every file under the scanned folders that marks a string for translation
#    (_("..."), N_("..."), C_("...", ...), NC_(...), ngettext(...),
#    translatable="yes") or is translatable by its kind (.desktop.in,
#    .metainfo.xml.in, .gschema.xml) must be listed, unless po/POTFILES.skip
#    lists it;
#  - every file listed must exist.
# Usage: check-potfiles.py SOURCE_ROOT
#        check-potfiles.py --list SOURCE_ROOT   (print the files that need listing)
import os
import re
import sys

SCANNED = ("data", "ui", "library")
TEXT_SUFFIXES = (".c", ".h", ".ui", ".in", ".xml", ".py", ".js", ".vala")
TRANSLATABLE_KINDS = (".desktop.in", ".metainfo.xml.in", ".appdata.xml.in", ".gschema.xml")
MARKERS = re.compile(
    r'(?<![A-Za-z0-9_])(?:_|N_|C_|NC_|Q_)\s*\(\s*"'
    r'|(?<![A-Za-z0-9_])(?:g_d?n?gettext|ngettext|g_dpgettext2)\s*\('
    r'|translatable\s*=\s*["\']yes["\']')


def read_list(path):
    entries = []
    if not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if line and not line.startswith("#"):
                entries.append((number, os.path.normpath(line)))
    return entries


def wants_translation(path):
    if path.endswith(TRANSLATABLE_KINDS):
        return True
    if not path.endswith(TEXT_SUFFIXES):
        return False
    try:
        with open(path, encoding="utf-8") as f:
            return MARKERS.search(f.read()) is not None
    except UnicodeDecodeError:
        return False


def main():
    args = sys.argv[1:]
    list_only = bool(args) and args[0] == "--list"
    if list_only:
        args = args[1:]
    os.chdir(args[0] if args else ".")
    listed = read_list("po/POTFILES.in")
    skipped = {name for _, name in read_list("po/POTFILES.skip")}
    problems = []

    listed_names = set()
    for number, name in listed:
        listed_names.add(name)
        if not os.path.isfile(name):
            problems.append(f"po/POTFILES.in:{number}: {name} does not exist")

    found = []
    for top in SCANNED:
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for file in sorted(files):
                path = os.path.normpath(os.path.join(folder, file))
                if wants_translation(path):
                    found.append(path)

    if list_only:
        for path in found:
            if path not in skipped:
                print(path)
        return 0

    for path in found:
        if path not in listed_names and path not in skipped:
            problems.append(f"{path} has translatable strings but po/POTFILES.in misses it")

    print(f"# {len(found)} files with translatable strings, {len(listed)} listed in po/POTFILES.in")
    for p in problems:
        print(p)
    if problems:
        print("Add the missing files to po/POTFILES.in (or po/POTFILES.skip), remove the stale ones.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
