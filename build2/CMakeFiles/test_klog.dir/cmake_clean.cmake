file(REMOVE_RECURSE
  "CMakeFiles/test_klog.dir/tests/unit/test_klog.c.o"
  "CMakeFiles/test_klog.dir/tests/unit/test_klog.c.o.d"
  "test_klog"
  "test_klog.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_klog.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
