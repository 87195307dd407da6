"""A slow SD card for the benchmarks: an ext4 file system on a loop device whose writes
the kernel's block throttle holds to a few I/O operations per second.

How: a 64 MB image file, `mkfs.ext4`, `losetup`, mounted with the options
docs/install.md gives the gate's data partition (MOUNT_OPTIONS), and the loop device's
`major:minor N` written to cgroup v1 `blkio.throttle.write_iops_device`, in the root
blkio cgroup (so the file system's journal thread is throttled too, as on a real card)
and in this process's own blkio cgroup if it is another. Every write that reaches the
device, the WAL page and ext4's journal commit alike, waits its turn: a
synchronous=FULL commit then takes what it takes on a worn card (measured, ~0.5-1 s at
10 IOPS), not a simulated sleep. Everything is undone on exit.

It needs root, /dev/loop-control, losetup, mkfs.ext4 and the cgroup v1 blkio
controller; otherwise `Unavailable` says which is missing and the benchmark reports
the figure as skipped (a developer without root still gets the other figures).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BLKIO = Path("/sys/fs/cgroup/blkio")
#: The gate's data partition's mount options (docs/install.md, "A data partition").
MOUNT_OPTIONS = "noatime,commit=5,errors=remount-ro"
#: Write operations per second the throttled device takes: a worn or cheap card under
#: load. At 10, a durable commit of one exit-log row takes about 0.5-1 s here.
SLOW_CARD_WRITE_IOPS = 10


class Unavailable(Exception):
    """The throttled device cannot be made here; the message says why."""


def _own_blkio_cgroup() -> Path:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "blkio" in controllers.split(","):
                return BLKIO / path.lstrip("/")
    except OSError:
        pass
    return BLKIO


def why_unavailable() -> str | None:
    """None when a throttled device can be made, else why not."""
    if os.geteuid() != 0:
        return "needs root (losetup, mount and the blkio throttle)"
    if not Path("/dev/loop-control").exists():
        return "no /dev/loop-control (loop devices)"
    for tool in ("losetup", "mkfs.ext4", "mount", "umount"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    if not (BLKIO / "blkio.throttle.write_iops_device").exists():
        return "no cgroup v1 blkio throttle at /sys/fs/cgroup/blkio (cgroup v2 io.max is not used here)"
    return None


def _run(*cmd: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise Unavailable(f"{' '.join(cmd)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.stdout.strip()


def _set_limit(groups: list[Path], device: str, iops: int) -> None:
    for g in groups:
        (g / "blkio.throttle.write_iops_device").write_text(f"{device} {iops}\n")


@contextmanager
def throttled_dir(write_iops: int = SLOW_CARD_WRITE_IOPS) -> Iterator[Path]:
    """A fresh, empty, mounted directory whose writes the block layer throttles."""
    why = why_unavailable()
    if why:
        raise Unavailable(why)
    tmp = Path(tempfile.mkdtemp(prefix="gatepass-slowcard-"))
    image, mnt = tmp / "card.img", tmp / "mnt"
    mnt.mkdir()
    loop = device = ""
    mounted = False
    groups = list(dict.fromkeys([BLKIO, _own_blkio_cgroup()]))
    try:
        with open(image, "wb") as f:
            f.truncate(64 << 20)
        _run("mkfs.ext4", "-q", "-F", str(image))
        loop = _run("losetup", "-f", "--show", str(image))
        device = (Path("/sys/block") / Path(loop).name / "dev").read_text().strip()
        _run("mount", "-o", MOUNT_OPTIONS, loop, str(mnt))
        mounted = True
        try:
            _set_limit(groups, device, write_iops)
        except OSError as exc:
            raise Unavailable(f"cannot set blkio.throttle.write_iops_device: {exc.strerror}") from None
        data = mnt / "gatepass"
        data.mkdir()
        yield data
    finally:
        if device:
            try:
                _set_limit(groups, device, 0)
            except OSError:
                pass
        if mounted:      # lazily: the exit log's writer lock stays open for the process's lifetime
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        if loop:
            subprocess.run(["losetup", "-d", loop], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
