/*
 * The pictures of a run (docs/timeline.md): a run's timeline, from the
 * records its run kept (run/timeline.h), as one self-contained HTML page
 * (inline CSS and SVG, a little plain JavaScript, nothing fetched: its
 * Content-Security-Policy forbids every request), or as lines of text.
 *
 * The page: the verdict and property as its headline; one lane per actor,
 * per cluster node and for the driver; each op a bar from its first to
 * its last scheduling step, coloured by outcome; faults, crashes and
 * node lives as markers; the scheduling decisions that departed from the
 * default; the resource gauges below; the violation as a line across.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/faults.h"
#include "faultline/history.h"
#include "faultline/report.h"
#include "faultline/scenario.h"

#include "cli.h"
#include "run/runner.h"
#include "run/timeline.h"

/* ---- escaping ---------------------------------------------------------- */

void
fli_html_text(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

/* A JSON string, safe inside a <script> element too. */
void
fli_html_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == '<' || c == '>' || c == '&')
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void
fli_html_head(FILE *f, const char *title, const char *css)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n<title>",
	      f);
	fli_html_text(f, title);
	fputs("</title>\n<style>\n"
	      "body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fff}\n"
	      "h1{font-size:18px;margin:0 0 4px}h1.fail{color:#b00020}h1.pass{color:#1b5e20}\n"
	      "#detail{font-family:monospace;white-space:pre-wrap;margin:0 0 "
	      "8px;max-width:1400px}\n"
	      ".meta{color:#555;margin:0 0 8px}\n"
	      "#info{font-family:monospace;white-space:pre-wrap;border:1px solid #ccc;"
	      "padding:6px;min-height:3em;max-width:1400px;background:#fafafa}\n"
	      "svg text{font:11px system-ui,sans-serif}\n"
	      ".legend span{display:inline-block;margin-right:12px}\n"
	      ".sw{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:"
	      "middle}\n",
	      f);
	fputs(css, f);
	fputs("</style></head><body>\n", f);
}

/* ---- the timeline ------------------------------------------------------ */

#define LANE_H  26
#define GAUGE_H 34
#define LEFT    170
#define PLOT_W  1150

static const char *const gauge_names[FLI_TL_NGAUGES] = {
	"image refs", "publications", "subscriptions", "ports",
	"chunks",     "messages",     "registrations", "shm files",
};
static const char *const outcome_names[] = { "ok", "error tolerated", "error fatal", "crashed",
	                                     "never ended" };
static const char *const outcome_class[] = { "ok", "tol", "fatal", "crash", "open" };
static const char *const action_names[] = { "error", "delay", "drop", "crash", "error (sweep)" };

struct lane {
	char name[40];
	int actor; /* scenario actor index, or -1 */
	int node;  /* node id, or -1 */
};

struct page {
	FILE *f;
	const struct fli_html_run *hr;
	const struct fli_tl *tl;
	size_t n;         /* records present */
	uint64_t dropped; /* records the run could not keep */
	bool sim;         /* positions are steps */
	uint64_t max;     /* the last position */
	struct lane lanes[RUN_LANES];
	int nlanes;
	char **source; /* the scenario's lines, or NULL */
	size_t nsource;
};

static uint64_t
pos0(const struct page *p, const struct fli_tl_event *e)
{
	return p->sim ? e->step0 : e->t0;
}

static uint64_t
pos1(const struct page *p, const struct fli_tl_event *e)
{
	return p->sim ? e->step1 : e->t1;
}

static double
xs(const struct page *p, uint64_t pos)
{
	return LEFT + (double)pos * PLOT_W / (double)(p->max ? p->max : 1);
}

/* A fault's point: its name in the harness's list, or the one kept
 * (libfiu's posix/ points are not in it). */
static const char *
point_name(const struct fli_tl_event *e, const char *const *points)
{
	if (e->u.fault.point >= 0 && (size_t)e->u.fault.point < fl_fault_point_count())
		return points[e->u.fault.point];
	return e->u.fault.name[0] != '\0' ? e->u.fault.name : "?";
}

/* Its hit, or "?" where the hits are not counted (posix/ points). */
static const char *
hit_text(const struct fli_tl_event *e, char buf[24])
{
	if (e->u.fault.hit == 0)
		return "?";
	snprintf(buf, 24, "%" PRIu64, e->u.fault.hit);
	return buf;
}

static int
lane_named(struct page *p, const char *name, int actor, int node)
{
	for (int i = 0; i < p->nlanes; i++)
		if (strcmp(p->lanes[i].name, name) == 0)
			return i;
	if (p->nlanes == RUN_LANES)
		return -1;
	snprintf(p->lanes[p->nlanes].name, sizeof(p->lanes[0].name), "%s", name);
	p->lanes[p->nlanes].actor = actor;
	p->lanes[p->nlanes].node = node;
	return p->nlanes++;
}

/* The lane of a name that may carry "@point". */
static int
lane_of_name(struct page *p, const char *name)
{
	char who[40];
	const char *at = strchr(name, '@');
	size_t len = at != NULL ? (size_t)(at - name) : strlen(name);

	if (len >= sizeof(who))
		len = sizeof(who) - 1;
	memcpy(who, name, len);
	who[len] = '\0';
	for (int i = 0; i < p->nlanes; i++)
		if (strcmp(p->lanes[i].name, who) == 0)
			return i;
	return -1;
}

