/* OVF descriptors (library/import/ovf.h): what VirtualBox and VMware
 * write, OVF 2.0's StorageItem and EthernetPortItem, the disk order (by
 * controller, then address), units, deployment options, and a table of
 * broken and hostile descriptors that must each be refused with a message
 * that names the problem.  Entity bombs and external entities are refused
 * at the DOCTYPE, fast and in little memory. */
#include <glib.h>
#include <libxml/parser.h>
#include <string.h>
#include <sys/resource.h>

#include "library/import/ovf.h"
#include "library/vm/vm_config.h"

#define STREAM_OPTIMIZED "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"

/* As VirtualBox 7 exports it (OVF 1.0): no Name, memory in "MegaBytes", an
 * IDE controller before the SATA one, "/disk/" host resources, and the
 * firmware only in its own vbox:Machine. */
static const char virtualbox_ovf[] =
	"<?xml version='1.0'?>\n"
	"<Envelope ovf:version='1.0' xml:lang='en-US'\n"
	"    xmlns='http://schemas.dmtf.org/ovf/envelope/1'\n"
	"    xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'\n"
	"    xmlns:rasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	"CIM_ResourceAllocationSettingData'\n"
	"    xmlns:vssd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	"CIM_VirtualSystemSettingData'\n"
	"    xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'\n"
	"    xmlns:vbox='http://www.virtualbox.org/ovf/machine'>\n"
	"  <References>\n"
	"    <File ovf:id='file1' ovf:href='debian-12-disk001.vmdk'/>\n"
	"    <File ovf:id='file2' ovf:href='debian-12-disk002.vmdk'/>\n"
	"  </References>\n"
	"  <DiskSection>\n"
	"    <Info>List of the virtual disks used in the package</Info>\n"
	"    <Disk ovf:capacity='21474836480' ovf:diskId='vmdisk1' ovf:fileRef='file1'\n"
	"        ovf:format='" STREAM_OPTIMIZED "'\n"
	"        vbox:uuid='1b2f8f7e-5a8e-4c39-9d6a-0a4f3f1f1a01'/>\n"
	"    <Disk ovf:capacity='8589934592' ovf:diskId='vmdisk2' ovf:fileRef='file2'\n"
	"        ovf:format='" STREAM_OPTIMIZED "'\n"
	"        vbox:uuid='1b2f8f7e-5a8e-4c39-9d6a-0a4f3f1f1a02'/>\n"
	"  </DiskSection>\n"
	"  <NetworkSection>\n"
	"    <Info>Logical networks used in the package</Info>\n"
	"    <Network ovf:name='NAT'><Description>Logical network used by this "
	"appliance.</Description></Network>\n"
	"  </NetworkSection>\n"
	"  <VirtualSystem ovf:id='debian-12'>\n"
	"    <Info>A virtual machine</Info>\n"
	"    <OperatingSystemSection ovf:id='96'>\n"
	"      <Info>The kind of installed guest operating system</Info>\n"
	"      <Description>Debian_64</Description>\n"
	"      <vbox:OSType ovf:required='false'>Debian_64</vbox:OSType>\n"
	"    </OperatingSystemSection>\n"
	"    <VirtualHardwareSection>\n"
	"      <Info>Virtual hardware requirements for a virtual machine</Info>\n"
	"      <System>\n"
	"        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>\n"
	"        <vssd:InstanceID>0</vssd:InstanceID>\n"
	"        <vssd:VirtualSystemIdentifier>debian-12</vssd:VirtualSystemIdentifier>\n"
	"        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>\n"
	"      </System>\n"
	"      <Item>\n"
	"        <rasd:Caption>2 virtual CPU</rasd:Caption>\n"
	"        <rasd:Description>Number of virtual CPUs</rasd:Description>\n"
	"        <rasd:ElementName>2 virtual CPU</rasd:ElementName>\n"
	"        <rasd:InstanceID>1</rasd:InstanceID>\n"
	"        <rasd:ResourceType>3</rasd:ResourceType>\n"
	"        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>\n"
	"        <rasd:Caption>2048 MB of memory</rasd:Caption>\n"
	"        <rasd:InstanceID>2</rasd:InstanceID>\n"
	"        <rasd:ResourceType>4</rasd:ResourceType>\n"
	"        <rasd:VirtualQuantity>2048</rasd:VirtualQuantity>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:Address>0</rasd:Address>\n"
	"        <rasd:Caption>ideController0</rasd:Caption>\n"
	"        <rasd:InstanceID>3</rasd:InstanceID>\n"
	"        <rasd:ResourceSubType>PIIX4</rasd:ResourceSubType>\n"
	"        <rasd:ResourceType>5</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:Address>0</rasd:Address>\n"
	"        <rasd:Caption>sataController0</rasd:Caption>\n"
	"        <rasd:InstanceID>4</rasd:InstanceID>\n"
	"        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>\n"
	"        <rasd:ResourceType>20</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:Caption>usb</rasd:Caption>\n"
	"        <rasd:InstanceID>5</rasd:InstanceID>\n"
	"        <rasd:ResourceType>23</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n"
	"        <rasd:Caption>Ethernet adapter on 'NAT'</rasd:Caption>\n"
	"        <rasd:Connection>NAT</rasd:Connection>\n"
	"        <rasd:InstanceID>6</rasd:InstanceID>\n"
	"        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>\n"
	"        <rasd:ResourceType>10</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:AddressOnParent>0</rasd:AddressOnParent>\n"
	"        <rasd:Caption>disk1</rasd:Caption>\n"
	"        <rasd:HostResource>/disk/vmdisk1</rasd:HostResource>\n"
	"        <rasd:InstanceID>7</rasd:InstanceID>\n"
	"        <rasd:Parent>4</rasd:Parent>\n"
	"        <rasd:ResourceType>17</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:AddressOnParent>1</rasd:AddressOnParent>\n"
	"        <rasd:Caption>disk2</rasd:Caption>\n"
	"        <rasd:HostResource>/disk/vmdisk2</rasd:HostResource>\n"
	"        <rasd:InstanceID>8</rasd:InstanceID>\n"
	"        <rasd:Parent>4</rasd:Parent>\n"
	"        <rasd:ResourceType>17</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:AddressOnParent>0</rasd:AddressOnParent>\n"
	"        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n"
	"        <rasd:Caption>cdrom1</rasd:Caption>\n"
	"        <rasd:InstanceID>9</rasd:InstanceID>\n"
	"        <rasd:Parent>3</rasd:Parent>\n"
	"        <rasd:ResourceType>15</rasd:ResourceType>\n"
	"      </Item>\n"
	"    </VirtualHardwareSection>\n"
	"    <vbox:Machine ovf:required='false' version='1.19-linux'\n"
	"        uuid='{3f6c1a0e-7d5c-4f0e-9a43-5b0f4f3c2d11}' name='debian-12' "
	"OSType='Debian_64'>\n"
	"      <ovf:Info>Complete VirtualBox machine configuration in VirtualBox "
	"format</ovf:Info>\n"
	"      <Hardware>\n"
	"        <CPU count='2'><PAE enabled='true'/><LongMode enabled='true'/></CPU>\n"
	"        <Memory RAMSize='2048'/>\n"
	"        <Firmware type='EFI'/>\n"
	"        <Boot><Order position='1' device='HardDisk'/></Boot>\n"
	"        <Network><Adapter slot='0' enabled='true' type='82540EM'><NAT/></Adapter>"
	"</Network>\n"
	"      </Hardware>\n"
	"      <StorageControllers>\n"
	"        <StorageController name='IDE' type='PIIX4' PortCount='2' Bootable='true'>\n"
	"          <AttachedDevice passthrough='false' type='DVD' port='1' device='0'/>\n"
	"        </StorageController>\n"
	"        <StorageController name='SATA' type='AHCI' PortCount='2' Bootable='true'>\n"
	"          <AttachedDevice type='HardDisk' port='0' device='0'>\n"
	"            <Image uuid='{1b2f8f7e-5a8e-4c39-9d6a-0a4f3f1f1a01}'/>\n"
	"          </AttachedDevice>\n"
	"          <AttachedDevice type='HardDisk' port='1' device='0'>\n"
	"            <Image uuid='{1b2f8f7e-5a8e-4c39-9d6a-0a4f3f1f1a02}'/>\n"
	"          </AttachedDevice>\n"
	"        </StorageController>\n"
	"      </StorageControllers>\n"
	"    </vbox:Machine>\n"
	"  </VirtualSystem>\n"
	"</Envelope>\n";

