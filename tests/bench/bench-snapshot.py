#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Live snapshot of a running guest with 1 GiB of touched RAM and a qcow2 disk, Hangar and
QEMU side by side.

usage: bench-snapshot.py --engine hangar-engine --guest guest-restore-probe.elf
                         [--qemu qemu-system-x86_64|none] [--qemu-img qemu-img]
                         [--repeat N] [--workdir DIR]

The guest is restore-probe (see bench-save-restore.py), which spins at CPL3 once it printed
its ready line; both VMMs give it a 1 GiB qcow2 disk on virtio-blk (empty, made by qemu-img,
one copy per VMM). Its RAM is made "touched" from the host, not by a guest loop (guest code
at CPL0 is slow on kvm_pvm):

1. Hangar boots the probe (1088 MiB) with the disk, save-state writes DIR once it is ready,
   and the bench fills DIR/ram with random data from 64 MiB to 64 MiB + 1 GiB. Hangar then
   runs from it: hangar-engine --restore DIR, the same disk, the guest running.
2. QEMU boots the probe on a memory-backend-file (share=on) that is a copy of that RAM file,
   so its guest has the same 1 GiB of data, with its copy of the disk (virtio-blk,
   cache=writeback), and keeps running.
3. Repeated, interleaved, each after os.sync() so that no earlier write is flushed inside it:
   - Hangar: control-socket snapshot-save to a new folder with a new disk-snapshot name. The
     engine pauses the vCPUs, drains disk I/O, takes the qcow2 internal snapshot, writes
     state, the sparse RAM file (fdatasync'ed) and screen.png, and resumes; its reply's
     pause-us is how long the guest stood still, measured by the engine. The request's wall
     time is measured too. Afterwards (untimed) the folder is removed and the disk snapshot
     deleted (snapshot-delete-disks), so that the disk does not grow.
   - QEMU: QMP human-monitor-command "savevm NAME": QEMU stops the guest for the whole
     command, which writes the RAM and device state into the qcow2 image (its vmstate area)
     and takes the disk's internal snapshot, then resumes; its wall time is the pause.
     Afterwards (untimed) "delvm NAME".
   - For reference, where Hangar's time goes: save-state of the same running Hangar into a
     new folder (state and RAM, no disk snapshot, no screen; the guest then continues with
     cont), and dd of 1 GiB with conv=fdatasync, the disk's own speed.
"""

import os
import shutil
import subprocess
import time

import benchlib

MEMORY_MIB = 1088
FILL_START = 64 << 20
FILL_SIZE = 1 << 30
DISK_SIZE = '1G'
PAUSE_TARGET_S = 2.0


def add_arguments(parser):
    parser.add_argument('--guest', required=True, help='guest-restore-probe.elf')
    parser.add_argument('--qemu-img', default=shutil.which('qemu-img'),
                        help='qemu-img, to make the qcow2 disk (default: from PATH)')


def fill(path, start, size):
    """Random data over [start, start + size): every page non-zero, nothing to compress."""
    block = os.urandom(1 << 20)
    fd = os.open(path, os.O_WRONLY)
    try:
        for offset in range(start, start + size, len(block)):
            os.pwrite(fd, block, offset)
        os.fdatasync(fd)
    finally:
        os.close(fd)


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.unlink(path)


def timed(action):
    """os.sync() first, so that no earlier write is flushed inside action."""
    os.sync()
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def hangar_command(args, disk):
    return [args.engine, '--kernel', args.guest, '--debug-exit',
            '--drive', f'file={disk},if=virtio']


def prepare_hangar(args, work, disk):
    """Boots the probe with the disk, saves it and fills 1 GiB of its RAM file."""
    control, serial = work('prepare.sock'), work('prepare.serial')
    proc = subprocess.Popen(hangar_command(args, disk) + [
        '--memory', str(MEMORY_MIB), '--control', control, '--serial', 'file:' + serial],
        stdin=subprocess.DEVNULL)
    try:
        benchlib.wait_for_line(serial, 'probe ready', proc)
        client = benchlib.JsonLines(control, proc)
        client.execute('save-state', {'path': work('hangar-saved')})
        client.execute('quit')
        proc.wait(30)
    finally:
        benchlib.stop_process(proc)
    fill(work('hangar-saved', 'ram'), FILL_START, FILL_SIZE)


class Hangar:
    """The probe restored from the filled save, running, with its disk."""

    def __init__(self, args, work, disk):
        self.work = work
        control = work('hangar.sock')
        self.proc = subprocess.Popen(hangar_command(args, disk) + [
            '--restore', work('hangar-saved'), '--control', control],
            stdin=subprocess.DEVNULL)
        try:
            self.client = benchlib.JsonLines(control, self.proc)
            if self.client.execute('query-status').get('status') != 'running':
                raise benchlib.BenchError('Hangar: the restored guest does not run')
        except BaseException:
            benchlib.stop_process(self.proc)
            raise

    def snapshot(self, n):
        """Returns (engine's pause, request wall time, bytes of RAM file written)."""
        folder = self.work(f'hangar-snap-{n}')
        name = f'bench-{n}'
        wall, reply = timed(lambda: self.client.execute(
            'snapshot-save', {'path': folder, 'disk-snapshot': name}))
        if reply.get('disks') != 1:
            raise benchlib.BenchError(f'snapshot-save: {reply.get("disks")} disk snapshots, '
                                      'expected 1')
        if self.client.execute('query-status').get('status') != 'running':
            raise benchlib.BenchError('Hangar: the guest does not run after snapshot-save')
        written = os.stat(os.path.join(folder, 'ram')).st_blocks * 512
        remove(folder)
        if self.client.execute('snapshot-delete-disks', {'disk-snapshot': name}) \
                .get('deleted') != 1:
            raise benchlib.BenchError('snapshot-delete-disks: the disk snapshot was not found')
        return reply['pause-us'] / 1e6, wall, written

    def save_state(self, n):
        """save-state of the running guest (no disk snapshot), then cont; its wall time."""
        folder = self.work(f'hangar-state-{n}')
        wall, _ = timed(lambda: self.client.execute('save-state', {'path': folder}))
        self.client.execute('cont')
        remove(folder)
        return wall

    def close(self):
        try:
            self.client.execute('quit')
            self.proc.wait(30)
        finally:
            benchlib.stop_process(self.proc)


class Qemu:
    """The probe on a shared copy of the filled RAM file and a copy of the disk, running."""

    def __init__(self, args, work, ram_file, disk):
        self.ram = work('qemu-ram')
        shutil.copyfile(ram_file, self.ram)
        serial, qmp = work('qemu.serial'), work('qemu.qmp')
        self.proc = subprocess.Popen(benchlib.qemu_base(args.qemu, MEMORY_MIB) + [
            '-kernel', args.guest,
            '-object', f'memory-backend-file,id=ram,size={MEMORY_MIB}M,mem-path={self.ram},'
            'share=on', '-machine', 'memory-backend=ram',
            '-drive', f'file={disk},if=virtio,format=qcow2,cache=writeback',
            '-serial', 'file:' + serial, '-qmp', f'unix:{qmp},server=on,wait=off'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            benchlib.wait_for_line(serial, 'probe ready', self.proc)
            self.qmp = benchlib.Qmp(qmp, self.proc)
        except BaseException:
            benchlib.stop_process(self.proc)
            raise

    def hmp(self, command):
        output = self.qmp.execute('human-monitor-command', {'command-line': command})
        if output.strip():  # savevm and delvm say nothing when they succeed
            raise benchlib.BenchError(f'QEMU {command}: {output.strip()}')

    def savevm(self, n):
        wall, _ = timed(lambda: self.hmp(f'savevm bench-{n}'))
        if self.qmp.execute('query-status').get('status') != 'running':
            raise benchlib.BenchError('QEMU: the guest does not run after savevm')
        self.hmp(f'delvm bench-{n}')
        return wall

    def close(self):
        try:
            self.qmp.execute('quit')
            self.proc.wait(30)
        finally:
            benchlib.stop_process(self.proc)
            remove(self.ram)


def run():
    args = benchlib.parse_args(__doc__.splitlines()[0], add_arguments, default_repeat=5)
    if not args.qemu_img:
        raise benchlib.BenchError('qemu-img is needed to make the qcow2 disk (--qemu-img)')
    benchlib.print_header(
        f'live snapshot, {MEMORY_MIB} MiB guest with 1 GiB of touched RAM, 1 GiB qcow2 disk',
        args,
        ['Hangar: snapshot-save (disk snapshot + state + sparse RAM file, fdatasync); pause '
         'from its reply\'s pause-us',
         'QEMU: HMP savevm (RAM and state into the qcow2 image); the guest is stopped for the '
         'whole command'])
    with benchlib.Workdir(args.workdir, 'bench-snapshot') as work:
        disk, qemu_disk = work('disk.qcow2'), work('qemu-disk.qcow2')
        subprocess.run([args.qemu_img, 'create', '-q', '-f', 'qcow2', disk, DISK_SIZE],
                       check=True)
        shutil.copyfile(disk, qemu_disk)
        prepare_hangar(args, work, disk)
        hangar = Hangar(args, work, disk)
        qemu = None
        pauses, walls, savevm, save_state, dd = [], [], [], [], []
        ddfile = work('dd.out')
        dd_command = ['dd', 'if=/dev/zero', 'of=' + ddfile, 'bs=1M',
                      f'count={FILL_SIZE >> 20}', 'conv=fdatasync']
        written = 0
        try:
            if args.qemu:
                qemu = Qemu(args, work, work('hangar-saved', 'ram'), qemu_disk)
            for n in range(args.repeat):
                pause, wall, written = hangar.snapshot(n)
                pauses.append(pause)
                walls.append(wall)
                if qemu:
                    savevm.append(qemu.savevm(n))
                save_state.append(hangar.save_state(n))
                remove(ddfile)
                dd.append(timed(lambda: subprocess.run(dd_command, check=True,
                                                        stderr=subprocess.DEVNULL))[0])
                remove(ddfile)
            hangar.close()
            if qemu:
                qemu.close()
        finally:
            benchlib.stop_process(hangar.proc)
            if qemu:
                benchlib.stop_process(qemu.proc)

    table = benchlib.Table()
    table.add('pause (Hangar: engine\'s pause-us; QEMU: savevm)', pauses, savevm or None,
              fmt=benchlib.fmt_s, target=f'≤ {PAUSE_TARGET_S:.0f} s',
              passed=benchlib.median(pauses) <= PAUSE_TARGET_S)
    table.add(f'request wall time (snapshot-save, RAM file {written / (1 << 30):.2f} GiB; '
              'savevm)', walls, savevm or None, fmt=benchlib.fmt_s)
    table.add('(Hangar save-state, no disk snapshot)', save_state, fmt=benchlib.fmt_s)
    table.add('(disk speed: dd 1 GiB, conv=fdatasync)', dd, fmt=benchlib.fmt_s)
    table.print()


if __name__ == '__main__':
    benchlib.main(run)
