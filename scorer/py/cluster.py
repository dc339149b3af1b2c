"""The scorer's bridge to a Dask cluster: one process that submits each job as
a Dask task and reports its result, so DFT runs on the cluster's nodes.

Protocol: the worker's (see worker.py), over stdin and stdout, one JSON object
per line, except that jobs overlap: many may be in flight and replies come in
the order they finish. On start the bridge prints {"ready": true, "versions":
{...}, "cluster_threads": N}; for a job line it later prints {"job": ID, "ok":
..., "result" | "error": ..., "versions": {...the node's...}}. A line
{"cancel": ID} gives up on a job (Dask releases the task; a computation already
running on a node finishes there unread).

The scorer runs this under `python -I` with CONFIG ({"scheduler", "retries",
"threads", "connect_timeout_s"}) and DFT_SOURCE (dft.py's text) in its globals. The nodes need the
same Python packages as the scorer's workers (pyscf, rdkit) and `distributed`;
they do not need the project's files: each task carries dft.py's source.

The job store stays the source of truth: a job is claimed there before it is
submitted here, and stored there when its reply arrives. A node lost mid-task
is Dask's to handle: the scheduler re-runs the task on another node (up to
its `allowed-failures`), so the job is still answered once.
"""
import json
import os
import sys
import threading

# Keep the protocol stream to ourselves: fd 1 goes to stderr from here on.
protocol = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

import distributed  # noqa: E402
from distributed import Client  # noqa: E402

write_lock = threading.Lock()


def write(message):
    with write_lock:
        protocol.write(json.dumps(message) + "\n")


def release_memory_lazily():
    """Undoes the nanny's MALLOC_TRIM_THRESHOLD_=65536 in this node process.

    Dask's nanny sets it so that workers hand memory back to the system, but
    a fixed threshold also turns off glibc's adaptive mmap threshold: every
    array over 128 KiB is then a fresh mmap, and PySCF, which allocates many,
    spent 15-20% more CPU per molecule (measured at `fast`, scripts/bench_cluster.py).
    Fixed thresholds at the adaptive ones' ceilings restore the plain speed.
    """
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to undo
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    libc.mallopt(m_trim_threshold, 64 * 1024 * 1024)


def run_on_node(dft_source, job, threads):
    """Computes one job on a cluster node. Defined in __main__, so Dask ships it
    by value; it builds the dft module from the source it is given, once per
    node process and source version."""
    import hashlib
    import socket
    import types

    name = "molgap_dft_" + hashlib.sha256(dft_source.encode()).hexdigest()[:16]
    module = sys.modules.get(name)
    if module is None:
        release_memory_lazily()
        module = types.ModuleType(name)
        exec(compile(dft_source, "dft.py", "exec"), module.__dict__)
        sys.modules[name] = module
    import pyscf
    import rdkit
    from distributed import get_worker

    pyscf.lib.num_threads(threads)
    worker = get_worker()
    versions = {
        "pyscf": pyscf.__version__,
        "rdkit": rdkit.__version__,
        "python": sys.version.split()[0],
        "engine": module.engine_name(),
        "node": str(worker.name),
        "address": worker.address,
        "host": socket.gethostname(),
    }
    # A failure of the chemistry is the job's answer (retrying cannot change
    # it); anything raised outside this block (a node without pyscf, say) is
    # Dask's to retry on another node.
    try:
        return {"ok": True, "result": module.run(job), "versions": versions}
    except Exception as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}", "versions": versions}


def wait_and_reply(job_id, future, in_flight):
    try:
        reply = future.result()
        reply["job"] = job_id
    except distributed.client.FutureCancelledError:
        reply = {"job": job_id, "ok": False, "error": "cancelled"}
    except distributed.scheduler.KilledWorker as e:
        reply = {"job": job_id, "ok": False,
                 "error": f"the cluster lost every node that ran this job ({e})"}
    except Exception as e:
        reply = {"job": job_id, "ok": False, "error": f"{type(e).__name__}: {e}"}
    with write_lock:
        in_flight.pop(job_id, None)
    write(reply)


def main():
    client = Client(CONFIG["scheduler"], timeout=CONFIG["connect_timeout_s"],  # noqa: F821
                    set_as_default=False)
    workers = client.scheduler_info(n_workers=-1)["workers"]
    if not workers:
        # Not fatal: nodes may join later (an adaptive cluster).
        print(f"cluster bridge: the scheduler at {CONFIG['scheduler']} has no workers yet", file=sys.stderr)  # noqa: F821
    write({
        "ready": True,
        "versions": {"distributed": distributed.__version__, "python": sys.version.split()[0],
                     "scheduler": CONFIG["scheduler"]},  # noqa: F821
        "cluster_threads": sum(w["nthreads"] for w in workers.values()),
        "nodes": len(workers),
    })
    in_flight = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if "cancel" in message:
            with write_lock:
                future = in_flight.get(message["cancel"])
            if future is not None:
                future.cancel()
            continue
        job_id = message["job"]
        # One key per job: a job resubmitted while the scheduler still knows
        # it (a bridge restarted mid-task) joins the running task.
        future = client.submit(run_on_node, DFT_SOURCE, message, CONFIG["threads"],  # noqa: F821
                               key=f"molgap-dft-job-{job_id}", retries=CONFIG["retries"])  # noqa: F821
        with write_lock:
            in_flight[job_id] = future
        threading.Thread(target=wait_and_reply, args=(job_id, future, in_flight), daemon=True).start()
    # The scorer closed our input: it is stopping. Releasing the futures lets
    # the scheduler drop the tasks nobody waits for.
    client.close()


if __name__ == "__main__":
    main()
