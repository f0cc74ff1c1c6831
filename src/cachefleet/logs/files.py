"""Local log groups: ``<data dir>/logs/<log group>/<cache cluster id>.log``, one record a line,
appended in order (a log group's streams are its cache clusters, as ElastiCache names its
CloudWatch log streams after them). The log group's name is quoted into one directory name."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote


def group_dir(data_dir: Path, log_group: str) -> Path:
    """The directory of a log group.

    >>> group_dir(Path("/d"), "/aws/elasticache/web").as_posix()
    '/d/logs/%2Faws%2Felasticache%2Fweb'

    :raises ValueError: a name that is no directory of its own (``""``, ``.``, ``..``).
    """
    name = quote(log_group, safe="")
    if name in ("", ".", ".."):
        raise ValueError(f"{log_group!r} is not a log group name")
    return data_dir / "logs" / name


def append(path: Path, lines: Sequence[str]) -> None:
    """Append lines to a stream (creating its directory). :raises OSError:"""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as stream:
        stream.write("".join(f"{line}\n" for line in lines))


def append_at(path: Path, lines: Sequence[str], recorded: int | None) -> int:
    """Append lines to a stream whose size after its last recorded delivery was ``recorded``
    (None: not known), cutting off first what a delivery interrupted before it was recorded
    wrote past that; the stream's size after them. :raises OSError:"""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as stream:
        if recorded is not None and os.fstat(stream.fileno()).st_size > recorded:
            stream.truncate(recorded)
        stream.write("".join(f"{line}\n" for line in lines).encode())
        stream.flush()
        return os.fstat(stream.fileno()).st_size


def stream_file(folder: Path, node_id: str, log_type: str) -> Path:
    """A cache cluster's stream of a log type in a local log group: ``<id>.log`` for the slow
    log (as it always was), ``<id>.engine-log.log`` for the engine log."""
    return folder / (f"{node_id}.log" if log_type == "slow-log" else f"{node_id}.{log_type}.log")


def read_streams(data_dir: Path, log_group: str, start: dict[str, int]) -> dict[str, list[str]]:
    """Each stream's lines from line ``start[stream]`` (0 by default) on."""
    found: dict[str, list[str]] = {}
    try:
        folder = group_dir(data_dir, log_group)
    except ValueError:
        return found
    for path in sorted(folder.glob("*.log")) if folder.is_dir() else ():
        with path.open(encoding="utf-8") as stream:
            lines = stream.read().splitlines()
        found[path.stem] = lines[start.get(path.stem, 0) :]
    return found
