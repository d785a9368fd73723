"""The command-line entry point: help, version, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import hoFit
from hoFit.cli.main import SUBCOMMANDS, main
from hoFit.errors import HoFitError
from hoFit.utils.device import resolve_device


def test_version_is_importable():
    assert hoFit.__version__.count(".") >= 2


def test_help_lists_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "hoFit.cli.main", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for name in SUBCOMMANDS:
        assert name in out.stdout


def test_no_command_is_bad_usage(capsys):
    assert main([]) == 2


def test_unknown_option_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["info", "--no-such-option"])
    assert info.value.code == 2


def test_info_prints_versions(capsys):
    assert main(["info", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert f"hofit {hoFit.__version__}" in out and "torch" in out and "MANO" in out


def test_device_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(HoFitError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(HoFitError, match="expected auto, cpu or cuda"):
        resolve_device("tpu")


def test_user_errors_print_one_line_and_exit_1(capsys):
    assert main(["info", "--device", "tpu"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hofit info: error: device 'tpu'")
