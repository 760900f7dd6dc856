# Empty dependencies file for test_kafka_stores.
# This may be replaced when dependencies are built.
