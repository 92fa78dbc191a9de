import json
import subprocess
import sys
from pathlib import Path

from bxrd.cli import main


def test_ter_command_writes_manifest(tmp_path):
    rc = main(["data", "ter", "--output", str(tmp_path), "--ter.max_per_template", "1"])
    assert rc == 0
    rows = (tmp_path / "manifest.jsonl").read_text().splitlines()
    assert len(rows) == 9 and json.loads(rows[0])["template_id"]


def test_simulate_command_skips_bad_files(tmp_path, srtio3, capsys):
    src = tmp_path / "in"
    src.mkdir()
    srtio3.to(filename=str(src / "sto.cif"))
    (src / "bad.cif").write_text("garbage")
    rc = main(
        [
            "data",
            "simulate",
            "--structures",
            str(src),
            "--output",
            str(tmp_path / "out"),
            "--n_jobs",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "bad.cif" in out and "simulated 1" in out
    assert (tmp_path / "out" / "sto.npz").exists()


def test_clear_error_without_input(capsys):
    assert main(["data", "simulate"]) == 2
    assert "give --structures" in capsys.readouterr().err


def test_config_file_drives_a_command(tmp_path):
    cfg = tmp_path / "ter.yaml"
    cfg.write_text(f"output: {tmp_path / 'o'}\nter:\n  a_elements: [Ba]\n  b_elements: [Zr]\n")
    assert main(["data", "ter", "--config", str(cfg)]) == 0
    rows = [json.loads(r) for r in (tmp_path / "o" / "manifest.jsonl").read_text().splitlines()]
    assert {r["formula"] for r in rows} == {"BaZrO3"}


def test_console_script_exit_codes_and_flushed_output(tmp_path):
    # `bxrd predict` leaves through os._exit: its output must still be flushed, its code kept
    example = Path(__file__).resolve().parents[1] / "checkpoints" / "example_CsPbI3.txt"
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bxrd.cli", "predict", *a], capture_output=True, text=True
    )
    ok = run(str(example), "--no_explain")
    assert ok.returncode == 0 and "space_group:" in ok.stdout and "1 pattern(s)" in ok.stdout
    bad = run(str(tmp_path / "missing.xy"))
    assert bad.returncode == 2 and "missing.xy" in bad.stderr


def test_dispatcher_lists_every_command_and_guards_missing_ones(capsys):
    import importlib.util

    from bxrd.cli import COMMANDS

    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert all(c.usage in text for c in COMMANDS.values())
    assert main(["nonsense"]) == 2 and "unknown command" in capsys.readouterr().err
    if importlib.util.find_spec("bxrd.evaluation") is None:
        assert main(["experiments"]) == 2
        assert "not available" in capsys.readouterr().err


def test_python_m_bxrd_cli_runs_the_dispatcher():
    out = subprocess.run(
        [sys.executable, "-m", "bxrd.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "lightning-predict" in out.stdout
