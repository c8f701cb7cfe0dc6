# Exchanges and routing (broker/core exchange, topic, headers_match, route).
if(TARGET wr_core)
  foreach(t test_topic test_exchange test_route)
    if(EXISTS ${CMAKE_SOURCE_DIR}/tests/unit/${t}.c)
      wr_unit_test(${t} LIBS wr_core wr_proto wr_util)
    endif()
  endforeach()
endif()