/* As VMware's ovftool exports it: a Name, units as "byte * 2^N", the SCSI
 * controller's second disk listed first, everywhere (DiskSection and the
 * items), and the firmware as a vmw:Config key.  %s: "efi" or "bios". */
static const char vmware_ovf_format[] =
	"<?xml version='1.0' encoding='UTF-8'?>\n"
	"<!--Generated by VMware ovftool 4.6.2 (build-22220919), UTC time: "
	"2024-03-01T10:00:00.000Z-->\n"
	"<Envelope vmw:buildId='build-22220919'\n"
	"    xmlns='http://schemas.dmtf.org/ovf/envelope/1'\n"
	"    xmlns:cim='http://schemas.dmtf.org/wbem/wscim/1/common'\n"
	"    xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'\n"
	"    xmlns:rasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	"CIM_ResourceAllocationSettingData'\n"
	"    xmlns:vmw='http://www.vmware.com/schema/ovf'\n"
	"    xmlns:vssd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	"CIM_VirtualSystemSettingData'\n"
	"    xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'>\n"
	"  <References>\n"
	"    <File ovf:href='web-disk2.vmdk' ovf:id='file2' ovf:size='68608'/>\n"
	"    <File ovf:href='web-disk1.vmdk' ovf:id='file1' ovf:size='1034567680'/>\n"
	"  </References>\n"
	"  <DiskSection>\n"
	"    <Info>Virtual disk information</Info>\n"
	"    <Disk ovf:capacity='100' ovf:capacityAllocationUnits='byte * 2^30'\n"
	"        ovf:diskId='vmdisk2' ovf:fileRef='file2' ovf:format='" STREAM_OPTIMIZED "'\n"
	"        ovf:populatedSize='0'/>\n"
	"    <Disk ovf:capacity='40' ovf:capacityAllocationUnits='byte * 2^30'\n"
	"        ovf:diskId='vmdisk1' ovf:fileRef='file1' ovf:format='" STREAM_OPTIMIZED "'\n"
	"        ovf:populatedSize='2852126720'/>\n"
	"  </DiskSection>\n"
	"  <NetworkSection>\n"
	"    <Info>The list of logical networks</Info>\n"
	"    <Network ovf:name='VM Network'><Description>The VM Network network</Description>"
	"</Network>\n"
	"  </NetworkSection>\n"
	"  <VirtualSystem ovf:id='web-01'>\n"
	"    <Info>A virtual machine</Info>\n"
	"    <Name>web</Name>\n"
	"    <OperatingSystemSection ovf:id='101' vmw:osType='ubuntu64Guest'>\n"
	"      <Info>The kind of installed guest operating system</Info>\n"
	"      <Description>Ubuntu Linux (64-bit)</Description>\n"
	"    </OperatingSystemSection>\n"
	"    <VirtualHardwareSection>\n"
	"      <Info>Virtual hardware requirements</Info>\n"
	"      <System>\n"
	"        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>\n"
	"        <vssd:InstanceID>0</vssd:InstanceID>\n"
	"        <vssd:VirtualSystemIdentifier>web</vssd:VirtualSystemIdentifier>\n"
	"        <vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType>\n"
	"      </System>\n"
	"      <Item>\n"
	"        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>\n"
	"        <rasd:Description>Number of Virtual CPUs</rasd:Description>\n"
	"        <rasd:ElementName>4 virtual CPU(s)</rasd:ElementName>\n"
	"        <rasd:InstanceID>1</rasd:InstanceID>\n"
	"        <rasd:ResourceType>3</rasd:ResourceType>\n"
	"        <rasd:VirtualQuantity>4</rasd:VirtualQuantity>\n"
	"        <vmw:CoresPerSocket ovf:required='false'>2</vmw:CoresPerSocket>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>\n"
	"        <rasd:Description>Memory Size</rasd:Description>\n"
	"        <rasd:ElementName>8192MB of memory</rasd:ElementName>\n"
	"        <rasd:InstanceID>2</rasd:InstanceID>\n"
	"        <rasd:ResourceType>4</rasd:ResourceType>\n"
	"        <rasd:VirtualQuantity>8192</rasd:VirtualQuantity>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:Address>0</rasd:Address>\n"
	"        <rasd:Description>SCSI Controller</rasd:Description>\n"
	"        <rasd:ElementName>SCSI Controller 0</rasd:ElementName>\n"
	"        <rasd:InstanceID>3</rasd:InstanceID>\n"
	"        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>\n"
	"        <rasd:ResourceType>6</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:Address>0</rasd:Address>\n"
	"        <rasd:Description>SATA Controller</rasd:Description>\n"
	"        <rasd:ElementName>SATA Controller 0</rasd:ElementName>\n"
	"        <rasd:InstanceID>4</rasd:InstanceID>\n"
	"        <rasd:ResourceSubType>vmware.sata.ahci</rasd:ResourceSubType>\n"
	"        <rasd:ResourceType>20</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:AddressOnParent>1</rasd:AddressOnParent>\n"
	"        <rasd:ElementName>Hard Disk 2</rasd:ElementName>\n"
	"        <rasd:HostResource>ovf:/disk/vmdisk2</rasd:HostResource>\n"
	"        <rasd:InstanceID>5</rasd:InstanceID>\n"
	"        <rasd:Parent>3</rasd:Parent>\n"
	"        <rasd:ResourceType>17</rasd:ResourceType>\n"
	"        <vmw:Config ovf:required='false' vmw:key='backing.writeThrough' "
	"vmw:value='false'/>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:AddressOnParent>0</rasd:AddressOnParent>\n"
	"        <rasd:ElementName>Hard Disk 1</rasd:ElementName>\n"
	"        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>\n"
	"        <rasd:InstanceID>6</rasd:InstanceID>\n"
	"        <rasd:Parent>3</rasd:Parent>\n"
	"        <rasd:ResourceType>17</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item ovf:required='false'>\n"
	"        <rasd:AddressOnParent>0</rasd:AddressOnParent>\n"
	"        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>\n"
	"        <rasd:ElementName>CD/DVD drive 1</rasd:ElementName>\n"
	"        <rasd:InstanceID>7</rasd:InstanceID>\n"
	"        <rasd:Parent>4</rasd:Parent>\n"
	"        <rasd:ResourceSubType>vmware.cdrom.atapi</rasd:ResourceSubType>\n"
	"        <rasd:ResourceType>15</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:AddressOnParent>7</rasd:AddressOnParent>\n"
	"        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n"
	"        <rasd:Connection>VM Network</rasd:Connection>\n"
	"        <rasd:Description>VmxNet3 ethernet adapter on &quot;VM Network&quot;"
	"</rasd:Description>\n"
	"        <rasd:ElementName>Network adapter 1</rasd:ElementName>\n"
	"        <rasd:InstanceID>8</rasd:InstanceID>\n"
	"        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>\n"
	"        <rasd:ResourceType>10</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <Item ovf:required='false'>\n"
	"        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>\n"
	"        <rasd:ElementName>Video card</rasd:ElementName>\n"
	"        <rasd:InstanceID>9</rasd:InstanceID>\n"
	"        <rasd:ResourceType>24</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <vmw:Config ovf:required='false' vmw:key='cpuHotAddEnabled' vmw:value='false'/>\n"
	"      <vmw:Config ovf:required='false' vmw:key='firmware' vmw:value='%s'/>\n"
	"      <vmw:Config ovf:required='false' vmw:key='tools.syncTimeWithHost' "
	"vmw:value='false'/>\n"
	"    </VirtualHardwareSection>\n"
	"  </VirtualSystem>\n"
	"</Envelope>\n";

