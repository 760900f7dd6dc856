
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/core/assignor.c" "CMakeFiles/lccore.dir/core/assignor.c.o" "gcc" "CMakeFiles/lccore.dir/core/assignor.c.o.d"
  "/work/main/core/chain.c" "CMakeFiles/lccore.dir/core/chain.c.o" "gcc" "CMakeFiles/lccore.dir/core/chain.c.o.d"
  "/work/main/core/cluster.c" "CMakeFiles/lccore.dir/core/cluster.c.o" "gcc" "CMakeFiles/lccore.dir/core/cluster.c.o.d"
  "/work/main/core/config.c" "CMakeFiles/lccore.dir/core/config.c.o" "gcc" "CMakeFiles/lccore.dir/core/config.c.o.d"
  "/work/main/core/config_topic.c" "CMakeFiles/lccore.dir/core/config_topic.c.o" "gcc" "CMakeFiles/lccore.dir/core/config_topic.c.o.d"
  "/work/main/core/connector.c" "CMakeFiles/lccore.dir/core/connector.c.o" "gcc" "CMakeFiles/lccore.dir/core/connector.c.o.d"
  "/work/main/core/connector_json.c" "CMakeFiles/lccore.dir/core/connector_json.c.o" "gcc" "CMakeFiles/lccore.dir/core/connector_json.c.o.d"
  "/work/main/core/distributed.c" "CMakeFiles/lccore.dir/core/distributed.c.o" "gcc" "CMakeFiles/lccore.dir/core/distributed.c.o.d"
  "/work/main/core/errors.c" "CMakeFiles/lccore.dir/core/errors.c.o" "gcc" "CMakeFiles/lccore.dir/core/errors.c.o.d"
  "/work/main/core/forward.c" "CMakeFiles/lccore.dir/core/forward.c.o" "gcc" "CMakeFiles/lccore.dir/core/forward.c.o.d"
  "/work/main/core/http_client.c" "CMakeFiles/lccore.dir/core/http_client.c.o" "gcc" "CMakeFiles/lccore.dir/core/http_client.c.o.d"
  "/work/main/core/internal_topics.c" "CMakeFiles/lccore.dir/core/internal_topics.c.o" "gcc" "CMakeFiles/lccore.dir/core/internal_topics.c.o.d"
  "/work/main/core/kafka.c" "CMakeFiles/lccore.dir/core/kafka.c.o" "gcc" "CMakeFiles/lccore.dir/core/kafka.c.o.d"
  "/work/main/core/kafka_stores.c" "CMakeFiles/lccore.dir/core/kafka_stores.c.o" "gcc" "CMakeFiles/lccore.dir/core/kafka_stores.c.o.d"
  "/work/main/core/klog.c" "CMakeFiles/lccore.dir/core/klog.c.o" "gcc" "CMakeFiles/lccore.dir/core/klog.c.o.d"
  "/work/main/core/log.c" "CMakeFiles/lccore.dir/core/log.c.o" "gcc" "CMakeFiles/lccore.dir/core/log.c.o.d"
  "/work/main/core/membership.c" "CMakeFiles/lccore.dir/core/membership.c.o" "gcc" "CMakeFiles/lccore.dir/core/membership.c.o.d"
  "/work/main/core/offsets_admin.c" "CMakeFiles/lccore.dir/core/offsets_admin.c.o" "gcc" "CMakeFiles/lccore.dir/core/offsets_admin.c.o.d"
  "/work/main/core/plugins.c" "CMakeFiles/lccore.dir/core/plugins.c.o" "gcc" "CMakeFiles/lccore.dir/core/plugins.c.o.d"
  "/work/main/core/props.c" "CMakeFiles/lccore.dir/core/props.c.o" "gcc" "CMakeFiles/lccore.dir/core/props.c.o.d"
  "/work/main/core/reload.c" "CMakeFiles/lccore.dir/core/reload.c.o" "gcc" "CMakeFiles/lccore.dir/core/reload.c.o.d"
  "/work/main/core/rest.c" "CMakeFiles/lccore.dir/core/rest.c.o" "gcc" "CMakeFiles/lccore.dir/core/rest.c.o.d"
  "/work/main/core/rest_tls.c" "CMakeFiles/lccore.dir/core/rest_tls.c.o" "gcc" "CMakeFiles/lccore.dir/core/rest_tls.c.o.d"
  "/work/main/core/signature.c" "CMakeFiles/lccore.dir/core/signature.c.o" "gcc" "CMakeFiles/lccore.dir/core/signature.c.o.d"
  "/work/main/core/sink_task.c" "CMakeFiles/lccore.dir/core/sink_task.c.o" "gcc" "CMakeFiles/lccore.dir/core/sink_task.c.o.d"
  "/work/main/core/source_task.c" "CMakeFiles/lccore.dir/core/source_task.c.o" "gcc" "CMakeFiles/lccore.dir/core/source_task.c.o.d"
  "/work/main/core/standalone.c" "CMakeFiles/lccore.dir/core/standalone.c.o" "gcc" "CMakeFiles/lccore.dir/core/standalone.c.o.d"
  "/work/main/core/store.c" "CMakeFiles/lccore.dir/core/store.c.o" "gcc" "CMakeFiles/lccore.dir/core/store.c.o.d"
  "/work/main/core/task.c" "CMakeFiles/lccore.dir/core/task.c.o" "gcc" "CMakeFiles/lccore.dir/core/task.c.o.d"
  "/work/main/core/tracker.c" "CMakeFiles/lccore.dir/core/tracker.c.o" "gcc" "CMakeFiles/lccore.dir/core/tracker.c.o.d"
  "/work/main/core/txwriter.c" "CMakeFiles/lccore.dir/core/txwriter.c.o" "gcc" "CMakeFiles/lccore.dir/core/txwriter.c.o.d"
  "/work/main/core/util.c" "CMakeFiles/lccore.dir/core/util.c.o" "gcc" "CMakeFiles/lccore.dir/core/util.c.o.d"
  "/work/main/core/validate.c" "CMakeFiles/lccore.dir/core/validate.c.o" "gcc" "CMakeFiles/lccore.dir/core/validate.c.o.d"
  "/work/main/core/watch.c" "CMakeFiles/lccore.dir/core/watch.c.o" "gcc" "CMakeFiles/lccore.dir/core/watch.c.o.d"
  "/work/main/core/watchdog.c" "CMakeFiles/lccore.dir/core/watchdog.c.o" "gcc" "CMakeFiles/lccore.dir/core/watchdog.c.o.d"
  "/work/main/core/worker.c" "CMakeFiles/lccore.dir/core/worker.c.o" "gcc" "CMakeFiles/lccore.dir/core/worker.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build2/CMakeFiles/lclua.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
