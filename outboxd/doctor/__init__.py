"""``outboxd doctor``: checks of the configuration, databases, secrets, daemon, disk, Pennylane and clock.

Each check is a small function returning a :class:`CheckResult`; :func:`run_doctor` runs them all and
:func:`render_text` / :func:`render_json` print the report. See docs/operations.md (Doctor) for each check's fix.
"""

from outboxd.doctor.databases import check_migrations, check_outbox_sqlite, check_state_database, contract_columns
from outboxd.doctor.files import SecretRef, check_config, check_secret, secret_path, secret_refs
from outboxd.doctor.host import DISK_FAIL_BYTES, DISK_WARN_BYTES, check_disk, check_listeners, check_socket
from outboxd.doctor.remote import CLOCK_FAIL_SECONDS, CLOCK_WARN_SECONDS, check_clock, check_shop
from outboxd.doctor.report import render_json, render_text
from outboxd.doctor.result import CheckResult, Status, exit_code
from outboxd.doctor.runner import run_checks, run_doctor
from outboxd.doctor.tokens import StoredToken, check_stored_tokens, read_stored_tokens

__all__ = [
    "CLOCK_FAIL_SECONDS",
    "CLOCK_WARN_SECONDS",
    "DISK_FAIL_BYTES",
    "DISK_WARN_BYTES",
    "CheckResult",
    "SecretRef",
    "Status",
    "StoredToken",
    "check_clock",
    "check_config",
    "check_disk",
    "check_listeners",
    "check_migrations",
    "check_outbox_sqlite",
    "check_secret",
    "check_shop",
    "check_socket",
    "check_state_database",
    "check_stored_tokens",
    "contract_columns",
    "exit_code",
    "read_stored_tokens",
    "render_json",
    "render_text",
    "run_checks",
    "run_doctor",
    "secret_path",
    "secret_refs",
]
