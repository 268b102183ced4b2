"""lookalike stage."""
