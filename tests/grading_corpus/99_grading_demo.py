# %% [markdown]
# # 99 · Grading demo (a small source for the grader's tests)
# Three exercises in the course's pattern: one checked against a package reference,
# one against a PyTorch op the exercise forbids, one plain formula.

# %%
import torch
import t2v_edu
from t2v_edu import exercise, text
cfg = t2v_edu.setup(quiet=True)
g = torch.Generator().manual_seed(0)
W = torch.randn(5, 3, generator=g)

# %% exercise="one_hot_embed"
def one_hot_embed(ids, W):
    """one_hot(ids) @ W"""
    ### BEGIN SOLUTION
    return torch.nn.functional.one_hot(ids, W.shape[0]).to(W.dtype) @ W
    ### END SOLUTION

# %% check="one_hot_embed" points=2
one_hot_embed = exercise.check(one_hot_embed, text.one_hot_embed,
                               [(torch.tensor([0, 3, 1]), W)], name="one_hot_embed",
                               formula="one_hot(x) W = W[x]")
### BEGIN HIDDEN TESTS
_g = exercise.random_generator()
_hidden = [(torch.randint(0, 7, (4, 2), generator=_g), torch.randn(7, 4, generator=_g))
           for _ in range(3)]
exercise.assert_matches(one_hot_embed, text.one_hot_embed, _hidden, name="one_hot_embed")
### END HIDDEN TESTS

# %% exercise="softmax_rows"
def softmax_rows(x):
    """softmax over the last axis: exp(x - max) / sum exp(x - max)"""
    ### BEGIN SOLUTION
    e = (x - x.max(dim=-1, keepdim=True).values).exp()
    return e / e.sum(dim=-1, keepdim=True)
    ### END SOLUTION

# %% check="softmax_rows" points=1
def reference_softmax(x):
    return torch.softmax(x, dim=-1)

probs = exercise.check(softmax_rows, reference_softmax, [(torch.tensor([[1.0, 2.0, 3.0]]),)],
                       name="softmax_rows", formula="exp(x_i) / sum_j exp(x_j)")
### BEGIN HIDDEN TESTS
_g = exercise.random_generator()
exercise.assert_matches(softmax_rows, reference_softmax,
                        [(torch.randn(3, 6, generator=_g) * 30,) for _ in range(3)],
                        name="softmax_rows")
### END HIDDEN TESTS

# %% exercise="mean_square"
def mean_square(x):
    """mean(x^2)"""
    ### BEGIN SOLUTION
    return (x ** 2).mean()
    ### END SOLUTION

# %% check="mean_square" points=1
square = exercise.check(mean_square, lambda x: x.pow(2).mean(), [(torch.arange(4.0),)],
                        name="mean_square")
### BEGIN HIDDEN TESTS
_g = exercise.random_generator()
exercise.assert_matches(mean_square, lambda x: x.pow(2).mean(),
                        [(torch.randn(5, generator=_g),) for _ in range(2)],
                        name="mean_square")
### END HIDDEN TESTS

# %% [markdown]
# Later cells use the functions the checks returned.

# %%
print(one_hot_embed(torch.tensor([1]), W).shape, probs(torch.zeros(1, 2)).sum().item())
