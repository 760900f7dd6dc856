# Empty dependencies file for lclua.
# This may be replaced when dependencies are built.
