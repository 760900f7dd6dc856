file(REMOVE_RECURSE
  "CMakeFiles/test_batch_api.dir/tests/unit/test_batch_api.c.o"
  "CMakeFiles/test_batch_api.dir/tests/unit/test_batch_api.c.o.d"
  "test_batch_api"
  "test_batch_api.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_batch_api.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
