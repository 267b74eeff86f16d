/*
 * The property runner: trials (forked or in-process), the shrinker over the
 * recorded choices, reports and traces.
 *
 * A forked trial reports back through frames: the recorded choices ('C'),
 * the spans ('S', raw struct fl_choice_span records: labels are static
 * strings, at the same address in parent and child after fork), the
 * failure message ('M') and the log ('L').  A passing trial writes nothing,
 * which keeps the common case at one fork and one exit.  A trial that
 * crashes dumps the same frames from its signal handler (write(2) only, on
 * an alternate stack) before dying of the signal; one that hangs is sent
 * SIGUSR2 on the deadline and dumps them too, so crashes and hangs can be
 * shrunk like any failure.
 */
#include "prop_internal.h"
#include "faultline/error.h"
#include "core/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG_CHOICES 0x43484f43u /* "COHC" */
#define TAG_SPANS   0x4e415053u
#define TAG_MSG     0x2047534du
#define TAG_LOG     0x20474f4cu

#define EXIT_DISCARD 124
#define DUMP_SIGNAL  SIGUSR2

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Trial k's seed: the root itself for trial 0, so `--seed S --trials 1`
 * replays the failing trial whose seed S was printed. */
static uint64_t
trial_seed(uint64_t root, unsigned k)
{
	return k == 0 ? root : mix64(root + 0x9e3779b97f4a7c15ull * k);
}

/* ------------------------------------------------------------------ */
/* One trial. */

struct trial_in {
	const struct fl_prop_def *def;
	bool replay;
	uint64_t seed;
	const uint64_t *values;
	size_t n;
};

/* A trial's outcome: the generic run record plus whether the property
 * discarded its input. */
struct trial_out {
	struct fl_shrink_run run;
	bool discarded;
};

static void
trial_out_fini(struct trial_out *o)
{
	fl_shrink_run_fini(&o->run);
	o->discarded = false;
}

/* The run record leaves the trial (its buffers with it). */
static void
trial_to_run(struct trial_out *o, struct fl_shrink_run *r)
{
	*r = o->run;
	memset(o, 0, sizeof *o);
}

static void
run_to_trial(struct fl_shrink_run *r, struct trial_out *o)
{
	memset(o, 0, sizeof *o);
	o->run = *r;
	memset(r, 0, sizeof *r);
}

static int
ctx_open(struct fl_prop_ctx *ctx, const struct trial_in *in)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->def = in->def;
	ctx->replaying = in->replay;
	ctx->log = malloc(FL_PROP_LOG_MAX);
	if (!ctx->log)
		return FL_ENOMEM;
	ctx->log[0] = 0;
	int rc = in->replay ? fl_choice_new_replay(in->values, in->n, &ctx->choice)
	                    : fl_choice_new_seeded(in->seed, &ctx->choice);
	if (rc) {
		free(ctx->log);
		ctx->log = NULL;
	}
	return rc;
}

static void
ctx_close(struct fl_prop_ctx *ctx)
{
	fl_choice_free(ctx->choice);
	free(ctx->log);
	ctx->choice = NULL;
	ctx->log = NULL;
}

/* The forked child's state, read by its signal handlers. */
static struct {
	int fd;
	struct fl_prop_ctx *ctx;
	volatile sig_atomic_t dumped;
} g_child = { .fd = -1 };

static void
dump_frames(int fd, struct fl_prop_ctx *ctx)
{
	size_t n = fl_choice_count(ctx->choice);
	size_t ns = fl_choice_span_count(ctx->choice);
	fl_sandbox_frame_write(fd, TAG_CHOICES, fl_choice_values(ctx->choice),
	                       (uint32_t)(n * sizeof(uint64_t)));
	fl_sandbox_frame_write(fd, TAG_SPANS, fl_choice_spans(ctx->choice),
	                       (uint32_t)(ns * sizeof(struct fl_choice_span)));
	if (ctx->msg[0])
		fl_sandbox_frame_write(fd, TAG_MSG, ctx->msg, (uint32_t)strlen(ctx->msg));
	if (ctx->loglen)
		fl_sandbox_frame_write(fd, TAG_LOG, ctx->log, (uint32_t)ctx->loglen);
}

