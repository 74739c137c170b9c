"""/metrics carries the contract's metrics with real values while messages flow."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from consent import audit
from storage.models import Participant, utcnow
from tests.fakes.server import Fault
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.pipeline.harness import Stemme

PHONE = "+4520304050"


async def scrape(stemme: Stemme) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with stemme.client.get("/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_show_backlogs_sends_failures_sweeps_and_open_alerts(
    stemme: Stemme, fake_twilio: FakeTwilioAPI
) -> None:
    # Arrange: a parent by SMS whose survey is queued, and a risk message raising an alert.
    parent, _ = stemme.add("parent", "sms", phone="+45 20 30 40 50")
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, parent), utcnow())
        session.commit()
    queued = await scrape(stemme)

    # Act: send it (Twilio fails the first attempt once), let the parent answer with words
    # that say they are in danger, sweep.
    fake_twilio.inject(Fault.server_error(), times=1)
    await stemme.settle()  # through the failed one's backoff: it is due within seconds
    assert await stemme.post_sms("han slår mig og jeg er bange", PHONE,
                                 sid="SM" + "7" * 32) == 200
    await stemme.settle()
    await stemme.services.sweep_job()
    after = await scrape(stemme)

    # Assert
    assert queued[("stemme_outbox_pending", (("channel", "sms"),))] == 2  # greeting, items
    assert queued[("stemme_inbox_pending", ())] == 0
    assert after.get(("stemme_outbox_pending", (("channel", "sms"),)), 0) == 0
    assert after[("stemme_messages_sent_total", (("channel", "sms"),))] >= 3
    assert after[("stemme_send_failures_total", (("channel", "sms"),))] == 1
    assert after[("stemme_alerts_open", (("rule", "safety"),))] == 1
    assert after[("stemme_sweep_duration_seconds_count", ())] >= 1


async def test_the_daily_job_anchors_the_audit_head_and_metrics_show_it(stemme: Stemme) -> None:
    # Arrange: audited work.
    with Session(stemme.rt.engine) as session:
        audit.append(session, actor="cw@example.org", action="case.view", target="case:x")
        session.commit()
    before = await scrape(stemme)

    # Act
    done = stemme.services.daily()
    again = stemme.services.daily()  # the head has not moved: nothing more is written
    after = await scrape(stemme)

    # Assert
    anchored = [(labels, value) for (name, labels), value in after.items()
                if name == "stemme_audit_anchor_sequence"]
    assert not any(name == "stemme_audit_anchor_sequence" for name, _ in before)
    assert (done["audit_anchored"], again["audit_anchored"]) == (1, 0)
    assert len(anchored) == 1 and anchored[0][1] >= 1
    assert len(dict(anchored[0][0])["hash"]) == 64
