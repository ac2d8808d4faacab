/* Data movement for SATA drives over the HBA's scatter list (see sata.h).
 * Block transfers longer than HG_SATA_IOV_MAX pieces of guest memory go out
 * as several requests in a row; each completion submits the next part, so
 * nothing here allocates per I/O and nothing a guest writes sizes a buffer. */
#include "devices/storage/sata.h"

#include <errno.h>
#include <string.h>

void hg_sata_set_ok(HgSataCommand *cmd)
{
	cmd->end = cmd->queued ? HG_SATA_END_SDB : HG_SATA_END_D2H;
	cmd->status = HG_ATA_STATUS_OK;
	cmd->error = 0;
}

void hg_sata_set_error(HgSataCommand *cmd, uint8_t error)
{
	cmd->end = cmd->queued ? HG_SATA_END_SDB : HG_SATA_END_D2H;
	cmd->status = HG_ATA_STATUS_DRDY | HG_ATA_STATUS_ERR;
	cmd->error = error;
}

static int64_t sata_copy(HgSataCommand *cmd, void *buf, size_t len, bool to_guest)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		struct iovec iov[16];
		uint64_t bytes;
		int n = cmd->transport->map(cmd, len - done, iov, G_N_ELEMENTS(iov), &bytes);
		if (n < 0)
			return -1;
		if (bytes == 0)
			break;
		for (int i = 0; i < n; i++) {
			if (to_guest)
				memcpy(iov[i].iov_base, p + done, iov[i].iov_len);
			else
				memcpy(p + done, iov[i].iov_base, iov[i].iov_len);
			done += iov[i].iov_len;
		}
	}
	cmd->transferred += done;
	return done;
}

int64_t hg_sata_copy_to_guest(HgSataCommand *cmd, const void *buf, size_t len)
{
	return sata_copy(cmd, (void *)buf, len, true);
}

int64_t hg_sata_copy_from_guest(HgSataCommand *cmd, void *buf, size_t len)
{
	return sata_copy(cmd, buf, len, false);
}

static void sata_block_io_next(HgSataCommand *cmd);

static void sata_block_io_finish(HgSataCommand *cmd, int result)
{
	void (*done)(HgSataCommand *, int) = cmd->io_done;

	cmd->io_done = NULL;
	done(cmd, result);
}

static void sata_block_io_complete(HgBlockRequest *req, int result)
{
	HgSataCommand *cmd = req->opaque;
	uint64_t len = 0;

	for (int i = 0; i < req->iovcnt; i++)
		len += req->iov[i].iov_len;
	if (result < 0 || cmd->cancelled) {
		sata_block_io_finish(cmd, result < 0 ? result : -ECANCELED);
		return;
	}
	cmd->transferred += len;
	cmd->io_offset += len;
	cmd->io_left -= len;
	sata_block_io_next(cmd);
}

static void sata_block_io_next(HgSataCommand *cmd)
{
	uint64_t bytes;
	int n;

	if (cmd->io_left == 0) {
		sata_block_io_finish(cmd, 0);
		return;
	}
	n = cmd->transport->map(cmd, cmd->io_left, cmd->iov, HG_SATA_IOV_MAX, &bytes);
	if (n < 0) {
		sata_block_io_finish(cmd, -EFAULT);
		return;
	}
	if (bytes == 0) {
		/* The drive has more to move than the guest gave room for. */
		cmd->overflow = true;
		sata_block_io_finish(cmd, -ENOSPC);
		return;
	}
	cmd->request.offset = cmd->io_offset;
	cmd->request.iov = cmd->iov;
	cmd->request.iovcnt = n;
	hg_block_queue_submit(cmd->queue, &cmd->request);
}

void hg_sata_block_io(HgSataCommand *cmd, HgBlockQueue *queue, HgBlockOp op, uint64_t offset,
		      uint64_t len, void (*done)(HgSataCommand *cmd, int result))
{
	cmd->queue = queue;
	cmd->io_done = done;
	cmd->io_offset = offset;
	cmd->io_left = len;
	cmd->request = (HgBlockRequest){
		.op = op,
		.complete = sata_block_io_complete,
		.opaque = cmd,
	};
	sata_block_io_next(cmd);
}

static void sata_block_request_complete(HgBlockRequest *req, int result)
{
	HgSataCommand *cmd = req->opaque;

	sata_block_io_finish(cmd, cmd->cancelled && result == 0 ? -ECANCELED : result);
}

void hg_sata_block_request(HgSataCommand *cmd, HgBlockQueue *queue, HgBlockOp op, uint64_t offset,
			   uint64_t len, void (*done)(HgSataCommand *cmd, int result))
{
	cmd->queue = queue;
	cmd->io_done = done;
	cmd->request = (HgBlockRequest){
		.op = op,
		.offset = offset,
		.len = len,
		.complete = sata_block_request_complete,
		.opaque = cmd,
	};
	hg_block_queue_submit(queue, &cmd->request);
}

void hg_sata_complete(HgSataCommand *cmd)
{
	cmd->transport->complete(cmd);
}

void hg_ata_identify_string(uint16_t *words, const char *text, unsigned n_words)
{
	size_t len = strlen(text);

	for (unsigned i = 0; i < n_words * 2; i++) {
		uint8_t c = i < len ? (uint8_t)text[i] : ' ';
		if (i % 2 == 0)
			words[i / 2] = (uint16_t)(c << 8) | (words[i / 2] & 0xff);
		else
			words[i / 2] = (words[i / 2] & 0xff00) | c;
	}
}

void hg_ata_identify_checksum(uint16_t *words)
{
	uint8_t sum = 0;

	words[255] = 0x00a5;
	for (unsigned i = 0; i < 255; i++)
		sum += (words[i] & 0xff) + (words[i] >> 8);
	sum += 0xa5;
	words[255] = (uint16_t)((uint8_t)-sum) << 8 | 0xa5;
}
