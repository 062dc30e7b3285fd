import pytest

from jobs.status import TRANSITIONS, InvalidTransition, JobStatus, check_transition

S = JobStatus


@pytest.mark.parametrize(
    "path",
    [
        [S.QUEUED, S.VALIDATING_FILES, S.RUNNING, S.SUCCEEDED],
        [S.QUEUED, S.VALIDATING_FILES, S.FAILED],
        [S.QUEUED, S.CANCELLED],
        [S.QUEUED, S.VALIDATING_FILES, S.RUNNING, S.PAUSED, S.QUEUED, S.RUNNING, S.CANCELLED],
        [S.QUEUED, S.PAUSED, S.QUEUED, S.VALIDATING_FILES, S.PAUSED],  # paused waiting, then while its files were checked
        [S.QUEUED, S.VALIDATING_FILES, S.RUNNING, S.QUEUED, S.RUNNING, S.SUCCEEDED],  # a worker stopped; another resumed it
        [S.QUEUED, S.VALIDATING_FILES, S.QUEUED, S.VALIDATING_FILES],  # it stopped while checking the files
    ],
)
def test_allowed_paths(path):
    for current, target in zip(path, path[1:]):
        check_transition(current, target)


@pytest.mark.parametrize("terminal", [S.SUCCEEDED, S.FAILED, S.CANCELLED])
def test_terminal_states_never_change(terminal):
    assert terminal.is_terminal
    for target in S:
        with pytest.raises(InvalidTransition, match=f"a job that is {terminal.value} cannot become"):
            check_transition(terminal, target)


def test_no_skipping_and_no_going_back():
    for current, target in [(S.QUEUED, S.SUCCEEDED), (S.VALIDATING_FILES, S.SUCCEEDED), (S.RUNNING, S.VALIDATING_FILES),
                            (S.PAUSED, S.SUCCEEDED), (S.PAUSED, S.RUNNING), (S.PAUSED, S.VALIDATING_FILES)]:
        with pytest.raises(InvalidTransition):
            check_transition(current, target)


def test_table_covers_every_status():
    assert set(TRANSITIONS) == set(S)
