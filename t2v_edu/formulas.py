"""Every formula of the course on one page: which notebook teaches it, which function
computes it, and what the tests check that function against.

    from t2v_edu import formulas
    print(formulas.formula_table())      # the table in the README

The formula shown is the one the function's docstring writes, so the table and the code
cannot drift apart; ``tests/test_formulas.py`` checks that each named reference really
appears in the tests of that function, and that the README holds this table.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Callable

# (notebook, function in t2v_edu, what the tests compare it with; "" = values worked out
# by hand or a property, where PyTorch has no such function)
FORMULAS: list[tuple[str, str, str]] = [
    ("01", "text.one_hot_embed", "F.embedding"),
    ("01", "text.cosine_similarity", "F.cosine_similarity"),
    ("01", "text.noise_distribution", ""),
    ("01", "text.skipgram_loss", "F.binary_cross_entropy_with_logits"),
    ("02", "rnn.rnn_cell", "nn.RNNCell"),
    ("02", "rnn.lstm_gate", "nn.LSTMCell"),
    ("02", "rnn.lstm_cell", "nn.LSTMCell"),
    ("02", "rnn.decoder_probs", "nn.Linear + torch.softmax"),
    ("02", "rnn.perplexity", "torch.distributions.Categorical"),
    ("03", "attention.scaled_dot_product_attention", "F.scaled_dot_product_attention"),
    ("03", "attention.multi_head_attention", "nn.MultiheadAttention"),
    ("03", "attention.causal_mask", "nn.Transformer.generate_square_subsequent_mask"),
    ("03", "attention.sinusoidal_positions", ""),
    ("04", "gan.discriminator_probability", ""),
    ("04", "gan.value_function", ""),
    ("04", "gan.discriminator_loss", "F.binary_cross_entropy_with_logits"),
    ("04", "gan.generator_loss", "F.binary_cross_entropy_with_logits"),
    ("04", "gan.saturating_generator_loss", "F.binary_cross_entropy_with_logits"),
    ("04", "gan.auxiliary_loss", "F.binary_cross_entropy_with_logits"),
    ("04", "gan.diversity", "torch.dist"),
    ("05", "vae.reparameterize", "torch.distributions.Normal"),
    ("05", "vae.kl_divergence", "torch.distributions.kl_divergence"),
    ("05", "vae.reconstruction_loss", "F.mse_loss"),
    ("05", "vae.lerp_latents", "torch.lerp"),
    ("06", "tokenizer.straight_through_round", "torch.round"),
    ("06", "tokenizer.fsq_bound", ""),
    ("06", "tokenizer.fsq_quantize", "torch.round"),
    ("06", "tokenizer.tokenizer_loss", "nn.MSELoss"),
    ("06", "tokenizer.tokenizer_l1_loss", "nn.L1Loss"),
    ("06", "t2v.filter_logits", ""),
    ("06", "t2v.guided_logits", "torch.lerp"),
    ("06", "t2v.code_logits_from_digits", "torch.distributions.Categorical"),
    ("07", "flow.interpolate", "torch.lerp"),
    ("07", "flow.velocity_target", ""),
    ("07", "flow.flow_matching_loss", "F.mse_loss"),
    ("07", "flow.sample_times", "torch.sigmoid + torch.randn + torch.rand"),
    ("07", "flow.euler_step", ""),
    ("07", "flow.guided_velocity", "torch.lerp"),
    ("07", "evaluation.frechet_distance", ""),
    ("08", "detector.palette_residual", ""),
]


def function(name: str) -> Callable:
    """``"text.one_hot_embed"`` -> the function ``t2v_edu.text.one_hot_embed``."""
    module, attribute = name.split(".")
    return getattr(importlib.import_module(f"t2v_edu.{module}"), attribute)


def formula_of(fn: Callable) -> str:
    """The formula a docstring writes: its first paragraph (or, when that paragraph ends
    with ":", the indented block after it) on one line, without the shapes that may
    follow it ("... . a: [N, D] -> [N, M]")."""
    paragraphs = inspect.getdoc(fn).split("\n\n")
    text = paragraphs[0]
    if text.rstrip().endswith(":") and len(paragraphs) > 1:
        text = paragraphs[1]
    text = " ".join(line.strip() for line in text.splitlines()).rstrip(",")
    end = text.find(". ")
    while end != -1 and "->" not in text[end:]:
        end = text.find(". ", end + 1)
    return text if end == -1 else text[:end + 1]


def _cell(text: str) -> str:
    """Text for a Markdown table cell, as code (a "|" would end the cell)."""
    return "`" + text.replace("|", "\\|") + "`"


def formula_table() -> str:
    """The Markdown table of every formula (notebook, formula, function, tested against)."""
    lines = ["| notebook | formula | function | tested against |", "|---|---|---|---|"]
    for notebook, name, reference in FORMULAS:
        lines.append(f"| {notebook} | {_cell(formula_of(function(name)))} | `{name}` | "
                     f"{_cell(reference) if reference else 'values worked out by hand'} |")
    return "\n".join(lines) + "\n"