static void
child_signal(int sig)
{
	if (!g_child.dumped && g_child.ctx && g_child.fd >= 0) {
		g_child.dumped = 1;
		dump_frames(g_child.fd, g_child.ctx);
	}
	if (sig == DUMP_SIGNAL)
		_exit(FL_SANDBOX_EXIT_DUMPED);
	/* SA_RESETHAND restored the default action; the re-raised signal is
	 * delivered when the handler returns (a fault re-faults anyway). */
	raise(sig);
}

static char g_altstack[64 * 1024];

static void
child_install_handlers(void)
{
	stack_t ss = { .ss_sp = g_altstack, .ss_size = sizeof g_altstack };
	sigaltstack(&ss, NULL);
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = child_signal;
	sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_flags = SA_ONSTACK;
	sigaction(DUMP_SIGNAL, &sa, NULL);
}

static int
trial_child(void *arg, int fd)
{
	const struct trial_in *in = arg;
	struct fl_prop_ctx ctx;
	if (ctx_open(&ctx, in) != 0)
		return 1;
	g_child.fd = fd;
	g_child.ctx = &ctx;
	g_child.dumped = 0;
	child_install_handlers();
	int rc = in->def->fn(&ctx);
	if (rc != FL_PROP_PASS && rc != FL_PROP_DISCARD && !g_child.dumped) {
		g_child.dumped = 1;
		if (!ctx.msg[0])
			snprintf(ctx.msg, sizeof ctx.msg, "property returned %d", rc);
		dump_frames(fd, &ctx);
	}
	g_child.ctx = NULL;
	ctx_close(&ctx);
	if (rc == FL_PROP_DISCARD) {
		close(fd);
		_exit(EXIT_DISCARD);
	}
	return rc == FL_PROP_PASS ? 0 : 1;
}

