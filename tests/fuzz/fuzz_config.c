/* libFuzzer target for wr_config: the same bytes go to the sysctl loader, the YAML loader
 * and the enabled_plugins parser (each on a fresh config), and a short prefix to the listener
 * and information-unit parsers. Any crash, leak or sanitizer report is a bug. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/config/config.h"

static void quiet(void *ud, const char *msg)
{
    (void)ud;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cfg_config c;
    char err[256];
    char small[128];
    cfg_listener l;
    uint64_t v;
    size_t n = size < sizeof(small) - 1 ? size : sizeof(small) - 1;

    cfg_set_warn_hook(quiet, NULL);

    cfg_defaults(&c);
    (void)cfg_load_string(&c, (const char *)data, size, "fuzz.conf", err, sizeof(err));
    cfg_free(&c);

    cfg_defaults(&c);
    (void)cfg_load_yaml_string(&c, (const char *)data, size, "fuzz.yaml", err, sizeof(err));
    cfg_free(&c);

    cfg_defaults(&c);
    (void)cfg_load_plugins_string(&c, (const char *)data, size, "enabled_plugins", err,
                                  sizeof(err));
    cfg_free(&c);

    memcpy(small, data, n);
    small[n] = '\0';
    (void)cfg_parse_listener(small, &l);
    (void)cfg_parse_info_unit(small, &v);
    return 0;
}
