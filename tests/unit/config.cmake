# wr_config: rabbitmq.conf (sysctl and YAML), enabled_plugins, environment, node names.
if(TARGET wr_config)
  wr_unit_test(test_config LIBS wr_config wr_util)
endif()
