"""What every ftaas process's /metrics shares (torch-free): a registry with the process and GC collectors, one
exposition that Prometheus 2 and 3 both parse, and the accelerators' memory and utilisation from NVML.

- One registry per component instance (prometheus_client's global REGISTRY is never used), so several apps or
  engines can live in one process (the tests create many).
- No `_created` series: `disable_created_metrics()` is process-wide in prometheus_client; every ftaas process
  wants it off, so each registry made here turns it off.
- The content type is negotiated from the scraper's Accept header by prometheus_client itself (OpenMetrics when
  asked for, else the text format `text/plain; version=0.0.4; charset=utf-8`), and sent as one header.
"""

import logging
import threading

from prometheus_client import (
    CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector, disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)



def new_registry() -> CollectorRegistry:
    """A registry with `process_*` (Linux), `python_gc_*` and `python_info`, and no `_created` series."""
    disable_created_metrics()
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The registry's samples in the format the scraper asked for, and that format's content type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


class AcceleratorCollector(Collector):
    """Each NVIDIA GPU's memory and utilisation, read from NVML at scrape time (nvidia-ml-py, no torch).

    Absent on a machine without NVML (CPU only, or nvidia-ml-py not installed): no series at all, never an error.
    Labels: `device` (the NVML index, as CUDA_VISIBLE_DEVICES numbers them on a node), bounded by the node's GPUs.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._lock = threading.Lock()
        self._nvml = None
        self._tried = False

    def _init(self):
        with self._lock:
            if not self._tried:
                self._tried = True
                try:
                    import pynvml

                    pynvml.nvmlInit()
                    self._nvml = pynvml
                except Exception as exc:  # noqa: BLE001 - no NVML here: no accelerator series
                    log.info("no accelerator metrics: NVML is not available (%s)", type(exc).__name__)
        return self._nvml

    def collect(self):
        nvml = self._init()
        if nvml is None:
            return
        used = GaugeMetricFamily(f"{self.prefix}_accelerator_memory_used_bytes", "Accelerator memory in use (NVML)",
                                 labels=["device"])
        total = GaugeMetricFamily(f"{self.prefix}_accelerator_memory_total_bytes", "Accelerator memory (NVML)",
                                  labels=["device"])
        busy = GaugeMetricFamily(
            f"{self.prefix}_accelerator_utilization_ratio",
            "Share of the last sample period in which a kernel ran on the accelerator (NVML, 0 to 1)", labels=["device"],
        )
        try:
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                used.add_metric([str(index)], float(memory.used))
                total.add_metric([str(index)], float(memory.total))
                try:
                    busy.add_metric([str(index)], nvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100)
                except nvml.NVMLError:  # not supported on some devices (MIG instances)
                    pass
        except nvml.NVMLError as exc:
            log.warning("accelerator metrics: NVML failed: %s", exc)
            return
        yield used
        yield total
        yield busy

    def describe(self):
        return []  # collected at scrape time: registering it never calls NVML
