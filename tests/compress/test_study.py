"""The studies' timing: every model of a table is timed in turns, not one after another."""

from tinygrad_lm.compress.study import interleaved_seconds


def test_contenders_are_timed_in_rotating_turns_after_one_warm_up_each():
    calls = []
    runs = [lambda name=name: calls.append(name) for name in "abc"]
    medians = interleaved_seconds(runs, repeats=4)
    assert calls[:3] == ["a", "b", "c"]  # the warm-up, untimed
    rounds = [calls[3 + 3 * r:6 + 3 * r] for r in range(4)]
    assert rounds == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert len(medians) == 3 and all(m >= 0 for m in medians)


def test_the_classifier_speedup_times_teacher_and_student_in_turns(monkeypatch):
    from tinygrad_lm.compress import classifier_study

    calls = []
    monkeypatch.setattr(classifier_study, "predict_logits", lambda model, *args: calls.append(model))
    speed = classifier_study.interleaved_speed("teacher", "student", None, ["a text"], 8, repeats=2)
    assert calls == ["teacher", "student", "teacher", "student", "student", "teacher"]
    assert speed["repeats"] == 2 and set(speed) >= {"teacher_seconds", "student_seconds", "speedup"}
