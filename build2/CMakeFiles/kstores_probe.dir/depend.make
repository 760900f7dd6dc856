# Empty dependencies file for kstores_probe.
# This may be replaced when dependencies are built.
