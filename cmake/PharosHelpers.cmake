# pharos_cc_library / pharos_cc_test / pharos_cc_bench, in the manner of Abseil's helpers.
#
#   pharos_cc_library(NAME pharos_foo SRCS a.cc b.cc DEPS pharos_common absl::status
#                     [PUBLIC_DEPS ...] [HEADER_ONLY])
#   pharos_cc_test(NAME foo_test SRCS foo_test.cc DEPS pharos_foo [LABELS unit])
#   pharos_cc_bench(NAME foo_bench SRCS foo_bench.cc DEPS pharos_foo)
#
# Include paths are rooted at the repository top (#include "storage/chunkenc/xor.h").

function(pharos_cc_library)
  cmake_parse_arguments(A "HEADER_ONLY" "NAME" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  if(A_HEADER_ONLY)
    add_library(${A_NAME} INTERFACE)
    target_include_directories(${A_NAME} INTERFACE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
    target_link_libraries(${A_NAME} INTERFACE ${A_DEPS} ${A_PUBLIC_DEPS})
  else()
    add_library(${A_NAME} STATIC ${A_SRCS})
    target_include_directories(${A_NAME} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
    target_link_libraries(${A_NAME} PUBLIC ${A_PUBLIC_DEPS} PRIVATE ${A_DEPS})
    target_compile_options(${A_NAME} PRIVATE ${PHAROS_WARNINGS})
  endif()
endfunction()

function(pharos_cc_test)
  if(NOT PHAROS_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT A_LABELS)
    set(A_LABELS unit)
  endif()
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_options(${A_NAME} PRIVATE ${PHAROS_WARNINGS})
  # PRE_TEST discovery: the binary is listed when ctest runs, not at build time.
  gtest_discover_tests(${A_NAME} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS "${A_LABELS}"
                       WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endfunction()

function(pharos_cc_bench)
  if(NOT PHAROS_BUILD_BENCH)
    return()
  endif()
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} benchmark::benchmark)
  target_compile_options(${A_NAME} PRIVATE ${PHAROS_WARNINGS})
  add_dependencies(pharos_benchmarks ${A_NAME})
endfunction()
