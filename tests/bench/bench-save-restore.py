#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Save and restore of a guest with 1 GiB of touched RAM, Hangar and QEMU side by side.

usage: bench-save-restore.py --engine hangar-engine --guest guest-restore-probe.elf
                             [--qemu qemu-system-x86_64|none] [--repeat N] [--workdir DIR]

The guest (restore-probe) prints "probe ready, flag at ADDR" and spins at CPL3 until the
64-bit word at guest-physical ADDR is non-zero, then exits through debug-exit. Its RAM is made
"touched" from the host, not by a guest loop (guest code at CPL0 is slow on kvm_pvm):

1. Hangar boots the probe (1088 MiB), save-state writes DIR1 once it is ready, and the bench
   fills DIR1/ram with random data from 64 MiB to 64 MiB + 1 GiB.
2. QEMU boots the probe on a memory-backend-file (share=on) that is a copy of that RAM file,
   so its guest has the same 1 GiB of data, and is stopped once the probe is ready.
3. Save, repeated, interleaved: Hangar restored from DIR1 --paused, control-socket save-state
   to DIR2 (the reply comes after the RAM file was fdatasync'ed); QEMU QMP migrate to
   "exec:cat > FILE" (max-bandwidth unlimited: QEMU's default caps it at 128 MiB/s) until
   query-migrate says completed, then fdatasync(FILE); and dd of 1 GiB with conv=fdatasync,
   the disk's own speed.
4. The flag is set: in DIR1/ram at its offset (guest-physical = file offset below 3 GiB), and
   in QEMU's shared RAM file while QEMU is stopped, which then migrates once more. QEMU runs
   with -global migration.store-global-state=off, so that the restored QEMU starts running by
   itself rather than staying paused as the source was.
5. Restore to running, repeated, interleaved: hangar-engine --restore DIR1, and QEMU -incoming
   "exec:cat FILE", each with its serial port on a pipe. The probe sees the flag on its next
   loop iteration and prints "flag seen": spawn to its first byte is restore to running, spawn
   to exit adds the teardown. Measured with the images in the page cache, and again with them
   evicted (posix_fadvise DONTNEED) before each run.
"""

import os
import re
import shutil
import subprocess
import time

import benchlib

MEMORY_MIB = 1088
FILL_START = 64 << 20
FILL_SIZE = 1 << 30
SAVE_TARGET_VS_DD = 1.25
RESTORE_TARGET_S = 0.020


def add_arguments(parser):
    parser.add_argument('--guest', required=True, help='guest-restore-probe.elf')


def flag_address(ready_line):
    match = re.search(r'flag at (0x[0-9a-f]+)', ready_line)
    if not match:
        raise benchlib.BenchError(f'no flag address in "{ready_line}"')
    return int(match.group(1), 16)


def write_u64(path, offset, value):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, value.to_bytes(8, 'little'), offset)
        os.fdatasync(fd)
    finally:
        os.close(fd)


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


def evict(*paths):
    """Drops the files' (clean) pages from the page cache; other files are not affected."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.unlink(path)


def timed(prepare, action):
    """prepare() untimed, then os.sync() so that no earlier write is flushed inside action."""
    prepare()
    os.sync()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def prepare_hangar(args, work):
    """Boots the probe, saves it as DIR1 and fills 1 GiB of its RAM file. Returns the flag
    address."""
    control = work('prepare.sock')
    serial = work('prepare.serial')
    proc = subprocess.Popen([args.engine, '--kernel', args.guest, '--debug-exit', '--memory',
                             str(MEMORY_MIB), '--control', control, '--serial', 'file:' + serial],
                            stdin=subprocess.DEVNULL)
    try:
        address = flag_address(benchlib.wait_for_line(serial, 'probe ready', proc))
        client = benchlib.JsonLines(control, proc)
        client.execute('save-state', {'path': work('hangar-saved')})
        client.execute('quit')
        proc.wait(30)
    finally:
        benchlib.stop_process(proc)
    if address + 8 > FILL_START:
        raise benchlib.BenchError(f'flag at {address:#x} lies in the filled range')
    fill(work('hangar-saved', 'ram'), FILL_START, FILL_SIZE)
    return address


class QemuSource:
    """QEMU running the probe on a shared copy of the prepared RAM file, stopped when ready."""

    def __init__(self, args, work, ram_file):
        self.ram = work('qemu-ram')
        shutil.copyfile(ram_file, self.ram)
        serial = work('qemu.serial')
        qmp = work('qemu.qmp')
        self.base = benchlib.qemu_base(args.qemu, MEMORY_MIB) + ['-kernel', args.guest]
        self.proc = subprocess.Popen(self.base + [
            '-object', f'memory-backend-file,id=ram,size={MEMORY_MIB}M,mem-path={self.ram},'
            'share=on', '-machine', 'memory-backend=ram', '-serial', 'file:' + serial,
            '-global', 'migration.store-global-state=off',
            '-qmp', f'unix:{qmp},server=on,wait=off'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            benchlib.wait_for_line(serial, 'probe ready', self.proc)
            self.qmp = benchlib.Qmp(qmp, self.proc)
            self.qmp.execute('stop')
            self.qmp.execute('migrate-set-parameters', {'max-bandwidth': 1 << 40})
        except BaseException:
            self.kill()
            raise

    def migrate(self, path, again=True):
        """Writes the machine to path and syncs it; QEMU stays paused."""
        self.qmp.execute('migrate', {'uri': f'exec:cat > {path}'})
        while True:
            status = self.qmp.execute('query-migrate').get('status')
            if status == 'completed':
                break
            if status in ('failed', 'cancelled'):
                raise benchlib.BenchError(f'QEMU migration {status}')
            time.sleep(0.002)
        fd = os.open(path, os.O_RDONLY)
        os.fdatasync(fd)
        os.close(fd)
        if again:
            # After a migration QEMU refuses another until the guest ran again.
            self.qmp.execute('cont')
            self.qmp.execute('stop')

    def restore_command(self, path):
        return self.base + ['-object', f'memory-backend-ram,id=ram,size={MEMORY_MIB}M',
                            '-machine', 'memory-backend=ram', '-serial', 'stdio',
                            '-incoming', f'exec:cat {path}']

    def close(self):
        try:
            self.qmp.execute('quit')
            self.proc.wait(30)
        finally:
            self.kill()

    def kill(self):
        benchlib.stop_process(self.proc)


def measure_save(args, work, saved, qemu):
    """Save timings of Hangar, QEMU and dd, interleaved; one Hangar and one QEMU process for
    all runs, as with a long-running VM. Returns them and the bytes Hangar wrote."""
    control = work('hangar.sock')
    out, mig, ddfile = work('hangar-out'), work('qemu-out.mig'), work('dd.out')
    dd_command = ['dd', 'if=/dev/zero', 'of=' + ddfile, 'bs=1M', f'count={FILL_SIZE >> 20}',
                  'conv=fdatasync']
    hangar = subprocess.Popen([args.engine, '--restore', saved, '--kernel', args.guest,
                               '--debug-exit', '--control', control, '--paused'],
                              stdin=subprocess.DEVNULL)
    h_save, q_save, dd = [], [], []
    try:
        client = benchlib.JsonLines(control, hangar)
        for _ in range(args.repeat):
            h_save.append(timed(lambda: remove(out),
                                lambda: client.execute('save-state', {'path': out})))
            if qemu:
                q_save.append(timed(lambda: remove(mig), lambda: qemu.migrate(mig)))
            dd.append(timed(lambda: remove(ddfile),
                            lambda: subprocess.run(dd_command, check=True,
                                                   stderr=subprocess.DEVNULL)))
        client.execute('quit')
        hangar.wait(30)
    finally:
        benchlib.stop_process(hangar)
    written = os.stat(os.path.join(out, 'ram')).st_blocks * 512
    for path in (out, mig, ddfile):
        remove(path)
    return h_save, q_save, dd, written


def measure_restore(args, work, saved, address, qemu):
    """Sets the flag, then times restore to running with the images cached and evicted."""
    ram = os.path.join(saved, 'ram')
    mig = work('qemu-flag-set.mig')
    write_u64(ram, address, 1)
    if qemu:
        write_u64(qemu.ram, address, 1)
        qemu.migrate(mig, again=False)  # cont would run the guest, which now exits
        qemu.close()
        remove(qemu.ram)
    hangar = [args.engine, '--restore', saved, '--kernel', args.guest, '--debug-exit',
              '--serial', 'stdio']
    h_warm, q_warm, h_cold, q_cold = [], [], [], []
    benchlib.time_output_and_run(hangar)
    for _ in range(args.repeat):
        h_warm.append(benchlib.time_output_and_run(hangar))
        if qemu:
            q_warm.append(benchlib.time_output_and_run(qemu.restore_command(mig)))
    for _ in range(args.repeat):
        evict(ram, os.path.join(saved, 'state'))
        h_cold.append(benchlib.time_output_and_run(hangar))
        if qemu:
            evict(mig)
            q_cold.append(benchlib.time_output_and_run(qemu.restore_command(mig)))
    return h_warm, q_warm, h_cold, q_cold


def run():
    args = benchlib.parse_args(__doc__.splitlines()[0], add_arguments, default_repeat=5)
    benchlib.print_header(
        f'save and restore, {MEMORY_MIB} MiB guest with 1 GiB of touched RAM', args,
        ['save: until the RAM image is on disk (fdatasync); QEMU: migrate to exec:cat > FILE, '
         'max-bandwidth unlimited, + fdatasync',
         'restore: to the guest\'s first output, and to exit (+ teardown); QEMU: -incoming '
         'exec:cat FILE, which reads the whole image'])
    with benchlib.Workdir(args.workdir, 'bench-save-restore') as work:
        address = prepare_hangar(args, work)
        saved = work('hangar-saved')
        qemu = QemuSource(args, work, os.path.join(saved, 'ram')) if args.qemu else None
        try:
            h_save, q_save, dd, written = measure_save(args, work, saved, qemu)
            h_warm, q_warm, h_cold, q_cold = measure_restore(args, work, saved, address, qemu)
        finally:
            if qemu:
                qemu.kill()

    table = benchlib.Table()
    table.add(f'save, {written / (1 << 30):.2f} GiB written', h_save, q_save or None,
              fmt=benchlib.fmt_s, target=f'≤ {SAVE_TARGET_VS_DD} × dd',
              passed=benchlib.median(h_save) <= SAVE_TARGET_VS_DD * benchlib.median(dd))
    table.add('(disk speed: dd 1 GiB, conv=fdatasync)', dd, fmt=benchlib.fmt_s)
    for image, h, q in (('cached', h_warm, q_warm), ('evicted', h_cold, q_cold)):
        for i, label in enumerate(('spawn to first guest output', 'spawn to exit')):
            hangar = [r[i] for r in h]
            passed = benchlib.median(hangar) <= RESTORE_TARGET_S if image == 'cached' else None
            table.add(f'restore, image {image}: {label}', hangar, [r[i] for r in q] or None,
                      target='≤ 20 ms' if image == 'cached' else '', passed=passed)
    table.print()


if __name__ == '__main__':
    benchlib.main(run)
