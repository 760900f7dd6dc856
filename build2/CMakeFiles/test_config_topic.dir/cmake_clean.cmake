file(REMOVE_RECURSE
  "CMakeFiles/test_config_topic.dir/tests/unit/test_config_topic.c.o"
  "CMakeFiles/test_config_topic.dir/tests/unit/test_config_topic.c.o.d"
  "test_config_topic"
  "test_config_topic.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_config_topic.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
