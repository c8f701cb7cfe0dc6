# Resource alarms (broker/alarm.c) over the wire, with the embedded broker (wr_broker).
if(TARGET wr_broker AND TARGET wr_core AND EXISTS ${CMAKE_SOURCE_DIR}/tests/unit/test_alarm.c)
  wr_unit_test(test_alarm LIBS wr_broker)
endif()
