file(REMOVE_RECURSE
  "CMakeFiles/test_tracker.dir/tests/unit/test_tracker.c.o"
  "CMakeFiles/test_tracker.dir/tests/unit/test_tracker.c.o.d"
  "test_tracker"
  "test_tracker.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_tracker.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
