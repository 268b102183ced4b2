"""spark-submit entry point: `dmp optimize` (options as for the command line)."""

from _entry import run

if __name__ == "__main__":
    run("optimize")
