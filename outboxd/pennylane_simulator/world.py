"""The simulated Pennylane world: companies, credentials, faults, rate limit and counters, all in memory.

Tests and the demo drive it directly (``add_company``, ``approve``, ``trial_balance``); the HTTP layer
only reads and changes it through the same objects.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit

from outboxd.pennylane_simulator.faults import Faults
from outboxd.pennylane_simulator.model import DEFAULT_ACCOUNTS, DEFAULT_JOURNALS, Company, Entry
from outboxd.pennylane_simulator.ratelimit import RateLimiter
from outboxd.pennylane_simulator.tokens import ACCESS_TOKEN_LIFETIME, ALL_SCOPES, TokenStore

__all__ = ["Sandbox"]

FIRST_ID = 1000  # ids are int64 in Pennylane; starting high keeps them from looking like list indexes


class Sandbox:
    """Everything a simulated Pennylane holds.

    ``clock`` returns Unix seconds (token expiry, rate-limit windows, default fiscal years);
    ``rate_limit`` is (requests, seconds) per token, or None to switch it off for benchmarks;
    ``access_token_lifetime`` is the seconds OAuth access tokens live and ``expires_in`` says.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        rate_limit: tuple[int, float] | None = (25, 5.0),
        faults: Faults | None = None,
        access_token_lifetime: int = ACCESS_TOKEN_LIFETIME,
    ) -> None:
        self.clock = clock
        self.faults = faults or Faults()
        limit, window = rate_limit or (25, 5.0)
        self.limiter = RateLimiter(clock, limit, window, enabled=rate_limit is not None)
        self.tokens = TokenStore(clock, self._access_ttl, access_token_lifetime)
        self.companies: dict[int, Company] = {}
        self.request_count: Counter[str] = Counter()  # per token (or "-" without one)
        self.throttled_count: Counter[str] = Counter()  # 429s per token
        self._ids = itertools.count(FIRST_ID)

    def _access_ttl(self) -> float:
        ttl = self.faults.access_token_ttl
        return self.tokens.lifetime if ttl is None else ttl

    def next_id(self) -> int:
        return next(self._ids)

    def now_iso(self) -> str:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"
        )

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).date()

    def add_company(self, name: str, *, fiscal_years: Iterable[tuple[str, str, str]] | None = None) -> Company:
        """A company with a small French chart, the usual journals and fiscal years.

        ``fiscal_years`` are (start, finish, status) triples; by default the previous calendar year is
        closed and the current one open.
        """
        company = Company(self.next_id(), name, f"{len(self.companies) + 1:09d}", self.next_id, self.now_iso)
        if fiscal_years is None:
            year = self.today().year
            fiscal_years = ((f"{year - 1}-01-01", f"{year - 1}-12-31", "closed"),
                            (f"{year}-01-01", f"{year}-12-31", "open"))
        for start, finish, status in fiscal_years:
            company.add_fiscal_year(start, finish, status)
        for code, label, type_ in DEFAULT_JOURNALS:
            company.add_journal(code, label, type_)
        for number, label, vat_rate in DEFAULT_ACCOUNTS:
            company.add_account(number, label, vat_rate)
        self.companies[company.id] = company
        return company

    def company(self, company_id: int) -> Company:
        try:
            return self.companies[company_id]
        except KeyError:
            raise ValueError(f"no company {company_id}") from None

    def register_oauth_app(self, client_id: str, client_secret: str, redirect_uris: Iterable[str]) -> None:
        self.tokens.register_app(client_id, client_secret, tuple(redirect_uris))

    def issue_api_token(self, company_id: int, scopes: Iterable[str] = ALL_SCOPES) -> str:
        """A company API token (generated in Pennylane's settings): no refresh, no expiry."""
        self.company(company_id)
        return self.tokens.api_token(company_id, tuple(scopes))

    def approve(self, authorize_url: str, company_id: int, *, scopes: Iterable[str] | None = None) -> str:
        """What a person clicking "Authorize" for ``company_id`` does: the redirect URL with code and state.

        Raises ValueError when the authorize URL is not one Pennylane would accept.
        """
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        self.tokens.check_app(client_id, redirect_uri)
        self.company(company_id)
        if query.get("response_type") != "code":
            raise ValueError("response_type must be 'code'")
        method = query.get("code_challenge_method", "S256" if "code_challenge" in query else "")
        if method not in {"", "S256"}:
            raise ValueError(f"unsupported code_challenge_method {method!r} (only S256)")
        granted = tuple(scopes) if scopes is not None else tuple(query.get("scope", "").split()) or ALL_SCOPES
        code = self.tokens.issue_code(client_id, redirect_uri, company_id, granted, query.get("code_challenge", ""))
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        separator = "&" if urlsplit(redirect_uri).query else "?"
        return f"{redirect_uri}{separator}{urlencode(params)}"

    def expire_access_tokens(self) -> int:
        """Early expiry: every OAuth access token issued so far is dead now (refresh tokens still work)."""
        return self.tokens.expire_all()

    def entries(self, company_id: int) -> list[Entry]:
        """The company's entries, oldest first."""
        return list(self.company(company_id).entries.values())

    def trial_balance(self, company_id: int) -> dict[str, tuple[int, int]]:
        """Account number -> (total debit, total credit) in cents, over every entry of the company."""
        company = self.company(company_id)
        totals: dict[int, list[int]] = {}
        for entry in company.entries.values():
            for line in entry.lines:
                pair = totals.setdefault(line.ledger_account_id, [0, 0])
                pair[0] += line.debit
                pair[1] += line.credit
        return {company.accounts[a].number: (d, c) for a, (d, c) in sorted(totals.items(),
                key=lambda item: company.accounts[item[0]].number)}
