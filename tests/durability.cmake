# Durability tests (issue 3): restart the same data dir after SIGTERM and after kill -9
# (tests/durability/test_*.py, one CTest test per file, each test its own warren), and the
# crash loop (tests/durability/crashtest.py: publishers with confirms, SIGKILL at random
# moments, every confirmed id must come back). More rounds by hand:
#   /usr/bin/python3 tests/durability/crashtest.py --rounds 100
if(TARGET warren AND SYS_PYTHON)
  file(GLOB WR_DURABILITY_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/durability/test_*.py)
  foreach(t ${WR_DURABILITY_TESTS})
    get_filename_component(n ${t} NAME_WE)
    add_test(NAME durability/${n}
             COMMAND ${SYS_PYTHON} -m pytest -q -p no:cacheprovider ${t}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(durability/${n} PROPERTIES LABELS durability TIMEOUT 600
      ENVIRONMENT "WARREN_BIN=${CMAKE_BINARY_DIR}/warren;WARREN_TARGET=warren")
  endforeach()
  add_test(NAME durability/crashtest
           COMMAND ${SYS_PYTHON} ${CMAKE_SOURCE_DIR}/tests/durability/crashtest.py
                   --rounds 5 --seconds 2 --target warren
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(durability/crashtest PROPERTIES LABELS durability TIMEOUT 300
    ENVIRONMENT "WARREN_BIN=${CMAKE_BINARY_DIR}/warren;WARREN_TARGET=warren")
endif()
