"""What users see when something goes wrong: one line, and a documented exit status."""

from conftest import cli_runner

from ruleset_analysis.cli import main


def invoke(*args):
    return cli_runner().invoke(main, [str(a) for a in args])


def test_usage_errors_exit_1_with_one_error_line():
    result = invoke("run")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: Missing argument 'LOGS...'. (see 'main run --help')"]


def test_an_unknown_option_is_a_usage_error():
    assert invoke("report", "--colour", "x").exit_code == 1


def test_help_and_version_exit_0():
    assert invoke("--help").exit_code == 0
    assert invoke("--version").exit_code == 0


def test_an_internal_error_exits_2_in_one_line_and_verbose_shows_the_traceback(monkeypatch,
                                                                              sample_db):
    def boom(*args, **kwargs):
        raise KeyError("bug")
    monkeypatch.setattr("ruleset_analysis.report.ruleset.render_ruleset", boom)
    quiet = invoke("show", "--db", sample_db)
    assert quiet.exit_code == 2
    assert quiet.output.strip().splitlines() == [
        "Internal error: KeyError: 'bug' (run with --verbose for the traceback, and please "
        "report it)"]
    loud = invoke("--verbose", "show", "--db", sample_db)
    assert loud.exit_code == 2 and "Traceback" in loud.output


def test_input_errors_name_the_file(tmp_path):
    config = tmp_path / "ios.cfg"
    config.write_text("hostname r1\nip access-list extended a\n")
    result = invoke("preprocess", config, "--db", tmp_path / "db")
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: {config}:2: not an ASA/FWSM config ('ip "
                                     "access-list' is IOS syntax)")


def test_an_interrupted_results_or_report_write_leaves_the_previous_file_whole(tmp_path,
                                                                              monkeypatch):
    import os

    from ruleset_analysis import cli
    target = tmp_path / "report.txt"
    target.write_text("the previous report\n")
    real_fdopen = os.fdopen

    class Interrupted:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, text):
            self.handle.write(text[:len(text) // 2])
            self.handle.flush()
            raise KeyboardInterrupt
    monkeypatch.setattr(cli.os, "fdopen", lambda *a, **k: Interrupted(real_fdopen(*a, **k)))
    try:
        cli.write_output(str(target), "a new report that is long enough to be cut\n" * 100)
    except KeyboardInterrupt:
        pass
    assert target.read_text() == "the previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


def test_a_report_whose_making_breaks_between_its_pieces_leaves_the_previous_file_whole(
        tmp_path):
    from ruleset_analysis import cli
    target = tmp_path / "report.json"
    target.write_text("the previous report\n")

    def pieces():
        yield "{\n"
        raise KeyboardInterrupt

    try:
        cli.write_pieces(str(target), pieces())
    except KeyboardInterrupt:
        pass
    assert target.read_text() == "the previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
