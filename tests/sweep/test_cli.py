from ffnn.cli import main


def test_sweep_command_runs_and_summarizes(tiny_spec, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["sweep", str(tiny_spec()), "-o", str(out), "--jobs", "1", "--summary"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "8 cells: 8 run" in text and "test_accuracy" in text and "±" in text
    assert (out / "summary.png").stat().st_size > 1000
    assert (out / "results.csv").exists() and (out / "spec.toml").exists()
    rc = main(["sweep", str(tiny_spec()), "-o", str(out), "--jobs", "1"])
    assert rc == 0 and "8 already finished" in capsys.readouterr().out


def test_bad_spec_is_one_line_before_any_cell(tiny_spec, tmp_path, capsys):
    spec = tiny_spec(text='[fixed]\ndata = "iris"\n\n[grid]\nwidht = [4, 8]\n')
    rc = main(["sweep", str(spec), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err
    assert "grid.widht" in err and "line 5" in err
    assert not (tmp_path / "out").exists()


def test_unknown_metric_is_refused(tiny_spec, tmp_path, capsys):
    rc = main(["sweep", str(tiny_spec()), "-o", str(tmp_path / "o"), "-j", "1", "--summary",
               "--metric", "accuracy"])  # fmt: skip
    assert rc == 2 and "test_accuracy" in capsys.readouterr().err


def test_interrupted_sweep_returns_130(tiny_spec, tmp_path, monkeypatch, capsys):
    import ffnn.sweep.runner as runner

    real = runner._drive

    def drive(backend, todo, folder, records, state, retries, bar, on_record):
        def stop(record):
            raise KeyboardInterrupt

        real(backend, todo, folder, records, state, retries, bar, stop)

    monkeypatch.setattr(runner, "_drive", drive)
    rc = main(["sweep", str(tiny_spec()), "-o", str(tmp_path / "o"), "-j", "1"])
    assert rc == 130 and "1 finished cells kept" in capsys.readouterr().err
