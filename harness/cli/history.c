/*
 * faultline check-history FILE... [--model register|kv] [--timeout S]
 *                                 [--json F] [--quiet]
 *
 * Decides whether each history is linearizable (faultline/history.h).
 * Exit status: 0 every history linearizable, 1 one is not, 3 none is
 * known not to be but one was cut short by the time limit, 2 usage or a
 * bad history file (file:line: what is wrong).
 */
#include "cli.h"
#include "faultline/history.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_check_history[] =
        "usage: faultline check-history FILE... [options]\n"
        "  --model M        register (read, write, cas; a register per :key if the ops\n"
        "                   have keys) or kv (get, put, append, cas per key); default:\n"
        "                   the one every operation fits\n"
        "  --timeout S      seconds for each file at most (default 300); a history the\n"
        "                   search has not decided by then is 'unknown', never 'linearizable'\n"
        "  --json F         write the verdicts as JSON to F ('-': stdout, instead of words)\n"
        "  --first-failure  stop at the first part (key) that fails instead of looking for\n"
        "                   the smallest\n"
        "  --quiet          print only a history's verdict line\n"
        "  --html OUT       also draw the history as one HTML page (one FILE only): each\n"
        "                   process's operations as intervals, the longest linearizable\n"
        "                   order found and the operation it could not place\n"
        "Histories: Jepsen's EDN, one map a line ({:process 0, :type :invoke, :f :read,\n"
        ":value nil}), or Jepsen's log lines (INFO  jepsen.util - "
        "0<TAB>:invoke<TAB>:read<TAB>nil).\n"
        "Exit status: 2 usage or a bad file (whatever the others' verdicts); else 1 one is\n"
        "not linearizable; else 3 one is unknown (the time limit, or no operation completed\n"
        "ok: nothing to judge); else 0 all are linearizable.\n";

int
cmd_check_history(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, 0, 'm' }, { "timeout", required_argument, 0, 't' },
		{ "json", required_argument, 0, 'j' },  { "first-failure", no_argument, 0, 'F' },
		{ "quiet", no_argument, 0, 'q' },       { "html", required_argument, 0, 'o' },
		{ "help", no_argument, 0, 'h' },        { 0, 0, 0, 0 },
	};
	const struct fl_history_model *model = NULL;
	struct fl_history_options opt = { .timeout_s = 300, .all_parts = true };
	const char *json_path = NULL, *html_path = NULL;
	bool quiet = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			model = fl_history_model_find(optarg);
			if (!model) {
				fprintf(stderr,
				        "faultline check-history: --model: '%s' is not register or "
				        "kv\n",
				        optarg);
				return FL_CLI_EXIT_USAGE;
			}
			break;
		case 't': {
			char *end;
			opt.timeout_s = strtod(optarg, &end);
			if (*end || !(opt.timeout_s > 0) || opt.timeout_s > 1e9) {
				fprintf(stderr,
				        "faultline check-history: --timeout: '%s' is not a number "
				        "of seconds > 0\n",
				        optarg);
				return FL_CLI_EXIT_USAGE;
			}
			break;
		}
		case 'j': json_path = optarg; break;
		case 'F': opt.all_parts = false; break;
		case 'q': quiet = true; break;
		case 'o': html_path = optarg; break;
		case 'h': fputs(usage_check_history, stdout); return 0;
		default: fputs(usage_check_history, stderr); return FL_CLI_EXIT_USAGE;
		}
	}
	if (optind == argc) {
		fputs(usage_check_history, stderr);
		return FL_CLI_EXIT_USAGE;
	}
	if (html_path != NULL && argc - optind != 1) {
		fprintf(stderr,
		        "faultline check-history: --html draws one history: give one FILE\n");
		return FL_CLI_EXIT_USAGE;
	}
	FILE *json = NULL;
	if (json_path) {
		json = strcmp(json_path, "-") == 0 ? stdout : fopen(json_path, "w");
		if (!json) {
			fprintf(stderr, "faultline check-history: --json: cannot write %s\n",
			        json_path);
			return FL_CLI_EXIT_USAGE;
		}
		fputs("{\"histories\":[", json);
	}
	bool bad = false, fails = false, unknown = false;
	for (int i = optind; i < argc; i++) {
		struct fl_history h;
		struct fl_history_result res;
		char err[512];
		int rc = fl_history_load(argv[i], model, &h, err, sizeof(err));
		const struct fl_history_model *m = model;
		if (rc == 0 && !m) {
			m = fl_history_guess_model(&h);
			if (!m) {
				char why_reg[512], why_kv[512];
				bool reg = fl_history_check_ops(&h, &fl_history_register, why_reg,
				                                sizeof(why_reg)) == 0;
				bool kv = fl_history_check_ops(&h, &fl_history_kv, why_kv,
				                               sizeof(why_kv)) == 0;
				if (reg && kv)
					fprintf(stderr,
					        "%s: the operations fit both models: give --model "
					        "register or --model kv\n",
					        argv[i]);
				else
					fprintf(stderr,
					        "%s: the operations fit neither model (give "
					        "--model to "
					        "choose):\n  %s\n  %s\n",
					        argv[i], why_reg, why_kv);
				fl_history_fini(&h);
				bad = true;
				continue;
			}
			rc = fl_history_check_ops(&h, m, err, sizeof(err));
			if (rc)
				fl_history_fini(&h);
		}
		if (rc) {
			fprintf(stderr, "%s\n", err);
			bad = true;
			continue;
		}
		rc = fl_history_check(&h, m, &opt, &res);
		if (rc) {
			fprintf(stderr, "%s: the check failed: out of memory\n", argv[i]);
			fl_history_fini(&h);
			bad = true;
			continue;
		}
		if (json == stdout)
			; /* the JSON is the output */
		else if (quiet)
			printf("%s: %s\n", h.file, fl_history_verdict_name(res.verdict));
		else
			fl_history_result_print(stdout, &h, &res);
		if (json) {
			static bool first = true;
			if (!first)
				fputc(',', json);
			first = false;
			fl_history_result_json(json, &h, &res);
		}
		if (html_path != NULL) {
			FILE *hf = fopen(html_path, "w");

			int wr = hf != NULL ? fli_html_history(hf, &h, &res) : -1;

			if (hf != NULL && fclose(hf) != 0)
				wr = -1;
			if (wr != 0) {
				fprintf(stderr,
				        "faultline check-history: --html: cannot write %s\n",
				        html_path);
				bad = true;
			}
		}
		fails |= res.verdict == FL_HISTORY_NOT_LINEARIZABLE;
		unknown |= res.verdict == FL_HISTORY_UNKNOWN;
		fl_history_result_fini(&res);
		fl_history_fini(&h);
	}
	int status = bad ? FL_CLI_EXIT_USAGE : fails ? 1 : unknown ? 3 : 0;
	if (json) {
		fprintf(json, "],\"exit\":%d}\n", status);
		if (json != stdout && fclose(json) != 0) {
			fprintf(stderr, "faultline check-history: --json: cannot write %s\n",
			        json_path);
			return FL_CLI_EXIT_USAGE;
		}
	}
	return status;
}
