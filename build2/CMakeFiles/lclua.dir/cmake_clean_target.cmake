file(REMOVE_RECURSE
  "liblclua.a"
)