static int
lane_of(struct page *p, const struct fli_tl_event *e)
{
	const struct fl_scenario *s = p->hr->s;

	switch (e->kind) {
	case FLI_TL_OP:
	case FLI_TL_GAUGES:
		return e->actor >= 0 && (size_t)e->actor < s->actor_count ? e->actor : -1;
	case FLI_TL_FAULT:
		return e->actor >= 0 && (size_t)e->actor < s->actor_count
		               ? e->actor
		               : lane_named(p, "driver", -1, -1);
	case FLI_TL_NODE_UP:
	case FLI_TL_NODE_DOWN:
	case FLI_TL_CRASH:
	case FLI_TL_DECISION: return lane_of_name(p, e->u.name);
	default: return -1;
	}
}

static char **
read_lines(const char *path, size_t *n)
{
	FILE *f = path != NULL ? fopen(path, "r") : NULL;
	char **lines = NULL, buf[512];
	size_t cap = 0;

	*n = 0;
	if (f == NULL)
		return NULL;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nl = realloc(lines, nc * sizeof(*nl));
			if (nl == NULL)
				break;
			lines = nl;
			cap = nc;
		}
		if ((lines[*n] = strdup(buf)) == NULL)
			break;
		(*n)++;
	}
	fclose(f);
	return lines;
}

static const char *
source_line(const struct page *p, int line)
{
	if (line < 1 || (size_t)line > p->nsource)
		return "";
	const char *l = p->source[line - 1];
	while (*l == ' ')
		l++;
	return l;
}

static void
fmt_time(char *buf, size_t len, uint64_t ns)
{
	if (ns >= 1000000000ull)
		snprintf(buf, len, "%.3f s", (double)ns / 1e9);
	else if (ns >= 1000000)
		snprintf(buf, len, "%.3f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.1f us", (double)ns / 1e3);
}

static bool
setup(struct page *p)
{
	const struct fli_runner_outcome *out = p->hr->out;
	const struct fl_scenario *s = p->hr->s;

	if (out->timeline == NULL || out->timeline_len < sizeof(struct fli_tl))
		return false;
	p->tl = out->timeline;
	if (p->tl->version != FLI_TL_VERSION)
		return false;
	p->n = (out->timeline_len - sizeof(struct fli_tl)) / sizeof(struct fli_tl_event);
	if (p->n > p->tl->cap)
		p->n = p->tl->cap;
	p->dropped = p->tl->count > p->n ? p->tl->count - p->n : 0;
	p->sim = s->mode == FL_SCN_MODE_SIM;
	for (size_t i = 0; i < s->actor_count && i < RUN_LANES; i++)
		lane_named(p, s->actors[i].name, (int)i, -1);
	for (size_t i = 0; i < p->n; i++) {
		const struct fli_tl_event *e = &p->tl->ev[i];
		uint64_t end = pos1(p, e) > pos0(p, e) ? pos1(p, e) : pos0(p, e);

		if ((e->kind == FLI_TL_NODE_UP || e->kind == FLI_TL_NODE_DOWN) &&
		    lane_of_name(p, e->u.name) < 0) {
			char who[sizeof(e->u.name)];

			snprintf(who, sizeof(who), "%.*s", (int)strcspn(e->u.name, "@"), e->u.name);
			lane_named(p, who, -1, e->actor);
		}
		if (e->kind == FLI_TL_OP && e->outcome == FLI_TL_OPEN)
			continue;
		if (end > p->max)
			p->max = end;
	}
	if (p->sim && out->steps > p->max)
		p->max = out->steps;
	p->source = read_lines(s->path, &p->nsource);
	return true;
}

static void
free_lines(struct page *p)
{
	for (size_t i = 0; i < p->nsource; i++)
		free(p->source[i]);
	free(p->source);
}

/* Where the violation became visible: its record, else the run's end. */
static uint64_t
violation_pos(const struct page *p, bool *found)
{
	*found = false;
	for (size_t i = 0; i < p->n; i++)
		if (p->tl->ev[i].kind == FLI_TL_VIOLATION) {
			*found = true;
			return pos0(p, &p->tl->ev[i]);
		}
	return p->max;
}

static void
axis(struct page *p, int y)
{
	FILE *f = p->f;

	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", LEFT, y,
	        LEFT + PLOT_W, y);
	for (int k = 0; k <= 4; k++) {
		uint64_t pos = p->max * (uint64_t)k / 4;
		char label[64], t[32];

		if (p->sim) {
			/* The virtual time of the last record at or before the step. */
			uint64_t vt = 0;
			for (size_t i = 0; i < p->n; i++)
				if (p->tl->ev[i].step0 <= pos && p->tl->ev[i].t0 > vt)
					vt = p->tl->ev[i].t0;
			fmt_time(t, sizeof(t), vt);
			snprintf(label, sizeof(label), "step %" PRIu64 " \xc2\xb7 %s", pos, t);
		} else {
			fmt_time(label, sizeof(label), pos);
		}
		fprintf(f,
		        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>"
		        "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" fill=\"#555\">%s</text>\n",
		        xs(p, pos), y, xs(p, pos), y + 4, xs(p, pos), y + 16,
		        k == 0   ? "start"
		        : k == 4 ? "end"
		                 : "middle",
		        label);
	}
}

