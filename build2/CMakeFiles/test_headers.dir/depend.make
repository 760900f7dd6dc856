# Empty dependencies file for test_headers.
# This may be replaced when dependencies are built.
