# Empty dependencies file for test_batch_api.
# This may be replaced when dependencies are built.