static void
write_ops_data(struct page *p)
{
	FILE *f = p->f;
	const struct fl_scenario *s = p->hr->s;
	bool first = true;

	fputs("<script>\nconst OPS=[", f);
	for (size_t i = 0; i < p->n; i++) {
		const struct fli_tl_event *e = &p->tl->ev[i];
		const struct fl_scenario_actor *a;
		const struct fl_scenario_op *op;
		char t0[32], t1[32], res[80];

		if (e->kind != FLI_TL_OP || e->actor < 0 || (size_t)e->actor >= s->actor_count)
			continue;
		a = &s->actors[e->actor];
		if (e->u.op.index >= a->op_count)
			continue;
		op = &a->ops[e->u.op.index];
		fmt_time(t0, sizeof(t0), e->t0);
		fmt_time(t1, sizeof(t1), e->t1);
		if (e->u.op.rv != 0 || e->outcome == FLI_TL_FATAL)
			snprintf(res, sizeof(res), "%s: %s", e->u.op.what,
			         e->u.op.rv != 0 ? fl_errname(e->u.op.rv) : "no error");
		else
			snprintf(res, sizeof(res), "%s",
			         e->outcome <= FLI_TL_OPEN ? outcome_names[e->outcome] : "?");
		fprintf(f, "%s[%zu,", first ? "" : ",\n", i);
		fli_html_json_str(f, a->name);
		fputc(',', f);
		fli_html_json_str(f, fl_scenario_op_label(op));
		fprintf(f, ",%d,%u,", op->line, e->u.op.round);
		fli_html_json_str(f, e->outcome <= FLI_TL_OPEN ? outcome_names[e->outcome] : "?");
		fputc(',', f);
		fli_html_json_str(f, res);
		fprintf(f, ",%u,%u,\"%s\",\"%s\",", e->step0, e->step1, t0, t1);
		fli_html_json_str(f, source_line(p, op->line));
		fputc(']', f);
		first = false;
	}
	fputs("];\n</script>\n", f);
}

static void
draw_lanes(struct page *p, int top)
{
	FILE *f = p->f;
	const struct fl_scenario *s = p->hr->s;

	for (int l = 0; l < p->nlanes; l++) {
		int y = top + l * LANE_H;
		const char *kind = p->lanes[l].actor >= 0  ? "actor"
		                   : p->lanes[l].node >= 0 ? "node"
		                                           : "driver";

		fprintf(f, "<g class=\"lane\" data-kind=\"%s\" data-name=\"", kind);
		fli_html_text(f, p->lanes[l].name);
		fprintf(f,
		        "\"><rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
		        "<text x=\"6\" y=\"%d\">",
		        y, LEFT + PLOT_W + 10, LANE_H, l % 2 ? "#f7f7f7" : "#fff", y + 17);
		fli_html_text(f, p->lanes[l].name);
		fprintf(f, "</text></g>\n");
	}
	/* Node lives: a band from each up to the next down (or the end). */
	for (size_t i = 0; i < p->n; i++) {
		const struct fli_tl_event *e = &p->tl->ev[i];
		uint64_t end = p->max;
		int l;

		if (e->kind != FLI_TL_NODE_UP || (l = lane_of(p, e)) < 0)
			continue;
		for (size_t k = i + 1; k < p->n; k++)
			if (p->tl->ev[k].kind == FLI_TL_NODE_DOWN &&
			    p->tl->ev[k].actor == e->actor) {
				end = pos0(p, &p->tl->ev[k]);
				break;
			}
		fprintf(f,
		        "<rect class=\"life\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"6\" "
		        "fill=\"#a5d6a7\"><title>",
		        xs(p, pos0(p, e)), top + l * LANE_H + 19, xs(p, end) - xs(p, pos0(p, e)));
		fli_html_text(f, e->u.name);
		fputs(" up</title></rect>\n", f);
	}
	/* Ops. */
	for (size_t i = 0; i < p->n; i++) {
		const struct fli_tl_event *e = &p->tl->ev[i];
		int l = e->kind == FLI_TL_OP ? lane_of(p, e) : -1;
		uint64_t b, en;
		double x0, w;

		if (l < 0 || e->u.op.index >= s->actors[e->actor].op_count)
			continue;
		b = pos0(p, e);
		en = e->outcome == FLI_TL_OPEN ? p->max : pos1(p, e);
		x0 = xs(p, b);
		w = xs(p, en) - x0;
		if (w < 2)
			w = 2;
		fprintf(f,
		        "<rect class=\"op %s\" data-i=\"%zu\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
		        "height=\"14\"/>",
		        outcome_class[e->outcome <= FLI_TL_OPEN ? e->outcome : FLI_TL_OPEN], i, x0,
		        top + l * LANE_H + 4, w);
		if (w > 40) {
			const char *label =
			        fl_scenario_op_label(&s->actors[e->actor].ops[e->u.op.index]);
			int fit = (int)(w / 6.5);

			char cut[64];

			snprintf(cut, sizeof(cut), "%.*s", fit < 63 ? fit : 63, label);
			fprintf(f,
			        "<text class=\"opl\" x=\"%.1f\" y=\"%d\" pointer-events=\"none\">",
			        x0 + 3, top + l * LANE_H + 15);
			fli_html_text(f, cut);
			fputs("</text>", f);
		}
		fputc('\n', f);
	}
	/* Faults and crashes. */
	for (size_t i = 0; i < p->n; i++) {
		const struct fli_tl_event *e = &p->tl->ev[i];
		const char *const *points = fl_fault_points();
		int l;
		double x;

		if (e->kind != FLI_TL_FAULT && e->kind != FLI_TL_CRASH &&
		    e->kind != FLI_TL_NODE_DOWN)
			continue;
		if ((l = lane_of(p, e)) < 0)
			l = lane_named(p, "driver", -1, -1);
		if (l < 0)
			continue;
		x = xs(p, pos0(p, e));
		int y = top + l * LANE_H;
		if (e->kind == FLI_TL_FAULT) {
			const char *point = point_name(e, points);
			char hit[24];

			fprintf(f,
			        "<path class=\"fault\" d=\"M%.1f %dl5 8l-5 8l-5 -8z\" "
			        "fill=\"#ff6f00\" "
			        "stroke=\"#000\" stroke-width=\".5\"><title>fault %s, hit %s"
			        ": %s (step %u, ",
			        x, y + 3, point, hit_text(e, hit),
			        action_names[e->outcome < 5 ? e->outcome : 0], e->step0);
			char t[32];
			fmt_time(t, sizeof(t), e->t0);
			fprintf(f, "%s)</title></path>\n", t);
		} else if (e->kind == FLI_TL_CRASH) {
			fprintf(f,
			        "<path class=\"crash\" d=\"M%.1f %dl12 12m0 -12l-12 12\" "
			        "stroke=\"#b00020\" "
			        "stroke-width=\"3\"><title>crash: ",
			        x - 6, y + 5);
			fli_html_text(f, e->u.name);
			fprintf(f, " (step %u)</title></path>\n", e->step0);
		} else {
			fprintf(f,
			        "<path class=\"down\" d=\"M%.1f %dv20\" stroke=\"#616161\" "
			        "stroke-width=\"2\"><title>",
			        x, y + 3);
			fli_html_text(f, e->u.name);
			fprintf(f, " (step %u)</title></path>\n", e->step0);
		}
	}
}