static char *
dup_n(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

static int
parse_frames(const struct fl_sandbox_result *r, struct trial_out *out)
{
	size_t pos = 0;
	uint32_t tag, dlen;
	const uint8_t *data;
	while (fl_sandbox_frame_next(r->payload, r->payload_len, &pos, &tag, &data, &dlen) == 0) {
		if (tag == TAG_CHOICES && dlen % sizeof(uint64_t) == 0 && !out->run.values) {
			out->run.n = dlen / sizeof(uint64_t);
			out->run.values = malloc(dlen ? dlen : 1);
			if (!out->run.values)
				return FL_ENOMEM;
			memcpy(out->run.values, data, dlen);
			out->run.recorded = true;
		} else if (tag == TAG_SPANS && dlen % sizeof(struct fl_choice_span) == 0 &&
		           !out->run.spans) {
			out->run.nspans = dlen / sizeof(struct fl_choice_span);
			out->run.spans = malloc(dlen ? dlen : 1);
			if (!out->run.spans)
				return FL_ENOMEM;
			memcpy(out->run.spans, data, dlen);
		} else if (tag == TAG_MSG && !out->run.message) {
			if (!(out->run.message = dup_n(data, dlen)))
				return FL_ENOMEM;
		} else if (tag == TAG_LOG && !out->run.log) {
			if (!(out->run.log = dup_n(data, dlen)))
				return FL_ENOMEM;
		}
	}
	/* Spans from a garbled stream are not trusted beyond the values. */
	for (size_t i = 0; i < out->run.nspans; i++) {
		if (out->run.spans[i].start > out->run.spans[i].end ||
		    out->run.spans[i].end > out->run.n) {
			out->run.nspans = 0;
			break;
		}
	}
	return 0;
}

static int
run_forked(const struct fl_prop_config *cfg, const struct trial_in *in, struct trial_out *out)
{
	struct fl_sandbox_opts o = {
		.timeout_ms = cfg->trial_timeout_ms,
		.max_payload = 64u << 20,
		.dump_signal = DUMP_SIGNAL,
		.grace_ms = 500,
	};
	struct fl_sandbox_result r;
	int rc = fl_sandbox_run(&o, trial_child, (void *)in, &r);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	out->run.verdict = r.verdict;
	out->run.signal = r.verdict == FL_VERDICT_CRASH ? r.signal : 0;
	if (r.verdict == FL_VERDICT_FAIL && r.exit_status == EXIT_DISCARD) {
		out->run.verdict = FL_VERDICT_PASS;
		out->discarded = true;
	}
	if (out->run.verdict != FL_VERDICT_PASS) {
		rc = parse_frames(&r, out);
		if (rc == 0 && !out->run.message) {
			char buf[128];
			if (r.verdict == FL_VERDICT_CRASH)
				snprintf(buf, sizeof buf, "crashed: %s", fl_signal_name(r.signal));
			else if (r.verdict == FL_VERDICT_HANG)
				snprintf(buf, sizeof buf, "hang: no verdict within %" PRIu64 " ms",
				         cfg->trial_timeout_ms);
			else
				snprintf(buf, sizeof buf, "trial exited with status %d",
				         r.exit_status);
			out->run.message = strdup(buf);
		} else if (rc == 0 && r.verdict != FL_VERDICT_FAIL) {
			/* Say how the trial died, keep what it was saying. */
			char *m = malloc(strlen(out->run.message) + 96);
			if (m) {
				if (r.verdict == FL_VERDICT_CRASH)
					sprintf(m, "crashed: %s (%s)", fl_signal_name(r.signal),
					        out->run.message);
				else
					sprintf(m, "hang after %" PRIu64 " ms (%s)",
					        cfg->trial_timeout_ms, out->run.message);
				free(out->run.message);
				out->run.message = m;
			}
		}
	}
	fl_sandbox_result_fini(&r);
	if (rc)
		trial_out_fini(out);
	return rc;
}

static int
run_inproc(const struct trial_in *in, struct trial_out *out)
{
	struct fl_prop_ctx ctx;
	int rc = ctx_open(&ctx, in);
	if (rc)
		return rc;
	int prc = in->def->fn(&ctx);
	memset(out, 0, sizeof *out);
	if (prc == FL_PROP_DISCARD)
		out->discarded = true;
	if (prc == FL_PROP_PASS || prc == FL_PROP_DISCARD) {
		out->run.verdict = FL_VERDICT_PASS;
		ctx_close(&ctx);
		return 0;
	}
	out->run.verdict = FL_VERDICT_FAIL;
	out->run.n = fl_choice_count(ctx.choice);
	out->run.nspans = fl_choice_span_count(ctx.choice);
	out->run.values = malloc(out->run.n * sizeof(uint64_t) + 1);
	out->run.spans = malloc(out->run.nspans * sizeof(struct fl_choice_span) + 1);
	if (!ctx.msg[0])
		snprintf(ctx.msg, sizeof ctx.msg, "property returned %d", prc);
	out->run.message = strdup(ctx.msg);
	out->run.log = strdup(ctx.log);
	if (!out->run.values || !out->run.spans || !out->run.message || !out->run.log) {
		ctx_close(&ctx);
		trial_out_fini(out);
		return FL_ENOMEM;
	}
	/* An empty stream has no array (memcpy from NULL is undefined even
	 * for 0 bytes: UBSan stops there). */
	if (out->run.n > 0)
		memcpy(out->run.values, fl_choice_values(ctx.choice),
		       out->run.n * sizeof(uint64_t));
	if (out->run.nspans > 0)
		memcpy(out->run.spans, fl_choice_spans(ctx.choice),
		       out->run.nspans * sizeof(struct fl_choice_span));
	out->run.recorded = true;
	ctx_close(&ctx);
	return 0;
}

static int
run_trial(const struct fl_prop_config *cfg, const struct trial_in *in, struct trial_out *out)
{
	return cfg->fork ? run_forked(cfg, in, out) : run_inproc(in, out);
}

/* ------------------------------------------------------------------ */
/* Reports and traces. */

void
fl_prop_report_fini(struct fl_prop_report *rep)
{
	if (!rep)
		return;
	free(rep->choices);
	free(rep->message);
	free(rep->log);
	free(rep->trace_path);
	memset(rep, 0, sizeof *rep);
}

static void
report_take(struct fl_prop_report *rep, struct trial_out *o)
{
	rep->verdict = o->run.verdict;
	rep->signal = o->run.signal;
	rep->choices = o->run.values;
	rep->nchoices = o->run.n;
	rep->message = o->run.message;
	rep->log = o->run.log;
	o->run.values = NULL;
	o->run.message = NULL;
	o->run.log = NULL;
	trial_out_fini(o);
}

int
fl_prop_trace_from_report(const struct fl_prop_report *rep, const char *name, struct fl_trace *out)
{
	if (!rep || !name || !out)
		return FL_EINVAL;
	int rc = fl_trace_init(out, "property", name, fl_trace_hash_str(name), rep->fail_seed,
	                       fl_verdict_name(rep->verdict), name, rep->message, rep->choices,
	                       rep->nchoices);
	if (rc)
		return rc;
	out->signal = rep->signal;
	if (!rep->choices && rep->verdict != FL_VERDICT_PASS) {
		rc = fl_trace_add_extra(out, "replay_from", "seed");
		if (rc) {
			fl_trace_fini(out);
			return rc;
		}
	}
	/* The program that holds the property: `faultline replay` runs
	 * `<program> --replay TRACE` (fl_prop_main) for property traces. */
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = 0;
		rc = fl_trace_add_extra(out, "program", exe);
		if (rc) {
			fl_trace_fini(out);
			return rc;
		}
	}
	return 0;
}

