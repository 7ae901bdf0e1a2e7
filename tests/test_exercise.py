"""The visible checks and hidden tests that every exercise uses."""
import math
import warnings

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


def test_a_float64_answer_where_float32_is_expected_fails():
    def in_float64(x, W):
        return W[x].double()

    result = exercise.run_check(in_float64, reference, CASES)
    assert result.status == exercise.FAILED
    assert "has dtype torch.float64, but expected torch.float32" in result.message
    # the other way round is fine: a float32 answer to float64 inputs breaks nothing
    def in_float32(x, W):
        return W[x].float()

    double = [(x, W.double()) for x, W in CASES]
    assert exercise.run_check(in_float32, reference, double).passed
    # integers where floats are expected fail
    assert "has dtype torch.int64" in exercise.run_check(
        lambda x, W: W[x].round().long(), lambda x, W: W[x].round(), CASES).message


def test_gradient_checks_name_their_inputs():
    def scale(z, factor):
        return z * factor

    run = exercise.value_and_gradient(scale)
    case = (torch.ones(2), torch.ones(2), 3.0)
    assert exercise.describe_inputs(case, run) == "z [2], grad_weight [2], factor=3.0"
    assert run(*case)[1].tolist() == [3.0, 3.0]


def test_value_difference_reports_max_abs_difference():
    result = exercise.run_check(off_by_a_bit, reference, CASES)
    assert result.status == exercise.FAILED
    assert "max abs difference 0.01" in result.message
    # the case's inputs, named after the reference's parameters (shape, dtype)
    assert result.message.endswith("; inputs: x [3] int64, W [4, 3]")


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
    # the seed is really used: torch's own generator seeded with 5, not a fixed stream
    assert torch.equal(a, torch.rand(3, generator=torch.Generator().manual_seed(5)))
    assert not torch.equal(a, torch.rand(3, generator=exercise.random_generator(6)))
    # without a seed, each generator gets a fresh one
    fresh = [torch.rand(3, generator=exercise.random_generator()) for _ in range(2)]
    assert not torch.equal(*fresh)


def test_the_reference_under_the_learners_name_does_not_pass():
    # f = check(f, ...) rebinds f to the reference when f is a stub; hidden tests that
    # run afterwards on f must still fail.
    one_hot_embed = exercise.check(stub, reference, CASES, name="one_hot_embed")
    with pytest.raises(AssertionError, match="not done yet"):
        exercise.assert_matches(one_hot_embed, reference, CASES, name="one_hot_embed")


# ---------------------------------------------------------------------------------
# Feedback found wanting in a learner trial
# ---------------------------------------------------------------------------------
def test_a_re_run_check_cell_says_why_it_is_not_done(capsys):
    one_hot_embed = exercise.check(off_by_a_bit, reference, CASES, name="one_hot_embed")
    capsys.readouterr()
    use = exercise.check(one_hot_embed, reference, CASES, name="one_hot_embed")
    out = capsys.readouterr().out
    assert use is reference
    assert out.startswith("… one_hot_embed: not done yet") and "re-run your exercise cell" in out


def noisy(x, W):
    warnings.warn("debug")
    torch.tensor(W)              # UserWarning: To copy construct from a tensor ...
    return W[x]


def test_warnings_of_the_learners_code_are_notes_on_stdout(capsys):
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        use = exercise.check(noisy, reference, CASES + CASES, name="one_hot_embed")
        exercise.assert_matches(noisy, reference, CASES, name="one_hot_embed")
    out = capsys.readouterr()
    assert use is noisy and escaped == [] and out.err == ""   # a warning is not a failure
    lines = out.out.splitlines()
    assert len(lines) == 5 and lines[0].startswith("✓ one_hot_embed")
    assert lines[1] == "  note: your code warned: UserWarning: debug"       # once, not twice
    assert "UserWarning: To copy construct from a tensor" in lines[2]
    assert lines[3] == "one_hot_embed: note: your code warned: UserWarning: debug"