static void
draw_decisions(struct page *p, int y)
{
	FILE *f = p->f;
	size_t n = 0;

	if (!p->sim)
		return; /* no scheduler to decide: the OS's */
	for (size_t i = 0; i < p->n; i++)
		n += p->tl->ev[i].kind == FLI_TL_DECISION;
	fprintf(f,
	        "<text x=\"6\" y=\"%d\">schedule (%u)<title>%u scheduling decisions other than "
	        "the default%s</title></text>\n",
	        y + 14, p->tl->decisions, p->tl->decisions,
	        p->tl->decisions > n ? "; the first ones drawn" : "");
	/* Many (an unshrunk random schedule): drawn faint, a density; few
	 * (a shrunk trace's, the ones that matter): each one plain. */
	fprintf(f, "<g class=\"decisions\" data-count=\"%zu\">\n", n);
	if (n > 100) {
		/* A pixel's column a bin: its shade says how many. */
		static uint32_t bins[PLOT_W];
		uint32_t most = 1;

		memset(bins, 0, sizeof(bins));
		for (size_t i = 0; i < p->n; i++)
			if (p->tl->ev[i].kind == FLI_TL_DECISION) {
				int b = (int)(xs(p, pos0(p, &p->tl->ev[i])) - LEFT);
				b = b < 0 ? 0 : b >= PLOT_W ? PLOT_W - 1 : b;
				if (++bins[b] > most)
					most = bins[b];
			}
		for (int b = 0; b < PLOT_W; b++)
			if (bins[b] != 0)
				fprintf(f,
				        "<rect class=\"density\" x=\"%d\" y=\"%d\" width=\"1\" "
				        "height=\"16\" fill=\"#6a1b9a\" opacity=\"%.2f\"/>",
				        LEFT + b, y + 2, 0.15 + 0.85 * bins[b] / most);
		fputs("\n</g>\n", f);
		return;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct fli_tl_event *e = &p->tl->ev[i];

		if (e->kind != FLI_TL_DECISION)
			continue;
		fprintf(f,
		        "<rect class=\"decision\" x=\"%.1f\" y=\"%d\" width=\"2\" height=\"16\" "
		        "fill=\"#6a1b9a\"><title>step %u: ",
		        xs(p, pos0(p, e)) - 1, y + 2, e->step0);
		fli_html_text(f, e->u.name);
		fputs(" runs (not the default)</title></rect>\n", f);
	}
	fputs("</g>\n", f);
}

