# Exchanges and routing (broker/core exchange, topic, headers_match, route).
if(TARGET wr_core)
  foreach(t test_topic test_exchange test_route)
    if(EXISTS ${CMAKE_SOURCE_DIR}/tests/unit/${t}.c)
      wr_unit_test(${t} LIBS wr_core wr_proto wr_util)
    endif()
  endforeach()
  if(TARGET test_route)
    # counts allocations made while routing
    target_link_options(test_route PRIVATE -Wl,--wrap=malloc,--wrap=realloc,--wrap=calloc)
  endif()
endif()
