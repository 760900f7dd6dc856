file(REMOVE_RECURSE
  "liblccore.a"
)
