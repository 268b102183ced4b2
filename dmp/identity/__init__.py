"""identity stage."""
