/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A modern virtio-blk driver in miniature for the guests that need a disk (virtio-blk,
 * snapshot-pattern): the device 1af4:1042 at 00:04.0, interrupts by MSI-X, one 8-entry split
 * virtqueue, one request in flight at a time. See virtio_blk.c for the specification sections.
 *
 * CPL0 only (configuration ports, HLT). Every failure ends the guest through guest_fail().
 */
#ifndef GUEST_VIRTIO_BLK_H
#define GUEST_VIRTIO_BLK_H

#include <stdint.h>

#define VIRTIO_BLK_SECTOR_SIZE 512

/* Request types (virtio 1.2, 5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4

/* Device feature bits a guest may ask for (5.2.3). */
#define VIRTIO_BLK_F_FLUSH (1u << 9)

/* Where virtio_blk_init() places the device's BARs. */
#define VIRTIO_BLK_BAR0_ADDRESS 0xE0000000u
#define VIRTIO_BLK_BAR1_ADDRESS 0xE0100000u

/* The LAPIC vectors the driver takes: the queue's MSI-X and the wake-up timer. */
#define VIRTIO_BLK_VECTOR 0x50
#define VIRTIO_BLK_WAKE_VECTOR 0x41

struct virtio_blk_timing {
	uint64_t notify_cycles; /* the notify write itself */
	uint64_t total_cycles; /* notify write to interrupt */
};

/*
 * Finds the device, places its BARs, enables this CPU's LAPIC (the 8259s are disabled), points
 * MSI-X entry 0 at it and brings the device up with VERSION_1 plus those of the low 32 feature
 * bits in `features` that the device offers. Returns the low feature bits negotiated.
 */
uint32_t virtio_blk_init(uint32_t features);

/*
 * One request and its interrupt: VIRTIO_BLK_T_IN / T_OUT move len bytes (a multiple of the
 * sector size) between buffer and the disk at sector; VIRTIO_BLK_T_FLUSH takes no buffer (NULL,
 * 0). Returns when the device reported success. timing may be NULL.
 */
void virtio_blk_request(uint32_t type, uint64_t sector, void *buffer, uint32_t len,
			struct virtio_blk_timing *timing);

#endif
