file(REMOVE_RECURSE
  "CMakeFiles/test_bridge.dir/tests/unit/test_bridge.c.o"
  "CMakeFiles/test_bridge.dir/tests/unit/test_bridge.c.o.d"
  "test_bridge"
  "test_bridge.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_bridge.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
