file(REMOVE_RECURSE
  "CMakeFiles/test_props.dir/tests/unit/test_props.c.o"
  "CMakeFiles/test_props.dir/tests/unit/test_props.c.o.d"
  "test_props"
  "test_props.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_props.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
