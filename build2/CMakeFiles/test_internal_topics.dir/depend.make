# Empty dependencies file for test_internal_topics.
# This may be replaced when dependencies are built.
