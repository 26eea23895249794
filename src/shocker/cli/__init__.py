"""Command-line interface: argv in, text out."""
