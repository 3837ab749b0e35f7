"""Tests of socialhub/bus/: the one contract every bus keeps."""
