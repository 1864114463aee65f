"""A file the user names (secret, license, key, answers file) is read only if it is a small regular file, within a
time limit (issue: file:/dev/zero grew the process to 23.7 GB; a FIFO hung forever; /proc/self/environ became the
password)."""

from __future__ import annotations

import os
import resource
import time

import pytest

from wizard.small_files import read_small


def test_a_small_regular_file_is_read(tmp_path):
    path = tmp_path / "secret"
    path.write_bytes(b"s3cret\n")
    assert read_small(path, 1024) == b"s3cret\n"
    link = tmp_path / "link"
    link.symlink_to(path)  # a symlink to a regular file is fine (/run/secrets/...)
    assert read_small(link, 1024) == b"s3cret\n"


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "/proc/self/environ", "/sys/kernel/mm"])
def test_device_and_kernel_files_are_refused_at_once(path):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ValueError, match=r"is not a regular file \(.* is a device or kernel file\)"):
        read_small(path, 64 * 1024)
    assert time.monotonic() - started < 1
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 10_000  # KiB: nothing was read


def test_a_symlink_to_a_device_is_refused(tmp_path):
    link = tmp_path / "innocent.txt"
    link.symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="innocent.txt is not a regular file"):
        read_small(link, 64 * 1024)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(ValueError, match=r"pipe is not a regular file \(a device, FIFO or socket\)"):
        read_small(fifo, 1024)
    assert time.monotonic() - started < 1


def test_a_file_larger_than_the_limit_is_refused_with_its_size(tmp_path):
    big = tmp_path / "big.pem"
    big.write_bytes(b"x" * (200 * 1024))
    with pytest.raises(ValueError, match=r"big.pem is 200 KiB, more than the 64 KiB such a file holds"):
        read_small(big, 64 * 1024)


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "does not exist"),
    (lambda p: p.mkdir(), "is a directory: give the file inside it"),
])
def test_missing_paths_and_directories_say_so(tmp_path, make, message):
    path = tmp_path / "thing"
    make(path)
    with pytest.raises(ValueError, match=message):
        read_small(path, 1024)


def test_every_reader_of_a_named_file_uses_it():
    # The license file (License step), a file given to the server (a CA, a key) and a file: secret reference.
    from wizard.checks.license import read_license_file
    from wizard.container import Mount
    from wizard.launcher.files import FileProblem, read_source

    with pytest.raises(ValueError, match="/dev/zero is not a regular file"):
        read_license_file("/dev/zero")
    with pytest.raises(FileProblem, match="cache.redis.ca_file: /dev/zero is not a regular file"):
        read_source(Mount("/dev/zero", "/etc/wandb-local-setup/redis-ca.pem", "cache.redis.ca_file"))
