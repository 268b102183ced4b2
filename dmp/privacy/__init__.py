"""privacy stage."""
