/*
 * faultline-history-bench: how fast the linearizability checker decides
 * the shared Jepsen histories, and a generated one of many operations.
 *
 * usage: faultline-history-bench [--data DIR] [--repeat R] [--gen-ops N]
 *                                [--gen-clients K] [--json]
 *
 * DIR holds etcd/etcd_NNN.log, kv/NAME.txt and the README.md that lists the
 * verdict each must get; every history is checked R times and its fastest
 * time kept.  A wrong verdict, or an unknown one, exits 1: figures of a
 * checker that is wrong are worth nothing.  The generated history is a
 * register's (read, write, cas, 5 % of ops timed out) from K clients, each
 * op taking effect at a random instant inside its interval: linearizable
 * by construction, and checked so.
 *
 * Porcupine, the peer the figures are held against, is Go and cannot be
 * installed here; its figure for the 50 etcd histories (0.36 s in all,
 * slowest 0.22 s, measured on a machine of this kind) is printed as the
 * published reference it is, beside the ratio to it.
 */
#include "faultline/history.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_emit.h"

#define PORCUPINE_ETCD_TOTAL_S   0.36
#define PORCUPINE_ETCD_SLOWEST_S 0.22

struct expect {
	char name[64];
	bool yes;
};

/* The "name yes|no" lines of DIR/README.md. */
static size_t
read_expected(const char *dir, struct expect *e, size_t max)
{
	char path[4096], line[256];
	snprintf(path, sizeof(path), "%s/README.md", dir);
	FILE *f = fopen(path, "r");
	size_t n = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < max) {
		char name[64], v[8];
		if (sscanf(line, "%63s %7s", name, v) == 2 &&
		    (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) &&
		    (strncmp(name, "etcd_", 5) == 0 || name[0] == 'c')) {
			snprintf(e[n].name, sizeof(e[n].name), "%s", name);
			e[n++].yes = v[0] == 'y';
		}
	}
	fclose(f);
	return n;
}

struct one {
	double best_s;
	uint64_t states;
	size_t ops, memory;
};

