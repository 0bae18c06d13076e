"""Bench-only data-plane accounting for Beam's gRPC data channels (``bench/scale.py run --trace-data DIR``).

Armed by ``sitecustomize`` in the pipeline (runner) process and in every SDK worker when ``YULIAO_DATATRACE`` names a
directory. For every ``_GrpcDataChannel`` it counts, per ``(instruction id, transform id)``, the bytes and messages

* ``sent``: handed to the channel to send (``_enqueue_to_send``; ``last`` when the end-of-stream marker was),
* ``recv``: read from the gRPC stream (``_read_inputs``' iterator),
* ``discarded``: read but dropped because the instruction was already cleaned up (``_receiving_queue`` → None),
* ``given``: yielded to the consumer by ``input_elements`` (the runner's buffers, the worker's bundle),

and, by element: what each worker bundle decoded from its inputs and encoded to its outputs, what the runner appended to
each of its buffers and held when it partitioned one for the workers (``events-runner-<pid>.json``: the history of
every ``ListBuffer`` object). Rewritten as ``DIR/trace-<role>-<pid>.json`` every second and at exit.
``python bench/memprobe/datatrace.py DIR`` matches one side's ``sent`` bytes with the other side's ``recv``/``given``,
and per runner buffer the elements workers wrote, the runner appended and workers read back (``MISMATCH``: lost);
exit status 1 when anything is missing.
"""
from __future__ import annotations

import collections
import json
import os
import sys
import threading
import time

_COUNTS: dict = collections.defaultdict(lambda: [0, 0])  # (kind, instruction, transform) -> [bytes, messages]
_LOCK = threading.Lock()


def _add(kind: str, iid: str, tid: str, nbytes: int) -> None:
    with _LOCK:
        c = _COUNTS[(kind, iid, tid)]
        c[0] += nbytes
        c[1] += 1


def _elem_key(e) -> tuple[str, str, int, bool]:
    from apache_beam.portability.api import beam_fn_api_pb2

    if isinstance(e, beam_fn_api_pb2.Elements.Data):
        return e.instruction_id, e.transform_id, len(e.data), e.is_last
    return e.instruction_id, f"{e.transform_id}/{e.timer_family_id}", len(e.timers), e.is_last


_TLS = threading.local()
_EVENTS: list = []


def _event(kind: str, buf, note: str) -> None:
    """Runner-side buffer history (``events-<pid>.jsonl``): which buffer object got which elements, when."""
    name = getattr(buf, "_trace_name", "?") if buf is not None else ""
    with _LOCK:
        _EVENTS.append([round(time.time(), 3), threading.current_thread().name, kind, name,
                        f"{id(buf):x}" if buf is not None else "", note])


def _count_worker_elements() -> None:
    """Elements a worker's bundle decoded from each input (``elems_in``) and encoded to each output (``elems_out``)."""
    from apache_beam.runners.worker import bundle_processor as bp

    process_bundle = bp.BundleProcessor.process_bundle

    def _process_bundle(self, instruction_id, *a, **kw):
        _TLS.iid = instruction_id
        return process_bundle(self, instruction_id, *a, **kw)

    out_process = bp.DataOutputOperation.process

    def _out(self, windowed_value):
        _add("elems_out", getattr(_TLS, "iid", "?"), self.transform_id, 1)
        return out_process(self, windowed_value)

    in_output = bp.DataInputOperation.output

    def _in(self, windowed_value, *a, **kw):
        _add("elems_in", getattr(_TLS, "iid", "?"), self.transform_id, 1)
        return in_output(self, windowed_value, *a, **kw)

    bp.BundleProcessor.process_bundle = _process_bundle
    bp.DataOutputOperation.process = _out
    bp.DataInputOperation.output = _in


