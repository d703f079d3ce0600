"""The Apache Beam runner of `tfssl prepare`: the local pool's shard tasks as a Beam pipeline.

    driver:   chunks (streamed) --stage--> OUT/beam-chunks/<split>-NNNNN.jsonl   (finished shards skipped)
    pipeline: Create(task names) | Reshuffle | Map(_write_staged_shard) --> OUT/<split>-NNNNN.bin + .done
    driver:   the shards' .done notes --> manifest entries, in chunk order

The tasks are the local pool's, byte for byte: the same chunks (`shard_tasks.chunks`), the same
`start_shard_worker` (once per worker process) and `write_shard`, the same file names and manifest entries, so a
Beam prepare and a local one give identical directories (tested), and either resumes the other. Beam only
schedules them: locally on the direct runner's engine (`--runner=beam`: `direct_running_mode=multi_processing`,
one worker process per `processes`, see `local_runner`) or, through `beam_options`, on Dataflow, Flink or Spark.
Locally the pool is quicker (Beam splits the tasks between its workers up front and starts gRPC worker harnesses;
`benchmarks/beam_prepare.py`).

Why the texts go through staging files and not `beam.Create(texts)`: the values of `Create` are pickled into the
pipeline itself, so the driver would hold the whole corpus and a cluster's job graph would grow with it (Dataflow
caps it at 10 MB); staged chunks keep the driver at one chunk in memory and the graph at one name per shard, for
about the unfinished text's size on disk until each task removes its chunk.
Reading the corpus stays on the driver because the chunks (and so the shards) depend on the whole corpus's order
and held-out split; the tokenizing, the costly part, is what the workers share.

On a cluster, `output_dir` must be a filesystem every worker mounts (NFS, GCS FUSE), as the shards are written
with plain file operations, and tfssl must be installed on the workers (Beam's `--setup_file`, `--extra_package`
or a custom container). A shard whose `.done` note the driver cannot see after the pipeline is an error naming this.

Example:

>>> prepare_corpus("big/*.jsonl", "prepared/big", runner="beam", processes=8)
>>> prepare_corpus("big/*.jsonl", "/mnt/shared/big", runner="beam",
...                beam_options=["--runner=FlinkRunner", "--flink_master=host:8081"])
"""

import json
import os
import re
import shutil

from tfssl.data.prepared_manifest import PreparedDataError
from tfssl.data.shard_tasks import read_done
from tfssl.data.shard_writing import start_shard_worker, write_shard

STAGING = "beam-chunks"
_STARTED = {}  # this worker process's task settings, once `start_shard_worker` has run with them


def import_beam():
    """`apache_beam`, or an error that names the extra to install (Beam is optional: it pins protobuf 6)."""
    try:
        import apache_beam
    except ImportError as e:
        raise PreparedDataError(
            f'runner="beam" needs Apache Beam, which is not installed ({e}). Install it with '
            '`pip install "tfssl[beam]"` (or `pip install -e ".[beam]"` in a checkout), or use the local '
            'process pool (runner="local", the default).') from e
    return apache_beam


