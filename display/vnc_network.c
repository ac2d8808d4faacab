/* The VNC server's network side: see vnc_network.h.
 *
 * Protocol: RFC 6143 (RFB 3.8) §7.1 (ProtocolVersion, security types,
 * SecurityResult; 3.3 and 3.7 as its appendix describes), §7.2.2 (VNC
 * authentication), §7.5 (client messages, which the relay frames before
 * libvncserver reads them).  QEMU's extended key event is client message
 * 255, subtype 0, 12 bytes. */
#include "display/vnc_network.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <rfb/rfbproto.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define VNC_MAX_CONNECTIONS 16 /* of each kind: TCP ones cannot crowd out the app */
#define VNC_HANDSHAKE_US (10 * G_USEC_PER_SEC) /* version to authentication */
#define VNC_STUCK_US (5 * G_USEC_PER_SEC) /* output pending, nothing taken */
#define VNC_IN_MAX 65536 /* client bytes held back; a forwarded message fits */
#define VNC_READ_CHUNK 65536
#define VNC_READS_PER_DISPATCH 64 /* 4 MiB, then the other clients' turn */
#define VNC_MAX_ENCODINGS 1024 /* in one SetEncodings; real clients send < 50 */
#define VNC_DEFAULT_OUTPUT_LIMIT (64u << 20)

#define VNC_SECURITY_NONE 1
#define VNC_SECURITY_VNC_AUTH 2
#define VNC_CHALLENGE_SIZE 16
#define VNC_VERSION_SIZE 12

static const char vnc_server_version[VNC_VERSION_SIZE + 1] = "RFB 003.008\n";
/* libvncserver's side of the handshake the relay already did with the
 * client, dropped on its way out: ProtocolVersion 3.8, the security type
 * list [None], SecurityResult OK. */
static const char vnc_lib_greeting[] = "RFB 003.008\n\x01\x01\0\0\0\0";
#define VNC_LIB_GREETING_SIZE (sizeof(vnc_lib_greeting) - 1)
/* And the client's side that libvncserver hears: ProtocolVersion 3.8 and
 * security type None.  The client's own ClientInit follows. */
static const char vnc_lib_hello[] = "RFB 003.008\n\x01";
#define VNC_LIB_HELLO_SIZE (sizeof(vnc_lib_hello) - 1)

typedef enum {
	CONN_VERSION, /* waiting for the client's ProtocolVersion */
	CONN_SECURITY, /* waiting for its choice of security type (3.7, 3.8) */
	CONN_AUTH, /* waiting for its response to the challenge */
	CONN_RELAY, /* handed to libvncserver */
	CONN_CLOSING, /* sending a refusal, then closing */
} ConnState;

typedef struct {
	VncNetwork *net;
	int fd;
	bool tcp;
	GSource *source;
} Listener;

struct VncConn {
	gatomicrefcount ref;
	VncNetwork *net;
	bool tcp; /* authenticated with the password */
	ConnState state;
	int minor; /* the client's RFB version 3.minor: 3, 7 or 8 */
	uint8_t challenge[VNC_CHALLENGE_SIZE];
	gint64 deadline; /* end of the handshake or of a refusal, or -1 */
	gint64 last_progress; /* when the client last took output */

	GSource *source; /* relay thread: both fds and the deadlines */
	int net_fd; /* the client's socket */
	gpointer net_tag;
	bool net_eof;
	int relay_fd; /* our end of the pair to libvncserver */
	gpointer relay_tag;
	bool lib_eof; /* libvncserver closed its end */
	int lib_fd; /* libvncserver's end, until the display thread takes it */
	gint lib_taken;

	GByteArray *in; /* from the client, not yet forwarded */
	size_t in_ready; /* whole messages at the head of in */
	size_t skip; /* bytes of a ClientCutText still to drop */
	bool expect_init; /* ClientInit (one byte) comes next */
	GByteArray *out; /* for the client, not yet sent */
	size_t out_head; /* bytes of out already sent */
	size_t greeting; /* bytes of vnc_lib_greeting seen */

	/* Shared with the display thread. */
	gint out_pending; /* bytes in out, for vnc_conn_output_drained */
	gint wake_wanted; /* the display thread waits for out to drain */
	gint wake_due;
};

