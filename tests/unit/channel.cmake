# Channel handlers (broker/amqp, except the connection class) linked with the
# real core and storage and a fake connection provided by the test (link
# seam: conn_*, user_*), so no wr_broker.
if(TARGET wr_core AND TARGET wr_proto AND TARGET wr_storage)
  wr_unit_test(test_channel LIBS wr_core wr_storage wr_proto wr_util)
  foreach(f channel exchange queue basic confirm tx reply defer)
    target_sources(test_channel PRIVATE ${CMAKE_SOURCE_DIR}/broker/amqp/${f}.c)
  endforeach()
endif()
