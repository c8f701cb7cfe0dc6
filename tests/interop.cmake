# Interop tests with real clients (pika, kombu, amqplib from npm, librabbitmq-c), one CTest
# test per tests/interop/test_*.py file, each against its own warren (tests/harness).
# rmqc_interop is the librabbitmq-c client program driven by test_rmqc.py.
find_library(RABBITMQ_C_LIB rabbitmq)
find_path(RABBITMQ_C_INCLUDE amqp.h)
if(RABBITMQ_C_LIB AND RABBITMQ_C_INCLUDE)
  add_executable(rmqc_interop ${CMAKE_SOURCE_DIR}/tests/interop/rmqc_interop.c)
  target_include_directories(rmqc_interop PRIVATE ${RABBITMQ_C_INCLUDE})
  target_link_libraries(rmqc_interop PRIVATE ${RABBITMQ_C_LIB})
  set(WR_RMQC_ENV "WARREN_RMQC=$<TARGET_FILE:rmqc_interop>")
else()
  set(WR_RMQC_ENV "WARREN_RMQC=")
endif()

if(TARGET warren AND SYS_PYTHON)
  file(GLOB WR_INTEROP_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/interop/test_*.py)
  foreach(t ${WR_INTEROP_TESTS})
    get_filename_component(n ${t} NAME_WE)
    add_test(NAME interop/${n}
             COMMAND ${SYS_PYTHON} -m pytest -q -p no:cacheprovider ${t}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(interop/${n} PROPERTIES LABELS interop TIMEOUT 600
      ENVIRONMENT "WARREN_BIN=${CMAKE_BINARY_DIR}/warren;WARREN_TARGET=warren;${WR_RMQC_ENV}")
  endforeach()
endif()
