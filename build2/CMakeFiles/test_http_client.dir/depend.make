# Empty dependencies file for test_http_client.
# This may be replaced when dependencies are built.
