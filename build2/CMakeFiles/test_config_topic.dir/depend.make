# Empty dependencies file for test_config_topic.
# This may be replaced when dependencies are built.
