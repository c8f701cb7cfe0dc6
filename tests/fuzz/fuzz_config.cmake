# fuzz_config: rabbitmq.conf, YAML and enabled_plugins parsers (broker/config).
if(TARGET wr_config)
  wr_fuzz_target(fuzz_config LIBS wr_config wr_util)
endif()