struct VncNetwork {
	GMainContext *context;
	GMainLoop *loop;
	GThread *thread;
	char *unix_path; /* to remove at the end */
	GPtrArray *listeners; /* Listener * */
	GList *conns; /* relay thread: its references */
	unsigned n_conns[2]; /* local, TCP */
	char password[9]; /* VNC keys are 8 bytes */
	GAsyncQueue *ready; /* VncConn * (references) for the display thread */
	gint output_limit_kib;
	void (*notify)(void *opaque);
	void *opaque;
};

typedef struct {
	GSource source;
	VncConn *conn;
} ConnSource;

static void conn_service(VncConn *c);

static VncConn *conn_ref(VncConn *c)
{
	g_atomic_ref_count_inc(&c->ref);
	return c;
}

void vnc_conn_unref(VncConn *c)
{
	if (!c || !g_atomic_ref_count_dec(&c->ref))
		return;
	if (c->net_fd >= 0)
		close(c->net_fd);
	if (c->relay_fd >= 0)
		close(c->relay_fd);
	if (c->lib_fd >= 0 && !g_atomic_int_get(&c->lib_taken))
		close(c->lib_fd);
	g_byte_array_unref(c->in);
	g_byte_array_unref(c->out);
	g_free(c);
}

const char *vnc_conn_kind(VncConn *c)
{
	return c->tcp ? "TCP" : "local";
}

static size_t out_pending(VncConn *c)
{
	return c->out->len - c->out_head;
}

static void conn_queue(VncConn *c, const void *data, size_t len)
{
	if (!out_pending(c))
		c->last_progress = g_get_monotonic_time();
	g_byte_array_append(c->out, data, len);
}

static void conn_queue_u32(VncConn *c, uint32_t v)
{
	uint32_t be = GUINT32_TO_BE(v);
	conn_queue(c, &be, 4);
}

/* The client is gone or must go: close its socket and let libvncserver
 * see end-of-file (its output is read and dropped until it closes). */
static void conn_close_net(VncConn *c)
{
	if (c->net_fd < 0)
		return;
	g_source_remove_unix_fd(c->source, c->net_tag);
	c->net_tag = NULL;
	close(c->net_fd);
	c->net_fd = -1;
	g_byte_array_set_size(c->in, 0);
	c->in_ready = 0;
	g_byte_array_set_size(c->out, 0);
	c->out_head = 0;
	if (c->relay_fd >= 0)
		shutdown(c->relay_fd, SHUT_WR);
}

static void conn_drop(VncConn *c, const char *why)
{
	g_debug("vnc: %s client dropped: %s", vnc_conn_kind(c), why);
	conn_close_net(c);
}

/* A refusal the client should read before the connection closes. */
static void conn_refuse(VncConn *c, const char *reason)
{
	g_debug("vnc: %s client refused: %s", vnc_conn_kind(c), reason);
	if (c->minor >= 8) {
		conn_queue_u32(c, strlen(reason));
		conn_queue(c, reason, strlen(reason));
	}
	c->state = CONN_CLOSING;
	c->deadline = g_get_monotonic_time() + VNC_STUCK_US;
}

/* ---- libvncserver's side ---- */

static void conn_attach(VncConn *c)
{
	VncNetwork *n = c->net;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
		conn_drop(c, g_strerror(errno));
		return;
	}
	/* libvncserver puts client sockets in fd_sets. */
	if (sv[0] >= FD_SETSIZE) {
		close(sv[0]);
		close(sv[1]);
		conn_drop(c, "no file descriptor below FD_SETSIZE for libvncserver");
		return;
	}
	c->lib_fd = sv[0];
	c->relay_fd = sv[1];
	c->relay_tag = g_source_add_unix_fd(c->source, c->relay_fd, G_IO_IN);
	g_byte_array_prepend(c->in, (const guint8 *)vnc_lib_hello, VNC_LIB_HELLO_SIZE);
	c->in_ready = VNC_LIB_HELLO_SIZE;
	c->expect_init = true;
	c->state = CONN_RELAY;
	c->deadline = -1;
	g_async_queue_push(n->ready, conn_ref(c));
	n->notify(n->opaque);
}