static int
draw_gauges(struct page *p, int top)
{
	FILE *f = p->f;
	int rows = 0;

	for (int g = 0; g < FLI_TL_NGAUGES; g++) {
		int32_t maxv = 0, last = 0;
		bool any = false;
		int y = top + rows * GAUGE_H;

		for (size_t i = 0; i < p->n; i++)
			if (p->tl->ev[i].kind == FLI_TL_GAUGES) {
				any = true;
				if (p->tl->ev[i].u.gauges[g] > maxv)
					maxv = p->tl->ev[i].u.gauges[g];
			}
		if (!any || maxv == 0)
			continue;
		fprintf(f,
		        "<g class=\"gauge\" data-name=\"%s\" data-max=\"%d\">"
		        "<text x=\"6\" y=\"%d\">%s (max %d)</text>"
		        "<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.5\" "
		        "points=\"%d,%d",
		        gauge_names[g], maxv, y + 20, gauge_names[g], maxv, LEFT, y + GAUGE_H - 4);
		for (size_t i = 0; i < p->n; i++) {
			const struct fli_tl_event *e = &p->tl->ev[i];
			int32_t v;
			double yy;

			if (e->kind != FLI_TL_GAUGES || (v = e->u.gauges[g]) == last)
				continue;
			yy = y + GAUGE_H - 4 - (double)(GAUGE_H - 8) * (v < 0 ? 0 : v) / maxv;
			double yl = y + GAUGE_H - 4 -
			            (double)(GAUGE_H - 8) * (last < 0 ? 0 : last) / maxv;
			fprintf(f, " %.1f,%.1f %.1f,%.1f", xs(p, pos0(p, e)), yl, xs(p, pos0(p, e)),
			        yy);
			last = v;
		}
		double yl = y + GAUGE_H - 4 - (double)(GAUGE_H - 8) * (last < 0 ? 0 : last) / maxv;
		fprintf(f,
		        " %d,%.1f\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		        "stroke=\"#ddd\"/></g>\n",
		        LEFT + PLOT_W, yl, LEFT, y + GAUGE_H, LEFT + PLOT_W, y + GAUGE_H);
		rows++;
	}
	return rows;
}

static const char page_css[] =
        ".op{stroke:#333;stroke-width:.5;cursor:pointer}.op:hover{stroke-width:2}\n"
        ".ok{fill:#81c784}.tol{fill:#ffd54f}.fatal{fill:#e53935}.crash{fill:#8e24aa}"
        ".open{fill:#bdbdbd}\n"
        ".op.sel{stroke:#000;stroke-width:2.5}.opl{fill:#111}\n";

static const char page_js[] =
        "<script>\n"
        "(function(){const info=document.getElementById('info');const by={};"
        "for(const o of OPS)by[o[0]]=o;\n"
        "function show(e){const o=by[e.getAttribute('data-i')];if(!o)return;"
        "for(const s of document.querySelectorAll('.op.sel'))s.classList.remove('sel');"
        "e.classList.add('sel');"
        "info.textContent=o[1]+': '+o[2]+' (line '+o[3]+(o[4]?', round '+(o[4]+1):'')+')\\n'+"
        "'outcome: '+o[5]+' \\u2014 '+o[6]+'\\nsteps '+o[7]+'..'+o[8]+', time '+o[9]+' .. '+"
        "o[10]+'\\nsource: '+o[11];}\n"
        "for(const e of document.querySelectorAll('.op')){"
        "e.addEventListener('mouseenter',()=>show(e));e.addEventListener('click',()=>show(e));}"
        "const m=location.hash.match(/^#op=(\\d+)$/);"
        "if(m){const e=document.querySelector('.op[data-i=\"'+m[1]+'\"]');if(e)show(e);}"
        "})();\n</script>\n";

