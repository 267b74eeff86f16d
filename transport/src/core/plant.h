/*
 * Planted bugs (docs/properties.md, "The proof matrix"): a test build of
 * the transport (FLI_PLANTS defined: faultline-planted and
 * cluster_prop_planted) compiles in classic bugs, one chosen at run time
 * by fli_plant, to prove that the checks find them.  The library's own
 * build has none: PLANTED(p) is 0 there.
 */
#ifndef FLI_PLANT_H
#define FLI_PLANT_H

#ifdef FLI_PLANTS
enum fli_plant {
	FLI_PLANT_NONE,
	FLI_PLANT_VOTE_NOT_UP_TO_DATE, /* Raft: a vote granted without the log check */
	FLI_PLANT_COMMIT_OLD_TERM,     /* Raft, Figure 8: commit by counting replicas */
	FLI_PLANT_VOTE_NOT_PERSISTED,  /* Raft: a vote answered before it is durable */
	FLI_PLANT_LOG_KEPT,            /* the driver never frees a released log buffer */
	FLI_PLANT_PUB_KEPT,            /* ... nor a removed publication once drained */
	FLI_PLANT_SUB_KEPT,            /* ... nor a removed subscription */
	FLI_PLANT_DIR_KEPT,            /* its close leaves the run directory behind */
	FLI_PLANT_START_FAILS,         /* its start fails after making its files */
	FLI_PLANT_IMAGES_STALE,        /* its images gauge is not written back to 0 */
	FLI_PLANT_CANCEL_KEPT,         /* a client's cancelled add stays outstanding */
	FLI_PLANT_STRAY_WRITE,         /* a client's close writes into cnc.dat's header */
	FLI_PLANT_LOG_STRAY_WRITE,     /* an offer writes its log's mtu */
	FLI_PLANT_APPEND_NO_PREV_TERM, /* Raft: an append accepted whatever the term at prevLogIndex */
	FLI_PLANT_LOG_TAIL_KEPT,     /* Raft: a conflicting entry replaced, what follows it kept */
	FLI_PLANT_COMMIT_ON_PROPOSE, /* Raft: a leader re-counts its commit only on a proposal */
	FLI_PLANT_CTX_CLOSE_NO_CANCEL,  /* a context's close leaves its pending receive running */
	FLI_PLANT_RR_SERVER_PORT_STRAY, /* a server's close writes the port table's size */
	FLI_PLANT_RR_CLIENT_PORT_STRAY, /* ... a client's, the client port table's */
	FLI_PLANT_RR_CHUNK_STRAY,       /* ... a client's, the chunk pool's version */
	FLI_PLANT_CAS_MISMATCH_OK,      /* cluster client: a cas that did not match is ok */
	FLI_PLANT_PROPOSE_ROLLBACK,     /* Raft: a leader takes back an entry it already sent */
	FLI_PLANT_QUORUM_HALF,          /* Raft: a quorum of n / 2 nodes (integer division) */
	FLI_PLANT_RESTART_APPLIED,      /* Raft: a restarted node takes its log as applied */
	FLI_PLANT_COMMIT_PAST_LOG, /* Raft: a follower's commit not held to its last new entry */
	FLI_PLANT_OFFER_ABORT,     /* an offer fails an assert of the transport (abort) */
	FLI_PLANT__COUNT
};
extern enum fli_plant fli_plant; /* defined in cluster/raft.c */
#define PLANTED(p) (fli_plant == (p))
#else
#define PLANTED(p) 0
#endif

#endif