/* The length of the client message at p: 0 while more bytes are needed to
 * know it, -1 for a message libvncserver is not to see. */
static gssize client_message_length(const uint8_t *p, size_t avail)
{
	switch (p[0]) {
	case rfbSetPixelFormat:
		return sz_rfbSetPixelFormatMsg;
	case rfbSetEncodings: {
		if (avail < sz_rfbSetEncodingsMsg)
			return 0;
		unsigned count = p[2] << 8 | p[3];
		if (count > VNC_MAX_ENCODINGS)
			return -1;
		return sz_rfbSetEncodingsMsg + 4 * count;
	}
	case rfbFramebufferUpdateRequest:
		return sz_rfbFramebufferUpdateRequestMsg;
	case rfbKeyEvent:
		return sz_rfbKeyEventMsg;
	case rfbPointerEvent:
		return sz_rfbPointerEventMsg;
	case rfbSetDesktopSize:
		if (avail < sz_rfbSetDesktopSizeMsg)
			return 0;
		return sz_rfbSetDesktopSizeMsg + sz_rfbExtDesktopScreen * p[6];
	case 255: /* QEMU: only the extended key event */
		if (avail < 2)
			return 0;
		return p[1] == 0 ? 12 : -1;
	default:
		return -1;
	}
}

/* Mark the whole messages at the head of in as ready to forward; drop
 * ClientCutText (no clipboard yet) and clients sending what libvncserver
 * should not read (unknown types, oversized lists). */
static void conn_frame(VncConn *c)
{
	while (c->in_ready < c->in->len && c->net_fd >= 0) {
		uint8_t *p = c->in->data + c->in_ready;
		size_t avail = c->in->len - c->in_ready;

		if (c->skip) {
			size_t k = MIN(c->skip, avail);
			g_byte_array_remove_range(c->in, c->in_ready, k);
			c->skip -= k;
			continue;
		}
		if (c->expect_init) {
			c->in_ready++;
			c->expect_init = false;
			continue;
		}
		if (p[0] == rfbClientCutText) {
			if (avail < sz_rfbClientCutTextMsg)
				return;
			uint32_t len = (uint32_t)p[4] << 24 | p[5] << 16 | p[6] << 8 | p[7];
			if (len & 0x80000000) /* extended clipboard: minus the length */
				len = -len;
			c->skip = sz_rfbClientCutTextMsg + (size_t)len;
			continue;
		}
		gssize len = client_message_length(p, avail);
		if (len < 0) {
			conn_drop(c, "a message type it may not send");
			return;
		}
		if (len == 0 || (size_t)len > avail)
			return;
		c->in_ready += len;
	}
}

