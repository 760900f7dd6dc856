file(REMOVE_RECURSE
  "CMakeFiles/test_rest.dir/tests/unit/test_rest.c.o"
  "CMakeFiles/test_rest.dir/tests/unit/test_rest.c.o.d"
  "test_rest"
  "test_rest.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_rest.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
