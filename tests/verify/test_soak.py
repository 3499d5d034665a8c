"""A compressed soak: mixed intake and dashboard reads, with memory, descriptors and
the write queue sampled, failing on growth without bound.

A real `fleetward serve` takes distinct webhooks and agent batches from a few
client threads while a person-like client reads the dashboard and the API
(alerts, tickets, a machine's timeline). 240 times in the run (30 in the small
one) the server process's resident memory (VmRSS) and threads (/proc/<pid>/status),
its open file descriptors (/proc/<pid>/fd) and the write jobs waiting for
SQLite's writer (fleetward_write_queue_depth on /metrics) are sampled.

Growth without bound, the rule: the samples are cut in thirds; the first is
warm-up (pools, caches, the allocator settling). A measure fails when the
median of the last third is above the median of the middle third by more
than its slack: descriptors 16 and threads 8 (keep-alive connections and
pooled database connections come and go), queued write jobs 64 (one
group-commit batch), and memory 16 MiB plus 1 KiB for each delivery answered
between the two medians. That last part is for the bounded caches, which
fill at the soak's rate through the whole run (a webhook occurrence is
remembered for replays up to 200,000 of them, an agent batch's digest up to
20,000; about 0.5 KiB a delivery was measured). At full size, three minutes a
third, that catches memory leaking about 100 KiB a second beyond the caches'
allowance, or a descriptor or thread leaked every ten seconds; the small size
only proves the check runs.

At the end every acknowledged item must be stored exactly once, and no
request may have had a 5xx or no answer.
"""

from __future__ import annotations

import os
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.agent_live import LiveServer
from tests.verify.ledger import Ledger, size
from tests.verify.support import (
    Answers,
    Traffic,
    alongside,
    fleetward_server,
    logged_in,
    losses,
    send,
)

SENDERS = 3
BATCH_SIZE = 100
SAMPLES = 240
MIB = 1024 * 1024
# measure: (relative slack, absolute slack) of the last third's median over the middle's
# measure: slack of the last third's median over the middle third's
SLACK = {"rss_bytes": 16 * MIB, "open_fds": 16, "threads": 8, "write_queue_depth": 64}
CACHES_PER_DELIVERY = 1024  # bytes of memory growth allowed for each delivery answered
QUEUE_GAUGE = re.compile(r"^fleetward_write_queue_depth (\S+)$", re.MULTILINE)


@dataclass
class Samples:
    series: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in SLACK})
    delivered: list[int] = field(default_factory=list)  # deliveries answered by each sample

    def take(self, pid: int, client: httpx.Client, delivered: int) -> None:
        status = Path(f"/proc/{pid}/status").read_text()
        found = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        self.series["rss_bytes"].append(int(found["VmRSS"].split()[0]) * 1024)
        self.series["threads"].append(int(found["Threads"]))
        self.series["open_fds"].append(len(os.listdir(f"/proc/{pid}/fd")))
        metrics = client.get("/metrics").text
        depth = QUEUE_GAUGE.search(metrics)
        assert depth, "no fleetward_write_queue_depth on /metrics"
        self.series["write_queue_depth"].append(float(depth.group(1)))
        self.delivered.append(delivered)

    def medians(self, values: list[float] | list[int]) -> tuple[float, float]:
        """The medians of the middle and the last third (the first is warm-up)."""
        third = len(self.delivered) // 3
        assert third >= 3, f"only {len(self.delivered)} samples"
        return statistics.median(values[third : 2 * third]), statistics.median(values[2 * third :])

    def growth(self) -> dict[str, str]:
        """Each measure that grew past its slack, with its two medians."""
        middle_delivered, last_delivered = self.medians(self.delivered)
        grown = {}
        for measure, values in self.series.items():
            middle, last = self.medians(values)
            slack: float = SLACK[measure]
            if measure == "rss_bytes":
                slack += CACHES_PER_DELIVERY * (last_delivered - middle_delivered)
            if last > middle + slack:
                grown[measure] = f"middle third's median {middle:.0f}, last third's {last:.0f}"
        return grown

    def memory(self) -> str:
        middle, last = self.medians(self.series["rss_bytes"])
        return f"RSS {middle / MIB:.0f} then {last / MIB:.0f} MiB"


def sample_for(
    server: LiveServer, samples: Samples, seconds: float, stream: Answers
) -> Callable[[threading.Event], None]:
    """Not a fault this time: the soak's clock, sampling as it goes until `seconds` passed."""

    def soak(stop: threading.Event) -> None:
        assert server.process is not None
        pid = server.process.pid
        every = seconds / size(30, SAMPLES)
        ends = time.monotonic() + seconds
        with httpx.Client(base_url=server.url, timeout=60) as client:
            while time.monotonic() < ends and not stop.wait(every):
                samples.take(pid, client, stream.answered)

    return soak


def read_like_a_person(
    server: LiveServer, traffic: Traffic, stop: threading.Event, reads: Counter[int]
) -> None:
    """The dashboard's and the API's reads, one after another until `stop`."""
    pc_id = traffic.agents[0][0]
    pages = ["/alerts", "/tickets", f"/agents/{pc_id}/timeline"]
    api = ["/api/v1/alerts?limit=50", "/api/v1/tickets?limit=50"]
    api.append(f"/api/v1/timeline?pc_id={pc_id}&limit=200")
    browser = logged_in(server)
    client = httpx.Client(base_url=server.url, headers=server.headers, timeout=60)
    try:
        while not stop.is_set():
            for path in pages:
                reads[_status(browser, path)] += 1
            for path in api:
                reads[_status(client, path)] += 1
    finally:
        browser.close()
        client.close()


def _status(client: httpx.Client, path: str) -> int:
    try:
        return client.get(path).status_code
    except httpx.TransportError:
        return 0


def test_soak_holds_memory_descriptors_and_queues_flat(tmp_path: Path, ledger: Ledger) -> None:
    seconds = size(10, 540)
    line = ledger.line("soak (mixed intake and reads)")
    line.note = f"{seconds} s"
    samples = Samples()
    stream, stop = Answers(), threading.Event()
    reads: Counter[int] = Counter()
    with fleetward_server(tmp_path) as server:
        traffic = Traffic.prepare(server)
        reading = threading.Event()  # the reader's own: its errors are raised here too
        with (
            alongside(lambda done: read_like_a_person(server, traffic, done, reads), reading),
            alongside(sample_for(server, samples, seconds, stream), stop),
        ):
            send(server.url, traffic.mix(BATCH_SIZE, stop), stream, SENDERS)
        stored, stray_tickets = traffic.stored()

    lost = losses(stream.acknowledged, stored, stray_tickets)
    failed_reads = sum(n for status, n in reads.items() if status >= 500 or status == 0)
    server_errors = stream.server_errors() + stream.statuses[0] + failed_reads
    grown = samples.growth()
    line.note += f", {samples.memory()}, " + (f"grew: {', '.join(grown)}" if grown else "flat")
    line.add(load=stream.answered + reads.total(), losses=lost, server_errors=server_errors)
    assert lost == 0, f"{lost} acknowledged items missing or duplicated"
    assert server_errors == 0, (stream.statuses, reads)
    assert set(stream.statuses) == {200} and set(reads) == {200}, (stream.statuses, reads)
    assert not grown, grown
