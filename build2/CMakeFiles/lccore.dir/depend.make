# Empty dependencies file for lccore.
# This may be replaced when dependencies are built.
