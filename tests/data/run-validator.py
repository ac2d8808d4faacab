#!/usr/bin/env python3
# Runs a validator and fails when it fails or when its output has a line that
# matches PATTERN: several validators print warnings but still exit with 0.
# Usage: run-validator.py PATTERN COMMAND [ARG...]
#        run-validator.py --skip REASON     (the validator is not installed)
import re
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        print("usage: run-validator.py PATTERN COMMAND [ARG...]", file=sys.stderr)
        return 2
    if sys.argv[1] == "--skip":
        print("# SKIP " + sys.argv[2])
        return 77
    pattern = re.compile(sys.argv[1])
    command = sys.argv[2:]
    run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("$ " + " ".join(command))
    print(run.stdout, end="")
    flagged = [l for l in run.stdout.splitlines() if pattern.search(l)]
    if run.returncode != 0:
        print(f"# {command[0]} exited with status {run.returncode}")
        return 1
    if flagged:
        print(f"# {len(flagged)} line(s) of {command[0]}'s output count as failures:")
        for line in flagged:
            print("#   " + line)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
