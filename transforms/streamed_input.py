"""A local multi-process run's bundle input, streamed to its SDK workers as a cluster runner streams it: in
element-aligned chunks of at most ``CHUNK`` bytes, *after* the ProcessBundleRequest, with the worker's outputs drained
concurrently — instead of the whole input first, as one message.

Why: Beam 2.77's FnApiRunner (``--direct_running_mode multi_processing``) runs each stage as one bundle per worker
over 1/num_workers of the stage's input. ``GroupingBuffer.partition`` (``fn_api_runner/execution.py``) encodes each
worker's whole share of a GroupByKey output into **one** ``bytes``, and ``BundleManager.process_bundle`` writes
every input into one data stream *without flushing* and closes it — one ``Elements.Data`` message holding the whole
share — before it even sends the ProcessBundleRequest. The SDK worker holds that message (gRPC receive buffer,
protobuf, ``bytes``) for the whole bundle, so its RSS grows with the corpus (660 → 1,315 MB per worker from 10k to
100k documents), and past 2 GiB per worker share the message cannot be sent at all (protobuf's limit: ~1.5M
documents of ~2.7 KB on 2 workers). With this, from 10k to 1M documents a worker's peak grows 1.20× at 1 MB chunks
(``bench/SCALE.md``, "Session 9").

``LeanWorkersRunner`` (``transforms/local_runner.py``) installs it for the run and removes it after; gRPC workers
only (an embedded worker runs a request as it is pushed, so it keeps Beam's order). ``bench/scale.py
--bounded-input`` installs it on the DirectRunner's own FnApiRunner. It changes how bytes reach the worker, never
which elements a bundle holds or their order, so outputs are identical (``bench/scale.py`` rows compare digests).
Written against Beam 2.77's two functions, and installed only on that Beam (``SUPPORTED``).
"""
from __future__ import annotations

import threading

CHUNK = 1_000_000
"""Bytes per data-plane message: what Beam's Java runner side sends (``BeamFnDataOutboundAggregator.
DEFAULT_BUFFER_LIMIT_BYTES``, the Flink and Spark job servers); the scale bench also ran 8 MiB."""
SUPPORTED = "2.77."


def _chunked_partition(self, n: int):
    """``GroupingBuffer.partition`` with each part cut into element-aligned chunks of ≤ CHUNK bytes."""
    from apache_beam.coders.coder_impl import create_OutputStream
    from apache_beam.transforms import trigger
    from apache_beam.transforms.window import GlobalWindow, GlobalWindows
    from apache_beam.utils import windowed_value

    if not self._grouped_output:
        if self._windowing.is_default():
            globally_window = GlobalWindows.windowed_value(
                None, timestamp=GlobalWindow().max_timestamp(),
                pane_info=windowed_value.PaneInfo(is_first=True, is_last=True,
                                                  timing=windowed_value.PaneInfoTiming.ON_TIME, index=0,
                                                  nonspeculative_index=0)).with_value

            def windowed_key_values(key, values):
                return [globally_window((key, values))]
        else:
            windowed_key_values = trigger.create_trigger_driver(self._windowing, True).process_entire_key
        coder_impl = self._post_grouped_coder.get_impl()
        key_coder_impl = self._key_coder.get_impl()
        parts: list[list[bytes]] = [[] for _ in range(n)]
        streams = [create_OutputStream() for _ in range(n)]
        for idx, (encoded_key, windowed_values) in enumerate(self._table.items()):
            k = idx % n
            for wkvs in windowed_key_values(key_coder_impl.decode(encoded_key), windowed_values):
                coder_impl.encode_to_stream(wkvs, streams[k], True)
            if streams[k].size() >= CHUNK:
                parts[k].append(streams[k].get())
                streams[k] = create_OutputStream()
        for k, s in enumerate(streams):
            if s.size():
                parts[k].append(s.get())
        self._grouped_output = parts
        self._table.clear()
    return self._grouped_output


