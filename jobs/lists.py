"""spark-submit entry point: `dmp lists` (options as for the command line)."""

from _entry import run

if __name__ == "__main__":
    run("lists")
