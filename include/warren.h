/* warren: an AMQP 0-9-1 broker (RabbitMQ 3.8 compatible), embeddable.
 *
 *   cfg_config cfg; cfg_defaults(&cfg);           // broker/config/config.h
 *   cfg.tcp_listeners[0].port = 0;                // any free port
 *   warren *w; char err[256];
 *   if (warren_new(&w, &cfg, err, sizeof(err)) < 0) ...
 *   warren_start_thread(w, err, sizeof(err));     // or warren_start(w, loop, ...)
 *   ... connect to warren_amqp_port(w) ...
 *   warren_stop(w);                               // any thread, or a signal handler
 *   warren_free(w);                               // joins the thread
 *
 * Functions return 0 or a negative WR_E* code (broker/util/wr_err.h); err
 * buffers get a one-line message. Only warren_stop may be called from a
 * thread other than the broker's loop thread. */
#ifndef WARREN_H
#define WARREN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct warren warren;
typedef struct cfg_config cfg_config;

/* The version of warren itself. */
#define WARREN_VERSION "0.1.0"

/* Creates a broker from cfg, which is borrowed: it must stay valid and
 * unchanged until warren_free. Sets up users and vhosts; nothing listens
 * yet. Returns 0, WR_ENOMEM, WR_EIO (data dir), WR_ECONFIG. */
int warren_new(warren **out, const cfg_config *cfg, char *err, size_t errlen);

/* Creates a broker from a config file (rabbitmq.conf or .yaml; NULL = the
 * embedded defaults), then the environment, as the binary does. The broker
 * owns that config. Same returns as warren_new; a config error names
 * file:line in err. */
int warren_new_from_file(warren **out, const char *path, char *err, size_t errlen);

/* Starts listening on the caller's loop; the caller runs it (uv_run). After
 * warren_stop the broker closes its handles and the loop can finish.
 * Returns 0 or WR_EIO (a listener could not bind; nothing is left open). */
int warren_start(warren *w, uv_loop_t *loop, char *err, size_t errlen);

/* Starts the broker on its own loop and thread; returns once it listens (0)
 * or failed to (WR_EIO, the thread has ended). */
int warren_start_thread(warren *w, char *err, size_t errlen);

/* Asks the broker to stop: listeners close, connections get
 * connection.close 320 CONNECTION_FORCED, and within about a second every
 * handle is closed. Safe from any thread (uv_async_send) and from a
 * uv_signal callback. Idempotent; no-op before start and after the stop. */
void warren_stop(warren *w);

/* Waits for a warren_start_thread broker to finish after warren_stop.
 * Returns at once for a broker run on the caller's loop. */
void warren_wait(warren *w);

/* Stops (if needed), waits, and frees everything. NULL is a no-op. For a
 * broker on the caller's loop, the loop must have finished running our
 * handles first (run it after warren_stop until it returns). */
void warren_free(warren *w);

/* The bound AMQP port of the first listener (useful with port 0), 0 before
 * start. */
uint16_t warren_amqp_port(const warren *w);

/* The node name ("rabbit@host") and the persistent node id. */
const char *warren_node_name(const warren *w);
const char *warren_node_id(const warren *w);

/* Number of open AMQP connections (loop thread). */
uint32_t warren_connection_count(const warren *w);

#ifdef __cplusplus
}
#endif

#endif
