file(REMOVE_RECURSE
  "CMakeFiles/test_kafka_stores.dir/tests/unit/test_kafka_stores.c.o"
  "CMakeFiles/test_kafka_stores.dir/tests/unit/test_kafka_stores.c.o.d"
  "test_kafka_stores"
  "test_kafka_stores.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_kafka_stores.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