static int
save_trace(const struct fl_prop_config *cfg, const char *name, struct fl_prop_report *rep)
{
	if (!cfg->trace_dir || !*cfg->trace_dir)
		return 0;
	mkdir(cfg->trace_dir, 0755);
	size_t len = strlen(cfg->trace_dir) + strlen(name) + 64;
	char *path = malloc(len);
	if (!path)
		return FL_ENOMEM;
	snprintf(path, len, "%s/%s-%016" PRIx64 ".trace", cfg->trace_dir, name, rep->fail_seed);
	for (char *p = path + strlen(cfg->trace_dir) + 1; *p; p++)
		if (*p == '/' || *p == ' ')
			*p = '_';
	struct fl_trace t;
	int rc = fl_prop_trace_from_report(rep, name, &t);
	if (rc == 0) {
		rc = fl_trace_write(path, &t);
		fl_trace_fini(&t);
	}
	if (rc == 0)
		rep->trace_path = path;
	else
		free(path);
	return rc;
}

void
fl_prop_print(const struct fl_prop_report *rep, const char *name)
{
	FILE *f = stderr;
	if (rep->verdict == FL_VERDICT_PASS) {
		fprintf(f, "[prop] %s: passed %u trials (%u discarded; seed %" PRIu64 ", %.2f s)\n",
		        name, rep->trials, rep->discarded, rep->seed, rep->seconds);
		return;
	}
	fprintf(f,
	        "[prop] %s: %s after %u trials (%.2f s), seed %" PRIu64
	        ", failing trial seed %" PRIu64 "\n",
	        name, fl_verdict_name(rep->verdict), rep->trials, rep->seconds, rep->seed,
	        rep->fail_seed);
	if (rep->signal)
		fprintf(f, "[prop]   signal: %s\n", fl_signal_name(rep->signal));
	if (rep->shrink_attempts)
		fprintf(f, "[prop]   shrunk %zu -> %zu choices in %u runs (%u kept, %.2f s)\n",
		        rep->original_nchoices, rep->nchoices, rep->shrink_attempts,
		        rep->shrink_accepted, rep->shrink_seconds);
	fprintf(f, "[prop]   minimal choices:");
	for (size_t i = 0; i < rep->nchoices && i < 64; i++)
		fprintf(f, " %" PRIu64, rep->choices[i]);
	fprintf(f, "%s\n", rep->nchoices > 64 ? " ..." : "");
	if (rep->log && *rep->log) {
		fprintf(f, "[prop]   minimal failing run:\n");
		const char *p = rep->log;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t l = nl ? (size_t)(nl - p) : strlen(p);
			fprintf(f, "[prop]     %.*s\n", (int)l, p);
			p += l + (nl ? 1 : 0);
		}
	}
	fprintf(f, "[prop]   failure: %s\n", rep->message ? rep->message : "-");
	fprintf(f,
	        "[prop]   reproduce: FL_SEED=%" PRIu64 " FL_TRIALS=1 <test>  (or --seed %" PRIu64
	        " --trials 1)\n",
	        rep->fail_seed, rep->fail_seed);
	if (rep->trace_path)
		fprintf(f, "[prop]   trace: %s (replay: faultline replay %s)\n", rep->trace_path,
		        rep->trace_path);
}

