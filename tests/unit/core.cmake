# wr_core: messages, queues (dispatch, TTL, limits, dead-lettering), vhosts.
if(TARGET wr_core)
  foreach(t test_msg test_queue test_vhost)
    if(EXISTS ${CMAKE_SOURCE_DIR}/tests/unit/${t}.c)
      wr_unit_test(${t} LIBS wr_core wr_proto wr_util)
    endif()
  endforeach()
endif()