def test_at_most_three_warning_notes():
    def chatty(x, W):
        for k in range(5):
            warnings.warn(f"warning {k}")
        return W[x]
    result = exercise.run_check(chatty, reference, CASES)
    assert result.passed and len(result.notes) == 3


@pytest.mark.parametrize("got, fragment", [
    ([[1.0, 3.0, -1e9, -1e9]], "entry [0, 2]: yours -1e+09, expected -inf"),
    ([[-math.inf, 3.0, -math.inf, -math.inf]], "entry [0, 0]: yours -inf, expected 1"),
])
def test_inf_and_nan_are_compared_by_position(got, fragment):
    expected = torch.tensor([[1.0, 3.0, -math.inf, -math.inf]])
    msg = exercise.describe_difference(torch.tensor(got), expected, 1e-5, 1e-4)
    assert fragment in msg and "difference nan" not in msg and "difference inf" not in msg


def test_differences_are_taken_over_finite_entries_only():
    msg = exercise.describe_difference(torch.tensor([[2.0, -math.inf, 5.0]]),
                                       torch.tensor([[1.0, -math.inf, 5.0]]), 1e-5, 1e-4)
    assert "max abs difference 1 " in msg


def test_a_float_mask_is_not_a_bool_mask():
    def float_mask(n):
        return torch.ones(n, n).tril()
    result = exercise.run_check(float_mask, lambda n: torch.ones(n, n, dtype=torch.bool).tril(),
                                [(3,)])
    assert result.status == exercise.FAILED
    assert "dtype torch.float32, but expected torch.bool (a True/False mask)" in result.message
    msg = exercise.describe_difference(torch.tensor([1, 2], dtype=torch.int32),
                                       torch.tensor([1, 2]), 1e-6, 1e-6)
    assert "dtype torch.int32, but expected torch.int64" in msg


def test_small_int_and_bool_outputs_are_shown_whole():
    msg = exercise.describe_difference(torch.tensor([[True, False], [True, True]]),
                                       torch.tensor([[True, True], [True, True]]), 0, 0)
    assert "1 of 4 entries differ" in msg
    assert "[[1, 0], [1, 1]]" in msg and "[[1, 1], [1, 1]]" in msg


def kl_divergence(mu, logvar):
    raise NotImplementedError()


def vae_loss(mu, logvar):
    return kl_divergence(mu, logvar)


def test_a_stub_helper_is_named_not_the_learners_function():
    result = exercise.run_check(vae_loss, lambda mu, logvar: mu, [(torch.ones(2), torch.ones(2))])
    assert result.status == exercise.NOT_DONE
    assert result.message == "your vae_loss called kl_divergence, which is not done yet"


def test_the_learners_own_stub_is_plainly_not_done():
    def value_and_gradient(fn):            # a wrapper named like fn (as in notebook 06)
        def run(x, W):
            return fn(x, W)
        run.__qualname__ = fn.__qualname__
        return run

    class Proxy:                           # like grading_kernel.Remote: no __code__
        def __call__(self, x, W):
            return self.request()

        def request(self):
            raise NotImplementedError("from the student kernel")

    for student in (stub, value_and_gradient(stub), lambda x, W: stub(x, W), Proxy()):
        result = exercise.run_check(student, reference, CASES)
        assert (result.status, result.message) == (exercise.NOT_DONE, "not done yet")


def test_exception_text_ends_with_one_period_and_names_input_shapes(capsys):
    def attention(q, k, mask, scale=0.5):
        raise RuntimeError("Use tensor.detach().numpy() instead.")

    def reference_attention(q, k, mask, scale=0.5):
        return q
    case = (torch.ones(2, 4, 8), torch.ones(2, 4, 8), torch.ones(4, 4, dtype=torch.bool), 0.5)
    exercise.check(attention, reference_attention, [case], name="attention")
    exercise.check(lambda *a: attention(*a), reference_attention, [case], name="attention")
    out = capsys.readouterr().out
    assert ".." not in out and "instead" in out
    assert "inputs: q [2, 4, 8], k [2, 4, 8], mask [4, 4] bool, scale=0.5" in out