/* ------------------------------------------------------------------ */
/* Configuration. */

static int
parse_u64_arg(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-')
		return FL_EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return FL_EINVAL;
	*out = v;
	return 0;
}

static int
parse_double_arg(const char *s, double *out)
{
	if (!s || !*s)
		return FL_EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || v < 0)
		return FL_EINVAL;
	*out = v;
	return 0;
}

static void
apply_long(struct fl_prop_config *cfg)
{
	if (cfg->long_mode)
		return;
	cfg->long_mode = true;
	cfg->trials = (cfg->trials ? cfg->trials : 100) * 100;
	if (cfg->time_budget_s > 0)
		cfg->time_budget_s *= 100;
}

static int
set_opt(struct fl_prop_config *cfg, const char *key, const char *val)
{
	uint64_t u;
	double d;
	if (strcmp(key, "seed") == 0) {
		if (parse_u64_arg(val, &u))
			return FL_EINVAL;
		cfg->seed = u;
	} else if (strcmp(key, "trials") == 0) {
		if (parse_u64_arg(val, &u) || u == 0 || u > UINT32_MAX)
			return FL_EINVAL;
		cfg->trials = (unsigned)u * (cfg->long_mode ? 100u : 1u);
	} else if (strcmp(key, "time") == 0) {
		if (parse_double_arg(val, &d))
			return FL_EINVAL;
		cfg->time_budget_s = d;
	} else if (strcmp(key, "max-shrinks") == 0) {
		if (parse_u64_arg(val, &u) || u > UINT32_MAX)
			return FL_EINVAL;
		cfg->max_shrinks = (unsigned)u;
	} else if (strcmp(key, "timeout-ms") == 0) {
		if (parse_u64_arg(val, &u))
			return FL_EINVAL;
		cfg->trial_timeout_ms = u;
	} else {
		return FL_EINVAL;
	}
	return 0;
}

void
fl_prop_config_init(struct fl_prop_config *cfg, const char *name)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->name = name;
	/* A fresh root seed per run; it is printed with any failure, and
	 * FL_SEED / --seed fix it. */
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
		seed = mix64((uint64_t)getpid() ^ (uint64_t)(fli_mono_s() * 1e9));
	cfg->seed = seed;
	cfg->trials = 100;
	cfg->fork = true;
	cfg->max_shrinks = 1000;
	cfg->trial_timeout_ms = 10000;
	cfg->trace_dir = getenv("FL_TRACE_DIR");
	static const struct {
		const char *env, *key;
	} envs[] = { { "FL_SEED", "seed" },
		     { "FL_TRIALS", "trials" },
		     { "FL_TIME", "time" },
		     { "FL_MAX_SHRINKS", "max-shrinks" },
		     { "FL_TIMEOUT_MS", "timeout-ms" } };
	const char *l = getenv("FL_LONG");
	if (l && *l && strcmp(l, "0") != 0)
		apply_long(cfg);
	for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
		const char *v = getenv(envs[i].env);
		if (v && *v && set_opt(cfg, envs[i].key, v) != 0)
			fprintf(stderr, "[prop] ignoring bad %s=%s\n", envs[i].env, v);
	}
	const char *nf = getenv("FL_NO_FORK");
	if (nf && *nf && strcmp(nf, "0") != 0)
		cfg->fork = false;
}

