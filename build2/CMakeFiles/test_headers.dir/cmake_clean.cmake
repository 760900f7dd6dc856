file(REMOVE_RECURSE
  "CMakeFiles/test_headers.dir/tests/unit/test_headers.c.o"
  "CMakeFiles/test_headers.dir/tests/unit/test_headers.c.o.d"
  "test_headers"
  "test_headers.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_headers.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
