# What --version reports, computed at configure time:
#   SKY_SQL_VERSION   the pgq_set catalog version this source carries: the highest numbered schema
#                     step (schema/NNN_*.sql) that sql/install.sql includes, which is what
#                     pgq_set.version() reports after the script ran (docs/pgq_set.md)
#   SKY_GIT_DESCRIBE  `git describe --always --dirty` of the source tree, "unknown" outside git.
#                     Taken when CMake configures: a commit made later shows after the next
#                     configure (cmake -S . -B build, or any change to a CMakeLists.txt).
file(STRINGS ${CMAKE_SOURCE_DIR}/sql/install.sql _sky_steps REGEX "^\\\\ir?[ \t]+schema/[0-9]+_")
set(SKY_SQL_VERSION "")
foreach(_line IN LISTS _sky_steps)
	string(REGEX REPLACE "^\\\\ir?[ \t]+schema/0*([0-9]+)_.*$" "\\1" _n "${_line}")
	if(SKY_SQL_VERSION STREQUAL "" OR _n GREATER SKY_SQL_VERSION)
		set(SKY_SQL_VERSION ${_n})
	endif()
endforeach()
if(SKY_SQL_VERSION STREQUAL "")
	message(FATAL_ERROR "sql/install.sql includes no numbered schema step (schema/NNN_*.sql)")
endif()
set_property(DIRECTORY ${CMAKE_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
	${CMAKE_SOURCE_DIR}/sql/install.sql)

set(SKY_GIT_DESCRIBE unknown)
find_package(Git QUIET)
if(GIT_FOUND)
	execute_process(COMMAND ${GIT_EXECUTABLE} describe --always --dirty
		WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
		OUTPUT_VARIABLE _sky_describe OUTPUT_STRIP_TRAILING_WHITESPACE
		RESULT_VARIABLE _sky_git_rc ERROR_QUIET)
	if(_sky_git_rc EQUAL 0 AND NOT _sky_describe STREQUAL "")
		set(SKY_GIT_DESCRIBE ${_sky_describe})
	endif()
endif()

configure_file(${CMAKE_SOURCE_DIR}/common/sky_version.h.in
	${CMAKE_BINARY_DIR}/generated/sky_version.h @ONLY)
message(STATUS "skycascade ${PROJECT_VERSION}, pgq_set ${SKY_SQL_VERSION}, git ${SKY_GIT_DESCRIBE}")