/* Checks h R times; 0, or 1 on a wrong or unknown verdict. */
static int
check_one(struct fl_history *h, bool want_yes, int repeat, struct one *o)
{
	const struct fl_history_model *m = fl_history_guess_model(h);
	struct fl_history_options opt = { .timeout_s = 60, .all_parts = true };
	o->best_s = 1e9;
	char err[512];
	if (!m || fl_history_check_ops(h, m, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: fits no model\n", h->file);
		return 1;
	}
	for (int r = 0; r < repeat; r++) {
		struct fl_history_result res;
		if (fl_history_check(h, m, &opt, &res) != 0) {
			fprintf(stderr, "%s: out of memory\n", h->file);
			return 1;
		}
		enum fl_history_verdict want =
		        want_yes ? FL_HISTORY_LINEARIZABLE : FL_HISTORY_NOT_LINEARIZABLE;
		if (res.verdict != want) {
			fprintf(stderr, "%s: %s, expected %s\n", h->file,
			        fl_history_verdict_name(res.verdict),
			        fl_history_verdict_name(want));
			fl_history_result_fini(&res);
			return 1;
		}
		if (res.seconds < o->best_s)
			o->best_s = res.seconds;
		o->states = res.states;
		o->ops = res.ops;
		o->memory = res.memory_high;
		fl_history_result_fini(&res);
	}
	return 0;
}

/* ---- the generated history ---- */

struct gop {
	double inv, lin, ret;
	int process, f; /* 0 read, 1 write, 2 cas */
	int a, b;       /* write a; cas [a b] */
	int result;     /* read: the value (-1 nil); cas: 1 ok, 0 failed */
	bool info;
};

static uint64_t rng = 0x853C49E6748FEA9Bull;
static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static double
unit(void)
{
	return (double)(next_rand() >> 11) / 9007199254740992.0;
}

static int
by_lin(const void *x, const void *y)
{
	const struct gop *a = x, *b = y;
	return a->lin < b->lin ? -1 : a->lin > b->lin;
}

struct gev {
	double t;
	size_t op;
	bool ret;
};
static int
by_time(const void *x, const void *y)
{
	const struct gev *a = x, *b = y;
	return a->t < b->t ? -1 : a->t > b->t;
}

/* EDN text of a register history of n ops from k clients. */
static char *
generate(size_t n, int k, size_t *len)
{
	struct gop *ops = calloc(n, sizeof(*ops));
	struct gev *ev = calloc(2 * n, sizeof(*ev));
	double *clock = calloc((size_t)k, sizeof(*clock));
	int *pid = calloc((size_t)k, sizeof(*pid));
	if (!ops || !ev || !clock || !pid)
		exit(2);
	for (int c = 0; c < k; c++)
		pid[c] = c;
	for (size_t i = 0; i < n; i++) {
		int c = (int)(next_rand() % (uint64_t)k);
		struct gop *o = &ops[i];
		o->inv = clock[c] + unit();
		o->ret = o->inv + 0.1 + 3 * unit();
		o->lin = o->inv + (o->ret - o->inv) * unit();
		clock[c] = o->ret;
		o->process = pid[c];
		o->f = (int)(next_rand() % 3);
		o->a = (int)(next_rand() % 5);
		o->b = (int)(next_rand() % 5);
		o->info = o->f != 0 && next_rand() % 20 == 0;
		if (o->info) /* a crashed client comes back as a new process */
			pid[c] += k;
	}
	qsort(ops, n, sizeof(*ops), by_lin);
	int reg = -1;
	for (size_t i = 0; i < n; i++) {
		struct gop *o = &ops[i];
		if (o->f == 0) {
			o->result = reg;
		} else if (o->f == 1) {
			reg = o->a;
		} else {
			o->result = reg == o->a;
			if (o->result)
				reg = o->b;
		}
	}
	size_t ne = 0;
	for (size_t i = 0; i < n; i++) {
		ev[ne++] = (struct gev){ ops[i].inv, i, false };
		if (!ops[i].info)
			ev[ne++] = (struct gev){ ops[i].ret, i, true };
	}
	qsort(ev, ne, sizeof(*ev), by_time);
	size_t cap = ne * 96 + 1;
	char *text = malloc(cap), *p = text;
	if (!text)
		exit(2);
	static const char *const fname[] = { "read", "write", "cas" };
	for (size_t e = 0; e < ne; e++) {
		const struct gop *o = &ops[ev[e].op];
		char value[32];
		const char *type = !ev[e].ret ? "invoke" : o->f == 2 && !o->result ? "fail" : "ok";
		if (o->f == 0)
			snprintf(value, sizeof(value), ev[e].ret && o->result >= 0 ? "%d" : "nil",
			         o->result);
		else if (o->f == 1)
			snprintf(value, sizeof(value), "%d", o->a);
		else
			snprintf(value, sizeof(value), "[%d %d]", o->a, o->b);
		p += sprintf(p, "{:process %d, :type :%s, :f :%s, :value %s}\n", o->process, type,
		             fname[o->f], value);
	}
	*len = (size_t)(p - text);
	free(ops);
	free(ev);
	free(clock);
	free(pid);
	return text;
}

static const char usage[] =
        "usage: faultline-history-bench [--data DIR] [--repeat R] [--gen-ops N] "
        "[--gen-clients K] [--json]\n";

int
main(int argc, char **argv)
{
	const char *dir = "harness/tests/history/data";
	int repeat = 5, clients = 10;
	size_t gen_ops = 10000;
	bool json = false, first = true;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			repeat = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--gen-ops") == 0 && i + 1 < argc) {
			gen_ops = (size_t)strtoull(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--gen-clients") == 0 && i + 1 < argc) {
			clients = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (repeat < 1 || clients < 1 || gen_ops < 1) {
		fputs(usage, stderr);
		return 2;
	}
	struct expect exp[128];
	size_t nexp = read_expected(dir, exp, 128);
	if (nexp == 0) {
		fprintf(stderr, "faultline-history-bench: no verdicts in %s/README.md\n", dir);
		return 2;
	}
	double etcd_total = 0, etcd_slowest = 0, kv_total = 0;
	int slowest = -1;
	uint64_t states = 0;
	size_t largest_ops = 0, largest_memory = 0;
	for (size_t i = 0; i < nexp; i++) {
		bool etcd = strncmp(exp[i].name, "etcd_", 5) == 0;
		char path[8600], err[512];
		snprintf(path, sizeof(path), "%s/%s/%s.%s", dir, etcd ? "etcd" : "kv", exp[i].name,
		         etcd ? "log" : "txt");
		struct fl_history h;
		if (fl_history_load(path, NULL, &h, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		struct one o;
		int bad = check_one(&h, exp[i].yes, repeat, &o);
		fl_history_fini(&h);
		if (bad)
			return 1;
		states += o.states;
		if (o.ops > largest_ops) {
			largest_ops = o.ops;
			largest_memory = o.memory;
		}
		if (etcd) {
			etcd_total += o.best_s;
			if (o.best_s > etcd_slowest) {
				etcd_slowest = o.best_s;
				slowest = atoi(exp[i].name + 5);
			}
		} else {
			kv_total += o.best_s;
		}
	}

	size_t len;
	char *text = generate(gen_ops, clients, &len);
	struct fl_history g;
	char err[512];
	if (fl_history_parse(text, len, "(generated)", NULL, &g, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	free(text);
	struct one go;
	if (check_one(&g, true, 1, &go))
		return 1;
	fl_history_fini(&g);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	bench_emit(json, &first, "histories", (double)nexp, 0);
	bench_emit(json, &first, "repeat", repeat, 0);
	bench_emit(json, &first, "etcd_total_s", etcd_total, 4);
	bench_emit(json, &first, "etcd_slowest_s", etcd_slowest, 4);
	bench_emit(json, &first, "etcd_slowest_history", slowest, 0);
	bench_emit(json, &first, "kv_total_s", kv_total, 4);
	bench_emit(json, &first, "states_explored", (double)states, 0);
	bench_emit(json, &first, "largest_history_ops", (double)largest_ops, 0);
	bench_emit(json, &first, "largest_history_memory_bytes", (double)largest_memory, 0);
	bench_emit(json, &first, "porcupine_reference_etcd_total_s", PORCUPINE_ETCD_TOTAL_S, 2);
	bench_emit(json, &first, "porcupine_reference_etcd_slowest_s", PORCUPINE_ETCD_SLOWEST_S, 2);
	bench_emit(json, &first, "ratio_porcupine_reference_to_etcd_total",
	           PORCUPINE_ETCD_TOTAL_S / etcd_total, 1);
	bench_emit(json, &first, "ratio_porcupine_reference_to_etcd_slowest",
	           PORCUPINE_ETCD_SLOWEST_S / etcd_slowest, 1);
	bench_emit(json, &first, "generated_ops", (double)go.ops, 0);
	bench_emit(json, &first, "generated_clients", clients, 0);
	bench_emit(json, &first, "generated_s", go.best_s, 4);
	bench_emit(json, &first, "generated_states", (double)go.states, 0);
	bench_emit(json, &first, "generated_memory_bytes", (double)go.memory, 0);
	bench_emit(json, &first, "max_rss_kib", (double)ru.ru_maxrss, 0);
	if (json)
		printf("}\n");
	return 0;
}
