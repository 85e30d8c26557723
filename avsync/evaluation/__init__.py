"""Research evaluation: labelled sets, benchmark adapters, detection and localisation metrics."""