/* As VirtualBox exports OVF 2.0: the envelope/2 namespace, disks in
 * StorageItems and NICs in EthernetPortItems, under namespaces that end in
 * ".xsd"; Machine says BIOS. */
static const char ovf2_ovf[] =
	"<?xml version='1.0'?>\n"
	"<Envelope ovf:version='2.0' xml:lang='en-US'\n"
	"    xmlns='http://schemas.dmtf.org/ovf/envelope/2'\n"
	"    xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/2'\n"
	"    xmlns:rasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	"CIM_ResourceAllocationSettingData'\n"
	"    xmlns:vssd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	"CIM_VirtualSystemSettingData'\n"
	"    xmlns:vbox='http://www.virtualbox.org/ovf/machine'\n"
	"    xmlns:epasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	"CIM_EthernetPortAllocationSettingData.xsd'\n"
	"    xmlns:sasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	"CIM_StorageAllocationSettingData.xsd'>\n"
	"  <References>\n"
	"    <File ovf:href='ubuntu-disk1.vmdk' ovf:id='file1' ovf:compression='identity'/>\n"
	"  </References>\n"
	"  <DiskSection>\n"
	"    <Info>List of the virtual disks used in the package</Info>\n"
	"    <Disk ovf:capacity='10' ovf:capacityAllocationUnits='GigaBytes' ovf:diskId='vmdisk1'\n"
	"        ovf:fileRef='file1' ovf:format='" STREAM_OPTIMIZED "'/>\n"
	"  </DiskSection>\n"
	"  <VirtualSystem ovf:id='ubuntu'>\n"
	"    <Info>A virtual machine</Info>\n"
	"    <OperatingSystemSection ovf:id='94'>\n"
	"      <Info>The kind of installed guest operating system</Info>\n"
	"      <Description>Ubuntu_64</Description>\n"
	"    </OperatingSystemSection>\n"
	"    <VirtualHardwareSection>\n"
	"      <Info>Virtual hardware requirements for a virtual machine</Info>\n"
	"      <Item>\n"
	"        <rasd:InstanceID>1</rasd:InstanceID>\n"
	"        <rasd:ResourceType>3</rasd:ResourceType>\n"
	"        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>\n"
	"        <rasd:InstanceID>2</rasd:InstanceID>\n"
	"        <rasd:ResourceType>4</rasd:ResourceType>\n"
	"        <rasd:VirtualQuantity>512</rasd:VirtualQuantity>\n"
	"      </Item>\n"
	"      <Item>\n"
	"        <rasd:Address>0</rasd:Address>\n"
	"        <rasd:InstanceID>5</rasd:InstanceID>\n"
	"        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>\n"
	"        <rasd:ResourceType>20</rasd:ResourceType>\n"
	"      </Item>\n"
	"      <StorageItem>\n"
	"        <sasd:AddressOnParent>0</sasd:AddressOnParent>\n"
	"        <sasd:Caption>disk1</sasd:Caption>\n"
	"        <sasd:HostResource>/disk/vmdisk1</sasd:HostResource>\n"
	"        <sasd:InstanceID>8</sasd:InstanceID>\n"
	"        <sasd:Parent>5</sasd:Parent>\n"
	"        <sasd:ResourceType>17</sasd:ResourceType>\n"
	"      </StorageItem>\n"
	"      <EthernetPortItem>\n"
	"        <epasd:Connection>NAT</epasd:Connection>\n"
	"        <epasd:InstanceID>10</epasd:InstanceID>\n"
	"        <epasd:ResourceSubType>E1000</epasd:ResourceSubType>\n"
	"        <epasd:ResourceType>10</epasd:ResourceType>\n"
	"      </EthernetPortItem>\n"
	"      <EthernetPortItem>\n"
	"        <epasd:Connection>HostOnly</epasd:Connection>\n"
	"        <epasd:InstanceID>11</epasd:InstanceID>\n"
	"        <epasd:ResourceSubType>virtio</epasd:ResourceSubType>\n"
	"        <epasd:ResourceType>10</epasd:ResourceType>\n"
	"      </EthernetPortItem>\n"
	"    </VirtualHardwareSection>\n"
	"    <vbox:Machine ovf:required='false' name='ubuntu' OSType='Ubuntu_64'>\n"
	"      <ovf:Info>Complete VirtualBox machine configuration</ovf:Info>\n"
	"      <Hardware><Firmware type='BIOS'/></Hardware>\n"
	"    </vbox:Machine>\n"
	"  </VirtualSystem>\n"
	"</Envelope>\n";

/* A small OVF 1.0 descriptor around the given References, DiskSection,
 * VirtualSystem extras (before its hardware) and VirtualHardwareSection
 * contents. */
static char *small_ovf(const char *files, const char *disks, const char *system, const char *items)
{
	return g_strdup_printf(
		"<?xml version='1.0'?>\n"
		"<Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/1'\n"
		"    xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'\n"
		"    xmlns:rasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
		"CIM_ResourceAllocationSettingData'\n"
		"    xmlns:vmw='http://www.vmware.com/schema/ovf'\n"
		"    xmlns:vbox='http://www.virtualbox.org/ovf/machine'>\n"
		"  <References>%s</References>\n"
		"  <DiskSection><Info>Disks</Info>%s</DiskSection>\n"
		"  <VirtualSystem ovf:id='vm'>\n"
		"    <Info>A virtual machine</Info>%s\n"
		"    <VirtualHardwareSection><Info>Hardware</Info>%s</VirtualHardwareSection>\n"
		"  </VirtualSystem>\n"
		"</Envelope>\n",
		files, disks, system, items);
}

static HgOvf *parse_ok(const char *xml)
{
	g_autoptr(GError) error = NULL;
	HgOvf *ovf = hg_ovf_parse(xml, strlen(xml), &error);

	g_assert_no_error(error);
	g_assert_nonnull(ovf);
	return ovf;
}

static HgOvfDisk *disk_at(HgOvf *ovf, guint i)
{
	g_assert_cmpuint(i, <, ovf->disks->len);
	return g_ptr_array_index(ovf->disks, i);
}

static HgOvfFile *file_at(HgOvf *ovf, guint i)
{
	g_assert_cmpuint(i, <, ovf->files->len);
	return g_ptr_array_index(ovf->files, i);
}

/* ---- what VirtualBox, VMware and OVF 2.0 write ---- */

static void test_virtualbox(void)
{
	g_autoptr(HgOvf) ovf = parse_ok(virtualbox_ovf);

	g_assert_cmpstr(ovf->name, ==, "debian-12");
	g_assert_cmpuint(ovf->cpus, ==, 2);
	g_assert_cmpuint(ovf->memory_mib, ==, 2048);
	g_assert_true(ovf->efi);
	g_assert_cmpuint(ovf->nics, ==, 1);
	g_assert_cmpint(ovf->os_cim_id, ==, 96);
	g_assert_cmpstr(ovf->os_type, ==, "Debian_64");
	g_assert_cmpstr(ovf->os_description, ==, "Debian_64");

	g_assert_cmpuint(ovf->files->len, ==, 2);
	g_assert_cmpstr(file_at(ovf, 0)->id, ==, "file1");
	g_assert_cmpstr(file_at(ovf, 0)->href, ==, "debian-12-disk001.vmdk");
	g_assert_cmpint(file_at(ovf, 0)->size, ==, -1);
	g_assert_null(file_at(ovf, 0)->compression);
	g_assert_cmpstr(file_at(ovf, 1)->href, ==, "debian-12-disk002.vmdk");

	/* The SATA disks only: the CD-ROM on IDE has no disk. */
	g_assert_cmpuint(ovf->disks->len, ==, 2);
	g_assert_cmpstr(disk_at(ovf, 0)->disk_id, ==, "vmdisk1");
	g_assert_true(disk_at(ovf, 0)->file == file_at(ovf, 0));
	g_assert_cmpuint(disk_at(ovf, 0)->capacity_bytes, ==, 20ull << 30);
	g_assert_cmpstr(disk_at(ovf, 0)->format, ==, STREAM_OPTIMIZED);
	g_assert_cmpstr(disk_at(ovf, 1)->disk_id, ==, "vmdisk2");
	g_assert_true(disk_at(ovf, 1)->file == file_at(ovf, 1));
	g_assert_cmpuint(disk_at(ovf, 1)->capacity_bytes, ==, 8ull << 30);
}

