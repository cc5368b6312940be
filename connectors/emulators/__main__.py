"""`python -m connectors.emulators dataverse|finops --port N [--count accounts=1000 ...] [--seed 7]
[--extra-client ID:SECRET ...]`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from pathlib import Path

from connectors.emulators import KINDS, start
from connectors.emulators.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from connectors.emulators.certs import DEFAULT_CERT_PATH


def _count(text: str) -> tuple[str, int]:
    name, sep, number = text.partition("=")
    if not sep or not number.isdigit():
        raise argparse.ArgumentTypeError(f"expected ENTITYSET=N, got {text!r}")
    return name, int(number)


def _client(text: str) -> tuple[str, str]:
    client_id, sep, secret = text.partition(":")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError(f"expected CLIENT_ID:SECRET, got {text.split(':', 1)[0]!r}:...")
    return client_id, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors.emulators", description=__doc__)
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--cert", type=Path, default=DEFAULT_CERT_PATH,
                        help="certificate file clients trust; created with its .key file if missing")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--extra-client", type=_client, action="append", default=[], metavar="CLIENT_ID:SECRET",
                        help="one more registered application, an application user with limits of its own "
                             "(repeatable)")
    parser.add_argument("--client-cert", type=Path, action="append", default=[],
                        help="PEM certificate whose key may sign client assertions (repeatable)")
    parser.add_argument("--count", type=_count, action="append", default=[], metavar="ENTITYSET=N",
                        help="seed N records of an entity set (repeatable), e.g. --count accounts=1000")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the seeded data")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")

    emulator = start(args.kind, cert_path=args.cert, port=args.port, client_id=args.client_id,
                     client_secret=args.client_secret, background=False)
    for client_id, secret in args.extra_client:
        emulator.app.identity.register_client(client_id, secret)
    for path in args.client_cert:
        emulator.app.identity.register_certificate(path.read_bytes())
    if args.count:
        with emulator.app.store.lock:
            created = emulator.app.seed(dict(args.count), args.seed)
        logging.info("seeded %s", ", ".join(f"{n} {name}" for name, n in created.items()))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{args.kind} emulator at {emulator.api_url} (certificate {emulator.cert_path})", flush=True)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        emulator.server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
