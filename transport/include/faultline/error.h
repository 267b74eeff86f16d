/*
 * faultline error codes.
 *
 * Every function that can fail returns int (or int64_t where a position is
 * returned): 0 or a non-negative result on success, a negative FL_E* code on
 * failure.  Out-params are written on success only.
 */
#ifndef FAULTLINE_ERROR_H
#define FAULTLINE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum fl_error {
	FL_OK = 0,
	FL_EINVAL = -1,           /* bad argument */
	FL_ENOMEM = -2,           /* heap allocation failed */
	FL_ETIMEDOUT = -3,        /* a deadline passed */
	FL_ECLOSED = -4,          /* the object is closed */
	FL_ENOT_CONNECTED = -5,   /* offer: no subscriber is connected */
	FL_EBACKPRESSURE = -6,    /* offer: the slowest subscriber is a full window behind */
	FL_EMSGSIZE = -7,         /* message larger than the documented maximum */
	FL_ENAME = -8,            /* invalid namespace, channel or service name */
	FL_EEXIST = -9,           /* already exists (a live driver owns the namespace, or its
	                            run directory holds files faultline did not create) */
	FL_ENOENT = -10,          /* no such driver, registration, image or file */
	FL_EIO = -11,             /* an OS call on shared memory failed */
	FL_EDRIVER_TIMEOUT = -12, /* the driver stopped heart-beating */
	FL_ECLIENT_TIMEOUT = -13, /* the driver timed this client out */
	FL_EAGAIN = -14,          /* not complete yet: poll again */
	FL_ECANCELED = -15,       /* the operation was cancelled */
	FL_EFULL = -16,           /* the command ring is full */
	FL_ELAPPED = -17,         /* a broadcast receiver was lapped and lost events */
	FL_EPROTO = -18,          /* malformed frame, bad version or corrupted shared memory */
	FL_EBUSY = -19,           /* resource still in use */
	FL_ESTALE = -20,          /* stale handle: released twice or generation changed */
	FL_EPOOL_EMPTY = -21,     /* no free chunk in the size-class pool */
	FL_ENO_PORTS = -22,       /* the port pool is exhausted */
	FL_EOWNER = -23,          /* called from a thread that does not own the object */
	FL_ESTATE = -24,          /* operation not valid in the object's current state */
	FL_ELIMIT = -25,          /* a fixed table (clients, subscribers, images) is full */
	FL_EFAULT_INJECTED = -26, /* an injected fault with no more specific code */
	FL_ECRASHED = -27,        /* the peer process died */
	FL_ENOSERVER = -28,       /* request/response: no server offers the service */
	FL_EPERM = -29,           /* refused: a run directory or segment is a link, not a
	                            directory or regular file, owned by another user, or
	                            not mode 0700; or this user may not open it */
	FL_ENOSPC = -30,          /* /dev/shm has no room for a segment (full or too small) */
	FL_ERROR_MIN = -30,
};

/* fl_strerror returns a static, human-readable description of an FL_E* code
 * (or of 0).  Unknown codes yield "unknown error".  Thread-safe. */
const char *fl_strerror(int err);

/* fl_errname returns the symbolic name ("FL_ETIMEDOUT") of a code, for logs
 * and reports; a code that is none of these, "FL_E?(N)" (in one of four
 * buffers of the calling thread).  Thread-safe. */
const char *fl_errname(int err);

#ifdef __cplusplus
}
#endif
#endif
