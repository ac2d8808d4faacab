#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Makes an OVA for the import tests and benchmarks: a ustar archive with an OVF descriptor
first (VMware's dialect: vmw:osType, vmw:Config firmware, a SCSI controller), a SHA-256
manifest, then the disk files.

usage: make-ova.py OUT.ova [--name NAME] [--cpus N] [--memory-mib M] [--efi]
                   [--os-type T] [--os-description D] [--disk FILE[:CAPACITY]]...
                   [--empty-disk CAPACITY]... [--missing HREF]
                   [--reverse-disks] [--ovf-last] [--wrong-size]
                   [--compression gzip|bzip2] [--claim-compression gzip]
                   [--collection] [--evil-entry NAME] [--folder]
                   [--bad-digest NAME] [--manifest-last]

CAPACITY is in bytes; by default qemu-img's virtual size of FILE. --missing references a
file the archive lacks; --reverse-disks puts the disk files in the opposite order to the
descriptor's; --ovf-last puts the descriptor after them; --wrong-size gives the first File a
size 512 bytes off; --collection wraps the system in a VirtualSystemCollection;
--compression packs the disk files so (ovf:compression, as ovftool --compress does);
--claim-compression only says so. --evil-entry adds an entry with that name (e.g. ../x) before the disks. --folder writes no
archive: OUT is the .ovf, written with the manifest beside the disk files (which must be in
OUT's folder already), as ovftool writes an OVF package. --bad-digest gives the manifest a
wrong digest for NAME (the descriptor's name or a disk's); --manifest-last puts the manifest
after the disks.
"""
import argparse
import hashlib
import io
import json
import os
import subprocess
import tarfile

OVF_NS = 'http://schemas.dmtf.org/ovf/envelope/1'
RASD_NS = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData'
VSSD_NS = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData'
VMW_NS = 'http://www.vmware.com/schema/ovf'
STREAM_OPTIMIZED = 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized'


def virtual_size(path):
    info = subprocess.run(['qemu-img', 'info', '--output=json', path], check=True,
                          capture_output=True, text=True).stdout
    return json.loads(info)['virtual-size']


def item(instance, resource_type, body):
    return (f'      <Item>\n        <rasd:InstanceID>{instance}</rasd:InstanceID>\n'
            f'        <rasd:ResourceType>{resource_type}</rasd:ResourceType>\n{body}'
            '      </Item>\n')


def descriptor(args, files, disks):
    refs = ''.join(f"    <File ovf:id='{f['id']}' ovf:href='{f['href']}' ovf:size='{f['size']}'"
                   + (f" ovf:compression='{args.compression or args.claim_compression}'"
                      if args.compression or args.claim_compression else '')
                   + '/>\n' for f in files)
    disk_lines = ''
    for d in disks:
        ref = f" ovf:fileRef='{d['file']}'" if d['file'] else ''
        disk_lines += (f"    <Disk ovf:diskId='{d['id']}' ovf:capacity='{d['capacity']}'{ref}"
                       f" ovf:format='{STREAM_OPTIMIZED}'/>\n")
    hardware = item(1, 3, f'        <rasd:VirtualQuantity>{args.cpus}</rasd:VirtualQuantity>\n')
    hardware += item(2, 4, '        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>\n'
                     f'        <rasd:VirtualQuantity>{args.memory_mib}</rasd:VirtualQuantity>\n')
    hardware += item(3, 6, '        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>\n')
    for n, d in enumerate(disks):
        hardware += item(10 + n, 17,
                         f'        <rasd:AddressOnParent>{n}</rasd:AddressOnParent>\n'
                         f"        <rasd:HostResource>ovf:/disk/{d['id']}</rasd:HostResource>\n"
                         '        <rasd:Parent>3</rasd:Parent>\n')
    hardware += item(30, 10, '        <rasd:Connection>VM Network</rasd:Connection>\n')
    firmware = 'efi' if args.efi else 'bios'
    system = f"""  <VirtualSystem ovf:id='{args.name}'>
    <Info>A virtual machine</Info>
    <Name>{args.name}</Name>
    <OperatingSystemSection ovf:id='96' vmw:osType='{args.os_type}'>
      <Info>The kind of installed guest operating system</Info>
      <Description>{args.os_description}</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType>
      </System>
{hardware}      <vmw:Config ovf:required='false' vmw:key='firmware' vmw:value='{firmware}'/>
    </VirtualHardwareSection>
  </VirtualSystem>
"""
    if args.collection:
        system = ("  <VirtualSystemCollection ovf:id='all'>\n    <Info>Several</Info>\n"
                  + system + "  </VirtualSystemCollection>\n")
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<Envelope xmlns='{OVF_NS}' xmlns:ovf='{OVF_NS}' xmlns:rasd='{RASD_NS}'
    xmlns:vssd='{VSSD_NS}' xmlns:vmw='{VMW_NS}'>
  <References>
{refs}  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
{disk_lines}  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name='VM Network'><Description>The network</Description></Network>
  </NetworkSection>
{system}</Envelope>
""".encode()


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out')
    p.add_argument('--name', default='appliance')
    p.add_argument('--cpus', type=int, default=2)
    p.add_argument('--memory-mib', type=int, default=1536)
    p.add_argument('--efi', action='store_true')
    p.add_argument('--os-type', default='debian12_64Guest')
    p.add_argument('--os-description', default='Debian GNU/Linux 12 (64-bit)')
    p.add_argument('--disk', action='append', default=[])
    p.add_argument('--empty-disk', action='append', default=[], type=int)
    p.add_argument('--missing')
    p.add_argument('--reverse-disks', action='store_true')
    p.add_argument('--ovf-last', action='store_true')
    p.add_argument('--wrong-size', action='store_true')
    p.add_argument('--compression')
    p.add_argument('--claim-compression')
    p.add_argument('--collection', action='store_true')
    p.add_argument('--evil-entry')
    p.add_argument('--folder', action='store_true')
    p.add_argument('--bad-digest')
    p.add_argument('--manifest-last', action='store_true')
    args = p.parse_args()

    files, disks, payload = [], [], []
    packer = {'gzip': 'gzip', 'bzip2': 'bzip2'}.get(args.compression)
    for n, spec in enumerate(args.disk):
        path, _, capacity = spec.partition(':')
        href = os.path.basename(path)
        disk_capacity = int(capacity) if capacity else virtual_size(path)
        if packer:
            # In an OVA the entry keeps the disk's name; in a folder the
            # packed file sits beside the original, so it gets a suffix.
            suffix = {'gzip': '.gz', 'bzip2': '.bz2'}[packer]
            packed = os.path.join(os.path.dirname(os.path.abspath(args.out)),
                                  href + suffix if args.folder else f'.{href}{suffix}')
            with open(packed, 'wb') as out:
                subprocess.run([packer, '-c', path], stdout=out, check=True)
            path = packed
            if args.folder:
                href = os.path.basename(packed)
        size = os.path.getsize(path)
        files.append({'id': f'file{n + 1}', 'href': href,
                      'size': size + (512 if args.wrong_size and n == 0 else 0)})
        disks.append({'id': f'vmdisk{n + 1}', 'file': f'file{n + 1}',
                      'capacity': disk_capacity})
        payload.append((href, path))
    if args.missing:
        files.append({'id': 'lost', 'href': args.missing, 'size': 1 << 20})
        disks.append({'id': 'vmdisk-lost', 'file': 'lost', 'capacity': 1 << 20})
    for n, capacity in enumerate(args.empty_disk):
        disks.append({'id': f'empty{n + 1}', 'file': None, 'capacity': capacity})
    ovf_name = os.path.basename(args.out) if args.folder else args.name + '.ovf'
    ovf = descriptor(args, files, disks)
    digests = {ovf_name: hashlib.sha256(ovf).hexdigest()}
    for href, path in payload:
        with open(path, 'rb') as f:
            digests[href] = hashlib.sha256(f.read()).hexdigest()
    if args.bad_digest:
        digests[args.bad_digest] = hashlib.sha256(b'something else').hexdigest()
    manifest = ''.join(f'SHA256({name})= {digest}\n' for name, digest in digests.items())

    if args.folder:
        with open(args.out, 'wb') as f:
            f.write(ovf)
        with open(os.path.splitext(args.out)[0] + '.mf', 'w') as f:
            f.write(manifest)
        return
    if args.reverse_disks:
        payload.reverse()
    with tarfile.open(args.out, 'w', format=tarfile.USTAR_FORMAT) as tar:
        if not args.ovf_last:
            add_bytes(tar, ovf_name, ovf)
        if not args.manifest_last:
            add_bytes(tar, args.name + '.mf', manifest.encode())
        if args.evil_entry:
            add_bytes(tar, args.evil_entry, b'\0' * (64 << 10))
        for href, path in payload:
            tar.add(path, arcname=href)
        if args.ovf_last:
            add_bytes(tar, ovf_name, ovf)
        if args.manifest_last:
            add_bytes(tar, args.name + '.mf', manifest.encode())


if __name__ == '__main__':
    main()
