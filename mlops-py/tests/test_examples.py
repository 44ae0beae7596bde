import pathlib
import runpy
import sys

HERE = pathlib.Path(__file__).resolve().parent


def test_quickstart_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["quickstart.py", str(tmp_path / "qs")])
    runpy.run_path(str(HERE.parent / "examples" / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "[0.2, 0.7, None]" in out
    assert "staging serves churn v1" in out
    assert "kind: ModelDeployments" in out