def _count_runner_elements() -> None:
    """Elements the runner appended to each buffer (``buf_append``) and held when it partitioned it for the
    workers (``buf_partition``), by buffer id."""
    from apache_beam.coders.coder_impl import create_InputStream
    from apache_beam.runners.portability.fn_api_runner import execution

    get_buffer = execution.BundleContextManager.get_buffer

    def _get_buffer(self, buffer_id, transform_id):
        buf = get_buffer(self, buffer_id, transform_id)
        _add("feeds", "-", f"{transform_id} -> {buffer_id.decode(errors='replace')}", 0)
        if not hasattr(buf, "_trace_name"):
            buf._trace_name = buffer_id.decode(errors="replace") if isinstance(buffer_id, bytes) else str(buffer_id)
            listbuf = isinstance(buf, execution.ListBuffer)
            buf._trace_coder = self.get_input_coder_impl(transform_id) if listbuf else None
        return buf

    g_append, g_partition = execution.GroupingBuffer.append, execution.GroupingBuffer.partition

    def _g_append(self, elements_data):
        before = sum(len(v) for v in self._table.values())
        g_append(self, elements_data)
        _add("buf_append", "-", getattr(self, "_trace_name", "?"), sum(len(v) for v in self._table.values()) - before)

    def _g_partition(self, n):
        if not self._grouped_output:
            _add("buf_partition", "-", getattr(self, "_trace_name", "?"), sum(len(v) for v in self._table.values()))
        return g_partition(self, n)

    l_append = execution.ListBuffer.append

    def _l_append(self, element):
        coder = getattr(self, "_trace_coder", None)
        if coder is not None:
            s, k = create_InputStream(element), 0
            while s.size() > 0:
                coder.decode_from_stream(s, True)
                k += 1
            _add("buf_append", "-", self._trace_name, k)
            _event("append", self, f"{k} elems")
        return l_append(self, element)

    def _n(buf) -> int:
        coder = getattr(buf, "_trace_coder", None)
        if coder is None:
            return -1
        k = 0
        for chunk in buf._inputs:
            st = create_InputStream(chunk)
            while st.size() > 0:
                coder.decode_from_stream(st, True)
                k += 1
        return k

    lb = execution.ListBuffer
    l_extend, l_partition, l_copy = lb.extend, lb.partition, lb.copy

    def _l_extend(self, extra):
        _event("extend", self, f"from {id(extra):x} {_n(extra)} elems")
        return l_extend(self, extra)

    def _l_partition(self, n):
        _event("partition", self, f"{_n(self)} elems in {len(self._inputs)} chunks")
        return l_partition(self, n)

    def _l_copy(self):
        new = l_copy(self)
        new._trace_name, new._trace_coder = getattr(self, "_trace_name", "?"), getattr(self, "_trace_coder", None)
        _event("copy", self, f"to {id(new):x} {_n(new)} elems")
        return new

    from apache_beam.runners.portability.fn_api_runner import fn_runner

    execute_bundle = fn_runner.FnApiRunner._execute_bundle

    def _execute_bundle(self, ctx, bcm, bundle_input):
        _event("stage_start", None, bcm.stage.name)
        try:
            return execute_bundle(self, ctx, bcm, bundle_input)
        finally:
            _event("stage_end", None, bcm.stage.name)

    fn_runner.FnApiRunner._execute_bundle = _execute_bundle
    execution.ListBuffer.extend = _l_extend
    execution.ListBuffer.partition = _l_partition
    execution.ListBuffer.copy = _l_copy
    execution.BundleContextManager.get_buffer = _get_buffer
    execution.GroupingBuffer.append = _g_append
    execution.GroupingBuffer.partition = _g_partition
    execution.ListBuffer.append = _l_append


