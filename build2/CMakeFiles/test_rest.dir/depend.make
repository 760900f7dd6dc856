# Empty dependencies file for test_rest.
# This may be replaced when dependencies are built.