int
fli_html_timeline(FILE *f, const struct fli_html_run *hr)
{
	struct page p = { .f = f, .hr = hr };
	const struct fli_runner_outcome *out = hr->out;
	const struct fl_scenario *s = hr->s;
	char title[300], t[32];
	bool found, failed = out->verdict != FL_VERDICT_PASS;
	uint64_t vpos;
	int top, ngauges, height, lanes_top;

	if (!setup(&p))
		return -1;
	snprintf(title, sizeof(title), "%s: %s%s%s", s->name, fl_verdict_name(out->verdict),
	         out->property[0] ? " " : "", out->property);
	fli_html_head(f, title, page_css);
	fprintf(f, "<h1 id=\"headline\" class=\"%s\" data-verdict=\"%s\" data-property=\"",
	        failed ? "fail" : "pass", fl_verdict_name(out->verdict));
	fli_html_text(f, out->property);
	fputs("\">", f);
	fli_html_text(f, title);
	fputs("</h1>\n<p id=\"detail\">", f);
	fli_html_text(f, out->detail[0] ? out->detail : "every property held");
	fputs("</p>\n<p class=\"meta\">scenario ", f);
	fli_html_text(f, s->path);
	fmt_time(t, sizeof(t), 0);
	fprintf(f, " \xc2\xb7 mode %s \xc2\xb7 seed %" PRIu64 " \xc2\xb7 %s",
	        s->mode == FL_SCN_MODE_SIM    ? "sim"
	        : s->mode == FL_SCN_MODE_PROC ? "proc"
	                                      : "stress",
	        hr->seed,
	        p.sim ? "axis: scheduling steps (virtual time beside)" : "axis: real time");
	if (p.sim)
		fprintf(f, " \xc2\xb7 %" PRIu64 " steps", out->steps > p.max ? out->steps : p.max);
	if (hr->trace != NULL) {
		fputs(" \xc2\xb7 trace ", f);
		fli_html_text(f, hr->trace);
	}
	if (p.dropped > 0)
		fprintf(f, " \xc2\xb7 <b>%" PRIu64 " records past the first %zu were not kept</b>",
		        p.dropped, p.n);
	if (hr->note != NULL) {
		fputs(" \xc2\xb7 <b>", f);
		fli_html_text(f, hr->note);
		fputs("</b>", f);
	}
	fputs("</p>\n<p class=\"legend\">", f);
	for (int k = 0; k <= FLI_TL_OPEN; k++)
		fprintf(f, "<span><i class=\"sw %s\" style=\"background:%s\"></i>%s</span>",
		        outcome_class[k],
		        (const char *[]){ "#81c784", "#ffd54f", "#e53935", "#8e24aa",
		                          "#bdbdbd" }[k],
		        outcome_names[k]);
	fputs("<span>\xe2\x97\x86 fault fired</span><span>\xe2\x9c\x95 crash</span>"
	      "<span>| schedule: a decision other than the default</span></p>\n",
	      f);

	/* Count the gauge rows first: the SVG's height needs them. */
	ngauges = 0;
	for (int g = 0; g < FLI_TL_NGAUGES; g++) {
		for (size_t i = 0; i < p.n; i++)
			if (p.tl->ev[i].kind == FLI_TL_GAUGES && p.tl->ev[i].u.gauges[g] != 0) {
				ngauges++;
				break;
			}
	}
	/* Lanes that only faults, crashes or decisions name come into being
	 * while drawing: "driver" is made here, so the height holds it. */
	for (size_t i = 0; i < p.n; i++)
		(void)lane_of(&p, &p.tl->ev[i]);
	top = 28;
	lanes_top = top + 22;
	height = lanes_top + p.nlanes * LANE_H + 30 + ngauges * GAUGE_H + 10;
	fprintf(f,
	        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	        "height=\"%d\" viewBox=\"0 0 %d %d\">\n",
	        LEFT + PLOT_W + 20, height, LEFT + PLOT_W + 20, height);
	axis(&p, 14);
	draw_decisions(&p, top);
	draw_lanes(&p, lanes_top);
	fprintf(f, "<text x=\"6\" y=\"%d\" font-weight=\"bold\">resource gauges</text>\n",
	        lanes_top + p.nlanes * LANE_H + 20);
	ngauges = draw_gauges(&p, lanes_top + p.nlanes * LANE_H + 26);
	vpos = violation_pos(&p, &found);
	if (failed) {
		fprintf(f,
		        "<g id=\"violation\" data-step=\"%" PRIu64 "\"><line x1=\"%.1f\" y1=\"%d\" "
		        "x2=\"%.1f\" y2=\"%d\" stroke=\"#b00020\" stroke-width=\"2\" "
		        "stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"%d\" fill=\"#b00020\" "
		        "text-anchor=\"end\">",
		        vpos, xs(&p, vpos), 20, xs(&p, vpos), height - 4, xs(&p, vpos) - 4,
		        lanes_top + p.nlanes * LANE_H + 20);
		fli_html_text(f, out->property[0] ? out->property : fl_verdict_name(out->verdict));
		fprintf(f, "%s</text></g>\n", found ? "" : " (at the end)");
	}
	fputs("</svg>\n<pre id=\"info\">hover or click an op to see its arguments, result and "
	      "source line</pre>\n",
	      f);
	write_ops_data(&p);
	fputs(page_js, f);
	fputs("</body></html>\n", f);
	free_lines(&p);
	return ferror(f) ? -1 : 0;
}

