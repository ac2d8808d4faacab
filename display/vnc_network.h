/* The VNC server's network side (internal to display/vnc*.c): listening
 * sockets, the RFB handshake and VNC authentication, and the relay between
 * each client's socket and the socket pair libvncserver sees.
 *
 * Why a relay: libvncserver writes with blocking waits (select() in steps
 * of 5 s, restarted whenever the peer takes a byte) and reads whole
 * messages the same way, on the display thread.  Behind the relay it only
 * ever talks to a local socket that the relay thread drains at once into a
 * growing buffer, and it only ever sees complete client messages, so a
 * slow, stuck or malicious client stalls nobody.  The relay also does the
 * handshake itself (libvncserver keeps its list of security types in a
 * global, which cannot serve password and passwordless listeners at once),
 * so libvncserver only meets authenticated clients, and always as
 * RFB 3.8 with security type None.
 *
 * Threads: everything here runs on the relay thread, except the calls
 * marked "display thread". */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef struct VncNetwork VncNetwork;
typedef struct VncConn VncConn;

typedef struct {
	const char *unix_path;
	const char *tcp_host;
	int tcp_port;
	const char *password;
	/* Called on the relay thread when the display thread has work: a
	 * client is ready (vnc_network_pop_ready) or a client's output drained
	 * (vnc_conn_take_wakeup). */
	void (*notify)(void *opaque);
	void *opaque;
} VncNetworkConfig;

/* Starts listening and the relay thread. */
VncNetwork *vnc_network_new(const VncNetworkConfig *config, GError **error);
/* Stops the relay thread, closes every socket, removes the unix socket. */
void vnc_network_free(VncNetwork *n);
/* A connected socket, served without authentication (any thread). */
bool vnc_network_add_client(VncNetwork *n, int fd, GError **error);
/* Output beyond this many bytes queued for one client drops it (any
 * thread): twice a full raw frame is plenty. */
void vnc_network_set_output_limit(VncNetwork *n, size_t bytes);

/* Display thread: the next client past its handshake, or NULL.  The
 * caller owns the reference and the client's libvncserver socket. */
VncConn *vnc_network_pop_ready(VncNetwork *n);
/* Display thread: libvncserver's end of the client's socket pair (below
 * FD_SETSIZE); it owns it from rfbNewClient on. */
int vnc_conn_lib_fd(VncConn *c);
/* Display thread: whether everything libvncserver wrote so far has gone to
 * the client's socket.  If not, a wakeup follows when it has. */
bool vnc_conn_output_drained(VncConn *c, int lib_fd);
/* Display thread: whether a wakeup is due (and clear it). */
bool vnc_conn_take_wakeup(VncConn *c);
/* "unix" or "tcp", for logs. */
const char *vnc_conn_kind(VncConn *c);
void vnc_conn_unref(VncConn *c);
