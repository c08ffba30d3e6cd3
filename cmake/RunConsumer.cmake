# ctest helper: configure, build and run a consumer project against an installed MedSeg.
# Variables: SOURCE, BINARY, PREFIX, GENERATOR, RUN ("exe arg arg|exe2 arg": programs built in
# BINARY, each run with its arguments; default: medseg_consumer). Builds with at most 2 jobs.
file(REMOVE_RECURSE "${BINARY}")
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE}" -B "${BINARY}" -G "${GENERATOR}"
                        -DCMAKE_PREFIX_PATH=${PREFIX}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer configure failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${BINARY}" --parallel 2 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer build failed (${rc})")
endif()
if(NOT RUN)
  set(RUN medseg_consumer)
endif()
string(REPLACE "|" ";" _runs "${RUN}")
foreach(_run IN LISTS _runs)
  separate_arguments(_argv UNIX_COMMAND "${_run}")
  list(POP_FRONT _argv _exe)
  execute_process(COMMAND "${BINARY}/${_exe}" ${_argv} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${_exe}: ${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer ${_exe} failed (${rc})")
  endif()
endforeach()
