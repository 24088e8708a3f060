import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _bash_blocks():
    text = (ROOT / "README.md").read_text()
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    train_command, test_command = _bash_blocks()[:2]
    assert "keras-genmodels train vae" in train_command
    assert "pytest" in test_command
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_console_script_is_declared():
    setup = (ROOT / "setup.cfg").read_text()
    assert re.search(r"keras-genmodels\s*=\s*keras_genmodels\.cli:main", setup)
