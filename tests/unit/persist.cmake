# broker/persist.c (the store wired into the broker) over a real store.
if(TARGET wr_broker AND EXISTS ${CMAKE_SOURCE_DIR}/tests/unit/test_persist.c)
  wr_unit_test(test_persist LIBS wr_broker)
endif()
