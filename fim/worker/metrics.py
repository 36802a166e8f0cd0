"""The worker's Prometheus metrics (one registry per worker, served at GET /metrics)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class WorkerMetrics:
    """Counters, gauges and histograms of one worker; names start with `codellama_worker_`."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        disable_created_metrics()  # `*_created` series only add noise to a worker's page
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("codellama_worker_requests", "HTTP requests answered, by path "
                                "and status code", ["path", "status"], registry=r)
        self.errors = Counter("codellama_worker_errors", "Requests refused or failed, by kind",
                              ["kind"], registry=r)
        self.latency = Histogram("codellama_worker_request_latency_seconds", "Completion "
                                 "request latency, arrival to last byte", buckets=_LATENCY_BUCKETS,
                                 registry=r)
        self.first_token = Histogram("codellama_worker_time_to_first_token_seconds", "Arrival "
                                     "to first generated token", buckets=_LATENCY_BUCKETS,
                                     registry=r)
        self.queue_wait = Histogram("codellama_worker_queue_wait_seconds", "Time a generation "
                                    "waited in the queue", buckets=_LATENCY_BUCKETS, registry=r)
        self.prompt_tokens = Counter("codellama_worker_prompt_tokens", "Prompt tokens received",
                                     registry=r)
        self.reused_tokens = Counter("codellama_worker_reused_prompt_tokens", "Prompt tokens "
                                     "served from a kept KV cache slot", registry=r)
        self.generated_tokens = Counter("codellama_worker_generated_tokens", "Tokens generated",
                                        registry=r)
        self.generations = Counter("codellama_worker_generations", "Generations finished, by "
                                   "stop reason", ["reason"], registry=r)
        self.cancellations = Counter("codellama_worker_cancellations", "Generations stopped "
                                     "because the client went away", registry=r)
        self.queue_depth = Gauge("codellama_worker_queue_depth", "Generations waiting for the "
                                 "model", registry=r)
        self.running = Gauge("codellama_worker_running", "Generations on the model now",
                             registry=r)
        self.cache_slots = Gauge("codellama_worker_cache_slots", "Users whose KV cache is kept",
                                 registry=r)
        self.batch_size = Histogram("codellama_worker_batch_size", "Rows in each batched "
                                    "forward step", buckets=_BATCH_BUCKETS, registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