def install(out_dir: str, role: str) -> None:
    from apache_beam.runners.worker import data_plane

    cls = data_plane._GrpcDataChannel
    enqueue, read_inputs, receiving_queue, input_elements = (cls._enqueue_to_send, cls._read_inputs,
                                                             cls._receiving_queue, cls.input_elements)

    def _enqueue_to_send(self, elem):
        if elem is not cls._WRITES_FINISHED:
            iid, tid, n, last = _elem_key(elem)
            _add("sent_last" if last else "sent", iid, tid, n)
        return enqueue(self, elem)

    def _read_inputs(self, elements_iterator):
        def counted():
            for elements in elements_iterator:
                for e in list(elements.timers) + list(elements.data):
                    iid, tid, n, last = _elem_key(e)
                    _add("recv_last" if last else "recv", iid, tid, n)
                yield elements
        return read_inputs(self, counted())

    def _receiving_queue(self, instruction_id):
        q = receiving_queue(self, instruction_id)
        if q is None:
            _add("discarded", instruction_id, "?", 0)
        return q

    def _input_elements(self, instruction_id, expected_inputs, abort_callback=None):
        for e in input_elements(self, instruction_id, expected_inputs, abort_callback):
            iid, tid, n, _ = _elem_key(e)
            _add("given", iid, tid, n)
            yield e

    cls._enqueue_to_send = _enqueue_to_send
    cls._read_inputs = _read_inputs
    cls._receiving_queue = _receiving_queue
    cls.input_elements = _input_elements
    if role == "worker":
        _count_worker_elements()
    else:
        _count_runner_elements()

    path = os.path.join(out_dir, f"trace-{role}-{os.getpid()}.json")

    def dump() -> None:
        with _LOCK:
            rows = [[k, i, t, b, m] for (k, i, t), (b, m) in _COUNTS.items()]
            events = list(_EVENTS)
        if events:
            with open(os.path.join(out_dir, f"events-{role}-{os.getpid()}.json"), "w") as f:
                json.dump(events, f)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(rows, f)
        os.replace(tmp, path)

    def loop() -> None:
        while True:
            time.sleep(1.0)
            dump()

    os.makedirs(out_dir, exist_ok=True)
    threading.Thread(target=loop, daemon=True, name="yuliao-datatrace").start()
    import atexit

    atexit.register(dump)


def report(out_dir: str) -> int:
    """Per (instruction, transform): bytes sent by one side vs read from the stream and given by the other."""
    sides: dict = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    for name in sorted(os.listdir(out_dir)):
        if name.startswith("trace-") and name.endswith(".json"):
            role = name.split("-")[1]
            for kind, iid, tid, b, m in json.load(open(os.path.join(out_dir, name))):
                side = "runner" if role == "runner" else "worker"
                c = sides[(iid, tid)][f"{side}.{kind}"]
                c[0] += b
                c[1] += m
    bad = 0
    for (iid, tid), c in sorted(sides.items()):
        for src, dst in (("worker", "runner"), ("runner", "worker")):
            sent, recv, given = (c.get(f"{src}.sent", [0, 0]), c.get(f"{dst}.recv", [0, 0]),
                                 c.get(f"{dst}.given", [0, 0]))
            if sent[0] and (sent[0] != given[0] or sent[0] != recv[0]):
                bad += 1
                print(f"{iid} {tid} {src}->{dst}: sent {sent[0]} B/{sent[1]} msgs, read {recv[0]} B/{recv[1]}, "
                      f"given {given[0]} B/{given[1]}")
        if c.get("runner.discarded") or c.get("worker.discarded"):
            print(f"{iid} discarded: runner {c.get('runner.discarded')} worker {c.get('worker.discarded')}")
    print(f"{len(sides)} streams, {bad} with bytes missing")
    # elements: what workers wrote into each runner buffer, what the runner appended, and what workers read back
    feeds: dict = collections.defaultdict(set)
    out: dict = collections.defaultdict(int)
    read: dict = collections.defaultdict(int)
    appended: dict = collections.defaultdict(int)
    for (iid, tid), c in sides.items():
        if "runner.feeds" in c:
            transform, buf = tid.split(" -> ", 1)
            feeds[buf].add(transform)
        out[tid] += c.get("worker.elems_out", [0, 0])[1]
        read[tid] += c.get("worker.elems_in", [0, 0])[1]
        appended[tid] += c.get("runner.buf_append", [0, 0])[0]
    for buf in sorted(feeds):
        written = sum(out[t] for t in feeds[buf])
        reader = buf.split(":", 1)[1] + "/Read" if buf.startswith("materialize:") else None
        got = read.get(reader) if reader else None
        flag = "" if written == appended[buf] and (got is None or got == written) else "   <<< MISMATCH"
        bad += bool(flag)
        print(f"{buf}: workers wrote {written}, runner appended {appended[buf]}"
              + (f", workers read {got}" if got is not None else "") + flag)
    for name in sorted(os.listdir(out_dir)):  # the runner's buffer history, where it kept one
        if name.startswith("events-"):
            for t, thread, kind, buf, obj, note in json.load(open(os.path.join(out_dir, name))):
                if kind == "partition":
                    print(f"partition {buf} ({obj}): {note}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(report(sys.argv[1]))
