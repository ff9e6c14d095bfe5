"""Serve a LetterSite of N signatories on 127.0.0.1 in this process, driven over stdin.

Started by the benchmarks (``_harness.ServerProcess``) so that the server's CPU and memory
are never counted with lettermon's. Prints ``{"url": ...}`` once listening, then answers
one JSON line per command read from stdin:

    {"command": "sign", "n": 23, "seed": 99}   add n new signatories
    {"command": "validators", "on": false}     send ETags (and answer 304) or not
    {"command": "requests"}                    the request log: [[path, status], ...]
    {"command": "reset"}                       clear the request log
    {"command": "quit"}

Run by hand: ``python benchmarks/serve_letter.py --signatures 100000`` and point a config
at the printed URL.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import letter_server
import widget
from letter_server import LetterSite, serve

letter_server._Handler.disable_nagle_algorithm = True  # see _harness.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signatures", type=int, default=20_000)
    parser.add_argument("--order", choices=("newest_first", "oldest_first"),
                        default="newest_first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-validators", action="store_true")
    args = parser.parse_args()
    site = LetterSite(widget.make_signatories(args.signatures, seed=args.seed),
                      order=args.order, validators=not args.no_validators)
    with serve(site):
        reply({"url": site.url})
        for line in sys.stdin:
            if not line.strip():
                continue
            message = json.loads(line)
            command = message["command"]
            if command == "sign":
                site.sign(widget.make_signatories(message["n"], seed=message.get("seed", 99)))
                reply({"count": len(site.rows)})
            elif command == "validators":
                site.validators = bool(message["on"])
                reply({"validators": site.validators})
            elif command == "requests":
                reply({"requests": list(site.requests)})
            elif command == "reset":
                site.requests.clear()
                reply({})
            elif command == "quit":
                reply({})
                return
            else:
                reply({"error": f"unknown command {command!r}"})


def reply(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
