# Protocol tests: raw AMQP frames against the real warren binary, one CTest test per
# tests/proto/test_*.py file. Each test function starts its own warren (tests/harness).
# Skipped at configure time until the warren target exists.
if(TARGET warren AND SYS_PYTHON)
  file(GLOB WR_PROTO_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/proto/test_*.py)
  foreach(t ${WR_PROTO_TESTS})
    get_filename_component(n ${t} NAME_WE)
    add_test(NAME proto/${n}
             COMMAND ${SYS_PYTHON} -m pytest -q -p no:cacheprovider ${t}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set(labels proto)
    if(n STREQUAL "test_maxsize")
      list(APPEND labels slow)   # pushes 128 MiB bodies; left out of the ASan pass
    endif()
    set_tests_properties(proto/${n} PROPERTIES LABELS "${labels}" TIMEOUT 600
      ENVIRONMENT "WARREN_BIN=${CMAKE_BINARY_DIR}/warren;WARREN_TARGET=warren")
  endforeach()
endif()
