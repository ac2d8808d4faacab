/* A client of an engine's control socket (docs/control-protocol.md).
 *
 * Two ways to use it, not to be mixed on one client:
 *  - async (the app): connect_async starts a reader on the thread-default
 *    main context; replies complete execute_async calls in order, events
 *    emit "event", and the engine going away emits "closed" once (pending
 *    calls fail with G_IO_ERROR_CLOSED).
 *  - sync (hangarctl, tests): connect_sync, then execute_sync; events that
 *    arrive while waiting for a reply are emitted before it returns.
 * Replies with "error" become GErrors in HG_CONTROL_ERROR (the desc is the
 * message; CommandNotFound and GenericError are the codes). */
#pragma once

#include <gio/gio.h>
#include <glib-object.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

#define HG_CONTROL_ERROR (hg_control_error_quark())
GQuark hg_control_error_quark(void);
typedef enum {
	HG_CONTROL_ERROR_GENERIC,           /* "GenericError" */
	HG_CONTROL_ERROR_COMMAND_NOT_FOUND, /* "CommandNotFound" */
	HG_CONTROL_ERROR_PROTOCOL,          /* the engine said something that is not the protocol */
} HgControlErrorCode;

#define HANGAR_TYPE_CONTROL_CLIENT (hangar_control_client_get_type())
G_DECLARE_FINAL_TYPE(HangarControlClient, hangar_control_client, HANGAR, CONTROL_CLIENT, GObject)

/* Signals:
 *   "event"  (const char *name, JsonObject *data, gint64 timestamp_us)
 *   "closed" () */

HangarControlClient *hangar_control_client_connect_sync(const char *socket_path,
							GCancellable *cancellable,
							GError **error);
void hangar_control_client_connect_async(const char *socket_path, GCancellable *cancellable,
					 GAsyncReadyCallback callback, gpointer user_data);
HangarControlClient *hangar_control_client_connect_finish(GAsyncResult *result, GError **error);

/* The engine's version from its greeting. */
const char *hangar_control_client_get_engine_version(HangarControlClient *client);
bool hangar_control_client_is_closed(HangarControlClient *client);
void hangar_control_client_close(HangarControlClient *client);

/* arguments may be NULL.  The result is the reply's "return" object. */
JsonObject *hangar_control_client_execute_sync(HangarControlClient *client, const char *command,
					       JsonObject *arguments, GCancellable *cancellable,
					       GError **error);
void hangar_control_client_execute_async(HangarControlClient *client, const char *command,
					 JsonObject *arguments, GCancellable *cancellable,
					 GAsyncReadyCallback callback, gpointer user_data);
JsonObject *hangar_control_client_execute_finish(HangarControlClient *client,
						 GAsyncResult *result, GError **error);

/* add_client: fd (a connected socket; the caller keeps its own copy) is
 * passed with SCM_RIGHTS and served as a client of protocol ("vnc" or
 * "spice").  Works in both modes (the async form completes like execute). */
void hangar_control_client_add_display_client_async(HangarControlClient *client,
						    const char *protocol, int fd,
						    GCancellable *cancellable,
						    GAsyncReadyCallback callback,
						    gpointer user_data);
bool hangar_control_client_add_display_client_finish(HangarControlClient *client,
						     GAsyncResult *result, GError **error);
bool hangar_control_client_add_display_client_sync(HangarControlClient *client,
						   const char *protocol, int fd,
						   GCancellable *cancellable, GError **error);