def test_returning_none_asks_about_return():
    def forgot(x, W):
        W[x]
    msg = exercise.run_check(forgot, reference, CASES).message
    assert "returned None — did you forget `return`?" in msg
    assert "should be a torch.Tensor but is a NoneType" in msg     # read by test_grading


def test_value_mismatch_names_the_first_differing_entry():
    expected = torch.zeros(2, 4)
    got = expected.clone()
    got[1, 3] = 0.52
    msg = exercise.describe_difference(got, expected, 1e-5, 1e-4)
    assert "first difference at [1, 3]: yours 0.52, expected 0" in msg


def test_tuple_outputs_say_which_parts_match():
    a, b = torch.zeros(3), torch.ones(3)
    msg = exercise.describe_difference((a, a, b), (a, b, b), 1e-5, 1e-4)
    assert msg.startswith("output[1]: ") and msg.endswith("output[0], output[2] match")


def test_value_and_gradient_checks_the_gradient_and_sees_through_to_the_reference():
    from t2v_edu import tokenizer

    def ste(z):
        return z + (torch.round(z) - z).detach()

    def plain_round(z):
        return torch.round(z)

    z, w = torch.tensor([0.3, 1.6, -2.2]), torch.tensor([1.0, 2.0, 3.0])
    value, grad = exercise.value_and_gradient(ste)(z, w)
    assert torch.equal(value, torch.tensor([0.0, 2.0, -2.0])) and torch.equal(grad, w)
    assert torch.equal(exercise.value_and_gradient(plain_round)(z, w)[1], torch.zeros(3))
    reference = exercise.value_and_gradient(tokenizer.straight_through_round)
    assert exercise.run_check(exercise.value_and_gradient(ste), reference, [(z, w)]).passed
    wrong = exercise.run_check(exercise.value_and_gradient(plain_round), reference, [(z, w)])
    assert wrong.status == exercise.FAILED and "output[1]" in wrong.message
    # the reference left under the learner's name by a failed check, wrapped anew
    again = exercise.run_check(
        exercise.value_and_gradient(tokenizer.straight_through_round), reference, [(z, w)])
    assert again.status == exercise.NOT_DONE and "package's reference" in again.message


def doubles_W(x, W):
    return W.mul_(2)[x] / 2                 # the right values, but W is changed


def clears_x(x, W):
    out = W[x]
    x.zero_()                               # the right values, but x is changed
    return out


@pytest.mark.parametrize("edit, name", [(doubles_W, "W"), (clears_x, "x")])
def test_an_answer_that_changes_its_inputs_fails_naming_them(edit, name):
    result = exercise.run_check(edit, reference, CASES)
    assert result.status == exercise.FAILED
    assert f"it changed its input {name} in place (e.g. +=" in result.message
    assert exercise.run_check(correct, reference, CASES).passed


def test_edits_to_lists_and_dicts_inside_the_inputs_are_seen():
    def pops(attrs):
        return [obj.pop("motion") for obj in attrs]

    cases = [([{"shape": "circle", "motion": "left"}],)]
    result = exercise.run_check(pops, lambda attrs: [o["motion"] for o in attrs], cases)
    assert "it changed its input attrs in place" in result.message
    assert cases[0][0][0] == {"shape": "circle", "motion": "left"}   # the caller's intact

    def renames(attrs):                     # a value replaced, no key added or removed
        attrs[0]["motion"] = "right"
        return ["left"]

    result = exercise.run_check(renames, lambda attrs: [o["motion"] for o in attrs], cases)
    assert "it changed its input attrs in place" in result.message
    nan = [{"size": float("nan"), "n": 1}]  # nan stays nan: not an edit
    assert exercise._same(nan, exercise._clone((nan,))[0])
    assert not exercise._same([{"n": 1}], [{"n": 1.0}]) and not exercise._same([2], [3])


