"""dmp: a data-management platform with a lookalike-audience builder on Spark + Delta."""

__version__ = "0.1.0"
