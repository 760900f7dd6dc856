file(REMOVE_RECURSE
  "CMakeFiles/test_assignor.dir/tests/unit/test_assignor.c.o"
  "CMakeFiles/test_assignor.dir/tests/unit/test_assignor.c.o.d"
  "test_assignor"
  "test_assignor.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_assignor.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
