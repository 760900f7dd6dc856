# Empty dependencies file for test_assignor.
# This may be replaced when dependencies are built.
