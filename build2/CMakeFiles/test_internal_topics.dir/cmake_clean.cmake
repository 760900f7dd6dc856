file(REMOVE_RECURSE
  "CMakeFiles/test_internal_topics.dir/tests/unit/test_internal_topics.c.o"
  "CMakeFiles/test_internal_topics.dir/tests/unit/test_internal_topics.c.o.d"
  "test_internal_topics"
  "test_internal_topics.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_internal_topics.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