static void conn_write_lib(VncConn *c)
{
	while (c->in_ready && !c->lib_eof) {
		ssize_t n =
			send(c->relay_fd, c->in->data, c->in_ready, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			g_byte_array_remove_range(c->in, 0, n);
			c->in_ready -= n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else {
			/* libvncserver closed its end: what it wrote before is
			 * still to read, up to the end-of-file. */
			g_byte_array_set_size(c->in, 0);
			c->in_ready = 0;
			return;
		}
	}
}

static void conn_read_lib(VncConn *c)
{
	size_t limit = (size_t)g_atomic_int_get(&c->net->output_limit_kib) << 10;

	for (int i = 0; i < VNC_READS_PER_DISPATCH; i++) {
		guint old = c->out->len;
		if (!out_pending(c))
			c->last_progress = g_get_monotonic_time();
		g_byte_array_set_size(c->out, old + VNC_READ_CHUNK);
		ssize_t n = recv(c->relay_fd, c->out->data + old, VNC_READ_CHUNK, MSG_DONTWAIT);
		g_byte_array_set_size(c->out, old + MAX(n, 0));
		if (n == 0 ||
		    (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
			c->lib_eof = true;
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (c->net_fd < 0) { /* nobody to send it to */
			g_byte_array_set_size(c->out, old);
			continue;
		}
		/* Drop libvncserver's handshake, which must be the expected one:
		 * anything else would reach a client in the wrong state. */
		size_t k = 0;
		while (c->greeting < VNC_LIB_GREETING_SIZE && k < (size_t)n) {
			if (c->out->data[old + k] != (uint8_t)vnc_lib_greeting[c->greeting]) {
				g_warning("vnc: libvncserver's handshake is not RFB 3.8 with "
					  "security type None");
				conn_drop(c, "unexpected handshake from libvncserver");
				return;
			}
			k++;
			c->greeting++;
		}
		g_byte_array_remove_range(c->out, old, k);
		if (out_pending(c) > limit) {
			conn_drop(c, "too slow: its output queue is full");
			return;
		}
	}
}

/* ---- the client's side ---- */

static void conn_read_net(VncConn *c)
{
	while (c->in->len < VNC_IN_MAX) {
		guint old = c->in->len;
		g_byte_array_set_size(c->in, VNC_IN_MAX);
		ssize_t n = recv(c->net_fd, c->in->data + old, VNC_IN_MAX - old, MSG_DONTWAIT);
		g_byte_array_set_size(c->in, old + MAX(n, 0));
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->net_eof = true; /* gone, or a socket error */
		return;
	}
}

static void conn_write_net(VncConn *c)
{
	while (out_pending(c)) {
		ssize_t n = send(c->net_fd, c->out->data + c->out_head, out_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_head += n;
			c->last_progress = g_get_monotonic_time();
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			c->net_eof = true;
			return;
		}
	}
	if (!out_pending(c)) {
		g_byte_array_set_size(c->out, 0);
		c->out_head = 0;
	} else if (c->out_head > (1u << 20) && c->out_head > c->out->len / 2) {
		g_byte_array_remove_range(c->out, 0, c->out_head);
		c->out_head = 0;
	}
}

static bool conn_check_password(VncConn *c, const uint8_t *response)
{
	uint8_t expected[VNC_CHALLENGE_SIZE];
	uint8_t diff = 0;

	memcpy(expected, c->challenge, sizeof(expected));
	rfbEncryptBytes(expected, c->net->password);
	for (unsigned i = 0; i < sizeof(expected); i++)
		diff |= expected[i] ^ response[i];
	return diff == 0;
}

static void conn_send_challenge(VncConn *c)
{
	if (getrandom(c->challenge, sizeof(c->challenge), 0) != sizeof(c->challenge)) {
		conn_drop(c, "no random bytes for the challenge");
		return;
	}
	conn_queue(c, c->challenge, sizeof(c->challenge));
	c->state = CONN_AUTH;
}

/* One step of the handshake with the bytes in; false when more are
 * needed. */
static bool conn_handshake_step(VncConn *c)
{
	uint8_t security = c->tcp ? VNC_SECURITY_VNC_AUTH : VNC_SECURITY_NONE;
	const uint8_t *p = c->in->data;

	switch (c->state) {
	case CONN_VERSION: {
		if (c->in->len < VNC_VERSION_SIZE)
			return false;
		/* "RFB xxx.yyy\n" */
		bool valid = memcmp(p, "RFB ", 4) == 0 && p[7] == '.' && p[11] == '\n';
		unsigned major = 0, minor = 0;
		for (unsigned i = 4; i < 11 && valid; i++) {
			if (i == 7)
				continue;
			valid = g_ascii_isdigit(p[i]);
			if (i < 7)
				major = major * 10 + (p[i] - '0');
			else
				minor = minor * 10 + (p[i] - '0');
		}
		g_byte_array_remove_range(c->in, 0, VNC_VERSION_SIZE);
		if (!valid || major != 3) {
			conn_drop(c, "not an RFB 3.x client");
			return false;
		}
		/* 3.4 to 3.6 are 3.3 (some clients say so); 3.889 (Apple) and
		 * later ones speak 3.8. */
		c->minor = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
		if (c->minor == 3) {
			conn_queue_u32(c, security);
			if (c->tcp)
				conn_send_challenge(c);
			else
				conn_attach(c);
		} else {
			uint8_t list[2] = {1, security};
			conn_queue(c, list, sizeof(list));
			c->state = CONN_SECURITY;
		}
		return true;
	}
	case CONN_SECURITY:
		if (c->in->len < 1)
			return false;
		if (p[0] != security) {
			g_byte_array_remove_range(c->in, 0, 1);
			if (c->minor >= 8)
				conn_queue_u32(c, 1);
			conn_refuse(c, "security type not offered");
			return false;
		}
		g_byte_array_remove_range(c->in, 0, 1);
		if (c->tcp) {
			conn_send_challenge(c);
		} else {
			if (c->minor >= 8)
				conn_queue_u32(c, 0); /* SecurityResult OK */
			conn_attach(c);
		}
		return true;
	case CONN_AUTH: {
		if (c->in->len < VNC_CHALLENGE_SIZE)
			return false;
		bool ok = conn_check_password(c, p);
		g_byte_array_remove_range(c->in, 0, VNC_CHALLENGE_SIZE);
		if (!ok) {
			g_message("vnc: a TCP client gave a wrong password");
			conn_queue_u32(c, 1);
			conn_refuse(c, "Authentication failed");
			return false;
		}
		conn_queue_u32(c, 0);
		conn_attach(c);
		return true;
	}
	default:
		return false;
	}
}

static void conn_update_events(VncConn *c)
{
	VncNetwork *n = c->net;
	size_t pending = out_pending(c);
	gint64 ready_time = c->deadline;

	if (c->net_fd >= 0) {
		GIOCondition ev = pending ? G_IO_OUT : 0;
		if (c->state != CONN_CLOSING && c->in->len < VNC_IN_MAX)
			ev |= G_IO_IN;
		g_source_modify_unix_fd(c->source, c->net_tag, ev);
		if (pending) {
			gint64 stuck = c->last_progress + VNC_STUCK_US;
			ready_time = ready_time < 0 ? stuck : MIN(ready_time, stuck);
		}
	}
	if (c->relay_fd >= 0)
		g_source_modify_unix_fd(c->source, c->relay_tag,
					G_IO_IN | (c->in_ready ? G_IO_OUT : 0));
	g_source_set_ready_time(c->source, ready_time);

	g_atomic_int_set(&c->out_pending, (int)MIN(pending, (size_t)G_MAXINT));
	if (!pending && g_atomic_int_compare_and_exchange(&c->wake_wanted, 1, 0)) {
		g_atomic_int_set(&c->wake_due, 1);
		n->notify(n->opaque);
	}
}

static void conn_finish(VncConn *c)
{
	VncNetwork *n = c->net;

	g_source_destroy(c->source);
	g_source_unref(c->source);
	c->source = NULL;
	n->conns = g_list_remove(n->conns, c);
	n->n_conns[c->tcp]--;
	vnc_conn_unref(c);
}

static void conn_service(VncConn *c)
{
	GIOCondition net_rev = c->net_tag ? g_source_query_unix_fd(c->source, c->net_tag) : 0;
	GIOCondition relay_rev = c->relay_tag ? g_source_query_unix_fd(c->source, c->relay_tag) : 0;
	gint64 now;

	if (relay_rev & (G_IO_IN | G_IO_HUP | G_IO_ERR))
		conn_read_lib(c);
	if (c->net_fd >= 0 && (net_rev & (G_IO_IN | G_IO_HUP | G_IO_ERR))) {
		if (c->state == CONN_CLOSING)
			c->net_eof = (net_rev & (G_IO_HUP | G_IO_ERR)) != 0;
		else
			conn_read_net(c);
	}
	while (c->net_fd >= 0 && c->state <= CONN_AUTH && conn_handshake_step(c))
		;
	if (c->net_fd >= 0 && c->state == CONN_RELAY) {
		conn_frame(c);
		conn_write_lib(c);
	}
	if (c->net_fd >= 0 && out_pending(c))
		conn_write_net(c);

	now = g_get_monotonic_time();
	if (c->net_fd >= 0) {
		if (c->net_eof)
			conn_drop(c, "it left");
		else if ((c->lib_eof || c->state == CONN_CLOSING) && !out_pending(c))
			conn_close_net(c);
		else if (c->deadline >= 0 && now >= c->deadline)
			conn_drop(c, c->state == CONN_CLOSING ? "it does not read"
							      : "handshake timeout");
		else if (out_pending(c) && now - c->last_progress >= VNC_STUCK_US)
			conn_drop(c, "stuck: it took no output for 5 s");
	}
	if (c->relay_fd >= 0 && c->lib_eof) {
		g_source_remove_unix_fd(c->source, c->relay_tag);
		c->relay_tag = NULL;
		close(c->relay_fd);
		c->relay_fd = -1;
	}
	if (c->net_fd < 0 && c->relay_fd < 0) {
		conn_finish(c);
		return;
	}
	conn_update_events(c);
}

static gboolean conn_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
	conn_service(((ConnSource *)source)->conn);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs conn_source_funcs = {
	.dispatch = conn_dispatch,
};

/* A new client (relay thread): takes the socket. */
static void conn_start(VncNetwork *n, int fd, bool tcp)
{
	VncConn *c;

	if (n->n_conns[tcp] >= VNC_MAX_CONNECTIONS) {
		g_debug("vnc: too many %s clients, one turned away", tcp ? "TCP" : "local");
		close(fd);
		return;
	}
	if (tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	c = g_new0(VncConn, 1);
	g_atomic_ref_count_init(&c->ref);
	c->net = n;
	c->tcp = tcp;
	c->net_fd = fd;
	c->relay_fd = c->lib_fd = -1;
	c->in = g_byte_array_new();
	c->out = g_byte_array_new();
	c->state = CONN_VERSION;
	c->deadline = g_get_monotonic_time() + VNC_HANDSHAKE_US;
	c->source = g_source_new(&conn_source_funcs, sizeof(ConnSource));
	((ConnSource *)c->source)->conn = c;
	c->net_tag = g_source_add_unix_fd(c->source, fd, G_IO_IN);
	g_source_attach(c->source, n->context);
	n->conns = g_list_prepend(n->conns, c);
	n->n_conns[tcp]++;
	g_debug("vnc: %s client connected", vnc_conn_kind(c));
	conn_queue(c, vnc_server_version, VNC_VERSION_SIZE);
	conn_update_events(c);
}

static gboolean network_accept(int fd, GIOCondition condition, gpointer data)
{
	Listener *l = data;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			conn_start(l->net, cfd, l->tcp);
		} else if (errno != EINTR && errno != ECONNABORTED) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				g_debug("vnc: accept: %s", g_strerror(errno));
			return G_SOURCE_CONTINUE;
		}
	}
}

static void network_add_listener(VncNetwork *n, int fd, bool tcp)
{
	Listener *l = g_new0(Listener, 1);

	l->net = n;
	l->fd = fd;
	l->tcp = tcp;
	l->source = g_unix_fd_source_new(fd, G_IO_IN);
	g_source_set_callback(l->source, G_SOURCE_FUNC(network_accept), l, NULL);
	g_source_attach(l->source, n->context);
	g_ptr_array_add(n->listeners, l);
}

static void listener_free(gpointer data)
{
	Listener *l = data;

	g_source_destroy(l->source);
	g_source_unref(l->source);
	close(l->fd);
	g_free(l);
}

static bool network_listen_unix(VncNetwork *n, const char *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "socket path too long: %s", path);
		return false;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot listen on %s: %s", path, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	n->unix_path = g_strdup(path);
	network_add_listener(n, fd, false);
	return true;
}

