# Empty dependencies file for test_klog.
# This may be replaced when dependencies are built.
