# Empty dependencies file for test_codec_regress.
# This may be replaced when dependencies are built.
