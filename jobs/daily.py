"""spark-submit entry point of the daily pipeline: `dmp pipeline run` (same options).

spark-submit --master spark://127.0.0.1:7077 jobs/daily.py --date 2026-01-05
python jobs/daily.py --from 2026-01-01 --to 2026-01-05        # local default
"""

import sys

from dmp.cli import main

if __name__ == "__main__":
    sys.exit(main(["pipeline", "run", *sys.argv[1:]]))
