"""Every requirement an exercise states is enforced by a trial.

Each exercise declares its requirements (bplib/grading/exercises/lessonNN.py)
next to its trials: the sentence the notebook states, the labels of the
trials that enforce it, and a plausible answer that is right but for breaking
that one requirement. That answer must fail those trials, on every seed, and
pass every other trial (but those its requirement names in ``also_fails``).
"""

import pytest

from bplib.grading import EXERCISES, check, make_trials
from bplib.grading.exercises import EVERY_TRIAL

SEEDS = [None, *range(10)]

REQUIREMENTS = [pytest.param(exercise_id, requirement, id=f"{exercise_id}-{k}")
                for exercise_id, exercise in EXERCISES.items()
                for k, requirement in enumerate(exercise.requirements)]


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_every_exercise_states_its_requirements(exercise_id):
    exercise = EXERCISES[exercise_id]
    assert exercise.requirements, exercise_id
    for requirement in exercise.requirements:
        assert isinstance(requirement.text, str) and requirement.text
        assert requirement.trials == EVERY_TRIAL or (
            isinstance(requirement.trials, tuple) and requirement.trials)
        assert callable(requirement.violation), requirement.text


@pytest.mark.parametrize("exercise_id, requirement", REQUIREMENTS)
def test_a_requirement_without_a_trial_fails(exercise_id, requirement):
    for seed in SEEDS:
        trials = make_trials(exercise_id, seed)
        enforcing = [t.label for t in trials if requirement.enforced_by(t)]
        assert enforcing, f"{requirement.text!r} has no trial (seed {seed})"
        if requirement.trials != EVERY_TRIAL:  # each named trial exists
            for prefix in requirement.trials:
                assert any(t.label.startswith(prefix) for t in trials), prefix


@pytest.mark.parametrize("exercise_id, requirement", REQUIREMENTS)
def test_breaking_one_requirement_fails_exactly_its_trials(exercise_id, requirement):
    """The requirement's trials fail an answer that breaks just that requirement,
    and every other trial passes it (but those named in ``also_fails``), on every seed."""
    problems = []
    for seed in SEEDS:
        result = check(exercise_id, requirement.violation, seed=seed)
        assert not result.passed
        for trial, verdict in zip(make_trials(exercise_id, seed), result.trials):
            if requirement.enforced_by(trial) and verdict.passed:
                problems.append(f"seed {seed}: trial {trial.label!r} passed")
            elif not (requirement.enforced_by(trial) or verdict.passed
                      or trial.label.startswith(requirement.also_fails)):
                problems.append(f"seed {seed}: trial {trial.label!r} failed\n{result.feedback}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("exercise_id, requirement",
                         [p for p in REQUIREMENTS if p.values[1].also_fails])
def test_the_trials_a_violation_may_also_fail_exist(exercise_id, requirement):
    labels = [t.label for seed in SEEDS for t in make_trials(exercise_id, seed)]
    for prefix in requirement.also_fails:
        assert any(label.startswith(prefix) for label in labels), prefix


# Breaking it makes numpy raise on some trials, as it would for a student: a layer
# that keeps the first batch's X meets a batch of another size.
MAY_RAISE = {("dense_layer", "backward uses the X of the latest forward")}


@pytest.mark.parametrize("exercise_id, requirement", [
    p for p in REQUIREMENTS if p.values[1].trials == EVERY_TRIAL
    and (p.values[0], p.values[1].text) not in MAY_RAISE])
def test_breaking_a_requirement_of_every_trial_fails_them_without_an_error(exercise_id,
                                                                         requirement):
    """Every trial enforces it, so the test above cannot tell a violation that fails
    for the right reason from one that crashes: this one can."""
    for seed in SEEDS:
        for verdict in check(exercise_id, requirement.violation, seed=seed).trials:
            raised = any(p.startswith("raised ") for p in verdict.problems)
            assert verdict.problems and not raised, (seed, verdict.label, verdict.problems)


@pytest.mark.parametrize("exercise_id, requirement", [
    p for p in REQUIREMENTS if "unchanged" in p.values[1].text or "left" in p.values[1].text])
def test_an_answer_that_only_modifies_its_arguments_is_told_just_that(exercise_id, requirement):
    """Its outputs are right: the problem is the modified argument (and, for a class
    exercise, the values of later calls that used the modified one)."""
    for seed in SEEDS:
        result = check(exercise_id, requirement.violation, seed=seed)
        for trial, verdict in zip(make_trials(exercise_id, seed), result.trials):
            if not requirement.enforced_by(trial):
                continue
            assert any(p.startswith("modified its argument") for p in verdict.problems)
            later_calls = EXERCISES[exercise_id].drive is not None
            assert all(p.startswith("modified its argument") or (later_calls and
                                                                 " values differ " in p)
                       for p in verdict.problems), (seed, verdict.label, verdict.problems)
