file(REMOVE_RECURSE
  "CMakeFiles/luaconnect.dir/core/main.c.o"
  "CMakeFiles/luaconnect.dir/core/main.c.o.d"
  "luaconnect"
  "luaconnect.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/luaconnect.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
