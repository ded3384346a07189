"""The store tests of tests/store, on the PostgreSQL state store (fixtures in tests/pg/conftest.py).

Left out: those that read the SQLite file itself (the encrypted-at-rest check opens it with sqlite3) and the
SQLite outbox source's own tests; test_pg_store.py covers what differs on PostgreSQL.
"""

from store.test_store_claim import (
    test_a_failed_or_retrying_event_blocks_only_its_aggregate,
    test_claim_limited_to_shops,
    test_discarded_and_skipped_unblock_the_aggregate,
    test_expired_lease_of_a_crashed_owner_comes_back,
    test_live_events_go_before_backfill,
    test_only_the_head_of_an_aggregate_is_claimed,
    test_release_and_defer_spend_no_attempt,
    test_restart_with_the_same_owner_releases_its_leases_at_once,
)
from store.test_store_ingest import (
    test_business_date_is_extracted_and_bad_json_does_not_stop_ingestion,
    test_import_ignores_known_event_ids,
    test_ingest_interleaved_with_producer_and_a_rollback,
)
from store.test_store_operator import (
    test_bulk_by_filter_with_dry_run,
    test_discard_lets_the_aggregate_flow_and_spares_leased_rows,
    test_retry_unblocks_after_a_fix_and_is_audited,
    test_stats_and_detail,
)
from store.test_store_records import (
    test_backfill_lifecycle,
    test_connections_need_a_cipher,
    test_entry_recorded_before_post_then_posted,
    test_id_caches_per_shop,
    test_shops_pause_and_latest_reference_wins,
)

__all__ = [
    "test_a_failed_or_retrying_event_blocks_only_its_aggregate",
    "test_backfill_lifecycle",
    "test_bulk_by_filter_with_dry_run",
    "test_business_date_is_extracted_and_bad_json_does_not_stop_ingestion",
    "test_claim_limited_to_shops",
    "test_connections_need_a_cipher",
    "test_discard_lets_the_aggregate_flow_and_spares_leased_rows",
    "test_discarded_and_skipped_unblock_the_aggregate",
    "test_entry_recorded_before_post_then_posted",
    "test_expired_lease_of_a_crashed_owner_comes_back",
    "test_id_caches_per_shop",
    "test_import_ignores_known_event_ids",
    "test_ingest_interleaved_with_producer_and_a_rollback",
    "test_live_events_go_before_backfill",
    "test_only_the_head_of_an_aggregate_is_claimed",
    "test_release_and_defer_spend_no_attempt",
    "test_restart_with_the_same_owner_releases_its_leases_at_once",
    "test_retry_unblocks_after_a_fix_and_is_audited",
    "test_shops_pause_and_latest_reference_wins",
    "test_stats_and_detail",
]