/* Every address the host name gives (IPv4 and IPv6 loopback for
 * "localhost"); at least one must work. */
static bool network_listen_tcp(VncNetwork *n, const char *host, int port, GError **error)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char service[16];
	int err = 0, listening = 0;

	g_snprintf(service, sizeof(service), "%d", port);
	int rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "cannot resolve %s: %s",
			    host, gai_strerror(rc));
		return false;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){1}, sizeof(int));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
			err = errno;
			close(fd);
			continue;
		}
		network_add_listener(n, fd, true);
		listening++;
	}
	freeaddrinfo(res);
	if (!listening) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot listen on %s port %d: %s", host, port, g_strerror(err));
		return false;
	}
	return true;
}

static gpointer network_thread(gpointer data)
{
	VncNetwork *n = data;

	g_main_context_push_thread_default(n->context);
	g_main_loop_run(n->loop);
	g_main_context_pop_thread_default(n->context);
	return NULL;
}

VncNetwork *vnc_network_new(const VncNetworkConfig *config, GError **error)
{
	VncNetwork *n = g_new0(VncNetwork, 1);

	n->context = g_main_context_new();
	n->loop = g_main_loop_new(n->context, FALSE);
	n->listeners = g_ptr_array_new_with_free_func(listener_free);
	n->ready = g_async_queue_new();
	n->output_limit_kib = VNC_DEFAULT_OUTPUT_LIMIT >> 10;
	n->notify = config->notify;
	n->opaque = config->opaque;
	if (config->password)
		g_strlcpy(n->password, config->password, sizeof(n->password));
	if ((config->unix_path && !network_listen_unix(n, config->unix_path, error)) ||
	    (config->tcp_host &&
	     !network_listen_tcp(n, config->tcp_host, config->tcp_port, error))) {
		vnc_network_free(n);
		return NULL;
	}
	n->thread = g_thread_new("vnc-relay", network_thread, n);
	return n;
}

