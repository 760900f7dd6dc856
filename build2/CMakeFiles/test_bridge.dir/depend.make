# Empty dependencies file for test_bridge.
# This may be replaced when dependencies are built.
