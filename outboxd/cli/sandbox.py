"""``outboxd sandbox``: the Pennylane simulator in the foreground, for the demo, trials and benchmarks.

Prints where it listens and one company API token per company, then serves until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

__all__ = ["add_arguments", "run"]

COMPANY_NAMES = ("Boulangerie Martin", "Cave Durand", "Fleurs de Lyon", "Librairie du Port", "Café des Arts")


def _rate(text: str) -> tuple[int, float]:
    from outboxd.pennylane_simulator.ratelimit import parse_rate_limit

    try:
        return parse_rate_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text}: a share between 0 and 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (default: 8787; 0 picks a free one)")
    parser.add_argument("--companies", type=int, default=1, help="companies to create (default: 1)")
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--rate-limit", type=_rate, default=(25, 5.0), metavar="N/SECONDS",
                       help="requests per window per token (default: 25/5, as Pennylane)")
    limit.add_argument("--no-rate-limit", action="store_true", help="no rate limit (throughput benchmarks)")
    parser.add_argument("--fail-rate", type=_share, default=0.0, help="share of API calls answered 503")
    parser.add_argument("--latency-ms", type=int, default=0, help="latency added to each API call")
    parser.add_argument("--drop-after-commit", type=_share, default=0.0,
                        help="share of POSTs whose connection is cut after the commit (unknown outcome)")
    parser.add_argument("--token-ttl", type=float, default=None, metavar="SECONDS",
                        help="real lifetime of access tokens (early expiry; expires_in still says 86400)")
    parser.add_argument("--revoke-grants", action="store_true",
                        help="every refresh answers invalid_grant (the company disconnected the app)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault RNG (reproducible runs)")
    parser.add_argument("--client-id", help="register an OAuth app with this client_id")
    parser.add_argument("--client-secret-file", help="file holding its client secret (0600)")
    parser.add_argument("--redirect-uri", action="append", default=[], help="its redirect URI (repeatable)")


def run(args: argparse.Namespace) -> int:
    from outboxd.exceptions import ConfigError

    try:
        return asyncio.run(_serve(args))
    except ConfigError as exc:
        print(f"outboxd sandbox: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"outboxd sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1


async def _serve(args: argparse.Namespace) -> int:
    from outboxd.exceptions import ConfigError
    from outboxd.pennylane_simulator import Faults, Sandbox, run_sandbox
    from outboxd.signals import on_stop_signals

    faults = Faults(fail_rate=args.fail_rate, latency_ms=args.latency_ms, drop_after_commit=args.drop_after_commit,
                    access_token_ttl=args.token_ttl, revoke_grants=args.revoke_grants, seed=args.seed)
    sandbox = Sandbox(rate_limit=None if args.no_rate_limit else args.rate_limit, faults=faults)
    if args.client_id:
        if not args.client_secret_file or not args.redirect_uri:
            raise ConfigError("--client-id", "needs --client-secret-file and at least one --redirect-uri")
        from outboxd.secrets import read_secret

        secret = read_secret(args.client_secret_file)
        sandbox.register_oauth_app(args.client_id, secret.reveal(), args.redirect_uri)
    tokens = []
    for n in range(max(args.companies, 1)):
        name = COMPANY_NAMES[n % len(COMPANY_NAMES)] + (f" {n // len(COMPANY_NAMES) + 1}" if n >= 5 else "")
        company = sandbox.add_company(name)
        tokens.append((company, sandbox.issue_api_token(company.id)))
    stop = asyncio.Event()
    async with run_sandbox(sandbox, host=args.host, port=args.port) as running:
        limit = sandbox.limiter
        print(f"Pennylane sandbox on {running.base_url}", flush=True)
        print(f"  api        {running.api_url}")
        print(f"  authorize  {running.authorize_url}")
        print(f"  token      {running.token_url}")
        print(f"  revoke     {running.revoke_url}")
        print(f"  inspect    {running.base_url}/_sandbox/companies  /_sandbox/stats  POST /_sandbox/faults")
        print(f"  rate limit {f'{limit.limit}/{limit.window:g}s per token' if limit.enabled else 'off'}")
        for company, token in tokens:
            print(f"  company {company.id} {company.name!r}: API token {token}")
        print("Ctrl-C to stop.", flush=True)
        with on_stop_signals(lambda *, force: stop.set()):
            await stop.wait()
    return 0