static HgOvf *parse_vmware(const char *firmware)
{
	g_autofree char *xml = g_strdup_printf(vmware_ovf_format, firmware);

	return parse_ok(xml);
}

static void test_vmware(void)
{
	g_autoptr(HgOvf) ovf = parse_vmware("efi");

	g_assert_cmpstr(ovf->name, ==, "web");
	g_assert_cmpuint(ovf->cpus, ==, 4);
	g_assert_cmpuint(ovf->memory_mib, ==, 8192);
	g_assert_true(ovf->efi);
	g_assert_cmpuint(ovf->nics, ==, 1);
	g_assert_cmpint(ovf->os_cim_id, ==, 101);
	g_assert_cmpstr(ovf->os_type, ==, "ubuntu64Guest");
	g_assert_cmpstr(ovf->os_description, ==, "Ubuntu Linux (64-bit)");

	g_assert_cmpuint(ovf->files->len, ==, 2);
	g_assert_cmpstr(file_at(ovf, 0)->href, ==, "web-disk2.vmdk");
	g_assert_cmpint(file_at(ovf, 0)->size, ==, 68608);
	g_assert_cmpint(file_at(ovf, 1)->size, ==, 1034567680);
}

/* Hard Disk 2 comes first in DiskSection and in the items, but sits at
 * SCSI address 1: Hard Disk 1, at 0, boots. */
static void test_vmware_disks_by_address(void)
{
	g_autoptr(HgOvf) ovf = parse_vmware("efi");

	g_assert_cmpuint(ovf->disks->len, ==, 2);
	g_assert_cmpstr(disk_at(ovf, 0)->disk_id, ==, "vmdisk1");
	g_assert_cmpstr(disk_at(ovf, 0)->file->href, ==, "web-disk1.vmdk");
	g_assert_cmpuint(disk_at(ovf, 0)->capacity_bytes, ==, 40ull << 30);
	g_assert_cmpstr(disk_at(ovf, 1)->disk_id, ==, "vmdisk2");
	g_assert_cmpstr(disk_at(ovf, 1)->file->href, ==, "web-disk2.vmdk");
	g_assert_cmpuint(disk_at(ovf, 1)->capacity_bytes, ==, 100ull << 30);
}

static void test_vmware_bios(void)
{
	g_autoptr(HgOvf) ovf = parse_vmware("bios");

	g_assert_false(ovf->efi);
	g_assert_cmpstr(ovf->name, ==, "web");
}

static void test_ovf2(void)
{
	g_autoptr(HgOvf) ovf = parse_ok(ovf2_ovf);

	g_assert_cmpstr(ovf->name, ==, "ubuntu");
	g_assert_cmpuint(ovf->cpus, ==, 1);
	g_assert_cmpuint(ovf->memory_mib, ==, 512);
	g_assert_false(ovf->efi);
	g_assert_cmpuint(ovf->nics, ==, 2);
	g_assert_cmpint(ovf->os_cim_id, ==, 94);
	/* No vbox:OSType element: the Machine's attribute. */
	g_assert_cmpstr(ovf->os_type, ==, "Ubuntu_64");
	g_assert_cmpuint(ovf->disks->len, ==, 1);
	g_assert_cmpstr(disk_at(ovf, 0)->file->href, ==, "ubuntu-disk1.vmdk");
	g_assert_null(disk_at(ovf, 0)->file->compression);
	g_assert_cmpuint(disk_at(ovf, 0)->capacity_bytes, ==, 10ull << 30);
}

/* ---- disk order, files, units, options ---- */

#define DRIVE(instance, disk, parent, address)                                                     \
	"<Item><rasd:InstanceID>" instance "</rasd:InstanceID>"                                    \
	"<rasd:ResourceType>17</rasd:ResourceType>"                                                \
	"<rasd:HostResource>ovf:/disk/" disk "</rasd:HostResource>"                                \
	"<rasd:Parent>" parent "</rasd:Parent>"                                                    \
	"<rasd:AddressOnParent>" address "</rasd:AddressOnParent></Item>"
#define CONTROLLER(instance, type)                                                                 \
	"<Item><rasd:InstanceID>" instance "</rasd:InstanceID>"                                    \
	"<rasd:ResourceType>" type "</rasd:ResourceType></Item>"

/* The SATA controller's item comes first: its disk boots although the IDE
 * controller's InstanceID is lower.  A disk no drive names goes last, an
 * empty one (no fileRef) has no file. */
static void test_disks_follow_controller_order(void)
{
	g_autofree char *xml = small_ovf(
		"<File ovf:id='f1' ovf:href='a.vmdk'/><File ovf:id='f2' ovf:href='b.vmdk'/>"
		"<File ovf:id='f3' ovf:href='c.vmdk'/>",
		"<Disk ovf:diskId='spare' ovf:fileRef='f3' ovf:capacity='1'/>"
		"<Disk ovf:diskId='ide' ovf:fileRef='f1' ovf:capacity='2'/>"
		"<Disk ovf:diskId='empty' ovf:capacity='4' ovf:capacityAllocationUnits='MB'/>"
		"<Disk ovf:diskId='sata' ovf:fileRef='f2' ovf:capacity='3'/>",
		"",
		CONTROLLER("9", "20") CONTROLLER("2", "5") DRIVE("10", "ide", "2", "0")
			DRIVE("11", "empty", "9", "3") DRIVE("12", "sata", "9", "0"));
	g_autoptr(HgOvf) ovf = parse_ok(xml);
	const char *want[] = {"sata", "empty", "ide", "spare"};

	g_assert_cmpuint(ovf->disks->len, ==, G_N_ELEMENTS(want));
	for (guint i = 0; i < G_N_ELEMENTS(want); i++)
		g_assert_cmpstr(disk_at(ovf, i)->disk_id, ==, want[i]);
	g_assert_null(disk_at(ovf, 1)->file);
	g_assert_cmpuint(disk_at(ovf, 1)->capacity_bytes, ==, 4 << 20);
	g_assert_cmpstr(disk_at(ovf, 3)->file->href, ==, "c.vmdk");
}

/* Addresses compare as numbers; a Parent naming no item, or no address,
 * only sorts the disk after the others. */
static void test_disks_by_numeric_address(void)
{
	g_autofree char *xml = small_ovf(
		"",
		"<Disk ovf:diskId='d10' ovf:capacity='1'/><Disk ovf:diskId='d2' ovf:capacity='1'/>"
		"<Disk ovf:diskId='lost' ovf:capacity='1'/><Disk ovf:diskId='none' "
		"ovf:capacity='1'/>"
		"<Disk ovf:diskId='d9' ovf:capacity='1'/>",
		"",
		CONTROLLER("1", "6") DRIVE("2", "lost", "77", "0") DRIVE(
			"3", "d10", "1",
			"10") "<Item><rasd:InstanceID>4</rasd:InstanceID>"
			      "<rasd:ResourceType>17</rasd:ResourceType><rasd:Parent>1</"
			      "rasd:Parent>"
			      "<rasd:HostResource>ovf:/disk/none</rasd:HostResource></Item>" DRIVE(
				      "5", "d2", "1", "2") DRIVE("6", "d9", "1", " 9 "));
	g_autoptr(HgOvf) ovf = parse_ok(xml);
	const char *want[] = {"d2", "d9", "d10", "none", "lost"};

	g_assert_cmpuint(ovf->disks->len, ==, G_N_ELEMENTS(want));
	for (guint i = 0; i < G_N_ELEMENTS(want); i++)
		g_assert_cmpstr(disk_at(ovf, i)->disk_id, ==, want[i]);
}

