# Empty dependencies file for test_props.
# This may be replaced when dependencies are built.
