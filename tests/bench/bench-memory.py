#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Memory overhead of a running VM (1 vCPU, 512 MiB), Hangar and QEMU side by side.

usage: bench-memory.py --engine hangar-engine --guest guest-counter.elf
                       [--qemu qemu-system-x86_64|none] [--repeat N] [--workdir DIR]

Each VMM runs the counter guest (a line every 40 ms, from CPL3) until its first line plus one
second, then /proc/PID/status and /proc/PID/smaps are read:

  overhead = VmHWM (peak resident set) - resident guest RAM

Guest RAM is a memfd in both (QEMU: -object memory-backend-memfd), so it is shared memory in
the VMM's address space; pages the guest touched are in it too, because KVM faults guest pages
in through that user mapping. Resident guest RAM is the Rss of that one mapping in smaps.
What is left is the VMM's own memory: heap, stacks, its binary and the shared libraries it
maps (RssFile; shared with other processes, but counted here; the Pss row divides shared
pages among the processes that map them). Kernel memory (KVM's page tables and vCPU
structures) is not in any RSS and not counted.
"""

import os
import subprocess
import time

import benchlib

MEMORY_MIB = 512
RUN_AFTER_FIRST_LINE_S = 1.0
OVERHEAD_TARGET_KIB = 5 * 1024


def add_arguments(parser):
    parser.add_argument('--guest', required=True, help='guest-counter.elf')


def read_status(pid):
    """The kB fields of /proc/PID/status that matter here."""
    fields = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            key, _, value = line.partition(':')
            if key in ('VmHWM', 'VmRSS', 'RssAnon', 'RssFile', 'RssShmem'):
                fields[key] = int(value.split()[0])
    return fields


def read_pss(pid):
    """Proportional set size (kB): shared pages divided among the processes mapping them."""
    with open(f'/proc/{pid}/smaps_rollup') as f:
        for line in f:
            if line.startswith('Pss:'):
                return int(line.split()[1])
    raise benchlib.BenchError(f'pid {pid}: no Pss in smaps_rollup')


def guest_ram_rss(pid, size_kib):
    """Rss (kB) of the memfd mapping of guest RAM: the one shared memfd mapping of its size."""
    found = []
    mapping = None
    with open(f'/proc/{pid}/smaps') as f:
        for line in f:
            words = line.split()
            if '-' in words[0] and len(words) >= 5:  # a mapping's header line
                mapping = {'name': words[5] if len(words) > 5 else '', 'shared': words[1][3]}
                continue
            if mapping is None:
                continue
            if words[0] == 'Size:':
                mapping['size'] = int(words[1])
            elif words[0] == 'Rss:':
                if (mapping.get('size') == size_kib and mapping['name'].startswith('/memfd:')
                        and mapping['shared'] == 's'):
                    found.append(int(words[1]))
    if len(found) != 1:
        raise benchlib.BenchError(f'pid {pid}: {len(found)} memfd mappings of guest RAM size')
    return found[0]


def measure(argv, serial):
    """Starts a VMM, waits for the guest's first line and a second more, reads its memory."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        benchlib.wait_for_line(serial, 'count 1', proc)
        time.sleep(RUN_AFTER_FIRST_LINE_S)
        status = read_status(proc.pid)
        status['guest'] = guest_ram_rss(proc.pid, MEMORY_MIB * 1024)
        status['Pss'] = read_pss(proc.pid)
    finally:
        benchlib.stop_process(proc)
        os.unlink(serial)
    status['overhead'] = status['VmHWM'] - status['guest']
    status['pss overhead'] = status['Pss'] - status['guest']  # guest RAM: one mapper
    return status


def run():
    args = benchlib.parse_args(__doc__.splitlines()[0], add_arguments, default_repeat=5)
    benchlib.print_header(f'memory overhead ({MEMORY_MIB} MiB, 1 vCPU, counter guest running)',
                          args, ['overhead = VmHWM - resident guest RAM (the memfd mapping)'])
    with benchlib.Workdir(args.workdir, 'bench-memory') as work:
        serial = work('serial.log')
        hangar = [args.engine, '--kernel', args.guest, '--debug-exit', '--memory',
                  str(MEMORY_MIB), '--cpus', '1', '--serial', 'file:' + serial]
        h = benchlib.repeat(args.repeat, lambda: measure(hangar, serial))
        q = None
        if args.qemu:
            qemu = benchlib.qemu_base(args.qemu, MEMORY_MIB) + [
                '-object', f'memory-backend-memfd,id=ram,size={MEMORY_MIB}M',
                '-machine', 'memory-backend=ram', '-kernel', args.guest,
                '-serial', 'file:' + serial]
            q = benchlib.repeat(args.repeat, lambda: measure(qemu, serial))

    def column(samples, key):
        return None if samples is None else [s[key] for s in samples]

    table = benchlib.Table()
    overhead = benchlib.median(column(h, 'overhead'))
    table.add('overhead: VmHWM - guest RAM', column(h, 'overhead'), column(q, 'overhead'),
              fmt=benchlib.fmt_mib, target='≤ 5 MiB', passed=overhead <= OVERHEAD_TARGET_KIB)
    for key, label in (('pss overhead', 'Pss - guest RAM (libraries shared)'),
                       ('VmHWM', 'peak RSS (VmHWM)'), ('guest', 'resident guest RAM'),
                       ('RssAnon', 'RssAnon (heap, stacks)'),
                       ('RssFile', 'RssFile (binary, libraries)'), ('RssShmem', 'RssShmem')):
        table.add(label, column(h, key), column(q, key), fmt=benchlib.fmt_mib)
    table.print()


if __name__ == '__main__':
    benchlib.main(run)
