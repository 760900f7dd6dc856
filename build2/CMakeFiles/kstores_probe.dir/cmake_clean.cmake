file(REMOVE_RECURSE
  "CMakeFiles/kstores_probe.dir/tests/unit/kstores_probe.c.o"
  "CMakeFiles/kstores_probe.dir/tests/unit/kstores_probe.c.o.d"
  "kstores_probe"
  "kstores_probe.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/kstores_probe.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
