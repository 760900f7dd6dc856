file(REMOVE_RECURSE
  "CMakeFiles/test_codec.dir/tests/unit/test_codec.c.o"
  "CMakeFiles/test_codec.dir/tests/unit/test_codec.c.o.d"
  "test_codec"
  "test_codec.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_codec.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