static void test_file_attributes(void)
{
	g_autofree char *xml = small_ovf(
		"<File ovf:id='f1' ovf:href='disk.vmdk.gz' ovf:size='9223372036854775807' "
		"ovf:compression='gzip'/><File ovf:id='f2' ovf:href='..disk' "
		"ovf:compression=''/><File ovf:id='f3' ovf:href='b.vmdk' ovf:size='0' "
		"ovf:compression='bzip2'/>",
		"", "", "");
	g_autoptr(HgOvf) ovf = parse_ok(xml);

	g_assert_cmpuint(ovf->files->len, ==, 3);
	g_assert_cmpint(file_at(ovf, 0)->size, ==, G_MAXINT64);
	g_assert_cmpstr(file_at(ovf, 0)->compression, ==, "gzip");
	g_assert_cmpstr(file_at(ovf, 1)->href, ==, "..disk");
	g_assert_null(file_at(ovf, 1)->compression);
	g_assert_cmpint(file_at(ovf, 2)->size, ==, 0);
	g_assert_cmpstr(file_at(ovf, 2)->compression, ==, "bzip2");
	g_assert_cmpuint(ovf->disks->len, ==, 0);
	/* No CPU or memory item, no OperatingSystemSection. */
	g_assert_cmpuint(ovf->cpus, ==, 0);
	g_assert_cmpuint(ovf->memory_mib, ==, 0);
	g_assert_cmpint(ovf->os_cim_id, ==, -1);
	g_assert_null(ovf->os_type);
	g_assert_null(ovf->os_description);
}

static void test_capacity_units(void)
{
	static const struct {
		const char *capacity, *units;
		guint64 bytes;
	} cases[] = {
		{"512", NULL, 512},
		{"512", "byte", 512},
		{" 1024\n", "byte", 1024},
		{"3", "bytes", 3},
		{"40", "byte * 2^30", 40ull << 30},
		{"40", "byte*2^30", 40ull << 30},
		{"7", "  byte  *  2 ^ 20  ", 7ull << 20},
		{"5", "byte * 1024", 5ull << 10},
		{"5", "byte * 2^10 * 1024", 5ull << 20},
		{"2", "byte * 10^9", 2000000000ull},
		{"64", "MegaBytes", 64ull << 20},
		{"64", "MB", 64ull << 20},
		{"8", "GB", 8ull << 30},
		{"8", "gigabytes", 8ull << 30},
		{"2", "TB", 2ull << 40},
		{"1", "byte * 2^62", 1ull << 62},
		{"8388607", "byte * 2^40", 8388607ull << 40},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *units =
			cases[i].units ? g_strdup_printf(" ovf:capacityAllocationUnits='%s'",
							 cases[i].units)
				       : g_strdup("");
		g_autofree char *disk = g_strdup_printf(
			"<Disk ovf:diskId='d' ovf:capacity='%s'%s/>", cases[i].capacity, units);
		g_autofree char *xml = small_ovf("", disk, "", "");
		g_autoptr(HgOvf) ovf = parse_ok(xml);

		g_assert_cmpuint(disk_at(ovf, 0)->capacity_bytes, ==, cases[i].bytes);
	}
}

static void test_memory_units(void)
{
	static const struct {
		const char *quantity, *units;
		guint64 mib;
	} cases[] = {
		{"2048", NULL, 2048}, /* no unit: MiB */
		{"4096", "MegaBytes", 4096},
		{"4", "GigaBytes", 4096},
		{"3", "byte * 2^30", 3072},
		{"1073741825", "byte", 1025}, /* rounded up */
		{"16", "byte * 2^40", 16ull << 20},
		{"0", "MB", 0},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *units =
			cases[i].units
				? g_strdup_printf("<rasd:AllocationUnits>%s</rasd:AllocationUnits>",
						  cases[i].units)
				: g_strdup("");
		g_autofree char *item =
			g_strdup_printf("<Item><rasd:InstanceID>1</rasd:InstanceID>%s"
					"<rasd:ResourceType>4</rasd:ResourceType>"
					"<rasd:VirtualQuantity>%s</rasd:VirtualQuantity></Item>",
					units, cases[i].quantity);
		g_autofree char *xml = small_ovf("", "", "", item);
		g_autoptr(HgOvf) ovf = parse_ok(xml);

		g_assert_cmpuint(ovf->memory_mib, ==, cases[i].mib);
	}
}

/* Like vCenter's appliance: items per deployment size; the default one
 * counts, items without ovf:configuration count always, and an InstanceID
 * may repeat across configurations. */
static void test_deployment_options(void)
{
	g_autofree char *body = small_ovf(
		"", "", "",
		"<Item ovf:configuration='tiny small'><rasd:InstanceID>1</rasd:InstanceID>"
		"<rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</"
		"rasd:VirtualQuantity>"
		"</Item>"
		"<Item ovf:configuration='large'><rasd:InstanceID>1</rasd:InstanceID>"
		"<rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>16</"
		"rasd:VirtualQuantity>"
		"</Item>"
		"<Item ovf:configuration='tiny small'><rasd:InstanceID>2</rasd:InstanceID>"
		"<rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>4096</"
		"rasd:VirtualQuantity>"
		"</Item>"
		"<Item ovf:configuration='large'><rasd:InstanceID>2</rasd:InstanceID>"
		"<rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>65536</"
		"rasd:VirtualQuantity>"
		"</Item>"
		"<Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>10</"
		"rasd:ResourceType>"
		"</Item>");
	const char *options = "<DeploymentOptionSection><Info>Sizes</Info>"
			      "<Configuration ovf:id='tiny'><Label>Tiny</Label></Configuration>"
			      "<Configuration ovf:id='large' "
			      "ovf:default='true'><Label>Large</Label></Configuration>"
			      "<Configuration ovf:id='small'><Label>Small</Label></Configuration>"
			      "</DeploymentOptionSection>\n  <VirtualSystem";
	g_auto(GStrv) halves = g_strsplit(body, "<VirtualSystem", 2);
	g_autofree char *xml = g_strconcat(halves[0], options, halves[1], NULL);
	g_autoptr(HgOvf) ovf = parse_ok(xml);
	g_autoptr(HgOvf) first = NULL;
	g_autofree char *no_default = NULL;

	g_assert_cmpuint(ovf->cpus, ==, 16);
	g_assert_cmpuint(ovf->memory_mib, ==, 65536);
	g_assert_cmpuint(ovf->nics, ==, 1);

	/* With no default, the first configuration. */
	no_default = g_strdup(xml);
	memcpy(strstr(no_default, "ovf:default='true'"), "ovf:default='fals'", 18);
	first = parse_ok(no_default);
	g_assert_cmpuint(first->cpus, ==, 2);
	g_assert_cmpuint(first->memory_mib, ==, 4096);
}

/* A Name wins over the ovf:id; XInclude is never processed. */
static void test_name(void)
{
	g_autofree char *named = small_ovf("", "", "<Name>  My VM </Name>", "");
	g_autofree char *xinclude =
		small_ovf("", "",
			  "<Name><xi:include xmlns:xi='http://www.w3.org/2001/XInclude' "
			  "href='/etc/passwd' parse='text'/></Name>",
			  "");
	g_autoptr(HgOvf) ovf = parse_ok(named);
	g_autoptr(HgOvf) included = parse_ok(xinclude);

	g_assert_cmpstr(ovf->name, ==, "My VM");
	g_assert_cmpstr(included->name, ==, "vm");
}

/* VirtualBox firmware types: EFI, EFI32, EFI64, EFIDUAL are UEFI; BIOS is
 * not; vmw:Config's firmware counts as well. */
