"""The visible checks and hidden tests that every exercise uses."""
import pytest
import torch

from t2v_edu import exercise


def reference(x, W):
    return W[x]


def correct(x, W):
    return torch.nn.functional.one_hot(x, W.shape[0]).to(W.dtype) @ W


def stub(x, W):
    raise NotImplementedError()


def wrong_shape(x, W):
    return W


def off_by_a_bit(x, W):
    return W[x] + 1e-2


CASES = [(torch.tensor([0, 2, 1]), torch.randn(4, 3, generator=torch.Generator().manual_seed(0)))]


def test_pass_returns_the_learners_function(capsys):
    use = exercise.check(correct, reference, CASES, name="one_hot_embed")
    out = capsys.readouterr()
    assert use is correct
    assert "✓ one_hot_embed" in out.out and out.err == ""


def test_stub_is_not_done_and_falls_back_to_reference(capsys):
    use = exercise.check(stub, reference, CASES, name="one_hot_embed")
    out = capsys.readouterr()
    assert use is reference
    assert "not done yet" in out.out and out.err == ""


def test_wrong_shape_message_names_both_shapes(capsys):
    use = exercise.check(wrong_shape, reference, CASES, name="one_hot_embed",
                         formula="one_hot(x) W = W[x]")
    text = capsys.readouterr().out
    assert use is reference
    assert "shape (4, 3) but expected (3, 3)" in text
    assert "Revisit: one_hot(x) W = W[x]" in text


def test_value_difference_reports_max_abs_difference():
    result = exercise.run_check(off_by_a_bit, reference, CASES)
    assert result.status == exercise.FAILED
    assert "max abs difference 0.01" in result.message


def test_exceptions_are_reported_not_raised():
    def broken(x, W):
        return x @ W  # int @ float: RuntimeError
    result = exercise.run_check(broken, reference, CASES)
    assert result.status == exercise.FAILED and "RuntimeError" in result.message


def test_in_place_edits_cannot_fool_the_reference():
    def sneaky(x, W):
        W.zero_()
        return W[x]
    # the reference saw the original W: the zeroed answer must not match it
    assert exercise.run_check(sneaky, reference, CASES).status == exercise.FAILED


def test_assert_matches_raises_with_learner_message():
    with pytest.raises(AssertionError, match="not done yet"):
        exercise.assert_matches(stub, reference, CASES, name="one_hot_embed")
    exercise.assert_matches(correct, reference, CASES, name="one_hot_embed")


@pytest.mark.parametrize("got, expected, fragment", [
    ((1.0,), (1.0, 2.0), "tuple of 2 values"),
    (torch.tensor([1, 2]), torch.tensor([1, 3]), "1 of 2 entries differ"),
    (3.0, 2.0, "is 3 but expected 2"),
    ("a", "b", "'a' but expected 'b'"),
    ([1.0], torch.ones(1), "should be a torch.Tensor"),
])
def test_describe_difference(got, expected, fragment):
    assert fragment in exercise.describe_difference(got, expected, 1e-6, 1e-6)


def test_random_generator_is_seedable():
    a = torch.rand(3, generator=exercise.random_generator(5))
    b = torch.rand(3, generator=exercise.random_generator(5))
    assert torch.equal(a, b)


def test_the_reference_under_the_learners_name_does_not_pass():
    # f = check(f, ...) rebinds f to the reference when f is a stub; hidden tests that
    # run afterwards on f must still fail.
    one_hot_embed = exercise.check(stub, reference, CASES, name="one_hot_embed")
    with pytest.raises(AssertionError, match="not done yet"):
        exercise.assert_matches(one_hot_embed, reference, CASES, name="one_hot_embed")
