"""spark-submit entry point: `dmp identity` (options as for the command line)."""

from _entry import run

if __name__ == "__main__":
    run("identity")