int
fli_text_timeline(FILE *f, const struct fli_html_run *hr)
{
	struct page p = { .f = f, .hr = hr };
	const struct fl_scenario *s = hr->s;
	const char *const *points = fl_fault_points();

	if (!setup(&p))
		return -1;
	for (size_t i = 0; i < p.n; i++) {
		const struct fli_tl_event *e = &p.tl->ev[i];
		char t[32], hit[24];

		fmt_time(t, sizeof(t), e->t0);
		switch (e->kind) {
		case FLI_TL_OP: {
			if (e->actor < 0 || (size_t)e->actor >= s->actor_count ||
			    e->u.op.index >= s->actors[e->actor].op_count)
				break;
			fprintf(f, "%8u..%-8u %10s  %s: %s (line %d): %s", e->step0, e->step1, t,
			        s->actors[e->actor].name,
			        fl_scenario_op_label(&s->actors[e->actor].ops[e->u.op.index]),
			        e->line,
			        e->outcome <= FLI_TL_OPEN ? outcome_names[e->outcome] : "?");
			if (e->u.op.rv != 0)
				fprintf(f, " (%s: %s)", e->u.op.what, fl_errname(e->u.op.rv));
			fputc('\n', f);
			break;
		}
		case FLI_TL_FAULT:
			fprintf(f, "%8u%10s %10s  ! fault %s, hit %s: %s in %s\n", e->step0, "", t,
			        point_name(e, points), hit_text(e, hit),
			        action_names[e->outcome < 5 ? e->outcome : 0],
			        e->actor >= 0 && (size_t)e->actor < s->actor_count
			                ? s->actors[e->actor].name
			                : "the driver");
			break;
		case FLI_TL_CRASH:
			fprintf(f, "%8u%10s %10s  ! crash: %s\n", e->step0, "", t, e->u.name);
			break;
		case FLI_TL_NODE_UP:
		case FLI_TL_NODE_DOWN:
			fprintf(f, "%8u%10s %10s  %s %s\n", e->step0, "", t, e->u.name,
			        e->kind == FLI_TL_NODE_UP ? "up" : "down");
			break;
		case FLI_TL_VIOLATION:
			fprintf(f, "%8u%10s %10s  -> %s: %s\n", e->step0, "", t, hr->out->property,
			        hr->out->detail);
			break;
		default: break;
		}
	}
	if (p.dropped > 0)
		fprintf(f, "(%" PRIu64 " records past the first %zu were not kept)\n", p.dropped,
		        p.n);
	free_lines(&p);
	return 0;
}

/* ---- a history: Porcupine's picture ------------------------------------ */

static const char history_css[] =
        ".hop{stroke:#333;stroke-width:.5;cursor:pointer}.hop:hover{stroke-width:2}\n"
        ".lin{fill:#81c784}.blocked{fill:#e53935}.unplaced{fill:#e0e0e0}"
        ".info{fill:#ffe082}.failop{fill:#b0bec5}.okop{fill:#90caf9}\n"
        ".hop.sel{stroke:#000;stroke-width:2.5}\n";

static const char history_js[] =
        "<script>\n"
        "(function(){const info=document.getElementById('info');\n"
        "function show(e){for(const s of document.querySelectorAll('.hop.sel'))"
        "s.classList.remove('sel');e.classList.add('sel');"
        "info.textContent=e.getAttribute('data-desc');}\n"
        "for(const e of document.querySelectorAll('.hop')){"
        "e.addEventListener('mouseenter',()=>show(e));e.addEventListener('click',()=>show(e));}"
        "const m=location.hash.match(/^#op=(\\d+)$/);"
        "if(m){const e=document.querySelector('.hop[data-op=\"'+m[1]+'\"]');if(e)show(e);}"
        "})();\n</script>\n";

/* The op's part is the failing part (every op when the history is whole). */
static bool
in_part(const struct fl_history_op *op, const struct fl_history_result *res)
{
	return !res->have_failure || res->failure.key.kind == FL_HV_ABSENT ||
	       fl_hvalue_equal(&op->key, &res->failure.key);
}

