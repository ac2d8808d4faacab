#!/bin/bash
# Runs a UI test program with its own D-Bus session (the accessibility bus
# starts on it) and its own X server (Xvfb, 1280x800).
exec dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" "$@"