def _streamed_process_bundle(self, inputs, expected_outputs, fired_timers, expected_output_timers, dry_run=False):
    """``BundleManager.process_bundle`` (Beam 2.77) reordered: request first, then inputs in ≤ CHUNK messages
    from a sender thread while this thread drains the worker's outputs (both sides' queues are bounded, so
    sending everything before reading — or before the request — would block)."""
    from apache_beam.portability.api import beam_fn_api_pb2
    from apache_beam.runners.portability.fn_api_runner.fn_runner import BundleManager, ProgressRequester

    from apache_beam.runners.portability.fn_api_runner.worker_handlers import GrpcWorkerHandler

    handlers = self.bundle_context_manager.worker_handlers
    if self._select_split_manager() or not all(isinstance(h, GrpcWorkerHandler) for h in handlers):
        return _ORIGINAL["process_bundle"](self, inputs, expected_outputs, fired_timers, expected_output_timers,
                                           dry_run)
    with BundleManager._lock:
        BundleManager._uid_counter += 1
        process_bundle_id = "bundle_%s" % BundleManager._uid_counter
        self._worker_handler = self.bundle_context_manager.worker_handlers[
            BundleManager._uid_counter % len(self.bundle_context_manager.worker_handlers)]
    process_bundle_req = beam_fn_api_pb2.InstructionRequest(
        instruction_id=process_bundle_id,
        process_bundle=beam_fn_api_pb2.ProcessBundleRequest(
            process_bundle_descriptor_id=self.bundle_context_manager.process_bundle_descriptor.id,
            cache_tokens=[next(self._cache_token_generator)]))
    result_future = self._worker_handler.control_conn.push(process_bundle_req)
    errors: list = []

    def send() -> None:
        try:
            for transform_id, timer_family_id in expected_output_timers.keys():
                self._send_timers_to_worker(process_bundle_id, transform_id, timer_family_id,
                                            fired_timers.get((transform_id, timer_family_id), []))
            for transform_id, elements in inputs.items():
                out = self._worker_handler.data_conn.output_stream(process_bundle_id, transform_id)
                for chunk in (elements or []):  # element-aligned: a worker output chunk or a partition chunk
                    out.write(chunk)
                    if out.size() >= CHUNK:
                        out.flush()
                out.close()
        except Exception as exc:  # noqa: BLE001 - re-raised by the caller
            errors.append(exc)

    sender = threading.Thread(target=send, name="bounded-input-sender", daemon=True)
    sender.start()
    with ProgressRequester(self._worker_handler, process_bundle_id, self._progress_frequency):
        expect_reads = list(expected_outputs.keys()) + list(expected_output_timers.keys())
        for output in self._worker_handler.data_conn.input_elements(
                process_bundle_id, expect_reads,
                abort_callback=lambda: (result_future.is_done() and bool(result_future.get().error))):
            if isinstance(output, beam_fn_api_pb2.Elements.Timers) and not dry_run:
                with BundleManager._lock:
                    timer_buffer = self.bundle_context_manager.get_buffer(
                        expected_output_timers[(output.transform_id, output.timer_family_id)][0],
                        output.transform_id)
                    if timer_buffer.cleared:
                        timer_buffer.reset()
                    timer_buffer.append(output.timers)
            if isinstance(output, beam_fn_api_pb2.Elements.Data) and not dry_run:
                with BundleManager._lock:
                    self.bundle_context_manager.get_buffer(expected_outputs[output.transform_id],
                                                           output.transform_id).append(output.data)
        result = result_future.get()
    sender.join()
    if errors:
        raise errors[0]
    if result.error:
        raise RuntimeError(result.error)
    if result.process_bundle.requires_finalization:
        finalize = self._worker_handler.control_conn.push(beam_fn_api_pb2.InstructionRequest(
            finalize_bundle=beam_fn_api_pb2.FinalizeBundleRequest(instruction_id=process_bundle_id))).get()
        if finalize.error:
            raise RuntimeError(finalize.error)
    return result, []


_ORIGINAL: dict = {}


def install(chunk: int | None = None) -> bool:
    """Patch this process's FnApiRunner; ``chunk``: bytes per data-plane message (default ``CHUNK``). True when
    installed (this Beam is the one the patch was written for)."""
    import apache_beam
    from apache_beam.runners.portability.fn_api_runner import execution, fn_runner

    if not apache_beam.__version__.startswith(SUPPORTED):
        return False

    global CHUNK
    if chunk:
        CHUNK = chunk
    if not _ORIGINAL:
        _ORIGINAL["partition"] = execution.GroupingBuffer.partition
        _ORIGINAL["process_bundle"] = fn_runner.BundleManager.process_bundle
    execution.GroupingBuffer.partition = _chunked_partition
    fn_runner.BundleManager.process_bundle = _streamed_process_bundle
    return True


def uninstall() -> None:
    """Restore Beam's own functions."""
    from apache_beam.runners.portability.fn_api_runner import execution, fn_runner

    if _ORIGINAL:
        execution.GroupingBuffer.partition = _ORIGINAL["partition"]
        fn_runner.BundleManager.process_bundle = _ORIGINAL["process_bundle"]
