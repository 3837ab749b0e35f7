"""Whole-process and system tests: real `twistd` processes, clusters, faults, packaging, deployment
files and the examples; what is not about one module."""
