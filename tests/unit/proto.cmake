# Protocol layer (broker/proto): wire primitives, field tables, frames, codec.
if(TARGET wr_proto)
  foreach(t test_wire test_ftable test_frame test_codec)
    if(EXISTS ${CMAKE_SOURCE_DIR}/tests/unit/${t}.c)
      wr_unit_test(${t} LIBS wr_proto wr_util)
      target_compile_definitions(${t} PRIVATE WR_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    endif()
  endforeach()
endif()
