# Empty dependencies file for luaconnect.
# This may be replaced when dependencies are built.
