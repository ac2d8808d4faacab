/* Compressed qcow2 clusters, on read: zlib (raw deflate, as QEMU writes it,
 * a 4 KiB window) or zstd when the header's compression_type says so.  The
 * decompressor state lives in the image and is used under metadata_lock,
 * so reading a compressed cluster allocates nothing. */
#include "library/block/qcow2.h"

#include <errno.h>
#include <zstd.h>

static int decompress_zlib(HgQcow2 *q, const uint8_t *in, size_t in_len, uint8_t *out,
			   size_t out_len)
{
	z_stream *z = &q->inflate;

	if (!q->inflate_ready) {
		memset(z, 0, sizeof(*z));
		if (inflateInit2(z, -12) != Z_OK)
			return -ENOMEM;
		q->inflate_ready = true;
	} else if (inflateReset(z) != Z_OK) {
		return -EIO;
	}
	z->next_in = (Bytef *)in;
	z->avail_in = in_len;
	z->next_out = out;
	z->avail_out = out_len;
	int r = inflate(z, Z_FINISH);
	/* The input may go on past the end of this cluster's data (the rest
	 * of the last sector): a full output is what counts. */
	if ((r != Z_STREAM_END && r != Z_BUF_ERROR && r != Z_OK) || z->avail_out != 0)
		return -EIO;
	return 0;
}

static int decompress_zstd(HgQcow2 *q, const uint8_t *in, size_t in_len, uint8_t *out,
			   size_t out_len)
{
	if (!q->zstd) {
		q->zstd = ZSTD_createDCtx();
		if (!q->zstd)
			return -ENOMEM;
	}
	ZSTD_DCtx_reset(q->zstd, ZSTD_reset_session_only);
	ZSTD_inBuffer input = {in, in_len, 0};
	ZSTD_outBuffer output = {out, out_len, 0};
	while (output.pos < output.size) {
		size_t before_in = input.pos, before_out = output.pos;
		size_t r = ZSTD_decompressStream(q->zstd, &output, &input);
		if (ZSTD_isError(r))
			return -EIO;
		if (r == 0 && output.pos < output.size)
			return -EIO; /* the frame ended early */
		if (input.pos == before_in && output.pos == before_out)
			return -EIO; /* no progress: the input ran out */
	}
	return 0;
}

int hg_qcow2_decompress(HgQcow2 *q, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	if (q->compression_type == QCOW2_COMPRESSION_ZSTD)
		return decompress_zstd(q, in, in_len, out, out_len);
	return decompress_zlib(q, in, in_len, out, out_len);
}

void hg_qcow2_compress_free(HgQcow2 *q)
{
	if (q->inflate_ready)
		inflateEnd(&q->inflate);
	q->inflate_ready = false;
	ZSTD_freeDCtx(q->zstd);
	q->zstd = NULL;
}
