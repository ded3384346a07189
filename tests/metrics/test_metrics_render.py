"""The Prometheus text a scraper reads: counters, gauges given at scrape time, the latency histogram."""

from __future__ import annotations

from outboxd.metrics import Metrics


def test_counters_gauges_and_histogram_in_the_text_format() -> None:
    metrics = Metrics()
    metrics.inc("outboxd_http_responses_total", shop="s1", status="201")
    metrics.inc("outboxd_http_responses_total", 2, shop="s1", status="201")
    metrics.inc("outboxd_http_responses_total", shop='a "quoted"\nshop', status="429")
    metrics.observe_latency(0.03)
    metrics.observe_latency(7.0)
    metrics.observe_latency(1000.0)
    gauges = [("outboxd_queue_depth", (("shop", "s1"),), 3.0), ("outboxd_queue_depth", (("shop", "s2"),), 0.0)]
    lines = metrics.render(gauges).splitlines()
    assert lines[:3] == [
        "# TYPE outboxd_http_responses_total counter",
        'outboxd_http_responses_total{shop="a \\"quoted\\"\\nshop",status="429"} 1',
        'outboxd_http_responses_total{shop="s1",status="201"} 3',
    ]
    assert lines[3:6] == [
        "# TYPE outboxd_queue_depth gauge",
        'outboxd_queue_depth{shop="s1"} 3',
        'outboxd_queue_depth{shop="s2"} 0',
    ]
    assert metrics.value("outboxd_http_responses_total", status="201", shop="s1") == 3
    buckets = {line.split("{")[1].split("}")[0]: line.rsplit(" ", 1)[1] for line in lines if "_bucket" in line}
    assert (buckets['le="0.025"'], buckets['le="0.05"'], buckets['le="10"'], buckets['le="+Inf"']) == (
        "0", "1", "2", "3",
    )  # fmt: skip
    assert lines[-2:] == ["outboxd_delivery_latency_seconds_sum 1007.03", "outboxd_delivery_latency_seconds_count 3"]
