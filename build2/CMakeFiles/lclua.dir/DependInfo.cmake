
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/lua/bridge.c" "CMakeFiles/lclua.dir/lua/bridge.c.o" "gcc" "CMakeFiles/lclua.dir/lua/bridge.c.o.d"
  "/work/main/lua/chain_api.c" "CMakeFiles/lclua.dir/lua/chain_api.c.o" "gcc" "CMakeFiles/lclua.dir/lua/chain_api.c.o.d"
  "/work/main/lua/cli_api.c" "CMakeFiles/lclua.dir/lua/cli_api.c.o" "gcc" "CMakeFiles/lclua.dir/lua/cli_api.c.o.d"
  "/work/main/lua/codec_ctx.c" "CMakeFiles/lclua.dir/lua/codec_ctx.c.o" "gcc" "CMakeFiles/lclua.dir/lua/codec_ctx.c.o.d"
  "/work/main/lua/converters.c" "CMakeFiles/lclua.dir/lua/converters.c.o" "gcc" "CMakeFiles/lclua.dir/lua/converters.c.o.d"
  "/work/main/lua/decode.c" "CMakeFiles/lclua.dir/lua/decode.c.o" "gcc" "CMakeFiles/lclua.dir/lua/decode.c.o.d"
  "/work/main/lua/decode_schema.c" "CMakeFiles/lclua.dir/lua/decode_schema.c.o" "gcc" "CMakeFiles/lclua.dir/lua/decode_schema.c.o.d"
  "/work/main/lua/encode.c" "CMakeFiles/lclua.dir/lua/encode.c.o" "gcc" "CMakeFiles/lclua.dir/lua/encode.c.o.d"
  "/work/main/lua/encode_schema.c" "CMakeFiles/lclua.dir/lua/encode_schema.c.o" "gcc" "CMakeFiles/lclua.dir/lua/encode_schema.c.o.d"
  "/work/main/lua/headers.c" "CMakeFiles/lclua.dir/lua/headers.c.o" "gcc" "CMakeFiles/lclua.dir/lua/headers.c.o.d"
  "/work/main/lua/json_read.c" "CMakeFiles/lclua.dir/lua/json_read.c.o" "gcc" "CMakeFiles/lclua.dir/lua/json_read.c.o.d"
  "/work/main/lua/json_write.c" "CMakeFiles/lclua.dir/lua/json_write.c.o" "gcc" "CMakeFiles/lclua.dir/lua/json_write.c.o.d"
  "/work/main/lua/plan_api.c" "CMakeFiles/lclua.dir/lua/plan_api.c.o" "gcc" "CMakeFiles/lclua.dir/lua/plan_api.c.o.d"
  "/work/main/lua/plugin_api.c" "CMakeFiles/lclua.dir/lua/plugin_api.c.o" "gcc" "CMakeFiles/lclua.dir/lua/plugin_api.c.o.d"
  "/work/main/lua/schema.c" "CMakeFiles/lclua.dir/lua/schema.c.o" "gcc" "CMakeFiles/lclua.dir/lua/schema.c.o.d"
  "/work/main/lua/sink_api.c" "CMakeFiles/lclua.dir/lua/sink_api.c.o" "gcc" "CMakeFiles/lclua.dir/lua/sink_api.c.o.d"
  "/work/main/lua/source_api.c" "CMakeFiles/lclua.dir/lua/source_api.c.o" "gcc" "CMakeFiles/lclua.dir/lua/source_api.c.o.d"
  "/work/main/lua/task_api.c" "CMakeFiles/lclua.dir/lua/task_api.c.o" "gcc" "CMakeFiles/lclua.dir/lua/task_api.c.o.d"
  "/work/main/lua/value.c" "CMakeFiles/lclua.dir/lua/value.c.o" "gcc" "CMakeFiles/lclua.dir/lua/value.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