static void test_firmware(void)
{
	static const struct {
		const char *system, *items;
		bool efi;
	} cases[] = {
		{"<vbox:Machine><Hardware><Firmware type='EFI64'/></Hardware></vbox:Machine>", "",
		 true},
		{"<vbox:Machine><Hardware><Firmware type='EFIDUAL'/></Hardware></vbox:Machine>", "",
		 true},
		{"<vbox:Machine><Hardware><Platform><Firmware type='EFI'/></Platform></Hardware>"
		 "</vbox:Machine>",
		 "", true},
		{"<vbox:Machine><Hardware><Firmware type='BIOS'/></Hardware></vbox:Machine>", "",
		 false},
		{"<Machine><Hardware><Firmware type='EFI'/></Hardware></Machine>", "", false},
		{"", "<vmw:Config vmw:key='firmware' vmw:value='EFI'/>", true},
		{"", "<vmw:ExtraConfig vmw:key='firmware' vmw:value='efi'/>", true},
		{"", "<vmw:Config vmw:key='firmware' vmw:value='bios'/>", false},
		{"", "<vmw:Config key='firmware' value='efi'/>", false},
		{"", "", false},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *xml = small_ovf("", "", cases[i].system, cases[i].items);
		g_autoptr(HgOvf) ovf = parse_ok(xml);

		g_assert_cmpint(ovf->efi, ==, cases[i].efi);
	}
}

