/*
 * Driver extensions: how a module (request/response) plugs into the driver
 * and client without editing them.  Module-to-module header.
 *
 * Driver side: an extension is a struct fl_driver_ext.  The driver calls
 * start() once cnc.dat is written, before it is published under its name
 * (so no client is connected yet), do_work() every duty cycle,
 * on_command() for every command whose type is in [FL_EXT_TYPE_MIN,
 * FL_EXT_TYPE_MAX] (the payload is bounds-checked for length only; the
 * extension validates the rest and returns FL_EPROTO to have the driver
 * count a rejection), on_client_gone() when a client closed (crashed=false)
 * or was timed out (crashed=true), and stop() at close.  All calls come from
 * the driver conductor, one at a time.
 *
 * The driver runs the extensions listed in ctx.extensions, in order: the
 * request/response one is fl_rr_driver_ext (faultline/reqrep.h), which
 * faultline-driver passes.
 *
 * Client side: fli_client_ext_send() puts a command on the ring;
 * fli_client_ext_set_handler() receives every broadcast of the extension
 * range on the client conductor.
 */
#ifndef FL_DRIVER_EXT_H
#define FL_DRIVER_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/client.h"
#include "faultline/driver.h"

#define FL_EXT_TYPE_MIN    0x1000
#define FL_EXT_TYPE_MAX    0x1fff
#define FL_EXT_MAX_PAYLOAD 4000 /* largest extension command or broadcast payload */

struct fl_driver_ext {
	const char *name;
	/* Set up; *state is passed to the other hooks.  Non-zero fails the
	 * driver start with that code. */
	int (*start)(struct fl_driver *d, void **state);
	/* Tear down (files removed by the extension or with the run dir). */
	void (*stop)(struct fl_driver *d, void *state);
	/* One duty-cycle pass; returns work done. */
	int (*do_work)(struct fl_driver *d, void *state, uint64_t now_ns);
	/* A command in the extension range from client_id. */
	int (*on_command)(struct fl_driver *d, void *state, uint64_t client_id, int32_t type,
	                  const void *payload, size_t len);
	/* A client closed or was timed out: reclaim what it held. */
	void (*on_client_gone)(struct fl_driver *d, void *state, uint64_t client_id, bool crashed);
};

/* ---- driver helpers for extensions (conductor thread only) --------- */

/* Broadcast type/payload to every client (the extension filters by its
 * own client id in the payload).  Returns 0, FL_EINVAL (type out of range
 * or len > FL_EXT_MAX_PAYLOAD). */
int fli_driver_ext_broadcast(struct fl_driver *d, int32_t type, const void *payload, size_t len);

/* The driver's options as started (ns, timeouts, sizes). */
const struct fl_driver_ctx *fli_driver_ext_ctx(const struct fl_driver *d);

/* A fresh id from the namespace's id counter (shared with clients). */
int64_t fli_driver_ext_next_id(struct fl_driver *d);

/* Set the extension gauge idx (< FL_STATS_MAX_EXT) named name. */
int fli_driver_ext_gauge_set(struct fl_driver *d, unsigned idx, const char *name, int64_t value);

/* Is this client id active (not closed, not timed out)? */
bool fli_driver_ext_client_alive(struct fl_driver *d, uint64_t client_id);

/* ---- client helpers ------------------------------------------------- */

/* Send an extension command (type in range, len <= FL_EXT_MAX_PAYLOAD).
 * Any thread.  Returns 0, FL_EINVAL, FL_EFULL, or the client status. */
int fli_client_ext_send(fl_client *c, int32_t type, const void *payload, size_t len);

/* Handler for extension broadcasts, called on the client conductor.  NULL
 * removes it.  Set before traffic starts. */
void fli_client_ext_set_handler(fl_client *c,
                                void (*fn)(void *arg, int32_t type, const void *payload,
                                           size_t len),
                                void *arg);

#endif
