# Empty dependencies file for test_tracker.
# This may be replaced when dependencies are built.