def pipeline_options(processes=None, beam_options=()):
    """Beam `PipelineOptions`: the direct runner in multi-process mode with `processes` workers (default: one per
    CPU; 0 runs the tasks in this process) and workers logging errors only, then `beam_options` ("--key=value"
    strings), which win, so `--runner=DataflowRunner --project=...` or `--runner=FlinkRunner ...` send the same
    pipeline elsewhere (the direct runner's options are ignored there)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    processes = os.cpu_count() if processes is None else int(processes)
    mode = "multi_processing" if processes > 0 else "in_memory"
    flags = [f"--direct_num_workers={max(processes, 1)}", f"--direct_running_mode={mode}",
             "--default_sdk_harness_log_level=ERROR"]  # not a dozen lines of harness chatter; failures still raise
    return PipelineOptions(flags + [_as_flag(option) for option in beam_options])


def local_runner(options):
    """Beam's `FnApiRunner`, what runs the direct runner's `multi_processing` mode, when `options` name no runner;
    None (the named runner) otherwise. Why not Beam's `DirectRunner`: since Beam 2.6x it first tries Prism, a
    binary it downloads from GitHub whose loopback workers run in this one process, so `processes` would not
    count (offline, it falls back after the failed download and leaves a `beam-temp*` directory in /tmp)."""
    from apache_beam.options.pipeline_options import StandardOptions

    if options.view_as(StandardOptions).runner:
        return None
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())  # as the DirectRunner does:
    provision = beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)  # the workers read their options
    return fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(provision))


def run_shard_tasks_with_beam(output_dir, chunks, task_settings, processes=None, beam_options=()):
    """`shard_tasks.run_shard_tasks` on Beam: stages the chunks whose shard is not done, runs one pipeline over
    them, and yields `(split, shard)` for every chunk in chunk order, read back from the shards' `.done` notes."""
    beam = import_beam()
    options = pipeline_options(processes, beam_options)
    output_dir = os.path.abspath(output_dir)  # the tasks' paths, as workers in other directories see them
    staging = os.path.join(output_dir, STAGING)
    shutil.rmtree(staging, ignore_errors=True)  # a killed run's chunks: staged anew below
    os.makedirs(staging)
    order, tasks = _stage(output_dir, staging, chunks)
    if tasks:
        try:
            with beam.Pipeline(runner=local_runner(options), options=options) as pipeline:  # runs, then waits
                _ = (pipeline
                     | "Tasks" >> beam.Create(tasks)
                     | "Spread" >> beam.Reshuffle()  # no fusion with Create: the tasks spread over the workers
                     | "WriteShards" >> beam.Map(_write_staged_shard, task_settings))
        except Exception as e:  # a worker's error arrives as the runner's (RuntimeError, with its traceback)
            message = _task_error(e)
            if "rerun" not in message:
                message += " Finished shards are kept: rerun the same command to continue."
            raise PreparedDataError(f"A shard task failed in the Beam pipeline: {message}") from e
    shutil.rmtree(staging, ignore_errors=True)
    for split, path in order:
        shard = read_done(path)
        if shard is None:
            raise PreparedDataError(
                f"The Beam pipeline finished but {path} has no finished shard (or its .done note) where this "
                "process can see it. On a cluster, output_dir must be a filesystem every worker mounts; rerun the "
                "same command to continue (finished shards are kept).")
        yield split, shard


def _stage(output_dir, staging, chunks):
    """Writes each chunk whose shard is not done as JSON lines (one text a line, written under a temporary name
    and renamed); returns every chunk's `(split, shard path)` in order and the staged tasks, `(shard path,
    chunk path)` pairs."""
    order, tasks = [], []
    for split, index, texts in chunks:
        name = f"{split}-{index:05d}"
        path = os.path.join(output_dir, f"{name}.bin")
        order.append((split, path))
        if read_done(path) is not None:
            continue
        staged = os.path.join(staging, f"{name}.jsonl")
        try:
            with open(staged + ".tmp", "w", encoding="utf-8", errors="surrogatepass") as f:  # any str round-trips
                f.writelines(json.dumps(text, ensure_ascii=False) + "\n" for text in texts)
            os.replace(staged + ".tmp", staged)
        except OSError as e:
            raise PreparedDataError(
                f"Could not stage {staged} for the Beam workers ({e.strerror or e}): staging needs about the "
                "unprepared text's size on disk. Free disk space and rerun the same command to continue.") from e
        tasks.append((path, staged))
    return order, tasks


def _write_staged_shard(task, task_settings):
    """One shard task on a Beam worker: loads the tokenizer once per process, writes the shard from its staged
    chunk, and removes the chunk. A retried task (Beam retries failed bundles) whose shard is done does nothing."""
    path, staged = task
    done = read_done(path)
    if done is not None:
        return done
    if _STARTED.get("settings") != task_settings:
        start_shard_worker(*task_settings)
        _STARTED["settings"] = task_settings
    with open(staged, encoding="utf-8", errors="surrogatepass") as f:
        texts = [json.loads(line) for line in f]
    shard = write_shard(path, texts)
    os.remove(staged)
    return shard


def _task_error(error):
    """The task's own message out of a runner's error (its last line naming an exception), or the error itself."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    found = re.findall(r"(?:Error|Exception): (.*?)(?: \[while running '[^']*'\])?$", "\n".join(lines), re.M)
    return found[-1] if found else f"{type(error).__name__}: {lines[-1] if lines else error}"


def _as_flag(option):
    """"key=value" or "--key=value" -> "--key=value" (the CLI's `--beam-option` takes either)."""
    return option if option.startswith("-") else f"--{option}"
