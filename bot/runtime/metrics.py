"""The process's Prometheus metrics: backlogs and open alerts read when scraped, sends, send
failures and sweeps counted as they happen (names fixed in the contract)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlmodel import Session

from consent.audit_anchors import last_anchor
from storage.repo import alerts, inbox, outbox

VERSION = "0.1.0"


class _Backlogs(Collector):
    """Read from the database at each scrape: several processes share one, and its rows are
    the truth (a counter kept in one process would miss the others' work)."""

    def __init__(self, engine: Engine, anchor_file: Path | None) -> None:
        self._engine = engine
        self._anchor_file = anchor_file

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with Session(self._engine) as session:
            pending = inbox.count_pending(session)
            queued = outbox.pending_by_channel(session)
            open_alerts = alerts.open_by_rule(session)
        yield GaugeMetricFamily("stemme_inbox_pending",
                                "Inbound messages stored and not processed yet", value=pending)
        by_channel = GaugeMetricFamily("stemme_outbox_pending",
                                       "Messages waiting to be sent", labels=["channel"])
        for channel, count in sorted(queued.items()):
            by_channel.add_metric([channel], count)
        yield by_channel
        by_rule = GaugeMetricFamily("stemme_alerts_open",
                                    "Alerts neither acknowledged nor cleared", labels=["rule"])
        for rule, count in sorted(open_alerts.items()):
            by_rule.add_metric([rule], count)
        yield by_rule
        anchor = last_anchor(self._anchor_file) if self._anchor_file else None
        if anchor is not None:  # the hash as a label: one series, replaced at each anchor
            anchored = GaugeMetricFamily(
                "stemme_audit_anchor_sequence", "The audit chain's head as last anchored "
                "outside the database (its sequence number; the hash is a label)",
                labels=["hash"])
            anchored.add_metric([anchor.hash], anchor.seq)
            yield anchored


class Metrics:
    """One registry per process (tests build several apps in one process, each its own)."""

    def __init__(self, engine: Engine, anchor_file: Path | None = None) -> None:
        self.registry = CollectorRegistry()
        Info("stemme", "Stemme build information", registry=self.registry).info(
            {"version": VERSION})
        Gauge("stemme_up", "1 while the process serves", registry=self.registry).set(1)
        self.sent = Counter("stemme_messages_sent", "Messages the provider accepted",
                            ["channel"], registry=self.registry)
        self.failures = Counter("stemme_send_failures",
                                "Send attempts that did not go through (retried or given up)",
                                ["channel"], registry=self.registry)
        self.sweep_seconds = Histogram("stemme_sweep_duration_seconds",
                                       "How long one sweep (plan, start, remind, expire) took",
                                       registry=self.registry)
        self.registry.register(_Backlogs(engine, anchor_file))

    def send_outcome(self, channel: str, outcome: str) -> None:
        """Count one send attempt's outcome ("sent", "retry", "stop" or "failed")."""
        (self.sent if outcome == "sent" else self.failures).labels(channel).inc()