int
fli_html_history(FILE *f, const struct fl_history *h, const struct fl_history_result *res)
{
	int64_t procs[RUN_LANES];
	int nprocs = 0;
	uint32_t end = 0;
	size_t shown = 0;
	uint32_t *order = NULL; /* per op: its place in the prefix + 1, 0: none */
	char title[300], key[128] = "", buf[256];
	bool failed = res->verdict == FL_HISTORY_NOT_LINEARIZABLE;
	int height;

	if (h->n > 0 && (order = calloc(h->n, sizeof(*order))) == NULL)
		return -1;
	if (res->have_failure)
		for (size_t k = 0; k < res->failure.nprefix; k++)
			if (res->failure.prefix[k] < h->n)
				order[res->failure.prefix[k]] = (uint32_t)k + 1;
	for (size_t i = 0; i < h->n; i++) {
		const struct fl_history_op *op = &h->ops[i];
		int p;

		if (!in_part(op, res))
			continue;
		shown++;
		for (p = 0; p < nprocs && procs[p] != op->process; p++)
			;
		if (p == nprocs && nprocs < RUN_LANES)
			procs[nprocs++] = op->process;
		if (op->call + 1 > end)
			end = op->call + 1;
		if (op->ret != UINT32_MAX && op->ret + 1 > end)
			end = op->ret + 1;
	}
	if (res->have_failure && res->failure.key.kind != FL_HV_ABSENT)
		fl_hvalue_format(&res->failure.key, key, sizeof(key));
	snprintf(title, sizeof(title), "%s: %s", h->file, fl_history_verdict_name(res->verdict));
	fli_html_head(f, title, history_css);
	fprintf(f, "<h1 id=\"headline\" class=\"%s\" data-verdict=\"%s\">",
	        failed ? "fail" : "pass", fl_history_verdict_name(res->verdict));
	fli_html_text(f, title);
	fputs("</h1>\n<p id=\"detail\">", f);
	if (res->have_failure) {
		const struct fl_history_op *b = &h->ops[res->failure.blocked];

		fl_history_describe_op(b, buf, sizeof(buf));
		if (key[0]) {
			fputs("key ", f);
			fli_html_text(f, key);
			fputs(": ", f);
		}
		fprintf(f,
		        "%zu of the part's %zu operations linearize in the longest order found "
		        "(green, numbered); then ",
		        res->failure.nprefix, res->failure.part_ops);
		fputs("this operation could not be placed (red): ", f);
		fli_html_text(f, buf);
		fputs("\nthe model's state after that order: ", f);
		fli_html_text(f, res->failure.state);
	} else {
		fprintf(f, "%zu operations, %zu part(s): %s", res->ops, res->parts,
		        res->verdict == FL_HISTORY_LINEARIZABLE
		                ? "one sequential order explains every "
		                  "answer"
		                : "not decided");
	}
	fputs("</p>\n<p class=\"meta\">", f);
	if (key[0]) {
		fputs("the failing part: key ", f);
		fli_html_text(f, key);
		fprintf(f, " (%zu of %zu operations shown) \xc2\xb7 ", shown, h->n);
	}
	fputs("axis: the history's events in real-time order (each invocation and completion "
	      "one tick) \xc2\xb7 one lane per client process</p>\n<p class=\"legend\">"
	      "<span><i class=\"sw\" style=\"background:#81c784\"></i>linearized (its place in "
	      "the order)</span><span><i class=\"sw\" style=\"background:#e53935\"></i>could not "
	      "be placed</span><span><i class=\"sw\" style=\"background:#e0e0e0\"></i>not reached"
	      "</span><span><i class=\"sw\" style=\"background:#90caf9\"></i>ok</span>"
	      "<span><i class=\"sw\" style=\"background:#b0bec5\"></i>fail</span>"
	      "<span><i class=\"sw\" style=\"background:#ffe082\"></i>info (unknown "
	      "end)</span></p>\n",
	      f);
	height = 40 + nprocs * LANE_H + 10;
	fprintf(f,
	        "<svg id=\"history\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	        "height=\"%d\" "
	        "viewBox=\"0 0 %d %d\">\n",
	        LEFT + PLOT_W + 20, height, LEFT + PLOT_W + 20, height);
	for (int p = 0; p < nprocs; p++) {
		int y = 30 + p * LANE_H;

		fprintf(f,
		        "<g class=\"lane\" data-process=\"%" PRId64 "\"><rect x=\"0\" y=\"%d\" "
		        "width=\"%d\" height=\"%d\" fill=\"%s\"/><text x=\"6\" y=\"%d\">process "
		        "%" PRId64 "</text></g>\n",
		        procs[p], y, LEFT + PLOT_W + 10, LANE_H, p % 2 ? "#f7f7f7" : "#fff", y + 17,
		        procs[p]);
	}
	fprintf(f,
	        "<line x1=\"%d\" y1=\"24\" x2=\"%d\" y2=\"24\" stroke=\"#999\"/>"
	        "<text x=\"%d\" y=\"16\" fill=\"#555\">0</text><text x=\"%d\" y=\"16\" "
	        "text-anchor=\"end\" fill=\"#555\">%u events</text>\n",
	        LEFT, LEFT + PLOT_W, LEFT, LEFT + PLOT_W, end);
	for (size_t i = 0; i < h->n; i++) {
		const struct fl_history_op *op = &h->ops[i];
		const char *cls;
		double x0, x1;
		int p;

		if (!in_part(op, res))
			continue;
		for (p = 0; p < nprocs && procs[p] != op->process; p++)
			;
		if (p == nprocs)
			continue;
		x0 = LEFT + (double)op->call * PLOT_W / (end ? end : 1);
		x1 = LEFT +
		     (double)(op->ret != UINT32_MAX ? op->ret + 1 : end) * PLOT_W / (end ? end : 1);
		if (res->have_failure)
			cls = i == res->failure.blocked ? "blocked" : order[i] ? "lin" : "unplaced";
		else
			cls = op->outcome == FL_HOP_OK     ? "okop"
			      : op->outcome == FL_HOP_FAIL ? "failop"
			                                   : "info";
		if (res->have_failure && op->outcome == FL_HOP_INFO && !order[i] &&
		    i != res->failure.blocked)
			cls = "info";
		fl_history_describe_op(op, buf, sizeof(buf));
		fprintf(f, "<rect class=\"hop %s\" data-op=\"%zu\" data-desc=\"", cls, i);
		fli_html_text(f, buf);
		fprintf(f, "\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"16\"/>", x0,
		        30 + p * LANE_H + 4, x1 - x0 > 2 ? x1 - x0 - 1 : 2);
		if (x1 - x0 > 24) {
			char label[64];

			if (order[i])
				snprintf(label, sizeof(label), "%u. %s", order[i], op->f);
			else
				snprintf(label, sizeof(label), "%s", op->f);
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" pointer-events=\"none\">", x0 + 3,
			        30 + p * LANE_H + 16);
			label[(size_t)((x1 - x0) / 6.5) < sizeof(label) ? (size_t)((x1 - x0) / 6.5)
			                                                : sizeof(label) - 1] = '\0';
			fli_html_text(f, label);
			fputs("</text>", f);
		}
		fputc('\n', f);
	}
	fputs("</svg>\n<pre id=\"info\">hover or click an operation to see it in words</pre>\n", f);
	fputs(history_js, f);
	fputs("</body></html>\n", f);
	free(order);
	return ferror(f) ? -1 : 0;
}
