file(REMOVE_RECURSE
  "CMakeFiles/test_codec_regress.dir/tests/unit/test_codec_regress.c.o"
  "CMakeFiles/test_codec_regress.dir/tests/unit/test_codec_regress.c.o.d"
  "test_codec_regress"
  "test_codec_regress.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_codec_regress.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