int
fl_prop_config_args(struct fl_prop_config *cfg, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--long") == 0) {
			apply_long(cfg);
		} else if (strcmp(a, "--no-fork") == 0) {
			cfg->fork = false;
		} else if (strcmp(a, "--quiet") == 0) {
			cfg->quiet = true;
		} else if (strcmp(a, "--trace-dir") == 0 && i + 1 < argc) {
			cfg->trace_dir = argv[++i];
		} else if (strncmp(a, "--", 2) == 0 &&
		           (strcmp(a + 2, "seed") == 0 || strcmp(a + 2, "trials") == 0 ||
		            strcmp(a + 2, "time") == 0 || strcmp(a + 2, "max-shrinks") == 0 ||
		            strcmp(a + 2, "timeout-ms") == 0)) {
			if (i + 1 >= argc || set_opt(cfg, a + 2, argv[i + 1]) != 0) {
				fprintf(stderr, "%s: bad or missing value\n", a);
				return FL_EINVAL;
			}
			i++;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Entry points. */

static const char *
prop_name(const struct fl_prop_config *cfg, const struct fl_prop_def *def)
{
	return cfg->name ? cfg->name : def->name ? def->name : "property";
}

struct prop_shrink_arg {
	const struct fl_prop_config *cfg;
	const struct fl_prop_def *def;
};

/* The property runner's fl_shrink_fn: one replayed trial. */
static int
prop_shrink_run(void *arg, const uint64_t *values, size_t n, struct fl_shrink_run *out)
{
	const struct prop_shrink_arg *a = arg;
	struct trial_in in = { .def = a->def, .replay = true, .values = values, .n = n };
	struct trial_out t;
	int rc = run_trial(a->cfg, &in, &t);
	if (rc)
		return rc;
	trial_to_run(&t, out);
	return 0;
}

static int
shrink_into(const struct fl_prop_config *cfg, const struct fl_prop_def *def,
            struct trial_out *failing, struct fl_prop_report *rep)
{
	struct prop_shrink_arg a = { cfg, def };
	struct fl_shrink_run first, best;
	double t0 = fli_mono_s();
	rep->original_nchoices = failing->run.n;
	trial_to_run(failing, &first);
	int rc = fl_shrink(&first, cfg->max_shrinks, prop_shrink_run, &a, &best,
	                   &rep->shrink_attempts, &rep->shrink_accepted);
	rep->shrink_seconds = fli_mono_s() - t0;
	struct trial_out b;
	run_to_trial(&best, &b);
	report_take(rep, &b);
	return rc;
}

int
fl_prop_check(const struct fl_prop_config *cfg, const struct fl_prop_def *prop,
              struct fl_prop_report *rep_out)
{
	if (rep_out)
		*rep_out = (struct fl_prop_report){ 0 }; /* finable on every return */
	if (!cfg || !prop || !prop->fn)
		return FL_EINVAL;
	const char *name = prop_name(cfg, prop);
	struct fl_prop_report rep = { .seed = cfg->seed };
	unsigned trials = cfg->trials ? cfg->trials : 100;
	double t0 = fli_mono_s();
	int rc = 0;
	struct trial_out out = { 0 };
	bool failed = false;
	for (unsigned k = 0; k < trials; k++) {
		if (cfg->time_budget_s > 0 && k > 0 && fli_mono_s() - t0 >= cfg->time_budget_s)
			break;
		struct trial_in in = { .def = prop, .seed = trial_seed(cfg->seed, k) };
		rc = run_trial(cfg, &in, &out);
		if (rc)
			goto done;
		rep.trials++;
		if (out.discarded)
			rep.discarded++;
		if (out.run.verdict != FL_VERDICT_PASS) {
			rep.fail_seed = in.seed;
			failed = true;
			break;
		}
		trial_out_fini(&out);
	}
	rep.seconds = fli_mono_s() - t0;
	if (!failed && rep.trials > 0 && rep.discarded == rep.trials) {
		/* Every input rejected by fl_prop_assume: the property was never
		 * checked, which is no pass (QuickCheck's "gave up"). */
		rep.verdict = FL_VERDICT_FAIL;
		rep.fail_seed = trial_seed(cfg->seed, 0);
		rep.message = malloc(160);
		if (rep.message != NULL)
			snprintf(rep.message, 160,
			         "every one of the %u trials discarded its input "
			         "(FL_PROP_DISCARD): nothing was checked",
			         rep.trials);
		rc = FL_PROP_FAIL;
		if (!cfg->quiet)
			fprintf(stderr, "[prop] %s: %s\n", name,
			        rep.message != NULL ? rep.message
			                            : "every trial discarded its input");
		goto done;
	}
	if (!failed) {
		rep.verdict = FL_VERDICT_PASS;
		if (!cfg->quiet)
			fl_prop_print(&rep, name);
		goto done;
	}
	rc = shrink_into(cfg, prop, &out, &rep);
	if (rc)
		goto done;
	rc = save_trace(cfg, name, &rep);
	if (rc && !cfg->quiet)
		fprintf(stderr, "[prop] %s: could not save the trace in %s: %s\n", name,
		        cfg->trace_dir, fl_strerror(rc));
	rc = FL_PROP_FAIL;
	if (!cfg->quiet)
		fl_prop_print(&rep, name);
done:
	trial_out_fini(&out);
	if (rc < 0) {
		fl_prop_report_fini(&rep);
		return rc;
	}
	if (rep_out)
		*rep_out = rep;
	else
		fl_prop_report_fini(&rep);
	return rc;
}

static int
run_one(const struct fl_prop_config *cfg, const struct trial_in *in, struct fl_prop_report *rep)
{
	struct trial_out out;
	double t0 = fli_mono_s();
	int rc = run_trial(cfg, in, &out);
	if (rc)
		return rc;
	memset(rep, 0, sizeof *rep);
	rep->trials = 1;
	rep->seconds = fli_mono_s() - t0;
	rep->seed = rep->fail_seed = in->replay ? cfg->seed : in->seed;
	struct fl_shrink_run run;
	trial_to_run(&out, &run);
	if (run.recorded)
		fl_shrink_run_normalise(&run);
	run_to_trial(&run, &out);
	rep->original_nchoices = out.run.n;
	report_take(rep, &out);
	return rep->verdict == FL_VERDICT_PASS ? 0 : FL_PROP_FAIL;
}

/* Runs the trial in once into *rep (its seeds left 0) and shrinks it when
 * it fails: 0 when it passes, FL_PROP_FAIL, or an error (rep finied when
 * the shrink failed). */
static int
shrink_one(const struct fl_prop_config *cfg, const struct trial_in *in, struct fl_prop_report *rep)
{
	struct trial_out out;
	int rc = run_trial(cfg, in, &out);
	if (rc)
		return rc;
	memset(rep, 0, sizeof *rep);
	rep->trials = 1;
	if (out.run.verdict == FL_VERDICT_PASS) {
		report_take(rep, &out);
		return 0;
	}
	rc = shrink_into(cfg, in->def, &out, rep);
	if (rc) {
		fl_prop_report_fini(rep);
		return rc;
	}
	return FL_PROP_FAIL;
}

/* Runs the trial in once into *rep, or (shrink) runs it and shrinks it
 * when it fails.  A replay of choices takes its seeds from cfg. */
static int
run_or_shrink(const struct fl_prop_config *cfg, const struct trial_in *in, bool shrink,
              struct fl_prop_report *rep)
{
	if (!shrink)
		return run_one(cfg, in, rep);
	int rc = shrink_one(cfg, in, rep);
	if (in->replay && (rc == 0 || rc == FL_PROP_FAIL))
		rep->seed = rep->fail_seed = cfg->seed;
	return rc;
}

/* The choices values[0..n) of prop replayed, once or shrunk. */
static int
choices_trial(const struct fl_prop_config *cfg, const struct fl_prop_def *prop,
              const uint64_t *values, size_t n, bool shrink, struct fl_prop_report *rep)
{
	if (!cfg || !prop || !prop->fn || !rep || (n && !values))
		return FL_EINVAL;
	struct trial_in in = { .def = prop, .replay = true, .values = values, .n = n };
	return run_or_shrink(cfg, &in, shrink, rep);
}

int
fl_prop_run_choices(const struct fl_prop_config *cfg, const struct fl_prop_def *prop,
                    const uint64_t *values, size_t n, struct fl_prop_report *rep)
{
	return choices_trial(cfg, prop, values, n, false, rep);
}

int
fl_prop_shrink_choices(const struct fl_prop_config *cfg, const struct fl_prop_def *prop,
                       const uint64_t *values, size_t n, struct fl_prop_report *rep)
{
	return choices_trial(cfg, prop, values, n, true, rep);
}

const struct fl_prop_def *
fl_prop_find(const struct fl_prop_def *table, size_t n, const char *name)
{
	for (size_t i = 0; table && name && i < n; i++)
		if (table[i].name && strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

/* The trial trace t holds, of a property of table, into *in: its choices
 * (in->replay), or its seed alone when the failing run died before it
 * could report its choices (the seed reproduces the run). */
static int
trace_trial(const struct fl_prop_def *table, size_t n, const struct fl_trace *t,
            struct trial_in *in)
{
	if (!t || !t->kind || strcmp(t->kind, "property") != 0 || !t->name)
		return FL_EINVAL;
	const struct fl_prop_def *def = fl_prop_find(table, n, t->name);
	if (!def)
		return FL_ENOENT;
	const char *from = fl_trace_get_extra(t, "replay_from");
	if (from && strcmp(from, "seed") == 0)
		*in = (struct trial_in){ .def = def, .seed = t->seed };
	else
		*in = (struct trial_in){ .def = def,
			                 .replay = true,
			                 .values = t->choices,
			                 .n = t->nchoices };
	return 0;
}

/* The trial trace t holds (into *in), run once into *rep or shrunk.  A
 * seed alone has no choices to shrink: it runs once, and when the run
 * reports its choices this time, those are shrunk. */
static int
trace_run(const struct fl_prop_def *table, size_t n, const struct fl_trace *t,
          const struct fl_prop_config *cfg, bool shrink, struct trial_in *in,
          struct fl_prop_report *rep)
{
	int rc = trace_trial(table, n, t, in);
	if (rc)
		return rc;
	return in->replay ? choices_trial(cfg, in->def, in->values, in->n, shrink, rep)
	                  : run_or_shrink(cfg, in, shrink, rep);
}

int
fl_prop_replay(const struct fl_prop_def *table, size_t n, const struct fl_trace *t,
               const struct fl_prop_config *cfg, struct fl_prop_report *rep)
{
	struct trial_in in;
	int rc = trace_run(table, n, t, cfg, false, &in, rep);
	if (rc < 0)
		return rc;
	rep->seed = rep->fail_seed = t->seed;
	enum fl_verdict want = FL_VERDICT_FAIL;
	if (t->verdict && fl_verdict_parse(t->verdict, &want) != 0)
		want = FL_VERDICT_FAIL;
	bool same = rep->verdict == want && (want != FL_VERDICT_CRASH || rep->signal == t->signal);
	return same ? 0 : FL_PROP_FAIL;
}

int
fl_prop_shrink(const struct fl_prop_def *table, size_t n, const struct fl_trace *t,
               const struct fl_prop_config *cfg, const char *out_path, struct fl_prop_report *rep)
{
	struct trial_in in;
	int rc = trace_run(table, n, t, cfg, true, &in, rep);
	if (rc != FL_PROP_FAIL)
		return rc;
	rep->seed = rep->fail_seed = t->seed;
	if (out_path) {
		struct fl_trace o;
		int wrc = fl_prop_trace_from_report(rep, in.def->name, &o);
		if (wrc == 0) {
			wrc = fl_trace_write(out_path, &o);
			fl_trace_fini(&o);
		}
		if (wrc)
			return wrc;
		rep->trace_path = strdup(out_path);
	}
	return FL_PROP_FAIL;
}
