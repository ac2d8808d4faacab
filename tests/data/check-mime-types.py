#!/usr/bin/env python3
# Checks that every MIME type the .desktop file (MimeType=) and the metainfo
# (<mediatype>) name is one that shared-mime-info knows, as a type or an
# alias: desktop-file-validate and appstreamcli accept any well-formed name,
# so a typo would silently keep Hangar out of "Open With".
# Usage: check-mime-types.py DESKTOP_FILE METAINFO_FILE
import configparser
import os
import sys
import xml.etree.ElementTree as ET

MIME_DIR = "/usr/share/mime"


def known_types():
    known = set()
    with open(os.path.join(MIME_DIR, "types"), encoding="utf-8") as f:
        known.update(line.strip() for line in f if line.strip())
    aliases = os.path.join(MIME_DIR, "aliases")
    if os.path.exists(aliases):
        with open(aliases, encoding="utf-8") as f:
            for line in f:
                known.update(line.split())
    return known


def main():
    if not os.path.exists(os.path.join(MIME_DIR, "types")):
        print(f"# SKIP {MIME_DIR}/types is missing (shared-mime-info)")
        return 77
    known = known_types()
    desktop = configparser.RawConfigParser(strict=False, interpolation=None)
    desktop.optionxform = str
    desktop.read(sys.argv[1], encoding="utf-8")
    named = [(sys.argv[1], t) for t in
             desktop.get("Desktop Entry", "MimeType", fallback="").split(";") if t]
    root = ET.parse(sys.argv[2]).getroot()
    named += [(sys.argv[2], m.text.strip()) for m in root.iter("mediatype")]
    unknown = [(f, t) for f, t in named if t not in known]
    print(f"# {len(named)} MIME types named, {len(unknown)} unknown to shared-mime-info")
    for f, t in unknown:
        print(f"{os.path.basename(f)}: {t} is not a type or alias in {MIME_DIR}")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
