/* warren: the broker binary. argv, configuration, signals, run. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "broker/config/config.h"
#include "broker/util/wr_err.h"
#include "broker/util/wr_log.h"
#include "warren.h"

static warren *g_w;
static uv_signal_t g_sigterm, g_sigint;

static void usage(FILE *f)
{
    fprintf(f, "usage: warren [--config FILE] [--data-dir DIR] [--plugins FILE]\n"
               "\n"
               "An AMQP 0-9-1 broker compatible with RabbitMQ 3.8.\n"
               "  --config FILE    rabbitmq.conf (sysctl format) or .yaml; default\n"
               "                   $RABBITMQ_CONFIG_FILE, else the embedded defaults\n"
               "  --data-dir DIR   where durable state lives (default ./var)\n"
               "  --plugins FILE   enabled_plugins file\n"
               "  --help           this text\n"
               "  --version        print the version\n");
}

static void on_signal(uv_signal_t *s, int signum)
{
    wr_info("received %s, stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    warren_stop(g_w);
    uv_close((uv_handle_t *)&g_sigterm, NULL);
    uv_close((uv_handle_t *)&g_sigint, NULL);
    (void)s;
}

int main(int argc, char **argv)
{
    const char *config = NULL, *data_dir = NULL, *plugins = NULL;
    char err[512] = "";
    cfg_config cfg;
    uv_loop_t *loop = uv_default_loop();
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("warren %s (AMQP 0-9-1, RabbitMQ 3.8 compatible)\n", WARREN_VERSION);
            return 0;
        } else if ((strcmp(a, "--config") == 0 || strcmp(a, "--data-dir") == 0 ||
                    strcmp(a, "--plugins") == 0) &&
                   i + 1 < argc) {
            if (a[2] == 'c')
                config = argv[++i];
            else if (a[2] == 'd')
                data_dir = argv[++i];
            else
                plugins = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            config = a + 9;
        } else if (strncmp(a, "--data-dir=", 11) == 0) {
            data_dir = a + 11;
        } else if (strncmp(a, "--plugins=", 10) == 0) {
            plugins = a + 10;
        } else {
            fprintf(stderr, "warren: unknown argument '%s'\n", a);
            usage(stderr);
            return 1;
        }
    }

    signal(SIGPIPE, SIG_IGN);
    memset(&cfg, 0, sizeof(cfg));
    rc = cfg_load_all(&cfg, config, err, sizeof(err));
    if (rc == 0 && plugins) rc = cfg_load_plugins(&cfg, plugins, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "warren: configuration error: %s\n", err[0] ? err : wr_strerror(rc));
        cfg_free(&cfg);
        return 1;
    }
    if (data_dir) cfg.data_dir = (char *)data_dir;
    if (cfg.log_console_level >= 0) wr_log_set_level((enum wr_log_level)cfg.log_console_level);

    wr_info("Starting warren %s on node %s", WARREN_VERSION, cfg.node_name ? cfg.node_name : "");
    if (cfg.config_file) wr_info("config file(s) : %s", cfg.config_file);
    wr_info("data dir       : %s", cfg.data_dir ? cfg.data_dir : "");

    rc = warren_new(&g_w, &cfg, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "warren: %s\n", err[0] ? err : wr_strerror(rc));
        cfg_free(&cfg);
        return 1;
    }
    rc = warren_start(g_w, loop, err, sizeof(err));
    if (rc < 0) {
        wr_error("%s", err[0] ? err : wr_strerror(rc));
        uv_run(loop, UV_RUN_DEFAULT); /* close callbacks */
        warren_free(g_w);
        cfg_free(&cfg);
        return 1;
    }
    uv_signal_init(loop, &g_sigterm);
    uv_signal_init(loop, &g_sigint);
    uv_signal_start(&g_sigterm, on_signal, SIGTERM);
    uv_signal_start(&g_sigint, on_signal, SIGINT);
    wr_info("Server startup complete; %d plugins started.", cfg.n_enabled_plugins);

    uv_run(loop, UV_RUN_DEFAULT);

    warren_free(g_w);
    uv_loop_close(loop);
    cfg_free(&cfg);
    wr_info("warren stopped");
    return 0;
}
