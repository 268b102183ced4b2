"""spark-submit entry point: `dmp lift` (options as for the command line)."""

from _entry import run

if __name__ == "__main__":
    run("lift")
