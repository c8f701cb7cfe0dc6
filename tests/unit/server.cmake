# Server: users/permissions (wr_auth) and the embedded broker (wr_broker).
if(TARGET wr_auth)
  wr_unit_test(test_user LIBS wr_auth wr_util)
endif()
if(TARGET wr_broker AND TARGET wr_core AND EXISTS ${CMAKE_SOURCE_DIR}/tests/unit/test_embed.c)
  wr_unit_test(test_embed LIBS wr_broker)
endif()