/* Encodings XML allows: the same descriptor in UTF-16. */
static void test_utf16(void)
{
	g_autofree char *utf8 = g_strconcat("<?xml version='1.0' encoding='UTF-16'?>",
					    virtualbox_ovf + strlen("<?xml version='1.0'?>"), NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(HgOvf) ovf = NULL;
	gsize length;
	g_autofree char *utf16 = g_convert(utf8, -1, "UTF-16", "UTF-8", NULL, &length, &error);

	g_assert_no_error(error);
	ovf = hg_ovf_parse(utf16, length, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(ovf->name, ==, "debian-12");
	g_assert_cmpuint(ovf->disks->len, ==, 2);
}

/* A descriptor of exactly the limit parses; a byte more is refused
 * unread. */
static void test_size_limit(void)
{
	g_autofree char *xml = small_ovf("", "", "", "");
	gsize length = strlen(xml);
	g_autofree char *big = g_malloc(HG_OVF_MAX_BYTES + 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(HgOvf) ovf = NULL;

	memcpy(big, xml, length);
	memset(big + length, '\n', HG_OVF_MAX_BYTES + 1 - length);
	ovf = hg_ovf_parse(big, HG_OVF_MAX_BYTES, &error);
	g_assert_no_error(error);
	g_assert_nonnull(ovf);
	g_assert_null(hg_ovf_parse(big, HG_OVF_MAX_BYTES + 1, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "above the limit of 8 MiB"));
}

/* ---- refused ---- */

typedef struct {
	const char *name;
	/* Either a whole document, or small_ovf()'s parts. */
	const char *xml;
	const char *files, *disks, *system, *items;
	int code;
	const char *message; /* a part of the message */
} Broken;

#define FILE1 "<File ovf:id='f1' ovf:href='disk1.vmdk'/>"
#define DISK1 "<Disk ovf:diskId='d1' ovf:fileRef='f1' ovf:capacity='1024'/>"
#define HREF(href) "<File ovf:id='f1' ovf:href='" href "'/>"
#define CPUS(n)                                                                                    \
	"<Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType>"       \
	"<rasd:VirtualQuantity>" n "</rasd:VirtualQuantity></Item>"
#define MEMORY(n, units)                                                                           \
	"<Item><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType>"       \
	"<rasd:AllocationUnits>" units "</rasd:AllocationUnits>"                                   \
	"<rasd:VirtualQuantity>" n "</rasd:VirtualQuantity></Item>"
#define CAPACITY(n, units)                                                                         \
	"<Disk ovf:diskId='d1' ovf:capacity='" n "' ovf:capacityAllocationUnits='" units "'/>"
#define ENVELOPE "<Envelope xmlns='http://schemas.dmtf.org/ovf/envelope/1' "
#define INVALID HG_VM_ERROR_INVALID
#define UNSUPPORTED HG_VM_ERROR_UNSUPPORTED

/* Entities that would expand to 10^9 "lol"s; the same as attribute values;
 * and one that reads /etc/passwd into the name. */
#define BOMB_ENTITIES                                                                              \
	"<!ENTITY lol 'lol'>"                                                                      \
	"<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"                      \
	"<!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>"            \
	"<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>"            \
	"<!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>"            \
	"<!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>"            \
	"<!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>"            \
	"<!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>"            \
	"<!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>"            \
	"<!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>"
#define BOMB                                                                                       \
	"<?xml version='1.0'?><!DOCTYPE Envelope [" BOMB_ENTITIES "]>" ENVELOPE                    \
	"xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'>"                                      \
	"<VirtualSystem ovf:id='vm'><Name>&lol9;</Name></VirtualSystem></Envelope>"
#define ATTRIBUTE_BOMB                                                                             \
	"<?xml version='1.0'?><!DOCTYPE Envelope [" BOMB_ENTITIES "]>" ENVELOPE                    \
	"xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'>"                                      \
	"<VirtualSystem ovf:id='&lol9;'/></Envelope>"
#define EXTERNAL_ENTITY                                                                            \
	"<?xml version='1.0'?><!DOCTYPE Envelope [<!ENTITY passwd SYSTEM "                         \
	"'file:///etc/passwd'>]>" ENVELOPE "xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'>"   \
	"<VirtualSystem ovf:id='vm'><Name>&passwd;</Name></VirtualSystem></Envelope>"
#define EXTERNAL_DTD                                                                               \
	"<?xml version='1.0'?><!DOCTYPE Envelope SYSTEM 'file:///etc/passwd'>" ENVELOPE            \
	"xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'>"                                      \
	"<VirtualSystem ovf:id='vm'/></Envelope>"

static const Broken broken[] = {
	/* Not an OVF descriptor. */
	{"not-xml", "this is not XML", .code = INVALID, .message = "not XML (line 1"},
	{"truncated", "", .code = INVALID, .message = "not XML"}, /* filled in by the test */
	{"empty", "", .code = INVALID, .message = "empty"},
	{"a-nul-byte", "<Envelope\0/>", .code = INVALID, .message = "not XML"},
	{"html", "<html xmlns='http://www.w3.org/1999/xhtml'><body/></html>", .code = INVALID,
	 .message = "the root element is <html>"},
	{"envelope-without-namespace", "<Envelope><VirtualSystem/></Envelope>", .code = INVALID,
	 .message = "not an OVF 1.x or 2.x Envelope"},
	{"ovf-0.9", "<Envelope xmlns='http://www.vmware.com/schema/ovf/1/envelope'/>",
	 .code = UNSUPPORTED, .message = "OVF 0.9"},
	{"deeply-nested", "", .code = INVALID, .message = "not XML"}, /* filled in */
	{"no-virtual-system",
	 ENVELOPE "xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'><References/></Envelope>",
	 .code = INVALID, .message = "no VirtualSystem"},
	{"virtual-system-collection",
	 ENVELOPE "xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'>"
		  "<VirtualSystemCollection ovf:id='vapp'><VirtualSystem ovf:id='a'/>"
		  "<VirtualSystem ovf:id='b'/></VirtualSystemCollection></Envelope>",
	 .code = UNSUPPORTED, .message = "several virtual machines"},
	{"two-virtual-systems",
	 ENVELOPE "xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'>"
		  "<VirtualSystem ovf:id='a'/><VirtualSystem ovf:id='b'/></Envelope>",
	 .code = INVALID, .message = "two VirtualSystems"},
	{"virtual-system-without-name-or-id",
	 ENVELOPE "><VirtualSystem><Name> </Name></VirtualSystem></Envelope>", .code = INVALID,
	 .message = "neither a Name nor an ovf:id"},
	/* DTDs: entity bombs, external entities. */
	{"doctype", "<!DOCTYPE Envelope>" ENVELOPE "/>", .code = INVALID, .message = "DOCTYPE"},
	{"billion-laughs", BOMB, .code = INVALID, .message = "DOCTYPE"},
	{"billion-laughs-in-an-attribute", ATTRIBUTE_BOMB, .code = INVALID, .message = "DOCTYPE"},
	{"external-entity", EXTERNAL_ENTITY, .code = INVALID, .message = "DOCTYPE"},
	{"external-dtd", EXTERNAL_DTD, .code = INVALID, .message = "DOCTYPE"},
	{"undeclared-entity",
	 ENVELOPE "xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'>"
		  "<VirtualSystem ovf:id='vm'><Name>&passwd;</Name></VirtualSystem></Envelope>",
	 .code = INVALID, .message = "not XML"},
	/* Files. */
	{"file-without-id", .files = "<File ovf:href='a.vmdk'/>", .code = INVALID,
	 .message = "a File has no ovf:id"},
	{"file-without-href", .files = "<File ovf:id='f1'/>", .code = INVALID,
	 .message = "the File \"f1\" has no ovf:href"},
	{"href-in-a-folder", .files = HREF("disks/disk1.vmdk"), .code = INVALID,
	 .message = "names \"disks/disk1.vmdk\", which is not a plain file name"},
	{"href-absolute", .files = HREF("/etc/passwd"), .code = INVALID,
	 .message = "not a plain file name"},
	{"href-dot-dot-slash", .files = HREF("../../.bashrc"), .code = INVALID,
	 .message = "not a plain file name"},
	{"href-dot-dot", .files = HREF(".."), .code = INVALID, .message = "not a plain file name"},
	{"href-dot", .files = HREF("."), .code = INVALID, .message = "not a plain file name"},
	{"href-empty", .files = HREF(""), .code = INVALID, .message = "not a plain file name"},
	{"href-backslash", .files = HREF("..\\disk1.vmdk"), .code = INVALID,
	 .message = "not a plain file name"},
	{"href-windows-absolute", .files = HREF("C:\\disk1.vmdk"), .code = INVALID,
	 .message = "not a plain file name"},
	{"href-url", .files = HREF("http://example.com/disk1.vmdk"), .code = INVALID,
	 .message = "not a plain file name"},
	{"duplicate-file-id", .files = FILE1 "<File ovf:id='f1' ovf:href='disk2.vmdk'/>",
	 .code = INVALID, .message = "two Files have the id \"f1\""},
	{"duplicate-href", .files = FILE1 "<File ovf:id='f2' ovf:href='disk1.vmdk'/>",
	 .code = INVALID, .message = "two Files name \"disk1.vmdk\""},
	{"file-size-not-a-number", .files = "<File ovf:id='f1' ovf:href='a' ovf:size='12k'/>",
	 .code = INVALID, .message = "ovf:size \"12k\" is not a whole number"},
	{"file-size-negative", .files = "<File ovf:id='f1' ovf:href='a' ovf:size='-1'/>",
	 .code = INVALID, .message = "is not a whole number"},
	{"file-size-over-int64",
	 .files = "<File ovf:id='f1' ovf:href='a' ovf:size='9223372036854775808'/>",
	 .code = INVALID, .message = "absurd size"},
	{"file-size-over-uint64",
	 .files = "<File ovf:id='f1' ovf:href='a' ovf:size='99999999999999999999999'/>",
	 .code = INVALID, .message = "is absurd (not below 2^64)"},
	{"chunked-file", .files = "<File ovf:id='f1' ovf:href='a' ovf:chunkSize='2000000000'/>",
	 .code = UNSUPPORTED, .message = "split into chunks"},
	{"unknown-compression", .files = "<File ovf:id='f1' ovf:href='a' ovf:compression='xz'/>",
	 .code = UNSUPPORTED, .message = "compressed with \"xz\""},
	/* Disks. */
	{"disk-without-id", .disks = "<Disk ovf:capacity='1'/>", .code = INVALID,
	 .message = "a Disk has no ovf:diskId"},
	{"disk-file-ref-names-no-file", .files = FILE1,
	 .disks = "<Disk ovf:diskId='d1' ovf:fileRef='f9' ovf:capacity='1'/>", .code = INVALID,
	 .message = "the Disk \"d1\" refers to the File \"f9\", which References does not list"},
	{"duplicate-disk-id", .files = FILE1, .disks = DISK1 DISK1, .code = INVALID,
	 .message = "two Disks have the id \"d1\""},
	{"two-disks-from-one-file", .files = FILE1,
	 .disks = DISK1 "<Disk ovf:diskId='d2' ovf:fileRef='f1' ovf:capacity='1024'/>",
	 .code = INVALID, .message = "two Disks take their data from the File \"f1\""},
	{"disk-without-capacity", .disks = "<Disk ovf:diskId='d1'/>", .code = INVALID,
	 .message = "has no ovf:capacity"},
	{"capacity-not-a-number", .disks = CAPACITY("ten", "byte"), .code = INVALID,
	 .message = "ovf:capacity \"ten\" is not a whole number"},
	{"capacity-over-uint64", .disks = CAPACITY("18446744073709551616", "byte"), .code = INVALID,
	 .message = "is absurd (not below 2^64)"},
	{"capacity-overflows-when-multiplied", .disks = CAPACITY("17179869184", "byte * 2^40"),
	 .code = INVALID, .message = "absurd capacity"},
	{"capacity-over-int64", .disks = CAPACITY("8388608", "byte * 2^40"), .code = INVALID,
	 .message = "absurd capacity"},
	{"capacity-unit-overflows", .disks = CAPACITY("1", "byte * 2^64"), .code = INVALID,
	 .message = "not a unit of bytes"},
	{"capacity-huge-exponent", .disks = CAPACITY("1", "byte * 1^99999999999"), .code = INVALID,
	 .message = "not a unit of bytes"},
	{"capacity-unit-zero", .disks = CAPACITY("1", "byte * 0"), .code = INVALID,
	 .message = "not a unit of bytes"},
	{"capacity-unit-unknown", .disks = CAPACITY("1", "furlongs"), .code = INVALID,
	 .message = "counts its capacity in \"furlongs\", which is not a unit of bytes"},
	{"capacity-unit-divides", .disks = CAPACITY("1", "byte / 2"), .code = INVALID,
	 .message = "not a unit of bytes"},
	{"capacity-from-a-property", .disks = CAPACITY("${disk.size}", "byte * 2^30"),
	 .code = UNSUPPORTED, .message = "from the property ${disk.size}"},
	{"differencing-disk",
	 .disks = DISK1 "<Disk ovf:diskId='d2' ovf:parentRef='d1' ovf:capacity='1024'/>",
	 .files = FILE1, .code = UNSUPPORTED, .message = "differencing disk"},
	/* Drives. */
	{"drive-names-no-disk", .items = DRIVE("1", "d9", "0", "0"), .code = INVALID,
	 .message = "the disk \"d9\", which DiskSection does not list"},
	{"disk-in-two-drives", .files = FILE1, .disks = DISK1,
	 .items = DRIVE("1", "d1", "0", "0") DRIVE("2", "d1", "0", "1"), .code = INVALID,
	 .message = "the disk \"d1\" is in two disk drives"},
	{"duplicate-instance-id", .items = CONTROLLER("3", "6") CONTROLLER("3", "20"),
	 .code = INVALID, .message = "two Items have the InstanceID \"3\""},
	/* Sizes. */
	{"too-many-cpus", .items = CPUS("1025"), .code = INVALID, .message = "1025 CPUs is absurd"},
	{"cpus-over-uint64", .items = CPUS("99999999999999999999"), .code = INVALID,
	 .message = "is absurd (not below 2^64)"},
	{"cpus-not-a-number", .items = CPUS("two"), .code = INVALID,
	 .message = "the CPU count \"two\" is not a whole number"},
	{"memory-over-16-tib", .items = MEMORY("17", "byte * 2^40"), .code = INVALID,
	 .message = "over 16 TiB"},
	{"memory-just-over-16-tib", .items = MEMORY("16777217", "byte * 2^20"), .code = INVALID,
	 .message = "over 16 TiB"},
	{"memory-overflows-when-multiplied", .items = MEMORY("18446744073709551615", "MegaBytes"),
	 .code = INVALID, .message = "over 16 TiB"},
	{"memory-not-a-number", .items = MEMORY("2G", "byte"), .code = INVALID,
	 .message = "the memory size \"2G\" is not a whole number"},
	{"memory-unit-unknown", .items = MEMORY("2", "hertz * 10^6"), .code = INVALID,
	 .message = "not a unit of bytes"},
};

static void test_broken(gconstpointer data)
{
	const Broken *b = data;
	g_autofree char *xml = NULL;
	g_autoptr(GError) error = NULL;
	gsize length;

	if (strcmp(b->name, "truncated") == 0) {
		xml = g_strndup(virtualbox_ovf, strlen(virtualbox_ovf) / 2);
	} else if (strcmp(b->name, "deeply-nested") == 0) {
		GString *s = g_string_new(ENVELOPE "><VirtualSystem ovf:id='vm'><Name>");
		for (int i = 0; i < 100000; i++)
			g_string_append(s, "<a>");
		xml = g_string_free(s, FALSE);
	} else if (strcmp(b->name, "a-nul-byte") == 0) {
		xml = g_memdup2("<Envelope\0/>", sizeof("<Envelope\0/>"));
	} else if (b->xml) {
		xml = g_strdup(b->xml);
	} else {
		xml = small_ovf(b->files ? b->files : "", b->disks ? b->disks : "",
				b->system ? b->system : "", b->items ? b->items : "");
	}
	length = strcmp(b->name, "a-nul-byte") == 0 ? sizeof("<Envelope\0/>") - 1 : strlen(xml);
	g_assert_null(hg_ovf_parse(xml, length, &error));
	g_assert_error(error, HG_VM_ERROR, b->code);
	if (!strstr(error->message, b->message))
		g_error("%s: \"%s\" does not say \"%s\"", b->name, error->message, b->message);
	g_assert_true(g_str_has_prefix(error->message, "OVF descriptor: "));
	g_test_message("%s", error->message);
}

/* In a child limited to 64 MiB of data, each DTD trick is refused in well
 * under a second; none of /etc/passwd shows in a message. */
static void test_entities_bounded(void)
{
	static const char *const hostile[] = {BOMB, ATTRIBUTE_BOMB, EXTERNAL_ENTITY, EXTERNAL_DTD};

	if (g_test_subprocess()) {
		struct rlimit limit = {64 << 20, 64 << 20};
		g_autofree char *passwd = NULL;

		g_assert_cmpint(setrlimit(RLIMIT_DATA, &limit), ==, 0);
		(void)g_file_get_contents("/etc/passwd", &passwd, NULL, NULL);
		for (unsigned i = 0; i < G_N_ELEMENTS(hostile); i++) {
			g_autoptr(GError) error = NULL;
			gint64 start = g_get_monotonic_time();

			g_assert_null(hg_ovf_parse(hostile[i], strlen(hostile[i]), &error));
			g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
			g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
			g_assert_null(strstr(error->message, "root:"));
			if (passwd && *passwd)
				g_assert_null(strstr(error->message, passwd));
		}
		return;
	}
	g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
}

/* Even in UTF-16, where a byte scan for "<!DOCTYPE" would miss it. */
static void test_utf16_doctype(void)
{
	g_autoptr(GError) error = NULL;
	gsize length;
	g_autofree char *utf8 = g_strconcat("<?xml version='1.0' encoding='UTF-16'?>",
					    BOMB + strlen("<?xml version='1.0'?>"), NULL);
	g_autofree char *utf16 = g_convert(utf8, -1, "UTF-16", "UTF-8", NULL, &length, &error);

	g_assert_no_error(error);
	g_assert_null(hg_ovf_parse(utf16, length, &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "DOCTYPE"));
}

static void count_error(void *context, const char *format, ...)
{
	(*(int *)context)++;
}

/* Bytes that do not convert from the declared encoding make libxml2
 * report outside the parser's context: nothing reaches stderr, and the
 * caller's handler is back afterwards. */
static void test_bad_encoding_quietly(void)
{
	static const char *const inputs[] = {
		"<?xml version='1.0' encoding='ISO-2022-JP'?><a>\xef\xef\xef\xef\xef</a>",
		"<?xml version='1.0' encoding='UTF-16'?>\xef\xef\xef\xef\xef\xef\xef",
	};

	if (g_test_subprocess()) {
		int errors = 0;

		xmlSetGenericErrorFunc(&errors, count_error);
		for (unsigned i = 0; i < G_N_ELEMENTS(inputs); i++) {
			g_autoptr(GError) error = NULL;

			g_assert_null(hg_ovf_parse(inputs[i], strlen(inputs[i]), &error));
			g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
			g_assert_nonnull(strstr(error->message, "not XML"));
		}
		g_assert_true(xmlGenericError == count_error);
		g_assert_true(xmlGenericErrorContext == &errors);
		g_assert_cmpint(errors, ==, 0);
		xmlSetGenericErrorFunc(NULL, NULL);
		for (unsigned i = 0; i < G_N_ELEMENTS(inputs); i++) {
			g_autoptr(GError) error = NULL;

			g_assert_null(hg_ovf_parse(inputs[i], strlen(inputs[i]), &error));
		}
		return;
	}
	g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_test_trap_assert_stderr("");
}

/* Long values are cut in messages. */
static void test_long_value_shown_short(void)
{
	g_autofree char *href = g_strnfill(100000, 'x');
	g_autofree char *file = NULL;
	g_autofree char *xml = NULL;
	g_autoptr(GError) error = NULL;

	href[50000] = '/';
	file = g_strdup_printf("<File ovf:id='f1' ovf:href='%s'/>", href);
	xml = small_ovf(file, "", "", "");
	g_assert_null(hg_ovf_parse(xml, strlen(xml), &error));
	g_assert_error(error, HG_VM_ERROR, HG_VM_ERROR_INVALID);
	g_assert_cmpuint(strlen(error->message), <, 300);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/ovf/reads-virtualbox-export", test_virtualbox);
	g_test_add_func("/ovf/reads-vmware-export", test_vmware);
	g_test_add_func("/ovf/vmware-disks-follow-address-on-parent", test_vmware_disks_by_address);
	g_test_add_func("/ovf/vmware-bios-firmware-is-not-efi", test_vmware_bios);
	g_test_add_func("/ovf/reads-ovf-2-storage-and-ethernet-port-items", test_ovf2);
	g_test_add_func("/ovf/disks-follow-controller-order", test_disks_follow_controller_order);
	g_test_add_func("/ovf/disk-addresses-compare-as-numbers", test_disks_by_numeric_address);
	g_test_add_func("/ovf/file-size-and-compression", test_file_attributes);
	g_test_add_func("/ovf/capacity-units", test_capacity_units);
	g_test_add_func("/ovf/memory-units", test_memory_units);
	g_test_add_func("/ovf/default-deployment-option-counts", test_deployment_options);
	g_test_add_func("/ovf/name-before-id-and-no-xinclude", test_name);
	g_test_add_func("/ovf/firmware-from-virtualbox-and-vmware", test_firmware);
	g_test_add_func("/ovf/reads-utf-16", test_utf16);
	g_test_add_func("/ovf/size-limit", test_size_limit);
	for (unsigned i = 0; i < G_N_ELEMENTS(broken); i++) {
		g_autofree char *path = g_strdup_printf("/ovf/refuses/%s", broken[i].name);

		g_test_add_data_func(path, &broken[i], test_broken);
	}
	g_test_add_func("/ovf/refuses/entities-fast-in-bounded-memory", test_entities_bounded);
	g_test_add_func("/ovf/refuses/doctype-in-utf-16", test_utf16_doctype);
	g_test_add_func("/ovf/refuses/with-long-values-cut-short", test_long_value_shown_short);
	g_test_add_func("/ovf/refuses/bad-encoding-quietly", test_bad_encoding_quietly);
	return g_test_run();
}
