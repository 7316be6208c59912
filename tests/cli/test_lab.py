"""ffnn lab: the list of experiments; an unknown one is a user's mistake."""


def test_lab_list(run):
    rc, out, _ = run("lab", "--list")
    assert rc == 0 and out.strip()


def test_unknown_experiment(run, user_error):
    rc, _, err = run("lab", "no-such-experiment")
    user_error(rc, err, "unknown experiment")