def test_what_the_learners_code_writes_to_stderr_is_a_note_on_stdout(capsys):
    import sys

    def chatty(x, W):
        print("debug", tuple(x.shape), file=sys.stderr)
        return W[x]

    exercise.check(chatty, reference, CASES, name="one_hot_embed")
    out = capsys.readouterr()
    assert out.err == ""      # nbgrader scores a test cell with stderr 0
    assert "✓ one_hot_embed" in out.out
    assert "note: your code wrote to stderr (shown here instead): debug (3,)" in out.out


def test_a_not_implemented_error_from_torch_is_an_error_not_a_stub():
    class Dense(torch.nn.Module):
        def foward(self, x):          # the typo: nn.Module has no forward
            return x

    def uses_dense(x, W):
        return Dense()(W[x])

    result = exercise.run_check(uses_dense, reference, CASES)
    assert result.status == exercise.FAILED
    assert 'it raised NotImplementedError: Module [Dense] is missing the required "forward"' \
        in result.message
    assert exercise.run_check(stub, reference, CASES).status == exercise.NOT_DONE


@pytest.mark.parametrize("got, fragment", [
    (torch.tensor([1.5]), "should be a number but is a tensor of shape [1] (.item()"),
    ("1.5", "should be a number but is a str"),
    (True, "should be a number but is a bool"),
])
def test_a_number_output_must_be_one(got, fragment):
    assert fragment in exercise.describe_difference(got, 1.5, 1e-6, 1e-6)


def test_numbers_of_any_kind_and_0_dim_tensors_are_numbers():
    import numpy as np

    for got in (np.float32(1.5), torch.tensor(1.5), 1.5):
        assert exercise.describe_difference(got, 1.5, 1e-6, 1e-6) is None


def test_tuple_length_messages():
    assert exercise.describe_difference((1.0,), (1.0, 2.0, 3.0), 0, 0) == \
        "output should be a tuple of 3 values but has 1"
    assert exercise.describe_difference(1.0, (1.0, 2.0), 0, 0) == \
        "output should be a tuple of 2 values but is a float"


@pytest.mark.parametrize("dtype, fragment", [
    (torch.float16, "has dtype torch.float16, but expected torch.float32 (half precision"),
    (torch.uint8, "has dtype torch.uint8, but expected torch.float32 (integers lose"),
    (torch.float64, "(a constant made with numpy"),
])
def test_a_float_output_of_another_dtype_says_why_it_will_not_do(dtype, fragment):
    message = exercise.describe_difference(torch.ones(2, dtype=dtype), torch.ones(2), 1e-3, 0)
    assert fragment in message


def test_a_gradient_check_reports_the_outputs_shape_not_its_own_error():
    def flattened(z):
        return (z + (torch.round(z) - z).detach()).flatten()

    def rounded(z):
        return z + (torch.round(z) - z).detach()

    case = [(torch.randn(4, 3), torch.randn(4, 3))]
    result = exercise.run_check(exercise.value_and_gradient(flattened),
                                exercise.value_and_gradient(rounded), case)
    assert "output[0] has shape (12,) but expected (4, 3)" in result.message
    assert "raised" not in result.message

    def no_return(z):
        z + 1

    result = exercise.run_check(exercise.value_and_gradient(no_return),
                                exercise.value_and_gradient(rounded), case)
    assert result.message.startswith("on test case 1, it returned None — did you forget")


def test_a_one_item_tuple_input_is_shown_as_one():
    assert exercise.describe_inputs((torch.ones(2), (5,)), lambda z, levels: z) == \
        "z [2], levels=(5,)"


def test_every_case_is_compared_not_only_the_first():
    """An answer right on the first case and wrong on a later one fails, naming it."""
    def right_for_three_ids(x, W):
        return W[x] if len(x) == 3 else W[x] * 2

    cases = CASES + [(torch.tensor([1, 0]), CASES[0][1])]
    result = exercise.run_check(right_for_three_ids, reference, cases)
    assert result.status == exercise.FAILED and result.message.startswith("on test case 2,")
    assert exercise.run_check(correct, reference, cases).passed
