"""What each service counts for Prometheus (prometheus-client). Labels name kinds, channels,
reasons and jobs, never a patient, a chat or a text.

The web app answers `GET /metrics`; the scheduler and the bridge, which serve no HTTP,
answer on their own port when `CARELOOP_SCHEDULER_METRICS_PORT` /
`CARELOOP_BRIDGE_METRICS_PORT` is set (`assistant/interfaces/probes.py`, beside their
`/healthz` and `/readyz`). Each process counts its own work; Prometheus adds
the copies up."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SENT = Counter("careloop_messages_sent_total", "Messages delivered, by kind and channel",
               ["kind", "channel"])
FAILED = Counter("careloop_messages_failed_total",
                 "Messages not delivered this time (retried, or the chat unreachable)",
                 ["kind", "channel", "reason"])
THROTTLED = Counter("careloop_messages_throttled_total",
                    "429 answers (Too Many Requests) from the messaging service", ["channel"])
REMINDER_LATENESS = Histogram(
    "careloop_reminder_lateness_seconds", "From a reminder's due time to its delivery",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600))
CHAT_TURN = Histogram("careloop_chat_turn_seconds",
                      "From a patient's message to the assistant's answers",
                      buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60))
RASA_AVAILABLE = Gauge("careloop_rasa_available",
                       "1 when the last call to the Rasa server was answered, else 0")
ALERTS_OPENED = Counter("careloop_alerts_opened_total", "Alerts opened for the care team",
                        ["kind", "severity"])
OUTBOX_DEPTH = Gauge("careloop_outbox_waiting", "Messages due and not yet delivered")
OUTBOX_OLDEST = Gauge("careloop_outbox_oldest_seconds",
                      "How long the oldest due, undelivered message has waited")
WEBHOOK = Counter("careloop_webhook_updates_total",
                  "Updates posted to a bridge's webhook, by its answer: handled, duplicate "
                  "(handled before), busy (another bridge has it), failed, unclaimed "
                  "(database out of reach), refused (no secret, unreadable)", ["answer"])
TICK = Histogram("careloop_scheduler_job_seconds", "How long each scheduler job's run took",
                 ["job"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

