"""Run ``lettermon ARGS`` under cProfile and dump the stats: ``_profile_check.py OUT ARGS``."""

from __future__ import annotations

import cProfile
import sys


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    from lettermon.cli import main as lettermon_main  # imported outside the profile

    profile = cProfile.Profile()
    profile.enable()
    try:
        lettermon_main(args)
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    finally:
        profile.disable()
        profile.dump_stats(out)
    sys.exit(code)


if __name__ == "__main__":
    main()