static gboolean network_quit(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

void vnc_network_free(VncNetwork *n)
{
	VncConn *c;

	if (!n)
		return;
	if (n->thread) {
		/* Quit from inside the loop: a quit before it runs is lost. */
		g_main_context_invoke(n->context, network_quit, n->loop);
		g_thread_join(n->thread);
	}
	while (n->conns) {
		c = n->conns->data;
		conn_finish(c);
	}
	while ((c = g_async_queue_try_pop(n->ready)))
		vnc_conn_unref(c);
	g_ptr_array_unref(n->listeners);
	if (n->unix_path)
		unlink(n->unix_path);
	g_free(n->unix_path);
	g_async_queue_unref(n->ready);
	g_main_loop_unref(n->loop);
	g_main_context_unref(n->context);
	memset(n->password, 0, sizeof(n->password));
	g_free(n);
}

typedef struct {
	VncNetwork *net;
	int fd;
} AddClient;

static gboolean network_add_client_cb(gpointer data)
{
	AddClient *a = data;

	conn_start(a->net, a->fd, false);
	a->fd = -1;
	return G_SOURCE_REMOVE;
}

static void add_client_free(gpointer data)
{
	AddClient *a = data;

	if (a->fd >= 0)
		close(a->fd);
	g_free(a);
}

bool vnc_network_add_client(VncNetwork *n, int fd, GError **error)
{
	int type = 0;
	socklen_t len = sizeof(type);
	AddClient *a;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "a VNC client must be a connected stream socket");
		close(fd);
		return false;
	}
	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	a = g_new0(AddClient, 1);
	a->net = n;
	a->fd = fd;
	g_main_context_invoke_full(n->context, G_PRIORITY_DEFAULT, network_add_client_cb, a,
				   add_client_free);
	return true;
}

void vnc_network_set_output_limit(VncNetwork *n, size_t bytes)
{
	g_atomic_int_set(&n->output_limit_kib, (int)MIN(bytes >> 10, (size_t)G_MAXINT));
}

VncConn *vnc_network_pop_ready(VncNetwork *n)
{
	VncConn *c = g_async_queue_try_pop(n->ready);

	if (c)
		g_atomic_int_set(&c->lib_taken, 1);
	return c;
}

int vnc_conn_lib_fd(VncConn *c)
{
	return c->lib_fd;
}

bool vnc_conn_output_drained(VncConn *c, int lib_fd)
{
	int unread = 0;

	g_atomic_int_set(&c->wake_wanted, 1);
	if (g_atomic_int_get(&c->out_pending) > 0)
		return false;
	/* Also what the relay has not read yet. */
	if (ioctl(lib_fd, SIOCOUTQ, &unread) == 0 && unread > 0)
		return false;
	g_atomic_int_set(&c->wake_wanted, 0);
	return true;
}

bool vnc_conn_take_wakeup(VncConn *c)
{
	return g_atomic_int_compare_and_exchange(&c->wake_due, 1, 0);
}
