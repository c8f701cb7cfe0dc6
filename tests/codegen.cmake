# codegen/drift: the committed codec in broker/proto/generated/ must be exactly
# what tools/amqp_codegen.py makes from spec/ (run `make codegen` after editing
# either). This file is both the CTest registration (included from
# tests/CMakeLists.txt) and, run with `cmake -P`, the check itself.
if(CMAKE_SCRIPT_MODE_FILE)
  file(REMOVE_RECURSE ${OUT})
  file(MAKE_DIRECTORY ${OUT})
  execute_process(
    COMMAND ${PY} ${SRC}/tools/amqp_codegen.py ${SRC}/spec/amqp-rabbitmq-0.9.1.json ${OUT}
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "tools/amqp_codegen.py failed (${rc})")
  endif()
  set(drift "")
  foreach(f amqp091_framing.h amqp091_framing.c)
    execute_process(COMMAND diff -u ${SRC}/broker/proto/generated/${f} ${OUT}/${f}
                    RESULT_VARIABLE d OUTPUT_VARIABLE out)
    if(NOT d EQUAL 0)
      message("${out}")
      list(APPEND drift ${f})
    endif()
  endforeach()
  if(drift)
    message(FATAL_ERROR "generated codec is stale: ${drift} (run `make codegen` and commit)")
  endif()
  return()
endif()

if(SYS_PYTHON)
  add_test(NAME codegen/drift
           COMMAND ${CMAKE_COMMAND} -DPY=${SYS_PYTHON} -DSRC=${CMAKE_SOURCE_DIR}
                   -DOUT=${CMAKE_BINARY_DIR}/codegen-drift -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(codegen/drift PROPERTIES LABELS "codegen" TIMEOUT 60)
endif()
