"""Read an offline W&B run (`offline-run-*/run-*.wandb`) without a network: the file is a LevelDB
style log (7-byte header ':W&B' + magic 0xBEE1 + version; 32 KiB blocks of records, each with a
crc32, a length and a type: full, first, middle, last) of wandb's protobuf `Record`s."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

BLOCK = 32768


def records(path: Path) -> list:
    """Every Record of an offline run file, in order."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    out, pos, parts = [], 7, []
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if length == 0 and kind == 0:
            pos += left
            continue
        parts.append(data[pos + 7 : pos + 7 + length])
        pos += 7 + length
        if kind in (1, 4):  # full, last
            record = pb.Record()
            record.ParseFromString(b"".join(parts))
            out.append(record)
            parts = []
    return out


def decode(path: Path, timeout: float = 0.0) -> dict:
    """The run's name, group, tags, history rows (key -> JSON value) and summary of an offline run.
    wandb's writer (a separate process) may still be flushing the file when `run.finish()` has
    returned: wait up to `timeout` seconds for the run's final record."""
    deadline = time.monotonic() + timeout
    while True:
        found = records(path)
        kinds = {r.WhichOneof("record_type") for r in found}
        if ({"run", "exit"} <= kinds) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    run, history, summary = None, [], {}
    for r in found:
        kind = r.WhichOneof("record_type")
        if kind == "run":
            run = r.run
        elif kind == "history":
            history.append(
                {"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in r.history.item}
            )
        elif kind == "summary":
            summary.update(
                {
                    "/".join(i.nested_key) or i.key: json.loads(i.value_json)
                    for i in r.summary.update
                }
            )
    return {
        "name": run.display_name,
        "group": run.run_group,
        "tags": list(run.tags),
        "history": history,
        "summary": summary,
    }
