file(REMOVE_RECURSE
  "CMakeFiles/test_http_client.dir/tests/unit/test_http_client.c.o"
  "CMakeFiles/test_http_client.dir/tests/unit/test_http_client.c.o.d"
  "test_http_client"
  "test_http_client.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_http_client.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
