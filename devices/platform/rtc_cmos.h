/* The PC's real-time clock and CMOS RAM: a Motorola MC146818A at ports
 * 0x70 (index) and 0x71 (data), interrupting on ISA IRQ 8 (rtc_cmos.c).
 * KVM does not emulate it. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"

/* Registers ports 0x70-0x71 on m->pio and adds the device to m.  The clock
 * starts at start_time_us: microseconds since 1970-01-01T00:00:00 of the
 * RTC's own calendar, which has no time zone (UTC for most guests, the
 * host's local time for Windows guests: add the zone's offset), e.g.
 * g_get_real_time().  From then on the RTC counts with the machine clock
 * (hg_clock_ns), never with host time.  Returns NULL if the ports are
 * taken or the date lies outside the years 0000-9999 the RTC can show. */
HgDevice *hg_rtc_cmos_create(HgMachine *m, const char *id, int64_t start_time_us);

/* For the engine's --rtc-base option: start_time_us for
 * hg_rtc_cmos_create() from an ISO 8601 date and time
 * ("2026-01-02T03:04:05Z", "...+01:00", no zone meaning UTC), or "utc" /
 * "localtime" for the host's clock now, in UTC or in the host's time zone
 * (what Windows guests expect). */
bool hg_rtc_cmos_parse_time(const char *text, int64_t *start_time_us, GError **error);

/* Setup-time helpers, called before the machine runs (like every device
 * call they expect device_lock held or no vCPU running).
 *
 * The memory size bytes that firmware reads when fw_cfg does not say:
 * 0x15/0x16 base memory in KiB (640), 0x17/0x18 and 0x30/0x31 KiB above
 * 1 MiB (at most 0xFFFF), 0x34/0x35 64 KiB blocks above 16 MiB (at most
 * 0xFFFF), 0x5B-0x5D 64 KiB blocks above 4 GiB, low byte first. */
void hg_rtc_cmos_set_memory_size(HgDevice *rtc, uint64_t ram_bytes_below_4g,
				 uint64_t ram_bytes_above_4g);
/* Byte 0x5F: the number of CPUs minus one, as QEMU sets it for SeaBIOS. */
void hg_rtc_cmos_set_cpu_count(HgDevice *rtc, unsigned n_cpus);
/* Any NVRAM byte (index 0x0E-0x7F), e.g. the boot order bytes 0x38/0x3D;
 * the clock registers 0x00-0x0D are the guest's alone. */
void hg_rtc_cmos_set_byte(HgDevice *rtc, uint8_t index, uint8_t value);

extern const HgDeviceClass hg_rtc_cmos_class;
